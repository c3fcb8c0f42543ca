/**
 * @module retention/pruner
 *
 * The background pruner: every `intervalMs` it takes each data class with an age limit and
 * asks the store for one small batch after another (`Store.pruneRetention`) until the class
 * has nothing older than its limit, yielding to the event loop between batches, so ingest,
 * the pipeline and the delivery worker get their turns. On SQLite each batch runs on the
 * store's thread like every other write; on PostgreSQL the store's locks keep processes
 * apart. A failed pass is reported and tried again at the next interval. `close()` stops it
 * after the batch in flight.
 *
 * {@link prunePass} is the same pass as a function, for `bluetick prune` and tests.
 */
import type { Store } from '../store/store.js';
import { RETENTION_ACTIONS, RETENTION_CLASSES, type RetentionAction, type RetentionClass, type RetentionLimits } from './policy.js';

/**
 * Rows looked at per transaction: small, so no write waits long behind a batch. Measured on
 * SQLite (2 cores): 500 journal bodies take about 6-17 ms; 500 message events with their
 * projection rows and search documents about 100 ms (the full-text index deletes cost most),
 * 100 of them about 17 ms, so the event classes go 100 at a time.
 */
export const PRUNE_BATCH = 500;
export const EVENT_PRUNE_BATCH = 100;

const EVENT_CLASSES: ReadonlySet<RetentionClass> = new Set(['messageContent', 'statuses', 'accountEvents']);

/** What one pass did (or, dry, would do) per class; a class without a limit is absent. */
export type PruneReport = Partial<Record<RetentionClass, { action: RetentionAction; count: number; cutoff: number }>>;

export interface PrunePassOptions {
  limits: RetentionLimits;
  /** Epoch ms; the cutoffs are `now - limit`. */
  now: number;
  dryRun?: boolean;
  batch?: number;
  /** Called after each batch that changed rows. */
  onBatch?: (cls: RetentionClass, action: RetentionAction, count: number) => void;
  /** Checked between batches: true stops the pass. */
  stopped?: () => boolean;
}

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One pass over every class that has a limit. */
export async function prunePass(store: Pick<Store, 'pruneRetention'>, opts: PrunePassOptions): Promise<PruneReport> {
  const report: PruneReport = {};
  for (const cls of RETENTION_CLASSES) {
    const limit = opts.batch ?? (EVENT_CLASSES.has(cls) ? EVENT_PRUNE_BATCH : PRUNE_BATCH);
    const age = opts.limits[cls];
    if (age === null) continue;
    const action = RETENTION_ACTIONS[cls];
    const cutoff = opts.now - age;
    const entry = (report[cls] = { action, count: 0, cutoff });
    const request = { class: cls, cutoff, limit, now: opts.now };
    if (opts.dryRun) {
      entry.count = (await store.pruneRetention(request, true)).count;
      continue;
    }
    for (;;) {
      if (opts.stopped?.()) return report;
      const { count, more } = await store.pruneRetention(request);
      entry.count += count;
      if (count > 0) opts.onBatch?.(cls, action, count);
      if (!more) break;
      await yieldTurn();
    }
  }
  return report;
}

export interface PrunerOptions {
  store: Pick<Store, 'pruneRetention'>;
  limits: RetentionLimits;
  intervalMs: number;
  /** Default `Date.now`. */
  now?: () => number;
  onBatch?: (cls: RetentionClass, action: RetentionAction, count: number) => void;
  onError?: (err: unknown) => void;
}

export class Pruner {
  readonly #opts: PrunerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PruneReport | undefined> | undefined;
  #closed = false;

  constructor(opts: PrunerOptions) {
    this.#opts = opts;
  }

  /** Runs a pass now and then every `intervalMs`. Does nothing when no class has a limit. */
  start(): void {
    if (this.#closed || this.#timer || RETENTION_CLASSES.every((c) => this.#opts.limits[c] === null)) return;
    this.#timer = setInterval(() => void this.run(), this.#opts.intervalMs);
    this.#timer.unref();
    void this.run();
  }

  /** One pass (or the one already under way); resolves with its report, `undefined` when it failed or the pruner is closed. */
  run(): Promise<PruneReport | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    this.#running ??= prunePass(this.#opts.store, {
      limits: this.#opts.limits,
      now: (this.#opts.now ?? Date.now)(),
      stopped: () => this.#closed,
      ...(this.#opts.onBatch ? { onBatch: this.#opts.onBatch } : {}),
    })
      .catch((err: unknown) => {
        this.#opts.onError?.(err);
        return undefined;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Stops the schedule; waits for the batch in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }
}
