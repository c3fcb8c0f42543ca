import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BluetickError, ConfigError } from '../errors.js';
import { NonRetriableError, RetryAfterError } from './control.js';
import {
  backoffCeilingMs,
  classify,
  DEFAULT_RETRY_POLICY,
  handlerOutcome,
  nextAttemptAt,
  parseRetryAfter,
  resolveRetryPolicy,
} from './retry.js';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

describe('classify', () => {
  it.each([
    [200, 'success'],
    [201, 'success'],
    [204, 'success'],
    [299, 'success'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'fail'],
    [401, 'fail'],
    [403, 'fail'],
    [404, 'fail'],
    [409, 'fail'],
    [410, 'fail'],
    [413, 'fail'],
    [422, 'fail'],
    [301, 'retry'],
    [302, 'retry'],
    [100, 'retry'],
  ] as const)('classifies HTTP %i as %s', (statusCode, expected) => {
    expect(classify({ statusCode })).toBe(expected);
  });

  it('retries network errors and timeouts', () => {
    expect(classify({ error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })).toBe('retry');
    expect(classify({ error: new Error('timeout') })).toBe('retry');
  });

  it('fails a NonRetriableError and retries a RetryAfterError', () => {
    expect(classify({ error: new NonRetriableError('bad') })).toBe('fail');
    expect(classify({ error: new RetryAfterError(5_000) })).toBe('retry');
  });

  it('treats no status and no error as success (a handler that returned)', () => {
    expect(classify({})).toBe('success');
  });
});

describe('resolveRetryPolicy', () => {
  it('fills in the defaults', () => {
    expect(resolveRetryPolicy()).toEqual({
      maxAttempts: 8,
      baseMs: 1000,
      capMs: 3_600_000,
      jitter: 'full',
      maxRetryAfterMs: 3_600_000,
    });
    expect(resolveRetryPolicy({ maxAttempts: 3 })).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3 });
  });

  it('names every bad key in one ConfigError', () => {
    let caught: unknown;
    try {
      resolveRetryPolicy({ maxAttempts: 0, baseMs: -1, jitter: 'some' as 'full', ...{ factor: 3 } }, 'routes.crm.retry');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const issues = (caught as ConfigError).issues.join('\n');
    expect(issues).toContain('routes.crm.retry.maxAttempts');
    expect(issues).toContain('routes.crm.retry.baseMs');
    expect(issues).toContain('routes.crm.retry.jitter');
    expect(issues).toContain('routes.crm.retry.factor: unknown key');
  });

  it('refuses a cap below the base', () => {
    expect(() => resolveRetryPolicy({ baseMs: 5000, capMs: 1000 })).toThrow(/capMs/);
  });
});

describe('backoff', () => {
  const policy = resolveRetryPolicy({ baseMs: 1000, capMs: 60_000, maxAttempts: 100 });

  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeilingMs(policy, n))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
    expect(backoffCeilingMs(policy, 5000)).toBe(60_000);
  });

  it('never lowers the ceiling as attempts grow, and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 2000 }),
        (baseMs, extra, n) => {
          const p = resolveRetryPolicy({ baseMs, capMs: baseMs + extra, maxAttempts: 10_000 });
          const a = backoffCeilingMs(p, n);
          const b = backoffCeilingMs(p, n + 1);
          return b >= a && b <= p.capMs && Number.isFinite(b);
        },
      ),
    );
  });

  it('keeps full jitter within [0, ceiling) for any random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const at = nextAttemptAt(policy, n, NOW, { random: () => r });
        if (at === 'dead') return false;
        const delay = at - NOW;
        const ceiling = backoffCeilingMs(policy, n);
        return Number.isInteger(delay) && delay >= 0 && delay < ceiling;
      }),
    );
  });

  it('scales the injected random value onto the ceiling, so a schedule is reproducible', () => {
    expect(nextAttemptAt(policy, 1, NOW, { random: () => 0.5 })).toBe(NOW + 500);
    expect(nextAttemptAt(policy, 3, NOW, { random: () => 0.25 })).toBe(NOW + 1000);
    expect(nextAttemptAt(policy, 3, NOW, { random: () => 0 })).toBe(NOW);
    expect(nextAttemptAt(policy, 10, NOW, { random: () => 0.5 })).toBe(NOW + 30_000);
  });

  it('stays in range even when the random source misbehaves', () => {
    expect(nextAttemptAt(policy, 2, NOW, { random: () => 1 })).toBe(NOW + 1999);
    expect(nextAttemptAt(policy, 2, NOW, { random: () => 7 })).toBe(NOW + 1999);
    expect(nextAttemptAt(policy, 2, NOW, { random: () => -3 })).toBe(NOW);
    expect(nextAttemptAt(policy, 2, NOW, { random: () => Number.NaN })).toBe(NOW);
  });

  it('uses the exact ceiling without jitter', () => {
    const fixed = resolveRetryPolicy({ jitter: 'none', baseMs: 100, capMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => nextAttemptAt(fixed, n, 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('is dead once the attempt that failed was the last one allowed', () => {
    const three = resolveRetryPolicy({ maxAttempts: 3 });
    expect(nextAttemptAt(three, 1, NOW, { random: () => 0 })).toBe(NOW);
    expect(nextAttemptAt(three, 2, NOW, { random: () => 0 })).toBe(NOW);
    expect(nextAttemptAt(three, 3, NOW, { random: () => 0 })).toBe('dead');
    expect(nextAttemptAt(resolveRetryPolicy({ maxAttempts: 1 }), 1, NOW)).toBe('dead');
  });

  it('gives the default policy 7 retries with ceilings from 1 s to 64 s', () => {
    const p = resolveRetryPolicy();
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((n) => nextAttemptAt({ ...p, jitter: 'none' }, n, 0));
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000]);
    expect(nextAttemptAt(p, 8, 0)).toBe('dead');
  });
});

describe('Retry-After in the schedule', () => {
  const policy = resolveRetryPolicy({ baseMs: 1000, capMs: 60_000, maxRetryAfterMs: 120_000 });

  it('never schedules earlier than the receiver asked', () => {
    expect(nextAttemptAt(policy, 1, NOW, { retryAfterMs: 30_000, random: () => 0.99 })).toBe(NOW + 30_000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 120_000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, ask, r) => {
        const at = nextAttemptAt(policy, n, NOW, { retryAfterMs: ask, random: () => r });
        return at !== 'dead' && at - NOW >= ask;
      }),
    );
  });

  it('keeps the longer backoff when the receiver asked for less', () => {
    expect(nextAttemptAt(policy, 6, NOW, { retryAfterMs: 1000, random: () => 0.5 })).toBe(NOW + 16_000);
  });

  it('cuts an excessive Retry-After to maxRetryAfterMs', () => {
    expect(nextAttemptAt(policy, 1, NOW, { retryAfterMs: 86_400_000, random: () => 0 })).toBe(NOW + 120_000);
  });

  it('ignores a zero, negative or non-finite Retry-After', () => {
    for (const retryAfterMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(nextAttemptAt(policy, 1, NOW, { retryAfterMs, random: () => 0.5 })).toBe(NOW + 500);
    }
  });

  it('still ends in dead letters on the last attempt, whatever the receiver asked', () => {
    expect(nextAttemptAt(resolveRetryPolicy({ maxAttempts: 2 }), 2, NOW, { retryAfterMs: 1000 })).toBe('dead');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an HTTP-date relative to now', () => {
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
  });

  it('reads a date in the past as no wait', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW)).toBe(0);
  });

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['3', '10'], NOW)).toBe(3000);
  });

  it('returns undefined for a missing or unreadable header', () => {
    for (const header of [undefined, null, '', '  ', '-1', 'soon', '5 minutes', '12abc', 'NaN', []]) {
      expect(parseRetryAfter(header as string | undefined, NOW)).toBeUndefined();
    }
  });
});

describe('control errors and handler outcomes', () => {
  it('gives the control errors stable codes in the error hierarchy', () => {
    const non = new NonRetriableError('unknown contact', { cause: new Error('404 from crm') });
    expect(non).toBeInstanceOf(BluetickError);
    expect(non.code).toBe('BT_ERR_DISPATCH_NON_RETRIABLE');
    expect(non.name).toBe('NonRetriableError');
    expect(non.cause).toBeInstanceOf(Error);
    const later = new RetryAfterError(2500.2);
    expect(later.code).toBe('BT_ERR_DISPATCH_RETRY_AFTER');
    expect(later.retryAfterMs).toBe(2501);
    expect(new RetryAfterError(-4).retryAfterMs).toBe(0);
    expect(new RetryAfterError(Number.NaN).retryAfterMs).toBe(0);
  });

  it('turns a handler that returned into a success', () => {
    expect(handlerOutcome(12)).toEqual({ ok: true, classification: 'success', latencyMs: 12 });
  });

  it('sends a NonRetriableError straight to fail', () => {
    expect(handlerOutcome(3, { error: new NonRetriableError('bad payload') })).toEqual({
      ok: false,
      classification: 'fail',
      latencyMs: 3,
      error: 'bad payload',
      errorCode: 'BT_ERR_DISPATCH_NON_RETRIABLE',
    });
  });

  it('carries the wait of a RetryAfterError into the outcome', () => {
    const outcome = handlerOutcome(3, { error: new RetryAfterError(30_000, 'rate limited') });
    expect(outcome).toMatchObject({ classification: 'retry', retryAfterMs: 30_000, error: 'rate limited' });
  });

  it('retries anything else a handler throws, even a non-Error', () => {
    expect(handlerOutcome(1, { error: new TypeError('x is undefined') })).toMatchObject({ classification: 'retry', error: 'x is undefined' });
    expect(handlerOutcome(1, { error: 'oops' })).toMatchObject({ classification: 'retry', error: 'oops' });
    expect(handlerOutcome(1, { error: undefined })).toMatchObject({ classification: 'retry' });
  });
});
