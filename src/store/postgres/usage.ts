/**
 * @module store/postgres/usage
 *
 * `Store.storageUsage` on PostgreSQL.
 */
import type pg from 'pg';
import { buildUsage, EVENT_SAMPLE_ROWS, type StorageUsage } from '../usage.js';

/**
 * What the schema's space goes to, by data class (see `store/usage.ts`): bytes per table
 * from `pg_total_relation_size` (indexes and TOAST included), exact row counts, and the
 * oldest item of each class read through an index. One read-only snapshot.
 */
export async function measurePostgresUsage(pool: pg.Pool, schema: string): Promise<StorageUsage> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const sizes = await client.query<{ name: string; bytes: string }>(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
      [schema],
    );
    const tableBytes: Record<string, number> = {};
    let totalBytes = 0;
    for (const r of sizes.rows) {
      tableBytes[r.name] = Number(r.bytes);
      totalBytes += Number(r.bytes);
    }
    // Per type: the first stored event (events_type_idx) and the average stored size of the
    // newest EVENT_SAMPLE_ROWS bodies (the same index, backwards).
    const types = await client.query<{ type: string; n: string; oldest: string | null; avg: string | null }>(
      `SELECT t.type, t.n,
              (SELECT e.received_at FROM events e WHERE e.type = t.type ORDER BY e.seq LIMIT 1) AS oldest,
              (SELECT AVG(pg_column_size(s.body)) FROM (SELECT e.body FROM events e WHERE e.type = t.type ORDER BY e.seq DESC LIMIT $1) s) AS avg
         FROM (SELECT type, count(*) AS n FROM events GROUP BY type) t`,
      [EVENT_SAMPLE_ROWS],
    );
    const { rows } = await client.query<Record<string, string | null>>(
      `SELECT (SELECT count(*) FROM journal) AS journal_rows,
              (SELECT received_at FROM journal ORDER BY id LIMIT 1) AS journal_oldest,
              (SELECT count(*) FROM deliveries) AS deliveries_rows,
              (SELECT count(*) FROM delivery_attempts) AS attempts_rows,
              (SELECT created_at FROM deliveries ORDER BY id LIMIT 1) AS deliveries_oldest,
              (SELECT count(*) FROM rejections) AS rejections_rows,
              (SELECT at FROM rejections ORDER BY id LIMIT 1) AS rejections_oldest`,
    );
    await client.query('COMMIT');
    const r = rows[0]!;
    const at = (v: string | null | undefined): { oldestAt?: number } => (v === null || v === undefined ? {} : { oldestAt: Number(v) });
    return buildUsage({
      dialect: 'postgres',
      sizing: 'relation-size',
      totalBytes,
      tableBytes,
      eventTypes: types.rows.map((t) => ({ type: t.type, rows: Number(t.n), ...at(t.oldest), sampleAvgBytes: Number(t.avg ?? 0) })),
      journal: { rows: Number(r.journal_rows), ...at(r.journal_oldest) },
      deliveries: { rows: Number(r.deliveries_rows), attempts: Number(r.attempts_rows), ...at(r.deliveries_oldest) },
      rejections: { rows: Number(r.rejections_rows), ...at(r.rejections_oldest) },
    });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
