/**
 * @module store/open
 *
 * Opens the configured store, ready to use: the folder exists, the schema is current.
 * Today that is the embedded SQLite file; a PostgreSQL URL will be chosen here later.
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions extends SqliteStoreOptions {
  /** Folder for the database; created when missing. */
  dataDir: string;
  /** File name inside `dataDir` (or an absolute path). Default `bluetick.db`. */
  file?: string;
}

/** The default database file name inside the data folder. */
export const DEFAULT_DB_FILE = 'bluetick.db';

/**
 * Creates `dataDir` if needed, opens the database, and applies pending migrations.
 *
 * @example
 * const store = await openStore({ dataDir: './data' });
 * const [id] = await store.appendJournal([row]);
 * await store.close();
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const { dataDir, file = DEFAULT_DB_FILE, ...sqlite } = opts;
  await mkdir(dataDir, { recursive: true });
  const store = new SqliteStore(isAbsolute(file) ? file : join(dataDir, file), sqlite);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
