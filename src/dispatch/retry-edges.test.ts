/**
 * Edges of the retry policy that the mutation check found untested: the first 3xx status,
 * a decimal `Retry-After` with more than one digit after the point, junk that contains a
 * three-letter word, and thrown values that are not errors.
 */
import { describe, expect, it } from 'vitest';
import { classify, handlerOutcome, parseRetryAfter } from './retry.js';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

describe('retry edges', () => {
  it('retries a 300: success ends at 299', () => {
    expect(classify({ statusCode: 299 })).toBe('success');
    expect(classify({ statusCode: 300 })).toBe('retry');
  });

  it('reads delay-seconds with several decimals, rounding the wait up to the millisecond', () => {
    expect(parseRetryAfter('1.25', NOW)).toBe(1_250);
    expect(parseRetryAfter(' 0.0015 ', NOW)).toBe(2);
    expect(parseRetryAfter('0', NOW)).toBe(0);
  });

  it('reads nothing from blanks or from words that are not a date', () => {
    expect(parseRetryAfter('   ', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('in 5 min', NOW)).toBeUndefined();
    expect(parseRetryAfter('12', NOW)).toBe(12_000);
  });

  it('describes a thrown string as itself and any other value as such', () => {
    expect(handlerOutcome(3, { error: 'downstream said no' })).toMatchObject({ error: 'downstream said no', classification: 'retry' });
    expect(handlerOutcome(3, { error: 42 })).toMatchObject({ error: 'a non-Error value was thrown' });
    expect(handlerOutcome(3, { error: Object.assign(new Error('x'), { code: 42 }) })).not.toHaveProperty('errorCode');
  });
});
