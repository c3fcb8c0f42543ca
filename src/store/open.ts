/**
 * @module store/open
 *
 * Opens the configured store, ready to use: the schema is current. A `postgres://` URL
 * opens the PostgreSQL backend (migrations applied under an advisory lock, so processes
 * starting together are safe); otherwise the embedded SQLite file in the data folder.
 */
import { isAbsolute, join } from 'node:path';
import { BluetickError } from '../errors.js';
import { ensurePrivateDir, ensurePrivateFile } from '../private-files.js';
import { isPostgresUrl } from './postgres/url.js';
import type { PostgresStoreOptions } from './postgres/postgres-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import { inboxFileFor } from './sqlite/thread/inbox.js';
import type { Store } from './store.js';
import { WorkerStore } from './sqlite/thread/worker-store.js';

export interface OpenStoreOptions extends SqliteStoreOptions {
  /** Folder for the database; created (0700) when missing. */
  dataDir: string;
  /** File name inside `dataDir` (or an absolute path). Default `bluetick.db`. */
  file?: string;
  /** A `postgres://` URL: use PostgreSQL instead of the SQLite file (`dataDir` is then unused). */
  url?: string;
  /** PostgreSQL tuning (pool size, journal lease). */
  postgres?: PostgresStoreOptions;
  /**
   * SQLite only: where the connection lives. `inline` (default) opens it on the calling
   * thread. `worker` gives it a thread of its own, which also runs the pipeline, so the
   * caller's event loop never waits on an fsync (what `bluetick serve` uses; see
   * `sqlite/thread/worker-store.ts`). Its `busyTimeoutMs` defaults to 1000 ms instead of 50.
   */
  thread?: 'inline' | 'worker';
  /** With `thread: 'worker'`: how long an append retries while the inbox is locked elsewhere. */
  inboxBusyRetryMs?: number;
  /** With `thread: 'worker'`: the largest share of the thread the pipeline takes during a burst (`sqlite/thread/pacing.ts`). */
  burstShare?: number;
}

/** The default database file name inside the data folder. */
export const DEFAULT_DB_FILE = 'bluetick.db';

/**
 * Creates `dataDir` if needed (0700) and the database files 0600, opens the database, and
 * applies pending migrations.
 *
 * @example
 * const store = await openStore({ dataDir: './data' });
 * const [id] = await store.journal.append([row]);
 * await store.close();
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const { dataDir, file = DEFAULT_DB_FILE, url, postgres, thread = 'inline', ...sqlite } = opts;
  if (url !== undefined) {
    if (!isPostgresUrl(url)) throw new BluetickError('BT_ERR_CONFIG_INVALID', 'the store URL must start with postgres:// or postgresql://');
    // Loaded on demand: a SQLite deployment never loads `pg`.
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore(url, postgres);
  }
  // The files hold raw bodies, message text and phone numbers: 0700 / 0600 whatever the
  // umask. SQLite gives its -wal and -shm files the mode of the database file.
  ensurePrivateDir(dataDir);
  const path = isAbsolute(file) ? file : join(dataDir, file);
  if (path !== ':memory:') {
    ensurePrivateFile(path);
    if (thread === 'worker') ensurePrivateFile(inboxFileFor(path));
  }
  const { inboxBusyRetryMs: _workerOnly, burstShare: _workerToo, ...inline } = sqlite;
  const store = thread === 'worker' ? await WorkerStore.open(path, sqlite) : new SqliteStore(path, inline);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
