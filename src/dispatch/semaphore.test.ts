import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('grants up to the limit at once and queues the rest', async () => {
    const s = new Semaphore(2);
    const a = await s.acquire();
    await s.acquire();
    let third = false;
    const pending = s.acquire().then((release) => {
      third = true;
      return release;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    expect([s.inFlight, s.waiting]).toEqual([2, 1]);
    a();
    (await pending)();
    expect(third).toBe(true);
    expect([s.inFlight, s.waiting]).toEqual([1, 0]);
  });

  it('serves waiters in arrival order', async () => {
    const s = new Semaphore(1);
    const first = await s.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => s.acquire().then((release) => (order.push(n), release())));
    first();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(s.inFlight).toBe(0);
  });

  it('grants a free slot at once with tryAcquire, and never one a waiter is owed', async () => {
    const s = new Semaphore(1);
    const first = s.tryAcquire();
    expect(first).toBeTypeOf('function');
    expect(s.tryAcquire()).toBeUndefined();
    const waiter = s.acquire();
    // The slot goes straight to the waiter: nothing is free for a caller that came later.
    first!();
    expect(s.tryAcquire()).toBeUndefined();
    expect([s.inFlight, s.waiting]).toEqual([1, 0]);
    (await waiter)();
    expect(s.inFlight).toBe(0);
    expect(s.tryAcquire()).toBeTypeOf('function');
  });

  it('ignores a second call of the same release', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    release();
    release();
    expect(s.inFlight).toBe(0);
    await s.acquire();
    expect(s.inFlight).toBe(1);
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
