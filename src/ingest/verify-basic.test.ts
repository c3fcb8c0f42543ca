/**
 * Unit tests for the Basic credential check: only the exact `user:password` pair of a
 * configured credential opens a channel. Every near miss a sloppy comparison would let
 * through (a prefix, a truncation, an extension, half of one credential and half of
 * another) is tried here one by one.
 */
import { describe, expect, it } from 'vitest';
import { createBasicVerifier, encodeBasicAuthorization, parseBasicAuthorization, verifyBasic } from './verify-basic.js';

const ENABLEX = { username: 'enablex', password: 's3cret' };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Compiled inside each test, so the compile itself runs (and can fail) as part of the test. */
const verifierFor = (credentials: Parameters<typeof createBasicVerifier>[0]) => (header: string | undefined) =>
  createBasicVerifier(credentials)(header);

describe('encodeBasicAuthorization', () => {
  it('writes the scheme and the base64 of the UTF-8 user:password', () => {
    expect(encodeBasicAuthorization('enablex', 's3cret')).toBe('Basic ZW5hYmxleDpzM2NyZXQ=');
    expect(encodeBasicAuthorization('zoë', 'k')).toBe('Basic em/Dqzpr');
  });
});

describe('createBasicVerifier: the exact pair', () => {
  const verify = verifierFor([ENABLEX]);

  it('accepts the header a client builds from the configured user and password', () => {
    expect(verify(encodeBasicAuthorization('enablex', 's3cret'))).toBe(true);
    expect(verify(`Basic ${b64('enablex:s3cret')}`)).toBe(true);
  });

  it('rejects a missing, empty or scheme-only header', () => {
    expect(verify(undefined)).toBe(false);
    expect(verify('')).toBe(false);
    expect(verify('Basic')).toBe(false);
    expect(verify('Basic ')).toBe(false);
    expect(verify(`Basic ${b64(':')}`)).toBe(false);
  });

  it('rejects a wrong password or a wrong user', () => {
    expect(verify(encodeBasicAuthorization('enablex', 's3creT'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex', ''))).toBe(false);
    expect(verify(encodeBasicAuthorization('Enablex', 's3cret'))).toBe(false);
    expect(verify(encodeBasicAuthorization('', 's3cret'))).toBe(false);
    expect(verify(encodeBasicAuthorization('s3cret', 'enablex'))).toBe(false);
  });

  it('rejects every truncated password, however short (enablex:s does not open enablex:s3cret)', () => {
    for (let n = 0; n < ENABLEX.password.length; n++) {
      const header = encodeBasicAuthorization('enablex', ENABLEX.password.slice(0, n));
      expect(verify(header), header).toBe(false);
    }
    expect(verify(`Basic ${b64('enablex:s')}`)).toBe(false);
    expect(verify(`Basic ${b64('enablex:')}`)).toBe(false);
    expect(verify(`Basic ${b64('enablex')}`)).toBe(false);
    expect(verify(`Basic ${b64('e')}`)).toBe(false);
  });

  it('rejects every prefix of the expected header value, byte by byte', () => {
    // Dropping only the `=` padding keeps the same credentials (accepted below); anything shorter is another pair.
    const full = encodeBasicAuthorization('enablex', 's3cret').replace(/=+$/, '');
    for (let n = 0; n < full.length; n++) expect(verify(full.slice(0, n)), full.slice(0, n)).toBe(false);
  });

  it('rejects the pair with anything appended, in the password or after the encoding', () => {
    expect(verify(encodeBasicAuthorization('enablex', 's3cret!'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex', 's3cret '))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex', 's3cret:'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex', 's3cret\u0000'))).toBe(false);
    expect(verify(`Basic ${b64('enablex:s3cret')}AAAA`)).toBe(false);
    expect(verify(`Basic ${b64('enablex:s3cret')}x`)).toBe(false);
    expect(verify(`Basic ${b64('enablex:s3cret')} Basic ${b64('enablex:s3cret')}`)).toBe(false);
  });

  it('rejects the same credentials under another scheme', () => {
    expect(verify(`Bearer ${b64('enablex:s3cret')}`)).toBe(false);
    expect(verify(`Digest ${b64('enablex:s3cret')}`)).toBe(false);
    expect(verify(b64('enablex:s3cret'))).toBe(false);
    expect(verify(`Basicc ${b64('enablex:s3cret')}`)).toBe(false);
  });

  it('rejects the user and password sent unencoded', () => {
    expect(verify('Basic enablex:s3cret')).toBe(false);
  });
});

describe('createBasicVerifier: spellings of the same pair', () => {
  const verify = verifierFor([ENABLEX]);
  const token = b64('enablex:s3cret');

  it('takes the scheme in any case (RFC 7235: the scheme is case-insensitive)', () => {
    expect(verify(`basic ${token}`)).toBe(true);
    expect(verify(`BASIC ${token}`)).toBe(true);
    expect(verify(`bAsIc ${token}`)).toBe(true);
  });

  it('takes extra spaces around the parts and a token without its padding', () => {
    expect(verify(`Basic  ${token}`)).toBe(true);
    expect(verify(`  Basic ${token}  `)).toBe(true);
    expect(token.endsWith('=')).toBe(true);
    expect(verify(`Basic ${token.replace(/=+$/, '')}`)).toBe(true);
  });

  it('does not let a case change inside the encoded credentials through', () => {
    expect(verify(`Basic ${token.toLowerCase()}`)).toBe(false);
    expect(verify(`Basic ${token.toUpperCase()}`)).toBe(false);
  });
});

describe('createBasicVerifier: passwords with colons and unicode', () => {
  it('splits at the first colon only, so a password may hold colons', () => {
    const verify = verifierFor([{ username: 'enablex', password: 'a:b:c' }]);
    expect(verify(encodeBasicAuthorization('enablex', 'a:b:c'))).toBe(true);
    expect(verify(encodeBasicAuthorization('enablex', 'a:b'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex', 'a'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex:a', 'b:c'))).toBe(true); // the same bytes on the wire
    expect(verify(encodeBasicAuthorization('enablex', 'a:b:c:'))).toBe(false);
  });

  it('compares unicode passwords as their UTF-8 bytes', () => {
    const verify = verifierFor([{ username: 'zoë', password: 'pässwörd-🔑' }]);
    expect(verify(encodeBasicAuthorization('zoë', 'pässwörd-🔑'))).toBe(true);
    expect(verify(`Basic ${Buffer.from('zoë:pässwörd-🔑', 'utf8').toString('base64')}`)).toBe(true);
    // The same text in Latin-1 is other bytes, and the emoji cut short is not the emoji.
    expect(verify(`Basic ${Buffer.from('zoë:pässwörd-', 'latin1').toString('base64')}`)).toBe(false);
    expect(verify(`Basic ${Buffer.from('zoë:pässwörd-', 'utf8').toString('base64')}`)).toBe(false);
    expect(verify(`Basic ${Buffer.concat([Buffer.from('zoë:pässwörd-', 'utf8'), Buffer.from('🔑', 'utf8').subarray(0, 2)]).toString('base64')}`)).toBe(false);
    expect(verify(encodeBasicAuthorization('zoe', 'passwörd-🔑'))).toBe(false);
    expect(verify(encodeBasicAuthorization('zoë', 'pässword-🔑'))).toBe(false);
  });
});

describe('createBasicVerifier: several credentials', () => {
  const current = { username: 'enablex', password: 'new-secret' };
  const previous = { username: 'enablex-old', password: 'old-secret' };
  const verify = verifierFor([previous, current]);

  it('accepts each configured pair (rotation)', () => {
    expect(verify(encodeBasicAuthorization('enablex', 'new-secret'))).toBe(true);
    expect(verify(encodeBasicAuthorization('enablex-old', 'old-secret'))).toBe(true);
    expect(verify(`basic ${b64('enablex-old:old-secret').replace(/=+$/, '')}`)).toBe(true);
  });

  it('rejects the user of one credential with the password of another', () => {
    expect(verify(encodeBasicAuthorization('enablex', 'old-secret'))).toBe(false);
    expect(verify(encodeBasicAuthorization('enablex-old', 'new-secret'))).toBe(false);
  });

  it('rejects truncations of either pair', () => {
    for (const c of [current, previous]) {
      for (let n = 0; n < c.password.length; n++) {
        expect(verify(encodeBasicAuthorization(c.username, c.password.slice(0, n)))).toBe(false);
      }
    }
  });

  it('accepts nothing when no credential is configured', () => {
    const none = verifierFor([]);
    expect(none(encodeBasicAuthorization('enablex', 's3cret'))).toBe(false);
    expect(none(encodeBasicAuthorization('', ''))).toBe(false);
    expect(none(undefined)).toBe(false);
  });

  it('verifyBasic answers as the compiled verifier does', () => {
    expect(verifyBasic(encodeBasicAuthorization('enablex', 'new-secret'), [previous, current])).toBe(true);
    expect(verifyBasic(encodeBasicAuthorization('enablex', 'new-secre'), [previous, current])).toBe(false);
    expect(verifyBasic(undefined, [previous, current])).toBe(false);
  });
});

describe('parseBasicAuthorization', () => {
  it('reads user and password, the password keeping its colons', () => {
    expect(parseBasicAuthorization(encodeBasicAuthorization('enablex', 'a:b'))).toEqual({ username: 'enablex', password: 'a:b' });
    expect(parseBasicAuthorization(`basic ${b64('u:')}`)).toEqual({ username: 'u', password: '' });
    expect(parseBasicAuthorization(`Basic ${b64(':p')}`)).toEqual({ username: '', password: 'p' });
  });

  it('gives nothing for another scheme, no header, or credentials without a colon', () => {
    expect(parseBasicAuthorization(undefined)).toBeUndefined();
    expect(parseBasicAuthorization(`Bearer ${b64('u:p')}`)).toBeUndefined();
    expect(parseBasicAuthorization(`Basic ${b64('no-colon')}`)).toBeUndefined();
    expect(parseBasicAuthorization('Basic')).toBeUndefined();
  });
});
