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
 */
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

/**
 * The body with every non-ASCII character written as `\uXXXX` (UTF-16 code units, lower-case
 * hex), or `undefined` when the body is pure ASCII (nothing to escape, so nothing new to try).
 */
export function escapeNonAscii(body: Buffer): Buffer | undefined {
  let ascii = true;
  for (let i = 0; i < body.length; i++) {
    if (body[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return undefined;
  const text = body.toString('utf8');
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      out += text.slice(from, i) + '\\u' + code.toString(16).padStart(4, '0');
      from = i + 1;
    }
  }
  out += text.slice(from);
  return Buffer.from(out, 'latin1');
}

/** Checks one POST; the form that matched, or `undefined`. */
export type MetaVerifier = (body: Buffer, signatureHeader: string | undefined) => MetaVerification | undefined;

function matchesAny(body: Buffer, digest: Buffer, secrets: readonly string[]): boolean {
  let ok = false;
  for (const secret of secrets) {
    const computed = createHmac('sha256', secret).update(body).digest();
    if (timingSafeEqual(computed, digest)) ok = true;
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
export function createMetaVerifier(appSecrets: readonly string[]): MetaVerifier {
  const secrets = [...appSecrets];
  return (body, signatureHeader) => {
    if (secrets.length === 0) return undefined;
    const digest = parseMetaSignature(signatureHeader);
    if (digest === undefined) return undefined;
    if (matchesAny(body, digest, secrets)) return 'meta-signature';
    const escaped = escapeNonAscii(body);
    if (escaped !== undefined && matchesAny(escaped, digest, secrets)) return 'meta-signature-escaped';
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
