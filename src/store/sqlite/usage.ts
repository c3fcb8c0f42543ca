/**
 * @module store/sqlite/usage
 *
 * The SQLite side of {@link StorageUsage}: bytes per table from the `dbstat` virtual table
 * (one row per b-tree in its aggregate form; indexes and FTS shadow tables are added to the
 * table they belong to), rows counted, and the oldest item of each class read through an
 * index. `dbstat` reads every page of the file, so on a large database it takes a while
 * (about 0.6 s per GiB measured here): {@link WorkerStore} runs it on a thread of its own
 * with its own read-only connection, and the API caches the answer.
 */
import type Database from 'better-sqlite3';
import { buildUsage, EVENT_SAMPLE_ROWS, type StorageUsage, type UsageFacts } from '../usage.js';

/** Whether this build of SQLite has the `dbstat` table. */
function hasDbstat(db: Database.Database): boolean {
  try {
    db.prepare("SELECT 1 FROM dbstat('main', 1) LIMIT 1").get();
    return true;
  } catch {
    return false;
  }
}

/** Bytes per table, each table's indexes (and an FTS table's shadow tables) included. */
function tableBytes(db: Database.Database): Record<string, number> {
  const owner = new Map<string, string>();
  for (const r of db.prepare<[], { name: string; tbl_name: string }>('SELECT name, tbl_name FROM sqlite_schema').all()) {
    owner.set(r.name, r.tbl_name);
  }
  const out: Record<string, number> = {};
  const rows = db.prepare<[], { name: string; bytes: number }>("SELECT name, sum(pgsize) AS bytes FROM dbstat('main', 1) GROUP BY name").all();
  for (const r of rows) {
    let table = owner.get(r.name) ?? r.name;
    // FTS5 keeps its data in shadow tables named <table>_data, _idx, _content, _docsize, _config.
    if (table.startsWith('search_fts_')) table = 'search_fts';
    if (table === 'sqlite_schema' || table === 'sqlite_master' || table === 'sqlite_sequence') table = 'sqlite_schema';
    out[table] = (out[table] ?? 0) + r.bytes;
  }
  return out;
}

/** Every measurement in one read transaction, so the numbers describe one snapshot. */
export function measureSqliteUsage(db: Database.Database): StorageUsage {
  const measure = db.transaction((): StorageUsage => {
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const pageCount = Number(db.pragma('page_count', { simple: true }));
    const freePages = Number(db.pragma('freelist_count', { simple: true }));
    const dbstat = hasDbstat(db);
    const one = <T>(sql: string, ...args: unknown[]): T | undefined => db.prepare<unknown[], T>(sql).pluck().get(...args) as T | undefined;

    // Per type: exact count, the first stored event's receivedAt (the (type, seq) index), and
    // the average body size of the newest EVENT_SAMPLE_ROWS (the same index, read backwards).
    const types = db.prepare<[], { type: string; n: number }>('SELECT type, COUNT(*) AS n FROM events GROUP BY type').all();
    const oldestOfType = db.prepare<[string], number>('SELECT received_at FROM events WHERE type = ? ORDER BY seq LIMIT 1').pluck();
    const sampleOfType = db
      .prepare<[string, number], number>('SELECT AVG(length(body)) FROM (SELECT body FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?)')
      .pluck();
    const facts: UsageFacts = {
      dialect: 'sqlite',
      sizing: dbstat ? 'dbstat' : 'unavailable',
      totalBytes: pageSize * pageCount,
      freeBytes: pageSize * freePages,
      tableBytes: dbstat ? tableBytes(db) : {},
      eventTypes: types.map((t) => {
        const oldestAt = oldestOfType.get(t.type);
        return {
          type: t.type,
          rows: t.n,
          ...(oldestAt !== undefined ? { oldestAt } : {}),
          sampleAvgBytes: sampleOfType.get(t.type, EVENT_SAMPLE_ROWS) ?? 0,
        };
      }),
      journal: {
        rows: one<number>('SELECT COUNT(*) FROM journal') ?? 0,
        ...optionalAt(one<number>('SELECT received_at FROM journal ORDER BY id LIMIT 1')),
      },
      deliveries: {
        rows: one<number>('SELECT COUNT(*) FROM deliveries') ?? 0,
        attempts: one<number>('SELECT COUNT(*) FROM delivery_attempts') ?? 0,
        ...optionalAt(one<number>('SELECT created_at FROM deliveries ORDER BY id LIMIT 1')),
      },
      rejections: {
        rows: one<number>('SELECT COUNT(*) FROM rejections') ?? 0,
        ...optionalAt(one<number>('SELECT at FROM rejections ORDER BY id LIMIT 1')),
      },
    };
    return buildUsage(facts);
  });
  return measure.deferred();
}

function optionalAt(at: number | undefined): { oldestAt?: number } {
  return at === undefined || at === null ? {} : { oldestAt: at };
}
