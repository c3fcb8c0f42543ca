/**
 * The rejection log's paths away from the happy one: it batches in memory, keeps what a
 * failing store would not take and writes it on the next flush (in arrival order), and
 * drops the oldest beyond its bound, counting them. The store here is a stand-in whose
 * `rejections.add` the test answers call by call; the waits are on those calls, not on time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RejectionLog } from '../src/ingest/handler.js';
import type { RejectionInput } from '../src/store/store.js';

interface Call {
  rows: RejectionInput[];
  keep: number;
  succeed(): void;
  fail(err?: Error): void;
}

/** A store whose writes wait for the test to answer them. */
function heldStore() {
  const calls: Call[] = [];
  let waiting: Array<() => void> = [];
  const rejections = {
    add(rows: RejectionInput[], keep: number): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        calls.push({ rows: [...rows], keep, succeed: resolve, fail: (err = new Error('SQLITE_BUSY: database is locked')) => reject(err) });
        const w = waiting;
        waiting = [];
        for (const f of w) f();
      });
    },
  };
  const store = { rejections };
  /** Resolves once the store has been called `n` times in all. */
  const call = async (n: number): Promise<Call> => {
    while (calls.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
    return calls[n - 1]!;
  };
  return { store, calls, call };
}

const rejection = (n: number): RejectionInput => ({ at: 1_700_000_000_000 + n, cause: 'unauthorized', method: 'POST', path: `/webhooks/r${n}`, channel: 'meta' });
const paths = (rows: RejectionInput[]): string[] => rows.map((r) => r.path);
const HOUR = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('RejectionLog', () => {
  it('holds rejections until the flush, then writes them in one batch, in order, with the keep bound', async () => {
    const { store, calls, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: HOUR, keep: 77 });
    log.add(rejection(1));
    log.add(rejection(2));
    log.add(rejection(3));
    expect(calls).toHaveLength(0);
    const flushed = log.flush();
    const first = await call(1);
    expect(paths(first.rows)).toEqual(['/webhooks/r1', '/webhooks/r2', '/webhooks/r3']);
    expect(first.keep).toBe(77);
    first.succeed();
    await flushed;
    await log.flush(); // nothing left: no empty write
    expect(calls).toHaveLength(1);
  });

  it('writes by itself after flushMs, one batch for what arrived meanwhile', async () => {
    const { store, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: 1 });
    log.add(rejection(1));
    log.add(rejection(2));
    const first = await call(1);
    expect(paths(first.rows)).toEqual(['/webhooks/r1', '/webhooks/r2']);
    first.succeed();
    await log.close();
  });

  it('keeps a batch the store refused and writes it, ahead of newer ones, on the next flush', async () => {
    const { store, calls, call } = heldStore();
    const warnings: unknown[] = [];
    const logger = { warn: (obj: unknown) => warnings.push(obj) } as never;
    const log = new RejectionLog(store, { flushMs: HOUR, logger });
    log.add(rejection(1));
    log.add(rejection(2));
    const failing = log.flush();
    log.add(rejection(3)); // arrives while the write is under way
    (await call(1)).fail();
    await failing; // flush never rejects
    expect(warnings.length).toBeGreaterThan(0);
    log.add(rejection(4));

    const retry = log.flush();
    const second = await call(2);
    expect(paths(second.rows)).toEqual(['/webhooks/r1', '/webhooks/r2', '/webhooks/r3', '/webhooks/r4']);
    second.succeed();
    await retry;
    expect(calls).toHaveLength(2);
    expect(log.dropped).toBe(0);
  });

  it('retries a refused batch by itself, no sooner than a second later', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, calls, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: 10 });
    log.add(rejection(1));
    vi.advanceTimersByTime(10);
    (await call(1)).fail();
    await vi.advanceTimersByTimeAsync(0);
    vi.advanceTimersByTime(999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const retried = await call(2);
    expect(paths(retried.rows)).toEqual(['/webhooks/r1']);
    retried.succeed();
  });

  it('drops the oldest beyond maxBuffered while the store is slow, and counts them', async () => {
    const { store, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: HOUR, maxBuffered: 3 });
    for (let n = 1; n <= 5; n++) log.add(rejection(n));
    expect(log.dropped).toBe(2);
    const flushed = log.flush();
    const first = await call(1);
    expect(paths(first.rows)).toEqual(['/webhooks/r3', '/webhooks/r4', '/webhooks/r5']);
    first.succeed();
    await flushed;
  });

  it('keeps within maxBuffered when a refused batch comes back, dropping the oldest of it', async () => {
    const { store, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: HOUR, maxBuffered: 3 });
    log.add(rejection(1));
    log.add(rejection(2));
    const failing = log.flush();
    log.add(rejection(3));
    log.add(rejection(4));
    (await call(1)).fail();
    await failing;
    expect(log.dropped).toBe(1);

    const retry = log.flush();
    const second = await call(2);
    expect(paths(second.rows)).toEqual(['/webhooks/r2', '/webhooks/r3', '/webhooks/r4']);
    second.succeed();
    await retry;
  });

  it('flushes on close and stores nothing added after it', async () => {
    const { store, calls, call } = heldStore();
    const log = new RejectionLog(store, { flushMs: HOUR });
    log.add(rejection(1));
    const closing = log.close();
    (await call(1)).succeed();
    await closing;
    log.add(rejection(2));
    await log.flush();
    expect(calls).toHaveLength(1);
  });
});
