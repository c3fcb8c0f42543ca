import { describe, expect, it } from 'vitest';
import type { BatchInfo } from '../../../pipeline.js';
import { BURST_SHARE, BUSY_BATCH_MS, BurstPacing, DELIVERY_BATCH_MS, DELIVERY_WINDOW_MS, IDLE_BATCH_MS, IMPORT_BATCH, YIELD_BATCH_MS } from './pacing.js';

const batch = (rows: number, ms: number): BatchInfo => ({ rows, ms, inserted: rows, duplicates: 0, types: {}, failed: 0, quarantined: 0, retried: 0 });

/** A pacing policy on a clock the test sets, recording what it asks of its thread. */
function paced() {
  const clock = { now: 0 };
  const asked: number[] = [];
  let waitingCallsRun = 0;
  const pacing = new BurstPacing({
    now: () => clock.now,
    runWaitingCalls: () => waitingCallsRun++,
    journalUpTo: async (limit) => asked.push(limit),
  });
  return { pacing, clock, asked, waitingCallsRun: () => waitingCallsRun };
}

describe('BurstPacing', () => {
  it('runs the waiting calls first, then claims a batch of about the idle target and journals whole import transactions for it', async () => {
    const { pacing, asked, waitingCallsRun } = paced();
    // No appends reported: 250 ms at the assumed 0.2 ms per row is 1250 rows, capped by the limit.
    expect(await pacing.beforeClaim(500)).toBe(500);
    expect(waitingCallsRun()).toBe(1);
    expect(asked).toEqual([IMPORT_BATCH]);
  });

  it('cuts batches to the busy target while appends arrive, measured by the cost per row of recent batches', async () => {
    const { pacing, clock } = paced();
    pacing.afterBatch(batch(100, 100)); // 1 ms per row; with the prior (10 rows at 0.2 ms): 101.4 ms / 107 rows
    clock.now = 10_000;
    pacing.reportAppends({ commits: 1, rows: 1 });
    clock.now += 10;
    expect(pacing.busy()).toBe(true);
    expect(pacing.burst()).toBe(false);
    // 100 ms at 0.948 ms per row.
    expect(await pacing.beforeClaim(10_000)).toBe(105);
    clock.now += 1_000;
    expect(pacing.busy()).toBe(false);
    expect(await pacing.beforeClaim(10_000)).toBe(263);
  });

  it('cuts batches to the delivery target while the delivery worker moves deliveries, and lengthens them again once it stops', async () => {
    const { pacing, clock } = paced();
    pacing.afterBatch(batch(1_000, 200)); // about 0.2 ms per row
    clock.now = 10_000;
    const idle = await pacing.beforeClaim(100_000);
    pacing.reportDeliveries();
    clock.now += 10;
    const delivering = await pacing.beforeClaim(100_000);
    expect(delivering).toBeGreaterThan(0);
    expect(idle / delivering).toBeCloseTo(IDLE_BATCH_MS / DELIVERY_BATCH_MS, 1);
    // Appends too: the shorter of the two targets.
    pacing.reportAppends({ commits: 1, rows: 1 });
    expect(await pacing.beforeClaim(100_000)).toBe(delivering);
    clock.now += DELIVERY_WINDOW_MS + 1;
    expect(await pacing.beforeClaim(100_000)).toBe(idle);
  });

  it('never calls it a burst while batches empty the queue, whatever the estimates say', async () => {
    const { pacing, clock } = paced();
    clock.now = 1_000;
    pacing.reportAppends({ commits: 1, rows: 1 });
    clock.now += 10;
    // About 11 000 rows a second, far more than the thread could take at 0.2 ms a row...
    pacing.reportAppends({ commits: 1, rows: 1_000 });
    // ...but the last batch asked for more rows than were waiting.
    const asked = await pacing.beforeClaim(500);
    pacing.afterBatch(batch(asked - 1, (asked - 1) * 0.2));
    expect(pacing.burst()).toBe(false);
    // The next batch takes all it asks for: now the pipeline is behind, and it is a burst.
    const next = await pacing.beforeClaim(500);
    pacing.afterBatch(batch(next, next * 0.2));
    expect(pacing.burst()).toBe(true);
  });

  it('does not take one small slow batch in a steady load for a burst', () => {
    const { pacing, clock } = paced();
    // A steady load at about half of what the thread can do: 50 rows a second, 25-row
    // batches at 10 ms a row (250 ms each).
    for (let i = 0; i < 20; i++) {
      clock.now += 500;
      pacing.reportAppends({ commits: 25, rows: 25 });
      pacing.afterBatch(batch(25, 250));
    }
    expect(pacing.burst()).toBe(false);
    // Then one batch of 2 rows takes 120 ms (its commit ran a checkpoint): 60 ms a row.
    clock.now += 10;
    pacing.reportAppends({ commits: 1, rows: 1 });
    pacing.afterBatch(batch(2, 120));
    // Still 50 rows a second at about 12 ms a row: 60% of the thread, no burst, no pause.
    expect(pacing.burst()).toBe(false);
  });

  it('calls it a burst only when ingest outruns what the pipeline could do with the whole thread', async () => {
    const { pacing, clock } = paced();
    // The pipeline is behind: its batch took every row it asked for.
    const asked = await pacing.beforeClaim(500);
    pacing.afterBatch(batch(asked, asked * 0.2));
    clock.now = 1_000;
    pacing.reportAppends({ commits: 1, rows: 1 });
    clock.now += 10;
    // 1 000 rows a second at 0.2 ms per row is a fifth of the thread: no burst.
    pacing.reportAppends({ commits: 1, rows: 100 });
    expect(pacing.burst()).toBe(false);
    clock.now += 10;
    // About 11 000 rows a second: more than the thread can normalize.
    pacing.reportAppends({ commits: 1, rows: 1_000 });
    expect(pacing.burst()).toBe(true);
    clock.now += 200;
    expect(pacing.burst()).toBe(false);
  });

  it('pauses between batches of a burst for (1 - share) / share times the batch, and not at all with a share of 1', async () => {
    // Each slice of a pause ends by running the waiting calls; here that also moves the clock on by 10 ms.
    const slicesFor = async (burstShare: number): Promise<number> => {
      const clock = { now: 0 };
      let slices = -1; // beforeClaim runs the waiting calls once before any pause
      const pacing = new BurstPacing({
        now: () => clock.now,
        burstShare,
        runWaitingCalls: () => {
          if (++slices > 0) clock.now += 10;
        },
        journalUpTo: async () => undefined,
      });
      pacing.afterBatch(batch(await pacing.beforeClaim(500), 100));
      clock.now = 1_000;
      pacing.reportAppends({ commits: 1, rows: 1 });
      clock.now += 10;
      pacing.reportAppends({ commits: 1, rows: 1_000 });
      const asked = await pacing.beforeClaim(500);
      // A 20 ms batch that took every row it asked for, in a burst.
      pacing.afterBatch(batch(asked, 20));
      expect(pacing.burst()).toBe(true);
      slices = -1;
      await pacing.beforeClaim(500);
      return slices;
    };
    expect(await slicesFor(0.5)).toBe(2); // 20 ms of pause
    expect(await slicesFor(0.25)).toBe(6); // 60 ms
    expect(await slicesFor(1)).toBe(0);
  });

  describe('yielding as far as the acks need the CPU', () => {
    /**
     * A burst on a clock the test moves, with the HTTP thread's CPU demand a counter: each
     * batch takes 1 ms, during which the HTTP thread wants the share of it a step gives.
     * Appends keep arriving, during pauses too; each slice of a pause moves the clock on by
     * 10 ms and is counted.
     */
    function inBurst(httpDemand: (() => number | undefined) | 'counter' = 'counter') {
      const clock = { now: 0 };
      const cpu = { ns: 0 };
      let slices = -1;
      const appends = () => pacing.reportAppends({ commits: 1, rows: 100_000 });
      const pacing: BurstPacing = new BurstPacing({
        now: () => clock.now,
        runWaitingCalls: () => {
          if (++slices === 0) return;
          clock.now += 10;
          appends();
        },
        journalUpTo: async () => undefined,
        ...(httpDemand === 'counter' ? { httpDemand: () => cpu.ns } : { httpDemand }),
      });
      /** One batch of the burst (or, `quiet`, one started with no appends arriving); returns the slices of pause before it. */
      const batchOfBurst = async (httpShare: number, quiet = false): Promise<number> => {
        clock.now += 1;
        if (!quiet) appends();
        slices = -1;
        const asked = await pacing.beforeClaim(500);
        const paused = slices;
        clock.now += 1;
        cpu.ns += httpShare * 1e6;
        pacing.afterBatch(batch(asked, 1));
        return paused;
      };
      return { pacing, clock, batchOfBurst };
    }

    it('halves its share after each batch in which the HTTP thread wanted more than half the time, down to the burst share, and pauses for it', async () => {
      const { pacing, batchOfBurst } = inBurst();
      const shares: number[] = [];
      for (let i = 0; i < 6; i++) {
        await batchOfBurst(0.9);
        shares.push(pacing.burstShare());
      }
      expect(shares).toEqual([0.5, 0.25, 0.125, 0.0625, 0.05, 0.05]);
      expect(pacing.burst()).toBe(true);
      // At the burst share, the pause before the next batch is nineteen batches long: two
      // slices of 10 ms for a batch of 1 ms.
      expect(await batchOfBurst(0.9)).toBe(2);
    });

    it('doubles it back, up to the whole thread, while the HTTP thread wants less than 35% of the time, and then does not pause at all', async () => {
      const { pacing, batchOfBurst } = inBurst();
      for (let i = 0; i < 6; i++) await batchOfBurst(0.9);
      const shares: number[] = [];
      for (let i = 0; i < 5; i++) {
        await batchOfBurst(0.2);
        shares.push(pacing.burstShare());
      }
      expect(shares).toEqual([0.1, 0.2, 0.4, 0.8, 1]);
      expect(pacing.burst()).toBe(true);
      expect(await batchOfBurst(0.2)).toBe(0);
      expect(await batchOfBurst(0.2)).toBe(0);
    });

    it('keeps its share while the HTTP thread wants between 35% and half of the time', async () => {
      const { pacing, batchOfBurst } = inBurst();
      await batchOfBurst(0.9);
      await batchOfBurst(0.9);
      expect(pacing.burstShare()).toBe(0.25);
      for (let i = 0; i < 4; i++) await batchOfBurst(0.4);
      expect(pacing.burstShare()).toBe(0.25);
      await batchOfBurst(0.3);
      expect(pacing.burstShare()).toBe(0.5);
    });

    it('takes the burst share at once when the demand cannot be read, as without a reader', async () => {
      const unreadable = inBurst(() => undefined);
      await unreadable.batchOfBurst(0.2);
      expect(unreadable.pacing.burstShare()).toBe(0.05);
      const without = new BurstPacing({ runWaitingCalls: () => undefined, journalUpTo: async () => undefined });
      without.afterBatch(batch(10, 2));
      expect(without.burstShare()).toBe(0.05);
    });

    it('leaves the share as it was after a batch that started with no appends arriving', async () => {
      const { pacing, clock, batchOfBurst } = inBurst();
      await batchOfBurst(0.9);
      expect(pacing.burstShare()).toBe(0.5);
      clock.now += 1_000;
      expect(pacing.busy()).toBe(false);
      expect(await batchOfBurst(0.9, true)).toBe(0);
      expect(await batchOfBurst(0.1, true)).toBe(0);
      expect(pacing.burstShare()).toBe(0.5);
      await batchOfBurst(0.1);
      expect(pacing.burstShare()).toBe(1);
    });
  });

  it('works in short batches and copies only their rows from the inbox while it yields to the acks, and in long ones again once it stops', async () => {
    const clock = { now: 0 };
    const cpu = { ns: 0 };
    const imported: number[] = [];
    const pacing = new BurstPacing({
      now: () => clock.now,
      runWaitingCalls: () => undefined,
      journalUpTo: async (limit) => imported.push(limit),
      httpDemand: () => cpu.ns,
    });
    pacing.afterBatch(batch(10_000, 10_000)); // about 1 ms per row
    /** One batch taking 1 ms per row, during which the HTTP thread wants `httpShare` of the time; appends arrive before it. */
    const batchOf = async (httpShare: number) => {
      clock.now += 1_000; // past any pause
      pacing.reportAppends({ commits: 10, rows: 100_000 });
      clock.now += 1;
      pacing.reportAppends({ commits: 10, rows: 100_000 });
      const want = await pacing.beforeClaim(100_000);
      clock.now += want;
      cpu.ns += httpShare * want * 1e6;
      pacing.afterBatch(batch(want, want));
      return want;
    };
    // The whole thread to begin with: a busy batch, and a whole import transaction for it.
    expect(await batchOf(0.9)).toBe(BUSY_BATCH_MS);
    expect(imported.at(-1)).toBe(IMPORT_BATCH);
    expect(pacing.burstShare()).toBe(0.5);
    expect(pacing.yielding()).toBe(true);
    // Yielding: short batches, and the inbox copied only as far as each needs.
    const yielded: number[] = [];
    for (let i = 0; i < 5; i++) yielded.push(await batchOf(0.9));
    expect(yielded).toEqual(Array<number>(5).fill(YIELD_BATCH_MS));
    expect(imported.slice(-5)).toEqual(Array<number>(5).fill(YIELD_BATCH_MS));
    expect(pacing.burstShare()).toBe(BURST_SHARE);
    // The acks have room again: the share doubles back to the whole thread, and the batches grow back.
    while (pacing.burstShare() < 1) await batchOf(0.1);
    expect(pacing.yielding()).toBe(false);
    expect(await batchOf(0.1)).toBe(BUSY_BATCH_MS);
    expect(imported.at(-1)).toBe(IMPORT_BATCH);
  });

  it('refuses a share outside (0, 1]', () => {
    const hooks = { runWaitingCalls: () => undefined, journalUpTo: async () => undefined };
    expect(() => new BurstPacing({ ...hooks, burstShare: 0 })).toThrow(RangeError);
    expect(() => new BurstPacing({ ...hooks, burstShare: 1.5 })).toThrow(RangeError);
    expect(() => new BurstPacing({ ...hooks, burstShare: Number.NaN })).toThrow(RangeError);
  });
});
