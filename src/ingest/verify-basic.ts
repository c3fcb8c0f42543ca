/**
 * @module ingest/verify-basic
 *
 * Pure: HTTP Basic credentials (RFC 7617), as EnableX sends them when "HTTP Authentication"
 * is ticked for a webhook. The whole `user:password` pair is compared in constant time
 * against every configured credential, so neither which credential nor which half of it
 * failed can be learned from timing.
 */
import { timingSafeEqual } from 'node:crypto';
import type { BasicCredential } from '../config/types.js';

/** `Basic <base64(user:password)>`, the header value a client sends for these credentials. */
export function encodeBasicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

const BASIC_HEADER = /^\s*basic\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i;

/**
 * Reads an `Authorization: Basic ...` value. Returns `undefined` for any other scheme or a
 * value that does not decode to `user:password`.
 */
export function parseBasicAuthorization(header: string | undefined): BasicCredential | undefined {
  if (header === undefined) return undefined;
  const match = BASIC_HEADER.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Checks one `Authorization` header value; true when it carries one of the credentials. */
export type BasicVerifier = (authorization: string | undefined) => boolean;

/**
 * Compiles the configured credentials into a verifier for the hot path: the expected header
 * values are encoded once, so a request with the canonical `Basic <base64>` form costs one
 * buffer and one constant-time compare per credential. Other spellings (lower-case scheme,
 * extra spaces, missing padding) are canonicalised and compared the same way.
 *
 * @example
 * ```ts
 * const verify = createBasicVerifier([{ username: 'enablex', password: 's3cret' }]);
 * verify(req.headers.authorization); // true or false
 * ```
 */
export function createBasicVerifier(credentials: readonly BasicCredential[]): BasicVerifier {
  const expected = credentials.map((c) => Buffer.from(encodeBasicAuthorization(c.username, c.password), 'latin1'));

  const matchesAny = (given: Buffer): boolean => {
    let ok = false;
    for (const candidate of expected) {
      // Only equal lengths can match; timingSafeEqual needs them. Length is not secret here.
      if (given.length === candidate.length && timingSafeEqual(given, candidate)) ok = true;
    }
    return ok;
  };

  return (authorization) => {
    if (authorization === undefined || expected.length === 0) return false;
    if (matchesAny(Buffer.from(authorization, 'latin1'))) return true;
    const match = BASIC_HEADER.exec(authorization);
    if (!match?.[1]) return false;
    const canonical = `Basic ${Buffer.from(match[1], 'base64').toString('base64')}`;
    if (canonical === authorization) return false;
    return matchesAny(Buffer.from(canonical, 'latin1'));
  };
}

/** One-off form of {@link createBasicVerifier}. */
export function verifyBasic(authorization: string | undefined, credentials: readonly BasicCredential[]): boolean {
  return createBasicVerifier(credentials)(authorization);
}
