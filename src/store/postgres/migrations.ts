/**
 * @module store/postgres/migrations
 *
 * Applying the numbered migrations to one schema, under a session advisory lock.
 */
import type pg from 'pg';
import type { Migration, MigrationTarget } from '../migrate.js';
import { SCHEMA_MIGRATIONS_DDL } from '../migrate.js';
import { ident } from './connection.js';
import { asError } from './sql.js';

/** Versions already applied, without creating anything (for `bluetick migrate --print`). */
export async function appliedVersions(connect: () => Promise<pg.PoolClient>, schema: string): Promise<Set<number>> {
  const client = await connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      `${ident(schema)}.schema_migrations`,
    ]);
    if (!rows[0]?.exists) return new Set();
    const res = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    return new Set(res.rows.map((r) => r.version));
  } finally {
    client.release();
  }
}

/**
 * Runs `fn` with a migration target on one connection holding a session advisory lock for
 * the schema, so processes starting together apply each file once: the others wait, then
 * find it applied.
 */
export async function withMigrationLock<T>(connect: () => Promise<pg.PoolClient>, schema: string, fn: (target: MigrationTarget) => Promise<T>): Promise<T> {
  const client = await connect();
  const key = `bluetick.migrate.${schema}`;
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    try {
      // CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS:
      // skip it when the schema is there (an operator may have created it for us).
      const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      return await fn(migrationTarget(client));
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((err: unknown) => {
        broken = asError(err);
      });
    }
  } catch (err) {
    broken ??= asError(err);
    throw err;
  } finally {
    // A connection in an unknown state (or still holding the lock) is closed, not reused.
    client.release(broken);
  }
}

function migrationTarget(client: pg.PoolClient): MigrationTarget {
  return {
    appliedVersions: async () => {
      await client.query(SCHEMA_MIGRATIONS_DDL);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      return new Set(rows.map((r) => r.version));
    },
    apply: async (m: Migration, appliedAt: number) => {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, appliedAt]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
  };
}
