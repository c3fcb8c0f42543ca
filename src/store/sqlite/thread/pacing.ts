/**
 * @module store/sqlite/thread/pacing
 *
 * The pipeline's pacing on the SQLite store's thread, as a policy object the pipeline is
 * given ({@link PipelinePacing}): the thread shares the machine's cores with the HTTP
 * thread, and providers wait for their 200 while the pipeline normalizes rows that are
 * already durable. So:
 *
 * - A batch is bounded in time as well as in rows: about {@link IDLE_BATCH_MS} of work,
 *   {@link BUSY_BATCH_MS} while appends keep arriving, and {@link DELIVERY_BATCH_MS} while
 *   the delivery worker moves deliveries (each batch is one transaction whose commit
 *   writes every index page it touched, so tiny batches cost more per event; other writes
 *   on the thread wait behind a batch, so long ones hold them up). Each of the delivery
 *   worker's round trips (record outcomes, lease the next deliveries) waits for the batch
 *   in progress, so while the pipeline catches up a backlog, the batch length sets how
 *   often deliveries move. In the delivery bench, with 250 ms batches 14-19% of the events
 *   had reached the sink when the pipeline had recorded the last one; with 50 ms batches
 *   (and twice the worker's leases) 61-80%, and the median event reached it 0.3-0.7 s sooner.
 * - During a burst (ingest arriving faster than the pipeline could follow using the whole
 *   thread, at its measured cost per row) the pipeline yields to the acks as far as they
 *   need the CPU. After each batch it halves the share of the thread it takes (pausing
 *   before the next batch for as long as the share asks) when, during that batch, the thread
 *   serving HTTP was running or waiting for a CPU more than {@link HTTP_DEMAND_LIMIT} of the
 *   time (`cpu-demand.ts`), down to its burst share ({@link BURST_SHARE} unless
 *   `server.journal.burstShare` says otherwise); it doubles it, up to the whole thread,
 *   after a batch in which that thread wanted less than {@link HTTP_DEMAND_ROOM}. So the
 *   acks keep the CPU they need, the pipeline takes what is left, and a backlog left by the
 *   burst is caught up once it ends. Below a burst's rate there is no pause.
 *   Yielding buys ack speed with lag: on two cores shared with the sender, a share of 1 cut
 *   ack throughput by about a quarter (the HTTP thread wanted 52-100% of a core there).
 *   Yielding when the acks had room cost lag for nothing: with 10 000 events a second on a
 *   fixed schedule (the HTTP thread wanting 15-43% of a core), pausing during every burst
 *   let the lag reach 6-9 s by the end of a 10 s burst; yielding only as far as the acks
 *   need, 1.3-2.9 s. Where the kernel does not report the demand (not Linux), every burst
 *   counts as one the acks need the CPU for.
 * - While it yields (a burst, and a share below the whole thread), the pipeline works in
 *   batches of {@link YIELD_BATCH_MS} and copies from the inbox only the rows each batch
 *   needs. With batches of 100 ms and copies of up to 2 000 rows (a few MB committed with
 *   an fsync, on the disk the acks wait for theirs), a 5 s ack load after a 2 s warm-up
 *   got 14-16k req/s against 17-20k with short batches and small copies, in alternating
 *   runs; short batches alone, or small copies alone, won back little of it. In the ingest
 *   bench (10 s after a drained warm-up) the gain is smaller: medians of 0.51x and 0.60x
 *   the bare server against 0.44x and 0.50x. Short batches cost more per row, but at the
 *   burst share the pipeline records little during a burst anyway, and it catches up
 *   afterwards in long batches.
 * - Otherwise, before each claim the inbox is copied into the journal as far as the batch
 *   needs, in whole transactions of up to {@link IMPORT_BATCH} rows (each copy commits with
 *   an fsync, and one per small batch costs more than the copying itself).
 *
 * The ingest rate comes from the HTTP thread's reports of its inbox commits
 * ({@link BurstPacing.reportAppends}).
 */
import type { BatchInfo, PipelinePacing } from '../../../pipeline.js';
import type { CpuDemand } from './cpu-demand.js';

/** Target duration of one pipeline batch while journal appends keep arriving. */
export const BUSY_BATCH_MS = 100;
/** Target duration of one pipeline batch otherwise (catching up). */
export const IDLE_BATCH_MS = 250;
/** Target duration of one pipeline batch while the delivery worker moves deliveries (see the module comment). */
export const DELIVERY_BATCH_MS = 50;
/** Target duration of one pipeline batch while it yields to the acks during a burst (see the module comment). */
export const YIELD_BATCH_MS = 10;
/** The delivery worker counts as moving deliveries for this long after it last did. */
export const DELIVERY_WINDOW_MS = 1_000;
/** Share of the thread's time the pipeline falls back to during a burst the acks need the CPU for, by default (`server.journal.burstShare`). */
export const BURST_SHARE = 0.05;
/**
 * The acks need the CPU when, during a batch, the thread serving HTTP was running or ready to
 * run for more than this share of the time: the pipeline then yields more during a burst.
 */
export const HTTP_DEMAND_LIMIT = 0.5;
/**
 * The acks have room when, during a batch, the HTTP thread wanted less than this share of the
 * time: the pipeline then yields less. In between, it keeps its share (so a demand hovering
 * around the limit does not take the pipeline back to the whole thread every other batch).
 */
export const HTTP_DEMAND_ROOM = 0.35;
/** Appends within this window count as "arriving". */
export const BUSY_WINDOW_MS = 100;
/** Inbox rows copied per journal transaction. */
export const IMPORT_BATCH = 2_000;
/** Smallest batch, so the pipeline always moves. */
const MIN_BATCH = 2;
/** How much of the cost measured so far each new batch keeps (see `BurstPacing.recentMs`). */
const COST_DECAY = 0.7;
/** Rows the assumed starting cost (0.2 ms per row) counts for, until batches are measured. */
const PRIOR_ROWS = 10;

/** What the HTTP thread reports with each import request. */
export interface InboxActivity {
  /** Inbox commits since the previous request. */
  commits: number;
  /** Rows in them. */
  rows: number;
}

/** What the policy may do on the thread it paces. */
export interface PacingHooks {
  /** Runs the calls waiting on the thread's port (they go before the next batch). */
  runWaitingCalls(): void;
  /** Copies up to `limit` inbox rows into the journal. */
  journalUpTo(limit: number): Promise<unknown>;
  /** The clock, ms (injectable for tests). Default `performance.now`. */
  now?: () => number;
  /** Share of the thread the pipeline falls back to during a burst the acks need the CPU for, in (0, 1]. Default {@link BURST_SHARE}. */
  burstShare?: number;
  /**
   * The CPU demand of the thread serving HTTP so far (`cpu-demand.ts`). Without it, or while
   * it answers `undefined`, the acks count as needing the CPU during every burst.
   */
  httpDemand?: CpuDemand;
}

export class BurstPacing implements PipelinePacing {
  private readonly hooks: PacingHooks;
  private readonly now: () => number;
  /** The least share of the thread the pipeline takes during a burst ({@link PacingHooks.burstShare}). */
  private readonly floorShare: number;
  /** When the HTTP thread last reported inbox commits. */
  private lastAppendAt = -Infinity;
  /** When the delivery worker last recorded or leased deliveries. */
  private lastDeliveriesAt = -Infinity;
  /** Ingest rate reported by the HTTP thread, rows per second, smoothed. */
  private ingestRate = 0;
  /** During a burst, the next batch may not start before this time. */
  private nextBatchAt = 0;
  /**
   * Normalize + record cost per row over recent batches: decaying sums of their time and of
   * their rows, so each batch counts by its size. A small batch that happened to be slow (a
   * commit that ran a checkpoint, a garbage collection) then cannot make a steady load look
   * like a burst, which would pause the pipeline for nineteen times that batch's time.
   */
  private recentMs = 0.2 * PRIOR_ROWS;
  private recentRows = PRIOR_ROWS;
  private msPerRow = 0.2;
  /** Rows the last claim asked for. */
  private asked = Infinity;
  /** The last batch took all the rows it asked for: more were (probably) waiting. */
  private behind = false;
  /**
   * When the batch in progress started, and the HTTP thread's CPU demand then: ns, `'unread'`
   * when no appends were arriving (no burst to pace: not read), `'unknown'` when unreadable.
   */
  private batchStartedAt = 0;
  private demandAtStart: number | 'unread' | 'unknown' = 'unread';
  /** The share of the thread the pipeline takes during a burst now, in [floorShare, 1] (see the module comment). */
  private takenShare = 1;

  constructor(hooks: PacingHooks) {
    this.hooks = hooks;
    this.now = hooks.now ?? (() => performance.now());
    const share = hooks.burstShare ?? BURST_SHARE;
    if (!(share > 0 && share <= 1)) throw new RangeError(`burstShare must be in (0, 1], got ${share}`);
    this.floorShare = share;
  }

  /** The HTTP thread committed `activity` to the inbox since its last report. */
  reportAppends(activity: InboxActivity): void {
    if (activity.commits === 0) return;
    const now = this.now();
    const elapsed = Math.max(1, now - this.lastAppendAt);
    // Over a gap longer than the busy window the rate restarts from this report alone.
    const weight = Math.min(1, elapsed / BUSY_WINDOW_MS);
    this.ingestRate = (1 - weight) * this.ingestRate + weight * ((activity.rows * 1000) / elapsed);
    this.lastAppendAt = now;
  }

  /**
   * The delivery worker recorded or leased deliveries: its next round trip will wait for
   * the batch in progress. (Its idle polls do not count, nor do the search indexer and the
   * silence watch, which call after every batch but keep nobody waiting.)
   */
  reportDeliveries(): void {
    this.lastDeliveriesAt = this.now();
  }

  /** Appends arrived within the last {@link BUSY_WINDOW_MS}. */
  busy(): boolean {
    return this.now() - this.lastAppendAt <= BUSY_WINDOW_MS;
  }

  /**
   * Ingest arrives faster than the pipeline could follow at full speed, and the pipeline is
   * behind: its last batch took as many rows as it asked for. A batch that emptied the queue
   * shows the pipeline keeping up, whatever the estimates say; without this check a few slow
   * batches in a steady load could still make the estimates call a burst and pause the
   * pipeline for nineteen times such a batch.
   */
  burst(): boolean {
    return this.busy() && this.behind && this.ingestRate * this.msPerRow > 1000;
  }

  async beforeClaim(limit: number): Promise<number> {
    // Calls that arrived meanwhile go first.
    this.hooks.runWaitingCalls();
    // During a burst, pause until the pipeline's share allows the next batch; in slices, so
    // a pause ends as soon as the appends stop (else the backlog would wait out a pause
    // measured for a burst that is over). The thread stays free for other calls meanwhile;
    // stop() waits for one slice at most.
    for (let wait = this.nextBatchAt - this.now(); this.burst() && wait >= 1; wait = this.nextBatchAt - this.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(Math.min(wait, BUSY_WINDOW_MS))));
      this.hooks.runWaitingCalls();
    }
    const yielding = this.yielding();
    const target = yielding
      ? YIELD_BATCH_MS
      : Math.min(this.busy() ? BUSY_BATCH_MS : IDLE_BATCH_MS, this.delivering() ? DELIVERY_BATCH_MS : Infinity);
    const want = this.batchLimit(limit, target);
    this.asked = want;
    this.batchStartedAt = this.now();
    // Only a burst can pause the pipeline, and a burst needs appends arriving: no read otherwise.
    this.demandAtStart = this.busy() ? (this.hooks.httpDemand?.() ?? 'unknown') : 'unread';
    // The inbox is copied only as far as this batch needs: while yielding, just its rows;
    // otherwise in whole transactions of up to IMPORT_BATCH rows.
    await this.hooks.journalUpTo(yielding ? want : Math.max(want, IMPORT_BATCH));
    return want;
  }

  /** A burst, and the pipeline takes less than the whole thread: it yields to the acks. */
  yielding(): boolean {
    return this.takenShare < 1 && this.burst();
  }

  afterBatch(info: BatchInfo): void {
    this.behind = info.rows >= this.asked;
    if (info.rows > 0) {
      this.recentMs = COST_DECAY * this.recentMs + info.ms;
      this.recentRows = COST_DECAY * this.recentRows + info.rows;
      this.msPerRow = this.recentMs / this.recentRows;
    }
    const demand = this.httpDemandDuringBatch();
    if (demand === 'unknown') this.takenShare = this.floorShare;
    else if (demand === 'unread') {
      // No burst to pace: the share stays as it was.
    } else if (demand > HTTP_DEMAND_LIMIT) this.takenShare = Math.max(this.floorShare, this.takenShare / 2);
    else if (demand < HTTP_DEMAND_ROOM) this.takenShare = Math.min(1, this.takenShare * 2);
    this.nextBatchAt = this.now() + (info.ms * (1 - this.takenShare)) / this.takenShare;
  }

  /** The share of the thread the pipeline takes during a burst now (see the module comment). */
  burstShare(): number {
    return this.takenShare;
  }

  /**
   * The share of the batch just done that the HTTP thread wanted (running or waiting for a
   * CPU): `'unread'` when the batch started with no appends arriving (no burst to pace),
   * `'unknown'` when the demand cannot be read.
   */
  private httpDemandDuringBatch(): number | 'unread' | 'unknown' {
    if (this.hooks.httpDemand === undefined || this.demandAtStart === 'unknown') return 'unknown';
    if (this.demandAtStart === 'unread') return 'unread';
    const demand = this.hooks.httpDemand();
    if (demand === undefined) return 'unknown';
    const elapsedMs = Math.max(this.now() - this.batchStartedAt, 1e-3);
    return (demand - this.demandAtStart) / 1e6 / elapsedMs;
  }

  /** Deliveries moved within the last {@link DELIVERY_WINDOW_MS}. */
  private delivering(): boolean {
    return this.now() - this.lastDeliveriesAt <= DELIVERY_WINDOW_MS;
  }

  /** Rows that take about `ms` to normalize and record, within [MIN_BATCH, limit]. */
  private batchLimit(limit: number, ms: number): number {
    return Math.max(Math.min(MIN_BATCH, limit), Math.min(limit, Math.floor(ms / Math.max(this.msPerRow, 0.001))));
  }
}
