/**
 * PostgreSQL for tests: the server at BLUETICK_TEST_POSTGRES_URL (default the local one,
 * database `test`), one schema per test file, created here and dropped afterwards.
 *
 * When the server cannot be reached, suites skip with a message saying so, except under CI
 * (`CI` set), where an unreachable server fails the run: CI starts PostgreSQL and must run
 * these suites, not skip them silently.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describeNeeding } from './services.js';

export const TEST_POSTGRES_URL = process.env.BLUETICK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Null when reachable, else why not. */
async function probe(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe(TEST_POSTGRES_URL);

/** True when the suites may run. */
export const postgresAvailable = unreachable === null;

/**
 * `describe` for suites that need PostgreSQL: skipped (with a console message) when it is
 * unreachable, except under CI, where a failing test takes the suite's place.
 */
export function describePostgres(name: string, body: () => void): void {
  const missing = unreachable === null ? undefined : `${redact(TEST_POSTGRES_URL)} is unreachable (${unreachable}); start it or set BLUETICK_TEST_POSTGRES_URL`;
  describeNeeding('PostgreSQL', missing, name, body);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** A fresh schema name, unique per call: `bt_<prefix>_<random>`. */
export function schemaName(prefix: string): string {
  return `bt_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The test server's URL with `?schema=name`. */
export function urlFor(schema: string): string {
  const u = new URL(TEST_POSTGRES_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Runs one statement on a short-lived connection to the test server. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Drops the schema and everything in it (nothing to do when the server is unreachable). */
export async function dropSchema(schema: string): Promise<void> {
  if (!postgresAvailable) return;
  // A connection of a process that was just killed may still hold locks for a moment.
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      return;
    } catch (err) {
      if (attempt >= 5 || (err as { code?: string }).code !== '40P01') throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/**
 * Empties every table of the schema but `schema_migrations` and restarts its identities.
 * DELETE (children before parents) rather than TRUNCATE: TRUNCATE makes new files for every
 * table, which costs a few hundred milliseconds per test; these tables hold a few rows.
 */
export async function truncateSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    const tables = (
      await client.query<{ name: string }>(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
        [schema],
      )
    ).rows.map((r) => r.name);
    const edges = (
      await client.query<{ child: string; parent: string }>(
        `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE k.contype = 'f' AND n.nspname = $1 AND c.relname <> p.relname`,
        [schema],
      )
    ).rows;
    // Children first: a table goes once no remaining table references it.
    const left = new Set(tables);
    const order: string[] = [];
    while (left.size > 0) {
      const next = [...left].filter((t) => !edges.some((e) => e.parent === t && left.has(e.child)));
      const batch = next.length > 0 ? next : [...left];
      for (const t of batch) {
        order.push(t);
        left.delete(t);
      }
    }
    const q = (name: string) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
    const sequences = (
      await client.query<{ name: string }>('SELECT sequencename AS name FROM pg_sequences WHERE schemaname = $1', [schema])
    ).rows.map((r) => r.name);
    const sql = [
      ...order.map((t) => `DELETE FROM ${q(t)};`),
      ...sequences.map((s) => `SELECT setval(${pg.escapeLiteral(q(s))}, 1, false);`),
    ].join('\n');
    if (sql !== '') await client.query(sql);
  } finally {
    await client.end();
  }
}
