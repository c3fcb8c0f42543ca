/**
 * @module trigger/rng
 *
 * A small seeded random source for the notification builders, so a run can be replayed
 * exactly (`bluetick trigger --seed S`) and tests are deterministic.
 *
 * xoshiro128** with a 128-bit state: ids drawn from it (80+ random bits each) do not
 * repeat within a run, and two runs seeded differently do not share a stream in any way
 * that matters. A 32-bit generator would not do: its whole period fits in a few long runs.
 * Not for secrets.
 */

export interface Rng {
  /** A uniform unsigned 32-bit integer. */
  u32(): number;
  /** A uniform float in [0, 1). */
  float(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** `n` random characters of `alphabet`. */
  chars(n: number, alphabet: string): string;
  /** A copy of `list` in random order. */
  shuffle<T>(list: readonly T[]): T[];
}

/** splitmix32 step: spreads a seed over the state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32 bits of FNV-1a over a string, to turn text seeds into numbers. */
function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * A generator seeded from a number, a string, or 16 bytes (e.g. `randomBytes(16)`).
 *
 * @example
 * ```ts
 * const rng = createRng('replay-me');
 * rng.int(10); // always the same first value for this seed
 * ```
 */
export function createRng(seed: number | string | Uint8Array): Rng {
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  if (seed instanceof Uint8Array) {
    const bytes = Buffer.alloc(16);
    Buffer.from(seed).copy(bytes, 0, 0, 16);
    [a, b, c, d] = [bytes.readUInt32LE(0), bytes.readUInt32LE(4), bytes.readUInt32LE(8), bytes.readUInt32LE(12)];
  } else {
    const text = String(seed);
    // Four differently based hashes, so a text seed fills all 128 bits of state.
    const word = (basis: number): number => splitmix32({ s: fnv1a(text, basis) });
    [a, b, c, d] = [word(0x811c9dc5), word(0x050c5d1f), word(0x9e3779b9), word(0x7f4a7c15)];
  }
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point

  const u32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c = (c ^ a) >>> 0;
    d = (d ^ b) >>> 0;
    b = (b ^ c) >>> 0;
    a = (a ^ d) >>> 0;
    c = (c ^ t) >>> 0;
    d = rotl(d, 11);
    return result;
  };
  const float = (): number => (u32() * 2 ** 21 + (u32() >>> 11)) / 2 ** 53;
  const int = (n: number): number => Math.floor(float() * n);

  return {
    u32,
    float,
    int,
    chance: (p) => float() < p,
    pick: <T>(list: readonly T[]): T => {
      if (list.length === 0) throw new RangeError('pick from an empty list');
      return list[int(list.length)] as T;
    },
    bytes: (n) => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i += 4) {
        const word = u32();
        for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (word >>> (8 * k)) & 0xff;
      }
      return out;
    },
    chars: (n, alphabet) => {
      let out = '';
      for (let i = 0; i < n; i++) out += alphabet[int(alphabet.length)];
      return out;
    },
    shuffle: <T>(list: readonly T[]): T[] => {
      const copy = list.slice();
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy;
    },
  };
}
