import { describe, expect, it } from 'vitest';
import { orderReason, renewalTime, retryDelay } from './schedule.js';

const DAY = 86_400_000;

describe('renewalTime', () => {
  it('renews when a third of the lifetime is left (30 days before a 90-day certificate expires)', () => {
    const notBefore = Date.UTC(2026, 0, 1);
    const notAfter = notBefore + 90 * DAY;
    expect(renewalTime({ notBefore, notAfter }, 1 / 3)).toBe(notAfter - 30 * DAY);
    // Obtained just now: the floor (10 minutes) is far below the due time.
    expect(renewalTime({ notBefore, notAfter }, 1 / 3, notBefore)).toBe(notAfter - 30 * DAY);
  });

  it('never schedules a fresh certificate for renewal at once, even with a heavily backdated one', () => {
    const obtainedAt = Date.UTC(2026, 0, 1);
    // Valid for one more hour, but backdated by six: already "due" by the fraction alone.
    const at = renewalTime({ notBefore: obtainedAt - 6 * 3_600_000, notAfter: obtainedAt + 3_600_000 }, 1 / 3, obtainedAt);
    expect(at).toBe(obtainedAt + 6 * 60_000);
    // Long certificates: at most 10 minutes.
    expect(renewalTime({ notBefore: obtainedAt - 90 * DAY, notAfter: obtainedAt + DAY }, 1 / 3, obtainedAt)).toBe(obtainedAt + 10 * 60_000);
    // Very short certificates: a tenth of what is left.
    expect(renewalTime({ notBefore: obtainedAt, notAfter: obtainedAt + 30_000 }, 0.99, obtainedAt)).toBe(obtainedAt + 3_000);
  });
});

describe('retryDelay', () => {
  it('doubles from the minimum up to the maximum, with ±20 % jitter', () => {
    const opts = { minMs: 30_000, maxMs: 3_600_000 };
    expect([1, 2, 3, 4].map((n) => retryDelay(n, opts, 0.5))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelay(1, opts, 0)).toBe(24_000);
    expect(retryDelay(1, opts, 0.999_999)).toBe(36_000);
    expect(retryDelay(20, opts, 0.999_999)).toBe(3_600_000);
    expect(retryDelay(1_000, opts, 0.5)).toBe(3_600_000);
  });
});

describe('orderReason', () => {
  it('tells missing, expired, due and fine apart', () => {
    expect(orderReason(undefined, 0)).toBe('missing');
    expect(orderReason({ notAfter: 100, renewAt: 50 }, 100)).toBe('expired');
    expect(orderReason({ notAfter: 100, renewAt: 50 }, 60)).toBe('renewal');
    expect(orderReason({ notAfter: 100, renewAt: 50 }, 49)).toBeUndefined();
  });
});
