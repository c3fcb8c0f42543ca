/**
 * @module ingest/challenge
 *
 * Pure: Meta's subscription handshake. When a webhook URL is saved in the Meta app
 * dashboard, Meta sends `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C` and
 * expects `C` back as the body when `T` is one of ours.
 */
import { timingSafeEqual } from 'node:crypto';

export type ChallengeAnswer =
  | { status: 200; challenge: string }
  | { status: 400; cause: 'bad-request'; detail: string }
  | { status: 403; cause: 'verify-token-mismatch'; detail: string };

/** Longest challenge echoed back; Meta's are short numbers. */
export const MAX_CHALLENGE_LENGTH = 1024;

function tokenMatches(given: string, tokens: readonly string[]): boolean {
  const g = Buffer.from(given, 'utf8');
  let ok = false;
  for (const token of tokens) {
    const t = Buffer.from(token, 'utf8');
    if (t.length === g.length && timingSafeEqual(t, g)) ok = true;
  }
  return ok;
}

/**
 * Answers the handshake from the query string (with or without the leading `?`).
 *
 * @example
 * ```ts
 * answerChallenge('hub.mode=subscribe&hub.verify_token=abc&hub.challenge=42', ['abc']);
 * // { status: 200, challenge: '42' }
 * ```
 */
export function answerChallenge(query: string, verifyTokens: readonly string[]): ChallengeAnswer {
  const params = new URLSearchParams(query);
  const mode = params.get('hub.mode');
  const token = params.get('hub.verify_token');
  const challenge = params.get('hub.challenge');
  if (mode === null || token === null || challenge === null) {
    return { status: 400, cause: 'bad-request', detail: 'expected hub.mode, hub.verify_token and hub.challenge' };
  }
  if (mode !== 'subscribe') return { status: 400, cause: 'bad-request', detail: `unsupported hub.mode "${mode.slice(0, 32)}"` };
  if (challenge.length === 0 || challenge.length > MAX_CHALLENGE_LENGTH) {
    return { status: 400, cause: 'bad-request', detail: 'hub.challenge is empty or too long' };
  }
  if (verifyTokens.length === 0) {
    return { status: 403, cause: 'verify-token-mismatch', detail: 'this channel has no meta.verifyTokens configured' };
  }
  if (!tokenMatches(token, verifyTokens)) {
    return { status: 403, cause: 'verify-token-mismatch', detail: 'hub.verify_token does not match' };
  }
  return { status: 200, challenge };
}
