import { describe, expect, it } from 'vitest';
import { isoFromEpochMs, isoFromUnixSeconds } from './time.js';

describe('isoFromUnixSeconds', () => {
  it('reads unix seconds sent as a string or a number', () => {
    expect(isoFromUnixSeconds('1704067200')).toBe('2024-01-01T00:00:00.000Z');
    expect(isoFromUnixSeconds(1704067200)).toBe('2024-01-01T00:00:00.000Z');
    expect(isoFromUnixSeconds('1704067200.25')).toBe('2024-01-01T00:00:00.250Z');
    expect(isoFromUnixSeconds(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('treats anything else as absent', () => {
    for (const value of [undefined, null, '', ' 1704067200', '1704067200 ', '-5', -5, '1e9', 'soon', true, [], {}, Number.NaN, Number.POSITIVE_INFINITY, 10n]) {
      expect(isoFromUnixSeconds(value as never)).toBeUndefined();
    }
  });

  it('refuses times past year 9999, which need an expanded ISO year', () => {
    expect(isoFromUnixSeconds(253402300799)).toBe('9999-12-31T23:59:59.000Z');
    expect(isoFromUnixSeconds(253402300800)).toBeUndefined();
    expect(isoFromUnixSeconds('1700000000000')).toBeUndefined();
  });
});

describe('isoFromEpochMs', () => {
  it('gives ISO-8601 UTC with milliseconds', () => {
    expect(isoFromEpochMs(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z');
  });

  it('refuses values that are not a usable time', () => {
    expect(isoFromEpochMs(Number.NaN)).toBeUndefined();
    expect(isoFromEpochMs(-1)).toBeUndefined();
    expect(isoFromEpochMs('1700000000000' as never)).toBeUndefined();
  });
});

describe('isoFromEpochMs formatting', () => {
  it('matches Date#toISOString across the whole four-digit-year range', () => {
    const samples = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 253_402_300_799_999];
    for (let i = 0; i < 20_000; i++) samples.push(Math.floor(Math.random() * 253_402_300_800_000));
    for (let i = 0; i < 2_000; i++) samples.push(1_600_000_000_000 + Math.floor(Math.random() * 400_000_000_000));
    for (const ms of samples) expect(isoFromEpochMs(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('drops fractions of a millisecond as toISOString does', () => {
    expect(isoFromEpochMs(1_700_000_000_123.9)).toBe('2023-11-14T22:13:20.123Z');
  });
});
