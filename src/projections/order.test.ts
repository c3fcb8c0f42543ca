import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addHours, compareTime, isUtcIso, sameJson } from './order.js';

/** What addHours means, through a Date. */
function viaDate(iso: string, hours: number): string | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const shifted = new Date(ms + hours * 3_600_000);
  return Number.isNaN(shifted.getTime()) ? undefined : shifted.toISOString();
}

const HOURS = [0, 1, 23, 24, 25, 48, 72, 96, 168, 672, 696, -24, 0.5];

describe('addHours', () => {
  it('agrees with Date arithmetic on any time a Date can write', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), fc.constantFrom(...HOURS), (ms, hours) => {
        const iso = new Date(ms).toISOString();
        expect(addHours(iso, hours)).toBe(viaDate(iso, hours));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees at month, year and leap-day edges, and past year 9999', () => {
    const times = [
      '2024-02-28T23:59:59.999Z',
      '2024-02-29T12:00:00.000Z',
      '2023-02-28T00:00:00.000Z',
      '1900-02-28T10:00:00.000Z',
      '2000-02-28T10:00:00.000Z',
      '2100-02-28T10:00:00.000Z',
      '2024-01-31T10:00:00.000Z',
      '2024-04-30T10:00:00.000Z',
      '2024-12-31T23:00:00.000Z',
      '0000-02-28T00:00:00.000Z',
      '9999-12-31T00:00:00.000Z',
      '9999-12-01T00:00:00.000Z',
    ];
    for (const iso of times) for (const hours of HOURS) expect(addHours(iso, hours), `${iso} + ${hours} h`).toBe(viaDate(iso, hours));
  });

  it('agrees on times written otherwise and on dates the calendar does not have', () => {
    const times = [
      '2023-02-29T10:00:00.000Z',
      '2024-04-31T10:00:00.000Z',
      '2024-13-01T10:00:00.000Z',
      '2024-00-10T10:00:00.000Z',
      '2024-06-00T10:00:00.000Z',
      '2024-06-01T24:00:00.000Z',
      '2024-06-01T10:60:00.000Z',
      '2024-06-01T10:00:60.000Z',
      '2024-06-01T10:00:00.0a0Z',
      '2024-06-01T10:00:00Z',
      '2024-06-01T10:00:00.1Z',
      '2024-06-01T10:00:00.000+02:00',
      '2024-06-01T10:00:00.000000Z',
      '2024-06-01',
      'not a time',
      '',
    ];
    for (const iso of times) for (const hours of HOURS) expect(addHours(iso, hours), `${iso} + ${hours} h`).toBe(viaDate(iso, hours));
  });
});

describe('isUtcIso', () => {
  it('holds only where text order is time order, so same-length times compare as text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (x, y) => {
        const a = new Date(x).toISOString();
        const b = new Date(y).toISOString();
        expect(isUtcIso(a) && isUtcIso(b)).toBe(true);
        expect(Math.sign(compareTime(a, b))).toBe(Math.sign(x - y));
        expect(Math.sign(compareTime(a, b))).toBe(a === b ? 0 : a < b ? -1 : 1);
      }),
    );
    expect(isUtcIso('2024-06-01T10:00:00.000+02:00')).toBe(false);
    expect(isUtcIso('2024-06-01 10:00:00.000Z')).toBe(false);
  });
});

describe('sameJson', () => {
  it('holds for a value and its JSON copy, and only when both write the same JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(sameJson(a, JSON.parse(JSON.stringify(a)))).toBe(true);
        expect(sameJson(a, b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('tells apart key order, undefined members and non-finite numbers', () => {
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameJson({ a: 1, b: undefined }, { a: 1, c: undefined })).toBe(false);
    expect(sameJson({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toBe(true);
    expect(sameJson({ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] })).toBe(false);
    expect(sameJson([], {})).toBe(false);
    expect(sameJson(Infinity, Infinity)).toBe(false);
  });
});
