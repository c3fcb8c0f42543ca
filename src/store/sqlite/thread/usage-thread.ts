/**
 * @module store/sqlite/thread/usage-thread
 *
 * A short-lived thread that measures a database's space ({@link measureSqliteUsage}) on a
 * read-only connection of its own and posts the answer back. `dbstat` reads every page, so
 * neither the HTTP thread (acks) nor the store's thread (pipeline, deliveries) should wait
 * for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { measureSqliteUsage } from '../usage.js';

/** What {@link WorkerStore.storageUsage} hands the thread. */
export interface UsageThreadData {
  file: string;
  busyTimeoutMs: number;
}

const port = parentPort;
if (port === null) throw new Error('usage-thread.js runs only as a worker thread');
const data = workerData as UsageThreadData;
const db = new Database(data.file, { readonly: true, fileMustExist: true, timeout: data.busyTimeoutMs });
try {
  port.postMessage({ ok: true, usage: measureSqliteUsage(db) });
} catch (err) {
  port.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
} finally {
  db.close();
}
