/**
 * @module server/store
 *
 * Opening the server's own store: SQLite in the data folder on a thread of its own, or the
 * PostgreSQL store the config names.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { openStore } from '../store/open.js';
import type { PostgresStoreOptions } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import type { StartServerOptions } from './types.js';

/** The PostgreSQL store's settings: the config's, then the caller's; background errors go to the log. */
function postgresOptions(config: Config, given: StartServerOptions['storeOptions'], logger: Logger): PostgresStoreOptions {
  let last = 0;
  return {
    journalLeaseMs: config.store?.journalLeaseMs ?? 30_000,
    pipelineThread: config.store?.pipelineThread ?? 'own-thread',
    onError: (err) => {
      // Lost connections are retried by the store; say so once in a while, not per retry.
      if (Date.now() - last < 5_000) return;
      last = Date.now();
      logger.warn({ err }, 'PostgreSQL store: background connection error (retrying)');
    },
    ...given?.postgres,
  };
}

/** Opens (and migrates) the store the config names. */
export async function openServerStore(config: Config, given: StartServerOptions['storeOptions'], logger: Logger): Promise<Store> {
  // By default the SQLite connection (and the pipeline) get a thread of their own, so this
  // event loop only serves HTTP: it never waits on an fsync and never normalizes.
  return openStore({
    thread: 'worker',
    burstShare: config.server.journal.burstShare,
    onError: (err) => logger.error({ err }, 'SQLite store: error off the request path (checkpoint or store thread)'),
    ...given,
    dataDir: config.server.dataDir,
    ...(config.store ? { url: config.store.url, postgres: postgresOptions(config, given, logger) } : {}),
  });
}
