/**
 * @module pipeline
 *
 * What happens after the ack: pending journal rows -> normalize -> events, recorded with
 * each row's outcome in one transaction per batch.
 *
 * - Bounded work per turn: at most `batchSize` rows, then `setImmediate` before the next
 *   batch, so ingest requests get the event loop between batches.
 * - Idle: sleeps until `wake()` (ingest calls it after each commit) or the poll timer,
 *   which also picks up rows left pending by a crash once the process restarts.
 * - No row is lost to a bad payload or a normalizer bug: a body that is not a JSON object
 *   becomes `quarantined` with its cause. A row whose normalizer throws, or runs over the
 *   row's time budget (`rowBudgetMs`), is handed back pending with one more attempt counted
 *   (`journal.release`) while its batch-mates are recorded; it is then tried again alone, and
 *   the try that reaches `maxAttempts` settles it as `failed` with the error as its cause
 *   (the raw bytes stay, `journal.retry` runs it again).
 * - The budget is measured, not enforced: normalization is synchronous and cannot be cut
 *   short on this thread. A row over budget is recorded as a failed try once it returns;
 *   normalization is linear in the body size, so only a pathological body gets there.
 * - A row the pipeline took before without finishing it (the process stopped mid-batch:
 *   a crash, a kill after a hang) is claimed alone (see `claimKeeps` in `store/rows.ts`);
 *   after `maxAttempts` such attempts it settles as `failed` with that cause, unread, so a
 *   body that stops the process cannot stop it at every start.
 * - A body with more than `maxItems` items is `quarantined` with its cause: kept, not
 *   processed.
 * - A batch the store refuses as a whole is split: each row is recorded alone, and a row
 *   that still cannot be recorded is stored as `failed`, so one poison row cannot stall
 *   every row behind it. When the store itself is unavailable (locked, disk full), back
 *   off and retry the batch later instead.
 */
import { EventEmitter } from 'node:events';
import { normalize } from './events/normalize.js';
import { WATCH_VERIFIED_BY } from './events/watch-notice.js';
import type { Provider } from './events/types.js';
import type { JournalOutcome, JournalRow, RecordResult, Store, StoredEvent } from './store/store.js';

export interface PipelineLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PipelineOptions {
  /** Rows claimed and recorded per transaction. Default 500. */
  batchSize?: number;
  /** The provider configured for a channel; `undefined` lets the normalizer detect it. */
  providerFor?: (channel: string) => Provider | undefined;
  logger?: PipelineLogger;
  /** How long to sleep when idle before looking again without a `wake()`. Default 1000 ms. */
  pollMs?: number;
  /** Items one journal row may yield; a row with more is quarantined. Default 50 000. */
  maxItems?: number;
  /** Attempts (unfinished or failed tries) after which a row settles as `failed`. Default 3. */
  maxAttempts?: number;
  /** Time one row's normalization may take before the try counts as failed. Default 5000 ms. */
  rowBudgetMs?: number;
  /**
   * When each batch may start and how many rows it claims (see {@link PipelinePacing}).
   * Default: at once, `batchSize` rows.
   */
  pacing?: PipelinePacing;
  /**
   * Test seam: the normalizer to run instead of `events/normalize`. Tests use it to make one
   * row throw or run slow; the server never sets it.
   */
  normalize?: typeof normalize;
}

/**
 * The pipeline's pacing policy, injected: asked before every claim, it may wait (yield to
 * other work) and answers how many rows the batch claims; told after every batch what it
 * cost. The default claims `batchSize` at once. The SQLite store's thread injects one that
 * yields to ingest during a burst (`store/sqlite/thread/pacing.ts`).
 */
export interface PipelinePacing {
  /** Resolves when the next batch may start, with the rows it may claim (at most `limit`). */
  beforeClaim(limit: number): Promise<number>;
  /** One batch was recorded. */
  afterBatch?(info: BatchInfo): void;
  /** The share of its thread the pipeline takes during a burst now, reported with each batch ({@link BatchInfo.burstShare}). */
  burstShare?(): number;
}

/** The pipeline settings that can cross a thread boundary (no functions). */
export interface PipelineSettings {
  batchSize?: number;
  pollMs?: number;
  maxItems?: number;
  maxAttempts?: number;
  rowBudgetMs?: number;
  /** Channel -> provider; a channel absent or `undefined` lets the normalizer detect it. */
  providers?: Record<string, Provider | undefined>;
}

/** What `Store.createPipeline` takes: the settings plus a logger on the caller's thread. */
export interface RemotePipelineOptions extends PipelineSettings {
  /** Receives the pipeline's warnings and errors (forwarded from the store's thread). */
  logger?: PipelineLogger;
}

export interface BatchInfo {
  /** Journal rows handled. */
  rows: number;
  /** New events recorded. */
  inserted: number;
  /** Events that were already stored (redeliveries). */
  duplicates: number;
  /** New events by type. */
  types: Record<string, number>;
  /** Normalize + record time. */
  ms: number;
  /** Rows settled as `failed` in this batch. */
  failed: number;
  /** Rows settled as `quarantined` in this batch. */
  quarantined: number;
  /** Rows whose try failed and that were handed back for another try. */
  retried: number;
  /**
   * The share of its thread the pipeline takes during a burst, as the pacing set it after
   * this batch (SQLite: `store/sqlite/thread/pacing.ts`); absent where nothing paces it.
   */
  burstShare?: number;
}

export interface PipelineEvents {
  /** One event recorded for the first time, in `seq` order. */
  recorded: [stored: StoredEvent];
  /** One batch recorded. */
  batch: [info: BatchInfo];
}

/**
 * What the server uses of a pipeline, wherever it runs: a {@link Pipeline} on this thread, or
 * the handle on one running on a thread of the store's (`Store.createPipeline`).
 */
export interface PipelineHandle extends EventEmitter<PipelineEvents> {
  start(): void;
  wake(): void;
  stop(): Promise<void>;
  drain(): Promise<void>;
}

type LoopState = 'stopped' | 'idle' | 'scheduled' | 'running';

export class Pipeline extends EventEmitter<PipelineEvents> implements PipelineHandle {
  private readonly store: Store;
  private readonly batchSize: number;
  private readonly providerFor: ((channel: string) => Provider | undefined) | undefined;
  private readonly logger: PipelineLogger | undefined;
  private readonly pollMs: number;
  private readonly maxItems: number;
  private readonly maxAttempts: number;
  private readonly rowBudgetMs: number;
  private readonly normalizer: typeof normalize;
  private readonly pacing: PipelinePacing | undefined;

  private state: LoopState = 'stopped';
  /** A wake() arrived while a batch ran: look again before sleeping. */
  private woken = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private current: Promise<void> | undefined;
  private drainWaiters: Array<() => void> = [];
  private consecutiveFailures = 0;

  private readonly turn = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (this.state === 'stopped') return;
    this.state = 'running';
    this.woken = false;
    this.current = this.runTurn();
  };

  constructor(store: Store, opts: PipelineOptions = {}) {
    super();
    this.store = store;
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.providerFor = opts.providerFor;
    this.logger = opts.logger;
    this.pollMs = Math.max(1, opts.pollMs ?? 1_000);
    this.maxItems = Math.max(1, opts.maxItems ?? 50_000);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.rowBudgetMs = Math.max(1, opts.rowBudgetMs ?? 5_000);
    this.normalizer = opts.normalize ?? normalize;
    this.pacing = opts.pacing;
  }

  /** Starts the loop; it looks for pending rows at once. */
  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'scheduled';
    this.immediate = setImmediate(this.turn);
  }

  /**
   * New rows were committed: look now instead of at the next poll. Cheap to call often.
   * Does not cut short a back-off after the store refused work.
   */
  wake(): void {
    if (this.state === 'idle' && this.consecutiveFailures === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.state = 'scheduled';
      this.immediate = setImmediate(this.turn);
    } else if (this.state === 'running') {
      this.woken = true;
    }
  }

  /** Stops after the batch in progress (if any) is recorded. Pending `drain()` calls resolve. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    await this.current;
    // Nobody would resolve them any more; a shutdown must not hang on a drain.
    this.resolveDrainWaiters();
  }

  /**
   * Resolves once no pending row is left (or the loop was stopped). When the loop is not
   * started, runs batches itself until no pending row is left (for one-shot commands and tests).
   */
  async drain(): Promise<void> {
    if (this.state === 'stopped') {
      await this.current;
      while ((await this.processBatch()) > 0) {
        /* keep going */
      }
      return;
    }
    await new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.wake();
    });
  }

  private async runTurn(): Promise<void> {
    let handled = 0;
    let delay = this.pollMs;
    try {
      handled = await this.processBatch();
      this.consecutiveFailures = 0;
    } catch (err) {
      this.consecutiveFailures++;
      // Back off up to 30 polls while the store refuses work; ingest still gets its 503s.
      delay = this.pollMs * Math.min(30, this.consecutiveFailures);
      this.logger?.error({ err, failures: this.consecutiveFailures }, 'pipeline batch failed; will retry');
    }
    if (this.state === 'stopped') return;
    if (handled > 0 || (this.woken && this.consecutiveFailures === 0)) {
      this.state = 'scheduled';
      this.immediate = setImmediate(this.turn);
      return;
    }
    if (this.consecutiveFailures === 0) this.resolveDrainWaiters();
    this.state = 'idle';
    this.timer = setTimeout(this.turn, delay);
    this.timer.unref();
  }

  /** Claims, normalizes and records one batch. Returns the number of rows handled. */
  private async processBatch(): Promise<number> {
    const limit = this.pacing === undefined ? this.batchSize : await this.pacing.beforeClaim(this.batchSize);
    const rows = await this.store.journal.claim(limit);
    if (rows.length === 0) return 0;
    const t0 = performance.now();
    const attempts = new Map<number, number>();
    const outcomes: JournalOutcome[] = [];
    const retry: number[] = [];
    for (const row of rows) {
      attempts.set(row.id, row.attempts ?? 0);
      const outcome = this.outcomeOf(row);
      if (outcome === 'retry') retry.push(row.id);
      else outcomes.push(outcome);
    }
    let result: RecordResult = { inserted: 0, duplicates: 0, recorded: [] };
    if (outcomes.length > 0) {
      try {
        result = await this.store.journal.record(outcomes);
      } catch (err) {
        result = await this.recordOneByOne(outcomes, attempts, retry, err);
      }
    }
    if (retry.length > 0) await this.release(retry);
    const ms = performance.now() - t0;
    let failed = 0;
    let quarantined = 0;
    for (const o of outcomes) {
      if (o.state === 'failed') failed++;
      else if (o.state === 'quarantined') quarantined++;
    }
    const types: Record<string, number> = {};
    for (const stored of result.recorded) types[stored.event.type] = (types[stored.event.type] ?? 0) + 1;
    const info: BatchInfo = { rows: rows.length, inserted: result.inserted, duplicates: result.duplicates, types, ms, failed, quarantined, retried: retry.length };
    this.pacing?.afterBatch?.(info);
    const burstShare = this.pacing?.burstShare?.();
    if (burstShare !== undefined) info.burstShare = burstShare;
    // The batch is recorded whatever a listener does: a throwing listener is logged, not retried.
    try {
      for (const stored of result.recorded) this.emit('recorded', stored);
      this.emit('batch', info);
    } catch (err) {
      this.logger?.error({ err }, 'a pipeline listener threw');
    }
    return rows.length;
  }

  /**
   * How one row settles, or `'retry'`: this try failed and the row has attempts left, so it
   * goes back pending (its batch-mates are recorded without it).
   */
  private outcomeOf(row: JournalRow): JournalOutcome | 'retry' {
    const attempts = row.attempts ?? 0;
    if (attempts >= this.maxAttempts) {
      this.logger?.error({ journalId: row.id, channel: row.channel, attempts }, 'row stopped the pipeline too often; kept as failed');
      return {
        journalId: row.id,
        state: 'failed',
        cause: `gave up after ${attempts} attempts (tries that failed, or that the process stopped while normalizing or recording this row)`,
        events: [],
      };
    }
    const t0 = performance.now();
    try {
      const res = this.normalizer(row.body, {
        channel: row.channel,
        receivedAt: row.receivedAt,
        provider: this.providerFor?.(row.channel),
        internal: row.verifiedBy === WATCH_VERIFIED_BY,
      });
      const ms = performance.now() - t0;
      if (ms > this.rowBudgetMs) {
        return this.failedTry(row, `over the time budget: normalizing took ${Math.round(ms)} ms (journal.rowBudgetMs is ${this.rowBudgetMs})`);
      }
      if (res.ok && res.events.length > this.maxItems) {
        return {
          journalId: row.id,
          state: 'quarantined',
          cause: `too many items: ${res.events.length} in one body (the limit is ${this.maxItems}, limits.itemsPerPost)`,
          events: [],
        };
      }
      if (res.ok) return { journalId: row.id, state: 'processed', events: res.events };
      return { journalId: row.id, state: 'quarantined', cause: res.cause, events: [] };
    } catch (err) {
      return this.failedTry(row, `normalizer error: ${messageOf(err)}`, err);
    }
  }

  /** One try of `row` failed: another try while attempts are left, else `failed` with the cause. */
  private failedTry(row: JournalRow, cause: string, err?: unknown): JournalOutcome | 'retry' {
    const tries = (row.attempts ?? 0) + 1;
    const log = { err, journalId: row.id, channel: row.channel, attempt: tries, maxAttempts: this.maxAttempts, cause };
    if (tries < this.maxAttempts) {
      this.logger?.warn(log, 'a row failed; it will be tried again alone');
      return 'retry';
    }
    this.logger?.error(log, 'a row failed on every try; kept as failed');
    return { journalId: row.id, state: 'failed', cause: `${cause} (failed ${tries} of ${this.maxAttempts} tries)`, events: [] };
  }

  /**
   * The batch transaction failed. When the store is merely unavailable (locked, disk full)
   * the batch is retried later as it is. Otherwise record each row alone, so that one row
   * the store refuses (an event it cannot take) does not hold back the others; that row is
   * handed back for another try (pushed to `retry`) while it has attempts left, else kept as
   * `failed` (its outcome in `outcomes` is replaced, so the batch's counts see it). Throws
   * when even a bare `failed` outcome cannot be written.
   */
  private async recordOneByOne(
    outcomes: JournalOutcome[],
    attempts: ReadonlyMap<number, number>,
    retry: number[],
    batchErr: unknown,
  ): Promise<RecordResult> {
    if (isStoreUnavailable(batchErr)) throw batchErr;
    this.logger?.warn({ err: batchErr, rows: outcomes.length }, 'batch record failed; recording rows one by one');
    const total: RecordResult = { inserted: 0, duplicates: 0, recorded: [] };
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      let res: RecordResult;
      try {
        res = await this.store.journal.record([outcome]);
      } catch (err) {
        if (isStoreUnavailable(err)) throw err;
        const tries = (attempts.get(outcome.journalId) ?? 0) + 1;
        const log = { err, journalId: outcome.journalId, attempt: tries, maxAttempts: this.maxAttempts };
        if (tries < this.maxAttempts) {
          this.logger?.warn(log, 'could not record the events of a row; it will be tried again alone');
          retry.push(outcome.journalId);
          outcomes.splice(i--, 1);
          continue;
        }
        // The failed write released the row; this one makes it non-pending for good.
        const failed: JournalOutcome = {
          journalId: outcome.journalId,
          state: 'failed',
          cause: `record error: ${messageOf(err)} (failed ${tries} of ${this.maxAttempts} tries)`,
          events: [],
        };
        outcomes[i] = failed;
        res = await this.store.journal.record([failed]);
        this.logger?.error(log, 'could not record the events of a row on any try; row kept as failed');
      }
      total.inserted += res.inserted;
      total.duplicates += res.duplicates;
      for (const s of res.recorded) total.recorded.push(s);
    }
    return total;
  }

  /**
   * Hands rows whose try failed back for another try. Their batch-mates are recorded already,
   * so a store that cannot take this write does not fail the batch: the rows stay pending
   * without the attempt counted and are claimed again (after the lease, on PostgreSQL).
   */
  private async release(ids: number[]): Promise<void> {
    try {
      await this.store.journal.release(ids);
    } catch (err) {
      this.logger?.error({ err, journalIds: ids }, 'could not hand failed rows back; they stay pending');
    }
  }

  private resolveDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Errors that say the database cannot take writes right now, rather than that this batch
 * is bad: retrying later is right, marking rows `failed` would be wrong.
 */
const UNAVAILABLE_CODES = /^(SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|NOMEM|PROTOCOL)|ECONN|ETIMEDOUT|57P0|53[0-9]{3}|08[0-9]{3})/;

function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) return true;
    if (e.message === 'The database connection is not open') return true;
  }
  return false;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
