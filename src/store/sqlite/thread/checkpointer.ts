/**
 * @module store/sqlite/thread/checkpointer
 *
 * Moves WAL checkpoints off the request path. With SQLite's default `wal_autocheckpoint`,
 * whichever commit crosses 1000 pages runs the checkpoint, and that commit (an ingest
 * request waiting for its 200) pays for copying the whole WAL into the database file: the
 * p99 tail. Instead a worker thread with its own connection runs:
 *
 * - `PASSIVE` every `intervalMs`, and whenever the main thread reports that a few MiB were
 *   appended. PASSIVE never waits for the writer and never blocks it.
 * - `TRUNCATE` once the WAL is fully checkpointed and has not grown since the last tick
 *   (idle), so the file does not stay at its high-water size forever.
 *
 * PASSIVE alone cannot bound the WAL under sustained writes: SQLite rewinds the WAL only
 * when a commit starts after every frame was copied, and with commits arriving while each
 * checkpoint runs that moment never comes. The main connection therefore keeps a high
 * `wal_autocheckpoint` as a backstop (see `SqliteStoreOptions.walAutocheckpointPages`);
 * by the time it fires the worker has copied most frames, so the commit pays for little.
 *
 * The worker's connection has `busy_timeout=0`: when anything is locked it gives up at once
 * and tries again on the next tick. Its errors are never fatal to the store; the main
 * connection's commits are what make data durable.
 *
 * The worker body is plain JavaScript evaluated from a string, so it runs the same from
 * `src/` under a TypeScript test runner and from `dist/`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true, timeout: 0 });
  db.pragma('synchronous = FULL');
} catch (err) {
  parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  db = undefined;
}
const passive = db && db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db && db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
let lastLog = -1;
let failures = 0;
function tick() {
  if (!db) return;
  try {
    const r = passive.get();
    if (r.busy === 0 && r.log > 0 && r.checkpointed === r.log && r.log === lastLog) {
      const t = truncate.get();
      lastLog = -1;
      if (t.busy === 0) parentPort.postMessage({ type: 'truncated' });
    } else {
      lastLog = r.log;
    }
    failures = 0;
  } catch (err) {
    // Locked by a writer or a reader: the next tick tries again. Report only a persistent failure.
    if (++failures === 20) parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  }
}
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg === 'nudge') {
    tick();
  } else if (msg === 'stop') {
    clearInterval(timer);
    try { if (db) db.close(); } catch (_) {}
    db = undefined;
    parentPort.postMessage({ type: 'stopped' });
    parentPort.close();
  }
});
`;

export interface CheckpointerOptions {
  file: string;
  /** How often to run a PASSIVE checkpoint. */
  intervalMs: number;
  /** Called when the worker cannot open the database or keeps failing. */
  onError?: (err: Error) => void;
}

/** @internal Owned by {@link SqliteStore}. */
export class Checkpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | undefined;
  private exited = false;
  private truncateWaiters: Array<(truncated: boolean) => void> = [];

  constructor(opts: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: opts.file, intervalMs: opts.intervalMs },
    });
    // A store that is never closed must not keep the process alive.
    this.worker.unref();
    const onError = opts.onError;
    this.worker.on('message', (msg: { type: string; message?: string }) => {
      if (msg.type === 'error') onError?.(new Error(`checkpoint worker: ${msg.message ?? 'unknown error'}`));
      else if (msg.type === 'truncated') this.settleTruncateWaiters(true);
    });
    this.worker.on('error', (err) => onError?.(err));
    this.worker.once('exit', () => {
      this.exited = true;
      this.settleTruncateWaiters(false);
    });
  }

  /**
   * Resolves `true` after the worker's next `TRUNCATE` checkpoint that emptied the WAL, or
   * `false` if the worker ends first. Lets a caller wait for the idle truncation as an event.
   */
  nextTruncate(): Promise<boolean> {
    if (this.exited) return Promise.resolve(false);
    return new Promise((resolve) => this.truncateWaiters.push(resolve));
  }

  private settleTruncateWaiters(truncated: boolean): void {
    const waiters = this.truncateWaiters;
    this.truncateWaiters = [];
    for (const w of waiters) w(truncated);
  }

  /** Asks for a checkpoint now (the WAL grew quickly). */
  nudge(): void {
    this.worker.postMessage('nudge');
  }

  /** Closes the worker's connection and ends the thread. Always settles. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      // The worker is unref'd; while we wait for it to end it must hold the process open,
      // or a caller with nothing else pending would see `close()` never settle.
      this.worker.ref();
      const timer = setTimeout(() => void this.worker.terminate(), 2_000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }
}
