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
 * cost several times an ASCII one (the escaped form is up to six times longer, and was
 * once built one character at a time). The escaped form is streamed into the HMACs from one
 * reused buffer, and only up to the size bluetick would accept from Meta directly.
 */
import { isAscii } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';

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

/** Input bytes decoded per step: a body is never decoded whole when the escaped form is cut short. */
const DECODE_STEP = 16 * 1024;
/** Escaped bytes gathered before they go to the hash (or the result) in one piece. */
const SCRATCH_BYTES = 64 * 1024;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Writes the escaped-unicode form of `body` to `sink`, one scratch buffer at a time (the
 * sink must use or copy each chunk before it returns). ASCII is copied as it is; every
 * other UTF-16 code unit becomes the six bytes `\uXXXX`. Nothing is built per character:
 * the bytes are decoded in steps and written into one reused buffer.
 *
 * Stops, returning `false`, as soon as the escaped form would exceed `limit` bytes.
 */
function writeEscaped(body: Buffer, limit: number, sink: (chunk: Buffer) => void): boolean {
  const decoder = new StringDecoder('utf8');
  const out = Buffer.allocUnsafe(SCRATCH_BYTES);
  let used = 0;
  let total = 0;
  const put = (text: string): boolean => {
    for (let i = 0; i < text.length; i++) {
      if (used > SCRATCH_BYTES - 6) {
        sink(out.subarray(0, used));
        used = 0;
      }
      const code = text.charCodeAt(i);
      if (code < 0x80) {
        out[used++] = code;
        total++;
      } else {
        out[used] = 0x5c; // backslash
        out[used + 1] = 0x75; // u
        out[used + 2] = HEX[code >>> 12]!;
        out[used + 3] = HEX[(code >>> 8) & 0xf]!;
        out[used + 4] = HEX[(code >>> 4) & 0xf]!;
        out[used + 5] = HEX[code & 0xf]!;
        used += 6;
        total += 6;
      }
      if (total > limit) return false;
    }
    return true;
  };
  for (let from = 0; from < body.length; from += DECODE_STEP) {
    if (!put(decoder.write(body.subarray(from, Math.min(body.length, from + DECODE_STEP))))) return false;
  }
  if (!put(decoder.end())) return false;
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
