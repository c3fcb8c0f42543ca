/**
 * Unit tests for Meta's `X-Hub-Signature-256` check, through the exported verifier only:
 * the HMAC is over the exact bytes, a digest of any other length is no digest, rotation
 * takes every configured secret and nothing else, and the escaped-unicode fallback accepts
 * only the form Meta signs.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMetaVerifier, parseMetaSignature, signMeta, verifyMetaSignature } from './verify-meta.js';

const SECRET = 'meta-app-secret';
const BODY = Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}');
const hex = (body: Buffer | string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('hex');

describe('createMetaVerifier: the exact bytes', () => {
  const verify = createMetaVerifier([SECRET]);

  it('accepts the HMAC-SHA256 of the raw body with the app secret', () => {
    expect(verify(BODY, `sha256=${hex(BODY)}`)).toBe('meta-signature');
    expect(signMeta(BODY, SECRET)).toBe(`sha256=${hex(BODY)}`);
    expect(verify(BODY, signMeta(BODY, SECRET))).toBe('meta-signature');
  });

  it('rejects the signature once any single byte of the body differs', () => {
    const signature = signMeta(BODY, SECRET);
    for (const at of [0, 1, BODY.length >> 1, BODY.length - 1]) {
      const changed = Buffer.from(BODY);
      changed[at] = changed[at]! ^ 0x01;
      expect(verify(changed, signature), `byte ${at}`).toBeUndefined();
    }
    expect(verify(BODY.subarray(0, BODY.length - 1), signature)).toBeUndefined();
    expect(verify(Buffer.concat([BODY, Buffer.from('\n')]), signature)).toBeUndefined();
  });

  it('rejects a body re-serialised with other whitespace, though it is the same JSON', () => {
    const pretty = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 2));
    expect(verify(pretty, signMeta(BODY, SECRET))).toBeUndefined();
  });

  it('rejects the signature made with another secret, or with a prefix of the secret', () => {
    expect(verify(BODY, signMeta(BODY, 'another-secret'))).toBeUndefined();
    expect(verify(BODY, signMeta(BODY, SECRET.slice(0, -1)))).toBeUndefined();
    expect(verify(BODY, signMeta(BODY, `${SECRET}x`))).toBeUndefined();
    expect(verify(BODY, signMeta(BODY, ''))).toBeUndefined();
  });

  it('takes the hex digits in upper case as well (they are the same digest)', () => {
    expect(verify(BODY, `sha256=${hex(BODY).toUpperCase()}`)).toBe('meta-signature');
    expect(verify(BODY, ` sha256=${hex(BODY)} `)).toBe('meta-signature');
  });
});

describe('createMetaVerifier: malformed headers', () => {
  const verify = createMetaVerifier([SECRET]);
  const digest = hex(BODY);

  it('rejects a missing or empty header', () => {
    expect(verify(BODY, undefined)).toBeUndefined();
    expect(verify(BODY, '')).toBeUndefined();
    expect(verify(BODY, 'sha256=')).toBeUndefined();
  });

  it('rejects a digest of the wrong length, whichever end is cut or padded', () => {
    expect(verify(BODY, `sha256=${digest.slice(0, 63)}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest.slice(1)}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest.slice(0, 62)}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest.slice(0, 32)}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest}0`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest}00`)).toBeUndefined();
    expect(verify(BODY, `sha256=0${digest}`)).toBeUndefined();
  });

  it('rejects the digest without its prefix, under another algorithm name, or with non-hex digits', () => {
    expect(verify(BODY, digest)).toBeUndefined();
    expect(verify(BODY, `sha1=${digest}`)).toBeUndefined();
    expect(verify(BODY, `sha512=${digest}`)).toBeUndefined();
    expect(verify(BODY, `sha256:${digest}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest.slice(0, 63)}g`)).toBeUndefined();
    expect(verify(BODY, `sha256=${Buffer.from(digest, 'hex').toString('base64')}`)).toBeUndefined();
    expect(verify(BODY, `sha256=${digest},sha256=${digest}`)).toBeUndefined();
  });

  it('parseMetaSignature gives the 32 digest bytes of a well-formed value only', () => {
    expect(parseMetaSignature(`sha256=${digest}`)).toEqual(Buffer.from(digest, 'hex'));
    expect(parseMetaSignature(`sha256=${digest}`)).toHaveLength(32);
    expect(parseMetaSignature(`sha256=${digest.slice(2)}`)).toBeUndefined();
    expect(parseMetaSignature(undefined)).toBeUndefined();
  });
});

describe('createMetaVerifier: several secrets', () => {
  const verify = createMetaVerifier(['old-secret', 'new-secret']);

  it('accepts a signature made with any configured secret (rotation)', () => {
    expect(verify(BODY, signMeta(BODY, 'old-secret'))).toBe('meta-signature');
    expect(verify(BODY, signMeta(BODY, 'new-secret'))).toBe('meta-signature');
  });

  it('rejects a signature made with a secret that is not configured', () => {
    expect(verify(BODY, signMeta(BODY, 'third-secret'))).toBeUndefined();
    expect(verify(BODY, signMeta(BODY, 'old-secretnew-secret'))).toBeUndefined();
  });

  it('accepts nothing when no secret is configured', () => {
    const none = createMetaVerifier([]);
    expect(none(BODY, signMeta(BODY, ''))).toBeUndefined();
    expect(none(BODY, signMeta(BODY, SECRET))).toBeUndefined();
  });

  it('verifyMetaSignature answers as the compiled verifier does', () => {
    expect(verifyMetaSignature(BODY, signMeta(BODY, 'new-secret'), ['old-secret', 'new-secret'])).toBe('meta-signature');
    expect(verifyMetaSignature(BODY, signMeta(BODY, 'nope'), ['old-secret', 'new-secret'])).toBeUndefined();
  });
});

describe('createMetaVerifier: the escaped-unicode fallback', () => {
  const verify = createMetaVerifier([SECRET]);
  // A body as a relay that decoded Meta's escapes forwards it, and the form Meta signed.
  const decoded = Buffer.from('{"text":"héllo 👋 naïve","name":"Zoë"}', 'utf8');
  const escaped = '{"text":"h\\u00e9llo \\ud83d\\udc4b na\\u00efve","name":"Zo\\u00eb"}';

  it('accepts the decoded body when the signature is over the lower-case escaped form, and says so', () => {
    expect(verify(decoded, signMeta(escaped, SECRET))).toBe('meta-signature-escaped');
  });

  it('prefers the exact bytes when they match', () => {
    expect(verify(decoded, signMeta(decoded, SECRET))).toBe('meta-signature');
    expect(verify(Buffer.from(escaped), signMeta(escaped, SECRET))).toBe('meta-signature');
  });

  it('rejects a signature over an upper-case escaped form, a partly escaped form, or with another secret', () => {
    expect(verify(decoded, signMeta(escaped.replace('\\u00e9', '\\u00E9'), SECRET))).toBeUndefined();
    expect(verify(decoded, signMeta(escaped.replace('\\u00e9', 'é'), SECRET))).toBeUndefined();
    expect(verify(decoded, signMeta(escaped.replace('\\ud83d\\udc4b', '\\u1f44b'), SECRET))).toBeUndefined();
    expect(verify(decoded, signMeta(escaped, 'another-secret'))).toBeUndefined();
  });

  it('escapes from U+0080 up, the first character outside ASCII', () => {
    const body = Buffer.from('{"text":"\u0080x"}', 'utf8');
    expect(body.length).toBe(14);
    expect(verify(body, signMeta('{"text":"\\u0080x"}', SECRET))).toBe('meta-signature-escaped');
  });

  it('does not let the fallback rescue a body that differs in its ASCII bytes', () => {
    const tampered = Buffer.from('{"text":"hello 👋 naïve","name":"Zoë"}', 'utf8');
    expect(verify(tampered, signMeta(escaped, SECRET))).toBeUndefined();
    expect(verify(BODY, signMeta(escaped, SECRET))).toBeUndefined();
  });
});
