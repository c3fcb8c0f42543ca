import { describe, expect, it } from 'vitest';
import { type BreakerPermit, type BreakerState, CircuitBreaker } from './breaker.js';

function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  let now = 1_000_000;
  const transitions: Array<[BreakerState, BreakerState]> = [];
  const breaker = new CircuitBreaker(
    { failureThreshold: 3, cooldownMs: 10_000, maxCooldownMs: 35_000, probeTimeoutMs: 60_000, onTransition: (from, to) => transitions.push([from, to]), ...options },
    () => now,
  );
  return {
    breaker,
    transitions,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) breaker.record(breaker.acquire()!, 'retry');
}

describe('CircuitBreaker', () => {
  it('starts closed and lets every attempt through', () => {
    const { breaker } = setup();
    expect(breaker.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0, opens: 0 });
    for (let i = 0; i < 10; i++) expect(breaker.acquire()).toEqual({ generation: 0, probe: false });
    expect(breaker.waitMs()).toBe(0);
  });

  it('opens after the threshold of consecutive retryable failures', () => {
    const { breaker, now, transitions } = setup();
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.snapshot()).toEqual({
      state: 'open',
      consecutiveFailures: 3,
      openedAt: now(),
      nextProbeAt: now() + 10_000,
      cooldownMs: 10_000,
      opens: 1,
    });
    expect(transitions).toEqual([['closed', 'open']]);
  });

  it('resets the count on a success or on a non-retryable refusal', () => {
    const { breaker } = setup();
    fail(breaker, 2);
    breaker.record(breaker.acquire()!, 'success');
    fail(breaker, 2);
    breaker.record(breaker.acquire()!, 'fail');
    fail(breaker, 2);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
  });

  it('refuses attempts while open and reports how long to wait, dropping nothing', () => {
    const { breaker, advance } = setup();
    fail(breaker, 3);
    expect(breaker.acquire()).toBeUndefined();
    advance(4_000);
    expect(breaker.acquire()).toBeUndefined();
    expect(breaker.waitMs()).toBe(6_000);
  });

  it('turns half-open after the cool-down and lets exactly one probe through', () => {
    const { breaker, advance, transitions } = setup();
    fail(breaker, 3);
    advance(10_000);
    const probe = breaker.acquire();
    expect(probe?.probe).toBe(true);
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toBeUndefined();
    expect(breaker.acquire()).toBeUndefined();
    expect(transitions.at(-1)).toEqual(['open', 'half-open']);
  });

  it('closes when the probe is answered', () => {
    const { breaker, advance } = setup();
    fail(breaker, 3);
    advance(10_000);
    breaker.record(breaker.acquire()!, 'success');
    expect(breaker.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0, opens: 1 });
    expect(breaker.acquire()?.probe).toBe(false);
  });

  it('counts a 4xx refusal of the probe as the receiver being back', () => {
    const { breaker, advance } = setup();
    fail(breaker, 3);
    advance(10_000);
    breaker.record(breaker.acquire()!, 'fail');
    expect(breaker.state).toBe('closed');
  });

  it('re-opens with a doubled cool-down, up to the maximum, when probes fail', () => {
    const { breaker, advance, now } = setup();
    fail(breaker, 3);
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      advance(breaker.waitMs());
      breaker.record(breaker.acquire()!, 'retry');
      const snap = breaker.snapshot();
      expect(snap.state).toBe('open');
      expect(snap.openedAt).toBe(now());
      cooldowns.push(snap.cooldownMs!);
    }
    expect(cooldowns).toEqual([20_000, 35_000, 35_000, 35_000]);
    expect(breaker.snapshot().opens).toBe(5);
    expect(breaker.snapshot().consecutiveFailures).toBe(7);
    advance(35_000);
    breaker.record(breaker.acquire()!, 'success');
    // After closing, the next opening starts again from the first cool-down.
    fail(breaker, 3);
    expect(breaker.snapshot().cooldownMs).toBe(10_000);
  });

  it('ignores late results of attempts granted before the breaker opened', () => {
    const { breaker, advance } = setup();
    const early: BreakerPermit[] = [breaker.acquire()!, breaker.acquire()!, breaker.acquire()!];
    fail(breaker, 3);
    // A success that was in flight when the breaker opened cannot close it.
    breaker.record(early[0]!, 'success');
    expect(breaker.state).toBe('open');
    advance(10_000);
    const probe = breaker.acquire()!;
    // Nor can a late one decide the probe's fate while half-open.
    breaker.record(early[1]!, 'success');
    breaker.record(early[2]!, 'retry');
    expect(breaker.state).toBe('half-open');
    breaker.record(probe, 'success');
    expect(breaker.state).toBe('closed');
    // And a stale failure after closing does not count towards the next opening.
    breaker.record(early[2]!, 'retry');
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
  });

  it('lets a new probe through when the last one never reported, and ignores the lost one', () => {
    const { breaker, advance } = setup();
    fail(breaker, 3);
    advance(10_000);
    const lost = breaker.acquire()!;
    expect(breaker.snapshot().nextProbeAt).toBe(breaker.snapshot().openedAt! + 10_000 + 60_000);
    advance(59_999);
    expect(breaker.acquire()).toBeUndefined();
    advance(1);
    const second = breaker.acquire()!;
    expect(second.probe).toBe(true);
    breaker.record(lost, 'success');
    expect(breaker.state).toBe('half-open');
    breaker.record(second, 'success');
    expect(breaker.state).toBe('closed');
  });

  it('closes on reset from any state', () => {
    const { breaker, advance } = setup();
    fail(breaker, 3);
    breaker.reset();
    expect(breaker.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0, opens: 1 });
    fail(breaker, 3);
    advance(10_000);
    breaker.acquire();
    breaker.reset();
    expect(breaker.state).toBe('closed');
  });

  it('uses 5 failures and a 30 s cool-down by default', () => {
    let now = 0;
    const breaker = new CircuitBreaker({}, () => now);
    fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', nextProbeAt: 30_000 });
    now = 30_000;
    expect(breaker.acquire()?.probe).toBe(true);
  });

  it('ends the cool-down on request: the next attempt is the probe, and the next cool-down follows the usual rule', () => {
    const { breaker, now, transitions } = setup();
    expect(breaker.probeNow()).toBe(false); // closed: nothing to cut short
    fail(breaker, 3);
    expect(breaker.acquire()).toBeUndefined();
    expect(breaker.probeNow()).toBe(true);
    expect(breaker.waitMs()).toBe(0);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', nextProbeAt: now(), cooldownMs: 10_000 });
    const probe = breaker.acquire()!;
    expect(probe.probe).toBe(true);
    expect(breaker.probeNow()).toBe(false); // the probe is out
    breaker.record(probe, 'retry');
    // Failed: open again, doubled, and the request does not carry over.
    expect(breaker.snapshot()).toMatchObject({ state: 'open', cooldownMs: 20_000, nextProbeAt: now() + 20_000 });
    expect(breaker.acquire()).toBeUndefined();
    breaker.probeNow();
    breaker.record(breaker.acquire()!, 'success');
    expect(breaker.state).toBe('closed');
    expect(transitions.map(([, to]) => to)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('refuses nonsensical options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ cooldownMs: -1 })).toThrow(RangeError);
  });
});
