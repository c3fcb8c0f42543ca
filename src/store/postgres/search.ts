/**
 * @module store/postgres/search
 *
 * The PostgreSQL side of {@link SearchStore}: `search_docs` with a generated `simple`
 * tsvector under GIN (migration 0008). The indexer takes a transaction-scoped advisory lock,
 * so processes sharing the database index each event once, in `seq` order.
 *
 * As on SQLite, `journal.record` indexes the events it stores in its own transaction
 * ({@link followInTransaction}) while the index is caught up, so the indexer's `index` only
 * catches up after the index fell behind.
 */
import type pg from 'pg';
import { parseEventJson } from '../../events/normalize.js';
import { collapseDocuments, documentsOf, type SearchDocument, type SearchKind } from '../../search/documents.js';
import type { SearchHit } from '../search.js';
import type { StoredEvent } from '../store.js';
import { bigintArray, textArray } from './arrays.js';
import type { Queryable } from './sql.js';

/** Held by the indexer's transaction; an erasure takes it too, so no batch read before it writes after it. */
export const INDEXER_LOCK = 'bluetick.search-indexer';

async function write(db: Queryable, docs: SearchDocument[]): Promise<void> {
  for (const mode of ['replace', 'keep'] as const) {
    const batch = docs.filter((d) => d.mode === mode);
    if (batch.length === 0) continue;
    await db.query(
      `INSERT INTO search_docs (kind, ref, title, body, at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
       ON CONFLICT (kind, ref) DO ${mode === 'replace' ? 'UPDATE SET title = excluded.title, body = excluded.body, at = GREATEST(search_docs.at, excluded.at)' : 'NOTHING'}`,
      [
        textArray(batch.map((d) => d.kind)),
        textArray(batch.map((d) => d.ref)),
        textArray(batch.map((d) => d.title)),
        textArray(batch.map((d) => d.body)),
        bigintArray(batch.map((d) => d.at)),
      ],
    );
  }
}

/**
 * Indexes events `journal.record` has just stored, in its transaction (which holds the events
 * lock, so no other process records meanwhile), when the index had caught up with every event
 * before them and the indexer's lock is free; otherwise leaves them to `index`, which goes by
 * the cursor. Never waits for the indexer's lock: a busy indexer catches up afterwards.
 * `recorded` is in `seq` order.
 */
export async function followInTransaction(db: Queryable, recorded: readonly StoredEvent[]): Promise<void> {
  if (recorded.length === 0) return;
  const lock = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked', [INDEXER_LOCK]);
  if (lock.rows[0]?.locked !== true) return;
  // Not `first.seq - 1`: sequences leave gaps.
  const { rows } = await db.query<{ cursor: string | null; before: string }>(
    'SELECT (SELECT seq FROM search_cursor WHERE id = 1) AS cursor, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE seq < $1) AS before',
    [recorded[0]!.seq],
  );
  if (Number(rows[0]?.cursor ?? 0) < Number(rows[0]?.before ?? 0)) return;
  const docs: SearchDocument[] = [];
  for (const stored of recorded) for (const doc of documentsOf(stored.event)) docs.push(doc);
  await write(db, collapseDocuments(docs));
  await db.query('UPDATE search_cursor SET seq = $1 WHERE id = 1', [recorded[recorded.length - 1]!.seq]);
}

export class PostgresSearch {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async index(limit: number): Promise<{ indexed: number; seq: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INDEXER_LOCK]);
      const cursor = Number((await client.query<{ seq: string }>('SELECT seq FROM search_cursor WHERE id = 1')).rows[0]?.seq ?? 0);
      const { rows } = await client.query<{ seq: string; body: string }>('SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2', [cursor, Math.max(1, limit)]);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { indexed: 0, seq: cursor };
      }
      await write(client, collapseDocuments(rows.flatMap((r) => documentsOf(parseEventJson(r.body)))));
      const seq = Number(rows[rows.length - 1]!.seq);
      await client.query('UPDATE search_cursor SET seq = $1 WHERE id = 1', [seq]);
      await client.query('COMMIT');
      return { indexed: rows.length, seq };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async addDocuments(docs: SearchDocument[]): Promise<void> {
    await write(this.pool, collapseDocuments(docs));
  }

  async query(terms: string[], kinds: SearchKind[] | undefined, limit: number): Promise<SearchHit[]> {
    if (terms.length === 0) return [];
    // Terms are folded to letters and digits: safe in a tsquery. Each one is a prefix; all must match.
    const query = terms.map((t) => `${t}:*`).join(' & ');
    const filtered = kinds !== undefined && kinds.length > 0;
    const { rows } = await this.pool.query<{ kind: SearchKind; ref: string; title: string; at: string }>(
      `SELECT kind, ref, title, at FROM search_docs WHERE words @@ to_tsquery('simple', $1)${filtered ? ' AND kind = ANY($3::text[])' : ''}
       ORDER BY at DESC, kind, ref LIMIT $2`,
      filtered ? [query, Math.max(1, limit), kinds] : [query, Math.max(1, limit)],
    );
    return rows.map((r) => ({ kind: r.kind, ref: r.ref, title: r.title, at: Number(r.at) }));
  }
}
