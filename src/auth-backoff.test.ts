import { describe, expect, it } from 'vitest';
import { AuthBackoff, backoffKey, retryAfterSeconds } from './auth-backoff.js';

describe('AuthBackoff', () => {
  it('makes an address wait after the allowed failures, doubling each further one up to the cap', () => {
    let now = 1_000_000;
    const b = new AuthBackoff({ failures: 3, baseMs: 1_000, maxMs: 8_000, now: () => now });
    b.fail('198.51.100.7');
    b.fail('198.51.100.7');
    expect(b.check('198.51.100.7')).toBe(0);
    b.fail('198.51.100.7');
    expect(b.check('198.51.100.7')).toBe(1_000);
    const waits = [2_000, 4_000, 8_000, 8_000];
    for (const wait of waits) {
      b.fail('198.51.100.7');
      expect(b.check('198.51.100.7')).toBe(wait);
    }
    expect(b.check('198.51.100.8')).toBe(0);
    now += 8_000;
    expect(b.check('198.51.100.7')).toBe(0);
    expect(b.offenders()[0]).toMatchObject({ address: '198.51.100.7', failures: 7, totalFailures: 7, refused: 5 });
  });

  it('starts over after a success or a quiet spell, keeping the total', () => {
    let now = 0;
    const b = new AuthBackoff({ failures: 2, forgetMs: 60_000, now: () => now });
    b.fail('a');
    b.succeed('a');
    b.fail('a');
    expect(b.check('a')).toBe(0);
    now += 61_000;
    b.fail('a');
    expect(b.check('a')).toBe(0);
    expect(b.offenders()[0]).toMatchObject({ failures: 1, totalFailures: 3 });
  });

  it('only counts when turned off, and forgets the least recently seen address beyond its bound', () => {
    const b = new AuthBackoff({ failures: 0, maxAddresses: 2 });
    for (let i = 0; i < 20; i++) b.fail('a');
    expect(b.check('a')).toBe(0);
    b.fail('b');
    b.fail('a');
    b.fail('c');
    expect(b.offenders().map((o) => o.address).sort()).toEqual(['a', 'c']);
  });

  it('counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(backoffKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(backoffKey('2001:db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(backoffKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(backoffKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(backoffKey('203.0.113.9')).toBe('203.0.113.9');
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(2_001)).toBe(3);
  });
});
