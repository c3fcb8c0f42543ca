/**
 * @module store/migrate
 *
 * Numbered SQL migrations, one folder per dialect: `migrations/<dialect>/NNNN_name.sql`.
 * Files are append-only: a released file is never edited, a change is a new number. Each
 * file is applied in its own transaction together with its `schema_migrations` row, so a
 * crash mid-way leaves either the whole file applied or none of it.
 *
 * This module finds and orders the files; each backend supplies a {@link MigrationTarget}
 * that knows how to run SQL on its connection.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BluetickError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  /** The number in the file name (`0001` -> 1). */
  version: number;
  /** The file name without `.sql`, e.g. `0001_init`. */
  name: string;
  sql: string;
}

/** What a backend offers the runner. */
export interface MigrationTarget {
  /** Versions already applied (creates the bookkeeping table when missing). */
  appliedVersions(): Promise<Set<number>>;
  /** Runs `migration.sql` and records it, in one transaction. */
  apply(migration: Migration, appliedAt: number): Promise<void>;
}

/**
 * The bookkeeping table, portable across dialects. The first migration of every dialect
 * declares the same table with `IF NOT EXISTS`, so a schema dump shows it.
 */
export const SCHEMA_MIGRATIONS_DDL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * The package root: this file is `src/store/migrate.ts` in a checkout and
 * `dist/store/migrate.js` once built, two levels under the root either way.
 */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the migrations of a dialect live in the installed package. */
export function migrationsDir(dialect: Dialect): string {
  return join(PACKAGE_ROOT, 'migrations', dialect);
}

/** Reads every migration of a dialect, ordered by number. Rejects duplicate numbers. */
export async function loadMigrations(dialect: Dialect, dir: string = migrationsDir(dialect)): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new BluetickError('BT_ERR_STORE_MIGRATION', `cannot read the migrations folder ${dir}`, { cause: err });
  }
  const found: Migration[] = [];
  for (const file of names) {
    const m = FILE_NAME.exec(file);
    if (!m) continue;
    found.push({ version: Number(m[1]), name: file.slice(0, -4), sql: await readFile(join(dir, file), 'utf8') });
  }
  found.sort((a, b) => a.version - b.version);
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.version === found[i - 1]!.version) {
      throw new BluetickError(
        'BT_ERR_STORE_MIGRATION',
        `two migrations share number ${found[i]!.version}: ${found[i - 1]!.name}, ${found[i]!.name}`,
      );
    }
  }
  return found;
}

/**
 * Applies, in order, the migrations the target has not recorded yet. Refuses to touch a
 * database that records a version this code does not know: it was migrated by a newer
 * bluetick, and running older code against it could corrupt data.
 */
export async function runMigrations(
  target: MigrationTarget,
  migrations: Migration[],
  now: () => number = Date.now,
): Promise<{ applied: string[] }> {
  const applied: string[] = [];
  for (const migration of pendingMigrations(await target.appliedVersions(), migrations)) {
    try {
      await target.apply(migration, now());
    } catch (err) {
      throw new BluetickError('BT_ERR_STORE_MIGRATION', `migration ${migration.name} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    applied.push(migration.name);
  }
  return { applied };
}

/**
 * The migrations not applied yet, in order. Throws when the database records a version this
 * code does not know: it was migrated by a newer bluetick, and running older code against it
 * could corrupt data.
 */
export function pendingMigrations(applied: ReadonlySet<number>, migrations: Migration[]): Migration[] {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v)).sort((a, b) => a - b);
  if (unknown.length > 0) {
    throw new BluetickError(
      'BT_ERR_STORE_MIGRATION',
      `the database has migration(s) ${unknown.join(', ')} that this version of bluetick does not know; upgrade bluetick`,
    );
  }
  return migrations.filter((m) => !applied.has(m.version));
}

/**
 * The SQL a DBA can review and run by hand instead of `bluetick migrate`: each migration in
 * its own transaction together with its `schema_migrations` row, exactly as the runner does.
 * `preamble` goes first (e.g. selecting the PostgreSQL schema).
 */
export function migrationScript(migrations: Migration[], opts: { preamble?: string[]; appliedAt?: number } = {}): string {
  const appliedAt = opts.appliedAt ?? Date.now();
  const out: string[] = [...(opts.preamble ?? []), `${SCHEMA_MIGRATIONS_DDL};`];
  for (const m of migrations) {
    out.push('', `-- ${m.name}`, 'BEGIN;', m.sql.trimEnd());
    out.push(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, '${m.name}', ${appliedAt});`, 'COMMIT;');
  }
  return `${out.join('\n')}\n`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
