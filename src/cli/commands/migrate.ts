/**
 * @module cli/commands/migrate
 *
 * `bluetick migrate`: brings the configured store's schema up to date and says what it
 * applied. The store is the one `bluetick serve` would open with the same config, flags and
 * environment: PostgreSQL (`--store`, BLUETICK_DATABASE_URL, `store.url`), else the SQLite file in the
 * data folder. `serve` migrates at start too; this command lets a deploy do it as a step of
 * its own, before the new processes start.
 *
 * `--print` changes nothing: it prints the SQL of the migrations not yet applied, each in
 * its own transaction with its `schema_migrations` row, for a DBA to review or run by hand.
 *
 * On PostgreSQL the migrations run under an advisory lock, so running this while processes
 * start (which migrate too) is safe.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, migrationScript, pendingMigrations, type Migration } from '../../store/migrate.js';
import { DEFAULT_DB_FILE } from '../../store/open.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { loadStoreConfig, type StoreCommandOptions } from '../store-config.js';

export interface MigrateCommandOptions extends StoreCommandOptions {
  print?: boolean;
}

export interface MigrateIo {
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export async function runMigrate(opts: MigrateCommandOptions, io: MigrateIo): Promise<number> {
  const config = await loadStoreConfig(opts, io);

  if (config.store) {
    const store = new PostgresStore(config.store.url, { poolSize: 1 });
    const where = store.location.display;
    try {
      if (opts.print) {
        const pending = pendingMigrations(await store.appliedVersions(), await loadMigrations('postgres'));
        const schema = store.schema;
        io.stdout.write(
          script(where, pending, [`CREATE SCHEMA IF NOT EXISTS "${schema}";`, `SET search_path TO "${schema}";`]),
        );
        return 0;
      }
      io.stdout.write(report(where, await store.migrate()));
      return 0;
    } finally {
      await store.close();
    }
  }

  const file = join(config.server.dataDir, DEFAULT_DB_FILE);
  if (opts.print) {
    io.stdout.write(script(file, pendingMigrations(sqliteApplied(file), await loadMigrations('sqlite')), []));
    return 0;
  }
  await mkdir(config.server.dataDir, { recursive: true });
  const store = new SqliteStore(file, { checkpointIntervalMs: 0 });
  try {
    io.stdout.write(report(file, await store.migrate()));
  } finally {
    await store.close();
  }
  return 0;
}

function report(where: string, result: { applied: string[] }): string {
  return result.applied.length > 0
    ? `applied ${result.applied.join(', ')} to ${where}\n`
    : `nothing to apply: ${where} is up to date\n`;
}

function script(where: string, pending: Migration[], preamble: string[]): string {
  if (pending.length === 0) return `-- nothing to apply: ${where} is up to date\n`;
  return migrationScript(pending, {
    preamble: [`-- bluetick migrations not yet applied to ${where}: ${pending.map((m) => m.name).join(', ')}`, ...preamble],
  });
}

/** Versions recorded in a SQLite file, read without creating or changing anything. */
function sqliteApplied(file: string): Set<number> {
  if (!existsSync(file)) return new Set();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (table === undefined) return new Set();
    return new Set(db.prepare<[], number>('SELECT version FROM schema_migrations').pluck().all());
  } finally {
    db.close();
  }
}
