import { describe, expect, it } from 'vitest';
import { eventId } from './ids.js';

describe('eventId', () => {
  it('is evt_ followed by 64 lower-case hex digits', () => {
    expect(eventId(['msg', 'meta', 'wamid.X'])).toMatch(/^evt_[0-9a-f]{64}$/);
  });

  it('is the same for the same parts, whatever the key order of objects among them', () => {
    expect(eventId(['x', { a: 1, b: [2] }])).toBe(eventId(['x', { b: [2], a: 1 }]));
  });

  it('differs when the parts differ, even when their joined text would not', () => {
    expect(eventId(['ab', 'c'])).not.toBe(eventId(['a', 'bc']));
    expect(eventId(['a', undefined])).not.toBe(eventId(['a']));
    expect(eventId(['1'])).not.toBe(eventId([1]));
  });
});
