/**
 * @module store/sqlite/statements
 *
 * The fixed statements of the journal, events and rejections tables, prepared once per
 * connection (after the migrations created the tables), and the cache of the dynamic ones
 * (list queries built from filters), and the migration runner's view of a connection.
 */
import type Database from 'better-sqlite3';
import { serializeEvent } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import type { Condition } from '../conditions.js';
import { SCHEMA_MIGRATIONS_DDL, type Migration, type MigrationTarget } from '../migrate.js';
import {
  epochMsOrNull,
  EVENT_COLUMNS,
  indexString,
  JOURNAL_COLUMNS,
  REJECTION_COLUMNS,
  type EventRecord,
  type JournalRecord,
  type RejectionRecord,
} from '../rows.js';
import type { Page, PageRequest } from '../store.js';
import type { InboxRecord } from './thread/inbox.js';
import { pageOf, whereOf } from './sql.js';

/** One minute, ms: the bucket of `activity()`. */
const MINUTE_MS = 60_000;

const STATEMENT_CACHE_LIMIT = 256;

/** The columns of one new event, in `insertEvent`'s order. */
export type EventParams = [
  id: string,
  type: string,
  channel: string,
  provider: string,
  phoneNumberId: string | null,
  displayPhoneNumber: string | null,
  messageId: string | null,
  from: string | null,
  kind: string | null,
  status: string | null,
  occurredAt: number | null,
  receivedAt: number | null,
  journalIdForReceivedAt: number,
  journalId: number,
  body: string,
];


/** Every fixed statement of the journal, events and rejections tables. */
export interface Statements {
  insertJournal: Stmt<[string, number, string | null, string, Buffer, string]>;
  importJournal: Stmt<InboxRecord>;
  insertEvent: Stmt<EventParams>;
  storedBy: Stmt<[string], { id: string; journal_id: number }>;
  bumpDuplicates: Stmt<[number, string]>;
  updateJournal: Stmt<[string, string | null, number, number, number, number]>;
  claim: Stmt<[number, number], JournalRecord>;
  claimRange: Stmt<[], { first_id: number; last_id: number }>;
  setClaim: Stmt<[number, number]>;
  clearClaim: Stmt<[]>;
  countAttempt: Stmt<[number, number]>;
  releaseIds: Stmt<[string]>;
  retryFailed: Stmt<[], number>;
  retryIds: Stmt<[string], number>;
  journalById: Stmt<[number], JournalRecord>;
  eventById: Stmt<[string], EventRecord>;
  insertRejection: Stmt<[number, string | null, string, string, string, string | null, string | null]>;
  trimRejections: Stmt<[number]>;
  listRejections: Stmt<[number, number], RejectionRecord>;
  pendingCount: Stmt<[], number>;
  journalByState: Stmt<[], { state: string; n: number }>;
  eventsByType: Stmt<[], { type: string; n: number }>;
  rejectionCount: Stmt<[], number>;
  lastJournalId: Stmt<[], number>;
  oldestPending: Stmt<[], number>;
  activityEvents: Stmt<[number], { minute: number; type: string; count: number; delivered: number }>;
  activityAcks: Stmt<[number], { minute: number; count: number }>;
  lastEventSeq: Stmt<[], number>;
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Every fixed statement, prepared once per connection. */
export function prepareStatements(db: Database.Database): Statements {
  return {
    insertJournal: db.prepare<[string, number, string | null, string, Buffer, string]>(
      'INSERT INTO journal (channel, received_at, remote_address, headers, body, verified_by) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    importJournal: db.prepare<InboxRecord>(
      `INSERT OR IGNORE INTO journal (id, channel, received_at, remote_address, headers, body, verified_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Only events the record plan found new; a conflict here is a bug and fails the batch.
    // No RETURNING: `lastInsertRowid` is the seq (RETURNING costs about as much again).
    insertEvent: db.prepare<EventParams>(
      `INSERT INTO events (id, type, channel, provider, phone_number_id, display_phone_number, message_id, from_id,
         kind, status, occurred_at, received_at, journal_id, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, (SELECT received_at FROM journal WHERE id = ?)), ?, ?)`,
    ),
    // One statement for a whole batch's ids (json_each), not one lookup per event.
    storedBy: db.prepare<[string], { id: string; journal_id: number }>(
      'SELECT id, journal_id FROM events WHERE id IN (SELECT value FROM json_each(?))',
    ),
    bumpDuplicates: db.prepare<[number, string]>('UPDATE events SET duplicates = duplicates + ? WHERE id = ?'),
    updateJournal: db.prepare<[string, string | null, number, number, number, number]>(
      'UPDATE journal SET state = ?, cause = ?, event_count = ?, new_event_count = ?, processed_at = ? WHERE id = ?',
    ),
    claim: db.prepare<[number, number], JournalRecord>(
      `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`,
    ),
    claimRange: db.prepare<[], { first_id: number; last_id: number }>('SELECT first_id, last_id FROM pipeline_claim WHERE id = 1'),
    setClaim: db.prepare<[number, number]>('INSERT OR REPLACE INTO pipeline_claim (id, first_id, last_id) VALUES (1, ?, ?)'),
    clearClaim: db.prepare('DELETE FROM pipeline_claim'),
    countAttempt: db.prepare<[number, number]>(
      "UPDATE journal SET attempts = attempts + 1 WHERE id BETWEEN ? AND ? AND state = 'pending'",
    ),
    releaseIds: db.prepare<[string]>(
      "UPDATE journal SET attempts = attempts + 1 WHERE state = 'pending' AND id IN (SELECT value FROM json_each(?))",
    ),
    retryFailed: db
      .prepare<[], number>(
        `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0, processed_at = NULL, attempts = 0
         WHERE state = 'failed' AND body_pruned_at IS NULL RETURNING id`,
      )
      .pluck(),
    retryIds: db
      .prepare<[string], number>(
        `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0, processed_at = NULL, attempts = 0
         WHERE state <> 'pending' AND body_pruned_at IS NULL AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
      )
      .pluck(),
    journalById: db.prepare<[number], JournalRecord>(`SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = ?`),
    eventById: db.prepare<[string], EventRecord>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    insertRejection: db.prepare<[number, string | null, string, string, string, string | null, string | null]>(
      'INSERT INTO rejections (at, channel, cause, method, path, remote_address, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    trimRejections: db.prepare<[number]>(
      'DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ),
    listRejections: db.prepare<[number, number], RejectionRecord>(
      `SELECT ${REJECTION_COLUMNS} FROM rejections WHERE id > ? ORDER BY id LIMIT ?`,
    ),
    // Two queries so each reads one of the small partial indexes, never the table (bodies).
    pendingCount: db.prepare<[], number>("SELECT COUNT(*) FROM journal WHERE state = 'pending'").pluck(),
    journalByState: db.prepare<[], { state: string; n: number }>(
      "SELECT state, COUNT(*) AS n FROM journal WHERE state <> 'pending' GROUP BY state",
    ),
    eventsByType: db.prepare<[], { type: string; n: number }>('SELECT type, COUNT(*) AS n FROM events GROUP BY type'),
    rejectionCount: db.prepare<[], number>('SELECT COUNT(*) FROM rejections').pluck(),
    lastJournalId: db.prepare<[], number>('SELECT COALESCE(MAX(id), 0) FROM journal').pluck(),
    oldestPending: db
      .prepare<[], number>("SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1")
      .pluck(),
    // Both walk events_received_at_idx from `since`; the delivery count uses deliveries_event_uq (its event id column).
    activityEvents: db.prepare<[number], { minute: number; type: string; count: number; delivered: number }>(
      `SELECT (e.received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, e.type, COUNT(*) AS count,
              SUM((SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id AND d.state = 'succeeded')) AS delivered
         FROM events e WHERE e.received_at >= ? GROUP BY minute, e.type ORDER BY minute`,
    ),
    activityAcks: db.prepare<[number], { minute: number; count: number }>(
      `SELECT (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, COUNT(DISTINCT journal_id) AS count
         FROM events WHERE received_at >= ? GROUP BY minute ORDER BY minute`,
    ),
    lastEventSeq: db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM events').pluck(),
  };
}


export function eventParams(event: BluetickEvent, journalId: number): EventParams {
  const e = event as unknown as Partial<Record<string, unknown>>;
  return [
    event.id,
    event.type,
    event.channel,
    event.provider,
    indexString(event.phoneNumberId),
    indexString(event.displayPhoneNumber),
    indexString(e.messageId),
    indexString(e.from),
    indexString(e.kind),
    indexString(e.status),
    epochMsOrNull(event.occurredAt),
    epochMsOrNull(event.receivedAt),
    journalId,
    journalId,
    serializeEvent(event),
  ];
}

/** List queries built from filters, prepared once per distinct SQL text (bounded). */
export class DynamicStatements {
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** After a migration: cached statements may name tables that changed. */
  clear(): void {
    this.cache.clear();
  }

  /** One page of `select` filtered by `conditions`, keyed (and ordered) by `key`. */
  page<R, T>(select: string, key: string, conditions: Condition[], page: PageRequest, map: (rec: R) => T, cursor: (item: T) => number): Page<T> {
    return pageOf((sql) => this.prepare(sql), select, key, whereOf(conditions), page, map, cursor);
  }

  /** {@link page} with each row as an array of its columns (no object per row). */
  rawPage<R extends unknown[], T>(select: string, key: string, conditions: Condition[], page: PageRequest, map: (rec: R) => T, cursor: (item: T) => number): Page<T> {
    return pageOf((sql) => this.prepare(sql, true), select, key, whereOf(conditions), page, map, cursor);
  }

  private prepare(sql: string, raw = false): Database.Statement<unknown[], unknown> {
    // `raw` is a mode of the statement object: a raw one is cached apart.
    const cacheKey = raw ? `raw:${sql}` : sql;
    let stmt = this.cache.get(cacheKey);
    if (!stmt) {
      if (this.cache.size >= STATEMENT_CACHE_LIMIT) this.cache.clear();
      stmt = this.db.prepare(sql);
      if (raw) stmt.raw(true);
      this.cache.set(cacheKey, stmt);
    }
    return stmt;
  }
}

/** The migration runner's view of a connection; `applied` runs after each migration (cached statements may be stale). */
export function sqliteMigrationTarget(db: Database.Database, applied: () => void): MigrationTarget {
  return {
    appliedVersions: async () => {
      db.exec(SCHEMA_MIGRATIONS_DDL);
      const rows = db.prepare<[], number>('SELECT version FROM schema_migrations').pluck().all();
      return new Set(rows);
    },
    apply: async (m: Migration, appliedAt: number) => {
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, appliedAt);
      }).immediate();
      applied();
    },
  };
}
