/**
 * @module cli/commands/rebuild
 *
 * `bluetick rebuild`: drops the projections (messages, conversations, contacts, templates,
 * reactions) and recomputes them from the stored events, on the store itself (the SQLite
 * file in the data folder, or PostgreSQL with --store / BLUETICK_DATABASE_URL).
 *
 * A running server does not need to stop: the rebuild works in short transactions and the
 * events the server records meanwhile are applied too, so the result is the same either
 * way. Until it finishes, the API shows partial projections (`/api/stats` says
 * `projections.complete: false`), and webhook acks may wait on its transactions for a few
 * milliseconds each. An interrupted rebuild leaves that mark; run the command again.
 */
import { ExitError } from '../../errors.js';
import { loadStoreConfig, openStoreBesideServer, type StoreCommandOptions } from '../store-config.js';

export interface RebuildCommandOptions extends StoreCommandOptions {
  batch?: string;
  json?: boolean;
}

export interface RebuildIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Events per transaction: short enough that a server sharing the file barely waits. */
const DEFAULT_BATCH = 1000;

export async function runRebuild(opts: RebuildCommandOptions, io: RebuildIo): Promise<number> {
  let batchSize = DEFAULT_BATCH;
  if (opts.batch !== undefined) {
    batchSize = Number(opts.batch);
    if (!/^\d+$/.test(opts.batch) || batchSize < 1) throw new ExitError(2, '--batch: expected a positive integer');
  }
  const config = await loadStoreConfig(opts, io);
  const store = await openStoreBesideServer(config);
  try {
    if (!opts.json) io.stderr.write('bluetick: rebuilding projections from the stored events (a running server keeps working meanwhile)\n');
    const result = await store.projections.rebuild({ batchSize });
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const r = result.rows;
      io.stdout.write(
        `rebuilt projections from ${result.events} events in ${(result.ms / 1000).toFixed(2)} s (${result.batches} transactions): ` +
          `${r.messages} messages, ${r.conversations} conversations, ${r.contacts} contacts, ${r.templates} templates, ${r.reactions} reactions\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
