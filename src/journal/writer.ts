/**
 * @module journal/writer
 *
 * The journal's group commit: the one place where concurrent appends become commits. Every
 * writer of journal rows (the ingest hot path, the silence watch, the durable adapter) goes
 * through a {@link JournalWriter}; the stores' `journal.append` is one transaction and
 * nothing more.
 *
 * The contract:
 * - `append` resolves only when its row is durable: after the `store.journal.append` commit
 *   that carries it resolved (committed and synced: an ack only after fsync).
 * - Concurrent appends are batched: rows queued in the same event-loop turn go in one commit
 *   (flushed on `setImmediate`, or as soon as `maxBatch` rows wait), and rows that arrive
 *   while every commit slot is busy wait and share the next one.
 * - At most `maxCommitsInFlight` commits are in flight, by default the store's
 *   `capabilities.maxCommitsInFlight` (1 on SQLite, where each commit ends with its own
 *   fsync of one file; half the pool on PostgreSQL, where a commit is a round trip), and a
 *   commit carries at most `maxRowsPerCommit` rows and, unless one row is larger,
 *   `maxBytesPerCommit` body bytes.
 * - Everything else rejects with `BT_ERR_INGEST_UNAVAILABLE`, which the HTTP layer turns into
 *   503 + Retry-After so the provider resends: too many rows waiting (`maxPending`: the
 *   store is not keeping up, shed load at once); the commit failed (database locked past
 *   its busy timeout, disk full, I/O error); the commit did not answer within
 *   `commitTimeoutMs` (the rows may still land later; the provider's resend is then
 *   journaled as a duplicate, which the pipeline handles).
 *
 * A one-commit-per-request journal runs at a few percent of a bare HTTP server; a
 * timer-based flush adds latency without adding throughput.
 */
import { BluetickError } from '../errors.js';
import type { JournalInput, Store } from '../store/store.js';

export interface JournalWriterOptions {
  /** Rows waiting or committing beyond which `append` rejects at once. Default 10 000. */
  maxPending?: number;
  /** Rows per commit; reaching it flushes without waiting for the turn to end. Default 256. */
  maxBatch?: number;
  /** Rows whose commit has not resolved after this long are rejected. Default 2000 ms. */
  commitTimeoutMs?: number;
  /**
   * Commits in flight at most; rows arriving meanwhile wait and go in the next commit when
   * one settles. Default: the store's `capabilities.maxCommitsInFlight`.
   */
  maxCommitsInFlight?: number;
  /** Rows per commit at most (PostgreSQL takes at most 65 535 parameters, 6 per row). Default 2000. */
  maxRowsPerCommit?: number;
  /** Body bytes per commit at most, unless a single row is larger. Default 16 MiB. */
  maxBytesPerCommit?: number;
  /** After each successful commit: rows in it and how long it took. */
  onCommit?: (batchSize: number, ms: number) => void;
  /** A commit failed or timed out (its rows were rejected). */
  onError?: (err: unknown) => void;
}

/**
 * Called exactly once per row: `(undefined, id)` once the row is durable, or `(err, 0)` with a
 * `BT_ERR_INGEST_UNAVAILABLE` error when it cannot be made durable in time.
 */
export type AppendCallback = (err: Error | undefined, id: number) => void;

/** One commit in flight. Settled once: by the store's answer or by the timeout. */
interface Batch {
  rows: JournalInput[];
  callbacks: AppendCallback[];
  started: number;
  settled: boolean;
}

export class JournalWriter {
  private readonly store: Store;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly commitTimeoutMs: number;
  private readonly maxCommitsInFlight: number;
  private readonly maxRowsPerCommit: number;
  private readonly maxBytesPerCommit: number;
  private readonly onCommit: ((batchSize: number, ms: number) => void) | undefined;
  private readonly onError: ((err: unknown) => void) | undefined;

  // The rows of the next commit and their callbacks, in parallel arrays (no per-row wrapper).
  private rows: JournalInput[] = [];
  private callbacks: AppendCallback[] = [];
  private scheduled = false;

  /** Rows handed to the store whose commit has not settled yet. */
  private committing = 0;
  /** Insertion-ordered: the first one is the oldest. */
  private readonly inFlight = new Set<Batch>();
  private watchdog: NodeJS.Timeout | undefined;
  private lastCommitOk = true;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  private readonly flushNow = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(store: Store, opts: JournalWriterOptions = {}) {
    this.store = store;
    this.maxPending = opts.maxPending ?? 10_000;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 256);
    this.commitTimeoutMs = opts.commitTimeoutMs ?? 2_000;
    this.maxCommitsInFlight = Math.max(1, opts.maxCommitsInFlight ?? store.capabilities.maxCommitsInFlight);
    this.maxRowsPerCommit = Math.max(1, opts.maxRowsPerCommit ?? 2_000);
    this.maxBytesPerCommit = opts.maxBytesPerCommit ?? 16 * 1024 * 1024;
    this.onCommit = opts.onCommit;
    this.onError = opts.onError;
  }

  /**
   * Queues one row for the next group commit. Resolves with its journal id once the row is
   * durable; rejects with `BT_ERR_INGEST_UNAVAILABLE` when it cannot be made durable in time.
   */
  append(row: JournalInput): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.enqueue(row, (err, id) => (err === undefined ? resolve(id) : reject(err)));
    });
  }

  /**
   * Callback form of {@link append} for the ingest hot path (no promise per request). A
   * refusal (closing, queue full) calls back at once, synchronously.
   */
  enqueue(row: JournalInput, done: AppendCallback): void {
    if (this.closed) {
      done(new BluetickError('BT_ERR_INGEST_UNAVAILABLE', 'the journal is closing'), 0);
      return;
    }
    if (this.rows.length + this.committing >= this.maxPending) {
      done(new BluetickError('BT_ERR_INGEST_UNAVAILABLE', `the journal has ${this.maxPending} rows waiting to commit`), 0);
      return;
    }
    this.rows.push(row);
    this.callbacks.push(done);
    if (this.rows.length >= this.maxBatch) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Rows accepted whose promise has not settled: waiting for a commit or in one. */
  get pending(): number {
    return this.rows.length + this.committing;
  }

  /** False once closed, or while the latest commit failed or timed out (for readiness checks). */
  get healthy(): boolean {
    return !this.closed && this.lastCommitOk;
  }

  /**
   * Stops taking rows, commits what is queued and waits until every accepted row has
   * settled (committed, failed or timed out). Does not close the store.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.rows.length > 0) this.flush();
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts commits of the waiting rows while a slot is free (all of them when closing). */
  private flush(): void {
    while (this.rows.length > 0 && (this.inFlight.size < this.maxCommitsInFlight || this.closed)) this.commit();
  }

  /** Starts one commit of the oldest waiting rows, within the per-commit bounds. */
  private commit(): void {
    let n = Math.min(this.rows.length, this.maxRowsPerCommit);
    let bytes = this.rows[0]!.body.length;
    for (let i = 1; i < n; i++) {
      bytes += this.rows[i]!.body.length;
      if (bytes > this.maxBytesPerCommit) n = i;
    }
    const all = n === this.rows.length;
    const batch: Batch = {
      rows: all ? this.rows : this.rows.slice(0, n),
      callbacks: all ? this.callbacks : this.callbacks.slice(0, n),
      started: performance.now(),
      settled: false,
    };
    this.rows = all ? [] : this.rows.slice(n);
    this.callbacks = all ? [] : this.callbacks.slice(n);
    this.committing += n;
    this.inFlight.add(batch);

    let commit: Promise<number[]>;
    try {
      commit = this.store.journal.append(batch.rows);
    } catch (err) {
      // A store that throws instead of rejecting: same outcome.
      commit = Promise.reject(err);
    }
    commit.then(
      (ids) => this.committed(batch, ids),
      (err) => this.failed(batch, err, 'failed'),
    );
    this.armWatchdog();
  }

  private committed(batch: Batch, ids: number[]): void {
    if (batch.settled) return; // already rejected by the timeout
    const n = batch.rows.length;
    if (!Array.isArray(ids) || ids.length !== n) {
      this.failed(batch, new Error(`the store returned ${Array.isArray(ids) ? ids.length : 'no'} ids for ${n} rows`), 'failed');
      return;
    }
    const ms = performance.now() - batch.started;
    this.settle(batch);
    this.lastCommitOk = true;
    const callbacks = batch.callbacks;
    for (let i = 0; i < n; i++) callOnce(callbacks[i]!, undefined, ids[i]!);
    if (this.onCommit) this.onCommit(n, ms);
    this.maybeIdle();
  }

  private failed(batch: Batch, cause: unknown, how: 'failed' | 'timed out'): void {
    if (batch.settled) return;
    this.settle(batch);
    this.lastCommitOk = false;
    const detail = how === 'failed' ? `: ${cause instanceof Error ? cause.message : String(cause)}` : '';
    const err = new BluetickError(
      'BT_ERR_INGEST_UNAVAILABLE',
      `the journal commit of ${batch.rows.length} row(s) ${how}${detail}`,
      { cause },
    );
    for (const callback of batch.callbacks) callOnce(callback, err, 0);
    if (this.onError) this.onError(err);
    this.maybeIdle();
  }

  private settle(batch: Batch): void {
    batch.settled = true;
    this.committing -= batch.rows.length;
    this.inFlight.delete(batch);
    if (this.rows.length > 0 && !this.scheduled) this.flush();
  }

  /** One timer for all in-flight commits, aimed at the oldest one's deadline. */
  private armWatchdog(): void {
    if (this.watchdog !== undefined || this.commitTimeoutMs <= 0 || this.inFlight.size === 0) return;
    const oldest = this.inFlight.values().next().value as Batch;
    const wait = Math.max(1, oldest.started + this.commitTimeoutMs - performance.now());
    this.watchdog = setTimeout(this.onWatchdog, wait);
    this.watchdog.unref();
  }

  private readonly onWatchdog = (): void => {
    this.watchdog = undefined;
    const now = performance.now();
    for (const batch of this.inFlight) {
      if (now - batch.started < this.commitTimeoutMs) break; // the rest are younger
      this.failed(batch, new Error(`no answer from the store within ${this.commitTimeoutMs} ms`), 'timed out');
    }
    this.armWatchdog();
  };

  private maybeIdle(): void {
    if (this.inFlight.size > 0 || this.rows.length > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** A throwing callback must not cost the other rows of its batch their answer. */
function callOnce(callback: AppendCallback, err: Error | undefined, id: number): void {
  try {
    callback(err, id);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}
