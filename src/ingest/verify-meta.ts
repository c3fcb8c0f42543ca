/**
 * @module ingest/verify-meta
 *
 * Pure: Meta's `X-Hub-Signature-256: sha256=<hex>` check, an HMAC-SHA256 of the exact raw
 * body keyed with the app secret. Every configured secret is tried (rotation), and digests
 * are compared with `timingSafeEqual`.
 *
 * Meta computes the signature over the escaped-unicode form of the payload (non-ASCII
 * characters written as `\uXXXX`, lower-case hex), which is also the form its bodies arrive
 * in, so the exact bytes normally verify. When something in front of bluetick decoded those
 * escapes (a relay that re-serialised the JSON), the exact bytes fail; the escaped form of
 * the same body is then tried, and a match is reported as `meta-signature-escaped` so the
 * user can see that their body was rewritten on the way.
 *
 * That second try must not make refusals expensive: a forged non-ASCII body would otherwise
 * cost several times an ASCII one (the escaped form is up to three times longer, and was
 * once built one character at a time). The escaped form is streamed into the HMACs from one
 * reused buffer, and only up to the size bluetick would accept from Meta directly.
 */
import { isAscii } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Which form of the body the signature matched. */
export type MetaVerification = 'meta-signature' | 'meta-signature-escaped';

/** `sha256=<lower-case hex>`: the header value Meta would send for this body and secret. */
export function signMeta(body: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** The 32 digest bytes of a well-formed header value, else `undefined`. */
export function parseMetaSignature(header: string | undefined): Buffer | undefined {
  if (header === undefined) return undefined;
  const match = SIGNATURE.exec(header.trim());
  return match?.[1] ? Buffer.from(match[1], 'hex') : undefined;
}

/** Escaped bytes gathered before they go to the hash (or the result) in one piece. */
const SCRATCH_BYTES = 64 * 1024;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const REPLACEMENT = 0xfffd;

/** Writes `\uXXXX` for one UTF-16 code unit at `at`. */
function putUnit(out: Buffer, at: number, code: number): void {
  out[at] = 0x5c; // backslash
  out[at + 1] = 0x75; // u
  out[at + 2] = HEX[code >>> 12]!;
  out[at + 3] = HEX[(code >>> 8) & 0xf]!;
  out[at + 4] = HEX[(code >>> 4) & 0xf]!;
  out[at + 5] = HEX[code & 0xf]!;
}

/**
 * Writes the escaped-unicode form of `body` to `sink`, one scratch buffer at a time (the
 * sink must use or copy each chunk before it returns). ASCII is copied as it is; every other
 * character becomes `\uXXXX` per UTF-16 code unit (two for characters beyond U+FFFF).
 *
 * The UTF-8 is decoded here, byte by byte, as the WHATWG decoder (and so
 * `Buffer#toString('utf8')`) does, malformed sequences included (each maximal bad subpart
 * becomes U+FFFD): no string is built at all, neither per character nor for the whole body,
 * whose decoding alone costs several times a hash of it.
 *
 * Returns `false` as soon as the escaped form is sure to exceed `limit` bytes: every byte not
 * yet read adds at least one, so that is known early for a body full of non-ASCII text
 * (each such character grows by 3 to 8 bytes), long before its end.
 */
function writeEscaped(body: Buffer, limit: number, sink: (chunk: Buffer) => void): boolean {
  const length = body.length;
  if (length > limit) return false;
  const out = Buffer.allocUnsafe(SCRATCH_BYTES);
  let used = 0;
  /** Bytes handed to the sink so far. */
  let flushed = 0;
  // ASCII runs are found four bytes at a time through a word view of the aligned part.
  const base = body.byteOffset;
  const firstWord = (base + 3) & ~3;
  const words = new Uint32Array(body.buffer, firstWord, Math.max(0, (base + length - firstWord) >> 2));
  let needed = 0;
  let seen = 0;
  let cp = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i <= length; i++) {
    let emit = -1;
    if (i === length) {
      if (needed === 0) break;
      emit = REPLACEMENT; // a sequence cut short by the end
      needed = 0;
    } else {
      const byte = body[i]!;
      if (needed === 0) {
        if (byte < 0x80) {
          // The whole ASCII run from here, copied as it is.
          let end = i + 1;
          while (end < length && ((base + end) & 3) !== 0 && body[end]! < 0x80) end++;
          if (end < length && ((base + end) & 3) === 0) {
            let w = (base + end - firstWord) >> 2;
            while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
            end = firstWord - base + w * 4;
            while (end < length && body[end]! < 0x80) end++;
          }
          let from = i;
          while (from < end) {
            const n = Math.min(end - from, SCRATCH_BYTES - used);
            body.copy(out, used, from, from + n);
            used += n;
            from += n;
            if (used === SCRATCH_BYTES) {
              sink(out);
              flushed += used;
              used = 0;
            }
          }
          i = end - 1;
          continue;
        }
        if (byte >= 0xc2 && byte <= 0xdf) {
          needed = 1;
          cp = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) lower = 0xa0;
          else if (byte === 0xed) upper = 0x9f;
          needed = 2;
          cp = byte & 0x0f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) lower = 0x90;
          else if (byte === 0xf4) upper = 0x8f;
          needed = 3;
          cp = byte & 0x07;
        } else {
          emit = REPLACEMENT;
        }
        if (emit < 0) continue;
      } else if (byte < lower || byte > upper) {
        // A broken sequence: one replacement for what came so far; this byte starts afresh.
        needed = 0;
        seen = 0;
        lower = 0x80;
        upper = 0xbf;
        emit = REPLACEMENT;
        i--;
      } else {
        lower = 0x80;
        upper = 0xbf;
        cp = (cp << 6) | (byte & 0x3f);
        if (++seen < needed) continue;
        needed = 0;
        seen = 0;
        emit = cp;
      }
    }
    if (used > SCRATCH_BYTES - 12) {
      sink(out.subarray(0, used));
      flushed += used;
      used = 0;
    }
    if (emit <= 0xffff) {
      putUnit(out, used, emit);
      used += 6;
    } else {
      const v = emit - 0x10000;
      putUnit(out, used, 0xd800 + (v >>> 10));
      putUnit(out, used + 6, 0xdc00 + (v & 0x3ff));
      used += 12;
    }
    // Bytes i + 1 onwards are unread (a byte to be read again was stepped back above); each
    // will add at least one more.
    if (flushed + used + Math.max(0, length - i - 1) > limit) return false;
  }
  if (used > 0) sink(out.subarray(0, used));
  return true;
}

/**
 * The body with every non-ASCII character written as `\uXXXX` (UTF-16 code units, lower-case
 * hex), or `undefined` when the body is pure ASCII (nothing to escape, so nothing new to try).
 */
export function escapeNonAscii(body: Buffer): Buffer | undefined {
  if (isAscii(body)) return undefined;
  const chunks: Buffer[] = [];
  writeEscaped(body, Number.POSITIVE_INFINITY, (chunk) => chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks);
}

/** Checks one POST; the form that matched, or `undefined`. */
export type MetaVerifier = (body: Buffer, signatureHeader: string | undefined) => MetaVerification | undefined;

export interface MetaVerifierOptions {
  /**
   * Largest escaped form worth hashing, in bytes. Default 4 MiB (the default body limit):
   * Meta sends the escaped form, so a body whose escaped form is larger than what bluetick
   * would accept from Meta directly cannot have come from Meta that way. The bound keeps the
   * cost of refusing a forged non-ASCII body close to that of an ASCII one.
   */
  maxEscapedBytes?: number;
}

/** The default {@link MetaVerifierOptions.maxEscapedBytes}. */
export const DEFAULT_MAX_ESCAPED_BYTES = 4 * 1024 * 1024;

function matchesAny(body: Buffer, digest: Buffer, secrets: readonly string[]): boolean {
  let ok = false;
  for (const secret of secrets) {
    const computed = createHmac('sha256', secret).update(body).digest();
    if (timingSafeEqual(computed, digest)) ok = true;
  }
  return ok;
}

/** Like `matchesAny` over the escaped form, streamed into one HMAC per secret; false beyond `limit`. */
function escapedMatchesAny(body: Buffer, digest: Buffer, secrets: readonly string[], limit: number): boolean {
  const hmacs = secrets.map((secret) => createHmac('sha256', secret));
  const complete = writeEscaped(body, limit, (chunk) => {
    for (const hmac of hmacs) hmac.update(chunk);
  });
  if (!complete) return false;
  let ok = false;
  for (const hmac of hmacs) {
    if (timingSafeEqual(hmac.digest(), digest)) ok = true;
  }
  return ok;
}

/**
 * Compiles the configured app secrets into a verifier.
 *
 * @example
 * ```ts
 * const verify = createMetaVerifier([process.env.META_APP_SECRET!]);
 * verify(rawBody, req.headers['x-hub-signature-256']); // 'meta-signature' | 'meta-signature-escaped' | undefined
 * ```
 */
export function createMetaVerifier(appSecrets: readonly string[], opts: MetaVerifierOptions = {}): MetaVerifier {
  const secrets = [...appSecrets];
  const limit = opts.maxEscapedBytes ?? DEFAULT_MAX_ESCAPED_BYTES;
  return (body, signatureHeader) => {
    if (secrets.length === 0) return undefined;
    const digest = parseMetaSignature(signatureHeader);
    if (digest === undefined) return undefined;
    if (matchesAny(body, digest, secrets)) return 'meta-signature';
    if (!isAscii(body) && escapedMatchesAny(body, digest, secrets, limit)) return 'meta-signature-escaped';
    return undefined;
  };
}

/** One-off form of {@link createMetaVerifier}. */
export function verifyMetaSignature(
  body: Buffer,
  signatureHeader: string | undefined,
  appSecrets: readonly string[],
): MetaVerification | undefined {
  return createMetaVerifier(appSecrets)(body, signatureHeader);
}
