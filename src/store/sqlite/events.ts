/**
 * @module store/sqlite/events
 *
 * `Store.events` and `Store.rejections` on SQLite: reads of what the pipeline recorded
 * (written by `journal.ts` in `record`), the rejection log, and the counts of all three.
 */
import type Database from 'better-sqlite3';
import {
  JOURNAL_STATES,
  type ActivityCounts,
  type ArrivalFilter,
  type EventArrival,
  type JournalState,
  type EventFilter,
  type EventStore,
  type Page,
  type PageRequest,
  type Rejection,
  type RejectionFilter,
  type RejectionInput,
  type RejectionStore,
  type StoreCounts,
  type StoredEvent,
} from '../store.js';
import {
  arrivalColumns,
  arrivalConditions,
  EVENT_COLUMNS,
  eventConditions,
  REJECTION_COLUMNS,
  rejectionConditions,
  toArrival,
  toRejection,
  toStoredEvent,
} from '../rows.js';
import { clampLimit, toPage } from './sql.js';
import type { DynamicStatements, Statements } from './statements.js';
import type { InboxReader } from './thread/inbox.js';

/** `json_extract` parses the body in SQLite's C code, far cheaper than a parse into JS objects. */
const ARRIVALS_SELECT = `SELECT ${arrivalColumns((key) => `json_extract(body, '$.${key}')`)} FROM events`;

export class SqliteEvents implements EventStore {
  private readonly q: () => Statements;
  private readonly dynamic: DynamicStatements;

  constructor(q: () => Statements, dynamic: DynamicStatements) {
    this.q = q;
    this.dynamic = dynamic;
  }

  async get(id: string): Promise<StoredEvent | undefined> {
    const rec = this.q().eventById.get(id);
    return rec && toStoredEvent(rec);
  }

  async list(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>> {
    return this.dynamic.page(`SELECT ${EVENT_COLUMNS} FROM events`, 'seq', eventConditions(filter), page, toStoredEvent, (e) => e.seq);
  }

  async arrivals(filter: ArrivalFilter, page: PageRequest): Promise<Page<EventArrival>> {
    return this.dynamic.rawPage(ARRIVALS_SELECT, 'seq', arrivalConditions(filter), page, toArrival, (a) => a.seq);
  }

  async activity(since: number): Promise<ActivityCounts> {
    return {
      events: this.q().activityEvents.all(since),
      acks: this.q().activityAcks.all(since),
    };
  }

  async lastSeq(): Promise<number> {
    return this.q().lastEventSeq.get() ?? 0;
  }
}

export class SqliteRejections implements RejectionStore {
  private readonly db: Database.Database;
  private readonly q: () => Statements;
  private readonly dynamic: DynamicStatements;

  constructor(db: Database.Database, q: () => Statements, dynamic: DynamicStatements) {
    this.db = db;
    this.q = q;
    this.dynamic = dynamic;
  }

  async add(rows: RejectionInput[], keep: number): Promise<void> {
    const q = this.q();
    this.db.transaction(() => {
      for (const r of rows) {
        q.insertRejection.run(r.at, r.channel ?? null, r.cause, r.method, r.path, r.remoteAddress ?? null, r.detail ?? null);
      }
      q.trimRejections.run(Math.max(0, Math.floor(keep)));
    }).immediate();
  }

  async list(page: PageRequest, filter: RejectionFilter = {}): Promise<Page<Rejection>> {
    const conditions = rejectionConditions(filter);
    if (conditions.length > 0) {
      return this.dynamic.page(`SELECT ${REJECTION_COLUMNS} FROM rejections`, 'id', conditions, page, toRejection, (r) => r.id);
    }
    const limit = clampLimit(page.limit);
    const recs = this.q().listRejections.all(page.after ?? 0, limit + 1);
    return toPage(recs.slice(0, limit).map(toRejection), recs.length > limit, (r) => r.id);
  }
}

/** The counts of the journal, events and rejections in one read transaction; acked rows still in the inbox count as pending. */
export function countsOf(db: Database.Database, q: Statements, inbox: InboxReader | undefined): StoreCounts {
  // One read transaction: the numbers describe one snapshot.
  return db.transaction(() => {
    const journal = Object.fromEntries(JOURNAL_STATES.map((s) => [s, 0])) as Record<JournalState, number>;
    journal.pending = q.pendingCount.get() ?? 0;
    for (const { state, n } of q.journalByState.all()) journal[state as JournalState] = n;
    const eventsByType: Record<string, number> = {};
    let events = 0;
    for (const { type, n } of q.eventsByType.all()) {
      eventsByType[type] = n;
      events += n;
    }
    const counts: StoreCounts = {
      journal,
      events,
      eventsByType,
      rejections: q.rejectionCount.get() ?? 0,
      lastJournalId: q.lastJournalId.get() ?? 0,
    };
    const oldest = q.oldestPending.get();
    if (oldest !== undefined) counts.oldestPendingReceivedAt = oldest;
    if (inbox !== undefined) {
      // Acked rows not copied into the journal yet are pending too (newer than the journal's).
      const waiting = inbox.waiting(counts.lastJournalId);
      journal.pending += waiting.rows;
      if (waiting.lastId !== undefined) counts.lastJournalId = waiting.lastId;
      if (counts.oldestPendingReceivedAt === undefined && waiting.oldestReceivedAt !== undefined) {
        counts.oldestPendingReceivedAt = waiting.oldestReceivedAt;
      }
    }
    return counts;
  }).deferred();
}
