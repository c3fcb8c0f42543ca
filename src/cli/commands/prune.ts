/**
 * @module cli/commands/prune
 *
 * `bluetick prune [--dry-run]`: one retention pass now, with the limits of the config
 * (`retention`), printing per data class what was (or, with `--dry-run`, would be) deleted or
 * redacted. It opens the store itself, like `export` and `rebuild`, so it works while the
 * server runs: on SQLite as a second connection in WAL mode whose transactions are the
 * pruner's small batches (100 to 500 rows), which the server's writer waits for at most briefly
 * (the acks never do: they go to the inbox file); on PostgreSQL like one more process.
 */
import { formatRetentionDuration, RETENTION_ACTIONS, RETENTION_CLASSES } from '../../retention/policy.js';
import { prunePass } from '../../retention/pruner.js';
import { loadStoreConfig, openStoreBesideServer, type StoreCommandOptions } from '../store-config.js';

export interface PruneCommandOptions extends StoreCommandOptions {
  dryRun?: boolean;
  json?: boolean;
}

export interface PruneIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Default `Date.now`. */
  now?: () => number;
}

export async function runPrune(opts: PruneCommandOptions, io: PruneIo): Promise<number> {
  const config = await loadStoreConfig(opts, io);
  const store = await openStoreBesideServer(config);
  try {
    const limits = config.retention.limits;
    const dryRun = opts.dryRun === true;
    const report = await prunePass(store, { limits, now: (io.now ?? Date.now)(), dryRun });
    if (opts.json) {
      const classes = Object.fromEntries(
        RETENTION_CLASSES.map((c) => [c, { limit: formatRetentionDuration(limits[c]), action: RETENTION_ACTIONS[c], count: report[c]?.count ?? 0, ...(report[c] ? { before: new Date(report[c].cutoff).toISOString() } : {}) }]),
      );
      io.stdout.write(`${JSON.stringify({ dryRun, classes }, null, 2)}\n`);
      return 0;
    }
    const rows = RETENTION_CLASSES.map((c) => {
      const entry = report[c];
      const what = entry === undefined ? 'kept for ever' : `${entry.count} ${dryRun ? `would be ${entry.action}` : entry.action}`;
      return [c, formatRetentionDuration(limits[c]), what];
    });
    const width = [Math.max(...rows.map((r) => r[0]!.length)), Math.max(...rows.map((r) => r[1]!.length))];
    io.stdout.write(`${'class'.padEnd(width[0]!)}  ${'limit'.padEnd(width[1]!)}  ${dryRun ? 'dry run' : 'pruned'}\n`);
    for (const [c, limit, what] of rows) io.stdout.write(`${c!.padEnd(width[0]!)}  ${limit!.padEnd(width[1]!)}  ${what}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
