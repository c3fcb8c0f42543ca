/**
 * @module auth-backoff
 *
 * Per-address backoff after failed authentications, shared by ingest (Basic auth, Meta
 * signature, verify token) and `/api` (admin token). A failure is a wrong credential; a
 * request that carries none guesses nothing and is not counted. After `failures` failures an address
 * must wait: its requests get 429 with `Retry-After` before any credential is looked at,
 * the wait doubling with each further failure (1 s, 2 s, 4 s, ... up to 5 minutes). A
 * success clears the address's count; an address quiet for 15 minutes is forgotten.
 *
 * The same table is the record of who failed how often. It is kept apart from the
 * rejection log, which keeps only the newest rows: a flood of cheap 404s can push an
 * attack's rows out of that log, but not its counts out of this table (`offenders()`,
 * served at `GET /api/rejections/addresses`). It holds at most `maxAddresses` entries; the
 * least recently seen goes first.
 *
 * IPv6 clients are counted per /64, the block one subscriber usually holds, so rotating
 * addresses inside it does not reset the count.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

export interface AuthBackoffOptions {
  /** Failures before an address must wait; 0 turns the backoff off (failures are still counted). */
  failures: number;
  /** First wait. Default 1 000 ms. */
  baseMs?: number;
  /** Longest wait. Default 300 000 ms. */
  maxMs?: number;
  /** An address with no failure for this long starts from zero. Default 900 000 ms. */
  forgetMs?: number;
  /** Addresses remembered at most. Default 10 000. */
  maxAddresses?: number;
  now?: () => number;
}

/** What one address did, as `offenders()` reports it. */
export interface AddressRecord {
  address: string;
  /** Failures since the last success or since it was forgotten. */
  failures: number;
  /** Failures in all, since it was first seen. */
  totalFailures: number;
  /** Requests answered 429 because of the backoff. */
  refused: number;
  firstFailureAt: number;
  lastFailureAt: number;
  /** Epoch ms until which it must wait, when it must. */
  blockedUntil?: number;
}

interface Entry {
  failures: number;
  total: number;
  refused: number;
  first: number;
  last: number;
  blockedUntil: number;
}

/** The key an address is counted under: itself, or its /64 for IPv6. */
export function backoffKey(address: string): string {
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!isIPv6(a)) return a;
  const [head = '', tail = ''] = a.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = a.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class AuthBackoff {
  readonly #entries = new Map<string, Entry>();
  readonly #failures: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #forgetMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: AuthBackoffOptions) {
    this.#failures = opts.failures;
    this.#baseMs = opts.baseMs ?? 1_000;
    this.#maxMs = opts.maxMs ?? 300_000;
    this.#forgetMs = opts.forgetMs ?? 900_000;
    this.#max = opts.maxAddresses ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Milliseconds `address` must still wait (then its request is refused and counted as
   * such), or 0.
   */
  check(address: string | undefined): number {
    if (address === undefined || this.#failures === 0) return 0;
    const entry = this.#entries.get(backoffKey(address));
    if (entry === undefined) return 0;
    const wait = entry.blockedUntil - this.#now();
    if (wait <= 0) return 0;
    entry.refused++;
    return wait;
  }

  /** A failed authentication from `address`. */
  fail(address: string | undefined): void {
    if (address === undefined) return;
    const key = backoffKey(address);
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.last > this.#forgetMs) entry.failures = 0;
    if (entry === undefined) {
      entry = { failures: 0, total: 0, refused: 0, first: now, last: now, blockedUntil: 0 };
      if (this.#entries.size >= this.#max) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
    } else {
      // Re-inserted below: the map's order is least recently seen first.
      this.#entries.delete(key);
    }
    this.#entries.set(key, entry);
    entry.failures++;
    entry.total++;
    entry.last = now;
    if (this.#failures > 0 && entry.failures >= this.#failures) {
      const steps = Math.min(entry.failures - this.#failures, 30);
      entry.blockedUntil = now + Math.min(this.#maxMs, this.#baseMs * 2 ** steps);
    }
  }

  /** True when some address has failed: only then is a success worth recording. */
  get active(): boolean {
    return this.#entries.size > 0;
  }

  /** A successful authentication from `address`: its count starts over (its record stays). */
  succeed(address: string | undefined): void {
    if (address === undefined || this.#entries.size === 0) return;
    const entry = this.#entries.get(backoffKey(address));
    if (entry === undefined || entry.failures === 0) return;
    entry.failures = 0;
    entry.blockedUntil = 0;
  }

  /** Addresses with failures, most failures first. */
  offenders(limit = 100): AddressRecord[] {
    const now = this.#now();
    return [...this.#entries.entries()]
      .map(([address, e]): AddressRecord => ({
        address,
        failures: e.failures,
        totalFailures: e.total,
        refused: e.refused,
        firstFailureAt: e.first,
        lastFailureAt: e.last,
        ...(e.blockedUntil > now ? { blockedUntil: e.blockedUntil } : {}),
      }))
      .sort((a, b) => b.totalFailures - a.totalFailures || b.lastFailureAt - a.lastFailureAt)
      .slice(0, limit);
  }
}

/** `Retry-After` seconds for a wait in ms (at least 1). */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/**
 * The client address a request is counted under: the peer, or with `trustProxy` the last
 * `X-Forwarded-For` entry (the one the proxy in front appended; earlier entries are whatever
 * the client claimed).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    if (typeof forwarded === 'string' && forwarded !== '') {
      const comma = forwarded.lastIndexOf(',');
      const last = (comma < 0 ? forwarded : forwarded.slice(comma + 1)).trim();
      if (last !== '') return last;
    }
  }
  return req.socket.remoteAddress;
}
