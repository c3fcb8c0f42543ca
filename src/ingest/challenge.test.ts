/**
 * Unit tests for Meta's subscription handshake: the challenge is echoed only for
 * `hub.mode=subscribe` with a configured verify token, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { answerChallenge, MAX_CHALLENGE_LENGTH } from './challenge.js';

const query = (mode: string | undefined, token: string | undefined, challenge: string | undefined): string => {
  const params = new URLSearchParams();
  if (mode !== undefined) params.set('hub.mode', mode);
  if (token !== undefined) params.set('hub.verify_token', token);
  if (challenge !== undefined) params.set('hub.challenge', challenge);
  return params.toString();
};

describe('answerChallenge', () => {
  it('echoes the challenge when the mode is subscribe and the token is ours', () => {
    expect(answerChallenge(query('subscribe', 'tok', '1158201444'), ['tok'])).toEqual({ status: 200, challenge: '1158201444' });
    expect(answerChallenge(`?${query('subscribe', 'tok', '42')}`, ['tok'])).toEqual({ status: 200, challenge: '42' });
  });

  it('echoes the decoded challenge exactly, whatever characters it holds', () => {
    const challenge = 'a b&c=d/é?🔑';
    expect(answerChallenge(query('subscribe', 'tok', challenge), ['tok'])).toEqual({ status: 200, challenge });
  });

  it.each(['unsubscribe', 'Subscribe', 'SUBSCRIBE', 'subscribe ', ' subscribe', '', 'subscribed', 'sub'])(
    'refuses hub.mode %j with 400',
    (mode) => {
      const answer = answerChallenge(query(mode, 'tok', '42'), ['tok']);
      expect(answer).toEqual({ status: 400, cause: 'bad-request', detail: `unsupported hub.mode ${JSON.stringify(mode)}` });
    },
  );

  it('quotes at most 32 characters of an unsupported mode', () => {
    const answer = answerChallenge(query('x'.repeat(500), 'tok', '42'), ['tok']);
    expect(answer).toEqual({ status: 400, cause: 'bad-request', detail: `unsupported hub.mode "${'x'.repeat(32)}"` });
  });

  it('refuses with 400 when any of the three parameters is missing', () => {
    expect(answerChallenge(query(undefined, 'tok', '42'), ['tok'])).toEqual({
      status: 400,
      cause: 'bad-request',
      detail: 'expected hub.mode, hub.verify_token and hub.challenge',
    });
    expect(answerChallenge(query('subscribe', undefined, '42'), ['tok']).status).toBe(400);
    expect(answerChallenge(query('subscribe', 'tok', undefined), ['tok']).status).toBe(400);
    expect(answerChallenge('', ['tok']).status).toBe(400);
  });

  it('takes a challenge of exactly the longest length and refuses one character more, or an empty one', () => {
    const longest = '9'.repeat(MAX_CHALLENGE_LENGTH);
    expect(answerChallenge(query('subscribe', 'tok', longest), ['tok'])).toEqual({ status: 200, challenge: longest });
    const tooLong = answerChallenge(query('subscribe', 'tok', `${longest}9`), ['tok']);
    expect(tooLong).toEqual({ status: 400, cause: 'bad-request', detail: 'hub.challenge is empty or too long' });
    expect(answerChallenge(query('subscribe', 'tok', ''), ['tok']).status).toBe(400);
  });

  it('refuses with 403 a token that is not configured, however close', () => {
    for (const token of ['', 't', 'to', 'tok ', 'tokk', 'Tok', 'TOK', 'tok\u0000', ' tok']) {
      const answer = answerChallenge(query('subscribe', token, '42'), ['tok']);
      expect(answer, JSON.stringify(token)).toEqual({ status: 403, cause: 'verify-token-mismatch', detail: 'hub.verify_token does not match' });
    }
  });

  it('accepts each of several tokens and nothing in between', () => {
    const tokens = ['old-token', 'new-token'];
    expect(answerChallenge(query('subscribe', 'old-token', '1'), tokens).status).toBe(200);
    expect(answerChallenge(query('subscribe', 'new-token', '2'), tokens).status).toBe(200);
    expect(answerChallenge(query('subscribe', 'old-tokennew-token', '3'), tokens).status).toBe(403);
    expect(answerChallenge(query('subscribe', 'new-toke', '4'), tokens).status).toBe(403);
  });

  it('compares unicode tokens as their UTF-8 bytes', () => {
    expect(answerChallenge(query('subscribe', 'clé-🔑', '5'), ['clé-🔑']).status).toBe(200);
    expect(answerChallenge(query('subscribe', 'cle-🔑', '5'), ['clé-🔑']).status).toBe(403);
  });

  it('refuses with 403 when the channel has no verify token, even an empty one sent', () => {
    const none = { status: 403, cause: 'verify-token-mismatch', detail: 'this channel has no meta.verifyTokens configured' };
    expect(answerChallenge(query('subscribe', '', '42'), [])).toEqual(none);
    expect(answerChallenge(query('subscribe', 'tok', '42'), [])).toEqual(none);
  });
});
