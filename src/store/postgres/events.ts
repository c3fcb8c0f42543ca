/**
 * @module store/postgres/events
 *
 * `Store.events` and `Store.rejections` on PostgreSQL (events are written by `journal.ts` in
 * `record`), and the counts of all three tables in one snapshot.
 */
import type pg from 'pg';
import {
  JOURNAL_STATES,
  type ActivityCounts,
  type ArrivalFilter,
  type EventArrival,
  type EventFilter,
  type EventStore,
  type JournalState,
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
  type ArrivalRow,
  type EventRecord,
  type RejectionRecord,
} from '../rows.js';
import { whereOf } from './conditions.js';
import type { PostgresContext } from './journal.js';
import { clampLimit, pageOf } from './sql.js';

/** One minute, ms: the bucket of `activity()`. */
const MINUTE_MS = 60_000;

/** The body is TEXT: `::json` only checks and scans it (no jsonb tree is built), in the database. */
const ARRIVAL_SELECT_LIST = arrivalColumns((key) => `(body::json ->> '${key}')`);

export class PostgresEvents implements EventStore {
  private readonly ctx: PostgresContext;

  constructor(ctx: PostgresContext) {
    this.ctx = ctx;
  }


  async get(id: string): Promise<StoredEvent | undefined> {
    const { rows } = await this.ctx.pool.query<EventRecord>({
      name: 'bt_event_by_id',
      text: `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`,
      values: [id],
    });
    return rows[0] && toStoredEvent(rows[0]);
  }

  async list(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>> {
    const where = whereOf(eventConditions(filter));
    return pageOf(this.ctx.pool, `SELECT ${EVENT_COLUMNS} FROM events`, 'seq', where, page, toStoredEvent, (r: EventRecord) => r.seq);
  }

  async arrivals(filter: ArrivalFilter, page: PageRequest): Promise<Page<EventArrival>> {
    const where = whereOf(arrivalConditions(filter));
    const limit = clampLimit(page.limit);
    if (page.after !== undefined) where.add('seq > ?', page.after);
    // The page is chosen first, then its bodies are read: PostgreSQL computes a select list
    // below a sort (top-N over the type index), so `->>` in the outer query would parse
    // every event after the cursor for each page, not just the page's.
    const { rows } = await this.ctx.pool.query<ArrivalRow>({
      text: `SELECT ${ARRIVAL_SELECT_LIST}
               FROM (SELECT seq, type, channel, provider, received_at, phone_number_id, display_phone_number, body
                       FROM events${where.sql()} ORDER BY seq LIMIT $${where.values.length + 1}) AS e
              ORDER BY seq`,
      values: [...where.values, limit + 1],
      rowMode: 'array',
    });
    const items = rows.slice(0, limit).map(toArrival);
    const last = items[limit - 1];
    return rows.length > limit && last !== undefined ? { items, next: last.seq } : { items };
  }

  async activity(since: number): Promise<ActivityCounts> {
    // Both walk events_received_at_idx from `since`; the delivery count uses deliveries_event_uq (its event id column).
    const [events, acks] = await Promise.all([
      this.ctx.pool.query<{ minute: string; type: string; count: number; delivered: number }>({
        name: 'bt_activity_events',
        text: `SELECT (e.received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, e.type, COUNT(*)::int AS count,
                      SUM((SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id AND d.state = 'succeeded'))::int AS delivered
                 FROM events e WHERE e.received_at >= $1 GROUP BY 1, e.type ORDER BY 1`,
        values: [since],
      }),
      this.ctx.pool.query<{ minute: string; count: number }>({
        name: 'bt_activity_acks',
        text: `SELECT (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, COUNT(DISTINCT journal_id)::int AS count
                 FROM events WHERE received_at >= $1 GROUP BY 1 ORDER BY 1`,
        values: [since],
      }),
    ]);
    return {
      events: events.rows.map((r) => ({ minute: Number(r.minute), type: r.type, count: r.count, delivered: r.delivered })),
      acks: acks.rows.map((r) => ({ minute: Number(r.minute), count: r.count })),
    };
  }

  async lastSeq(): Promise<number> {
    return this.ctx.projections.lastEventSeq();
  }
}

export class PostgresRejections implements RejectionStore {
  private readonly ctx: PostgresContext;

  constructor(ctx: PostgresContext) {
    this.ctx = ctx;
  }


  async add(rows: RejectionInput[], keep: number): Promise<void> {
    if (rows.length === 0) return;
    await this.ctx.transaction(async (client) => {
      await client.query(
        `INSERT INTO rejections (at, channel, cause, method, path, remote_address, detail)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          rows.map((r) => r.at),
          rows.map((r) => r.channel ?? null),
          rows.map((r) => r.cause),
          rows.map((r) => r.method),
          rows.map((r) => r.path),
          rows.map((r) => r.remoteAddress ?? null),
          rows.map((r) => r.detail ?? null),
        ],
      );
      await client.query('DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET $1)', [
        Math.max(0, Math.floor(keep)),
      ]);
    });
  }

  async list(page: PageRequest, filter: RejectionFilter = {}): Promise<Page<Rejection>> {
    const where = whereOf(rejectionConditions(filter));
    return pageOf(this.ctx.pool, `SELECT ${REJECTION_COLUMNS} FROM rejections`, 'id', where, page, toRejection, (r: RejectionRecord) => r.id);
  }

}

export async function countsOf(pool: pg.Pool): Promise<StoreCounts> {
  // One statement: every number describes the same snapshot.
  const { rows } = await pool.query<{
    journal: Record<string, number>;
    events: Record<string, number>;
    rejections: number;
    last_journal_id: number;
    oldest_pending: number | null;
  }>(`SELECT
        (SELECT COALESCE(json_object_agg(state, n), '{}') FROM (SELECT state, count(*) AS n FROM journal GROUP BY state) s) AS journal,
        (SELECT COALESCE(json_object_agg(type, n), '{}') FROM (SELECT type, count(*) AS n FROM events GROUP BY type) t) AS events,
        (SELECT count(*) FROM rejections) AS rejections,
        (SELECT COALESCE(max(id), 0) FROM journal) AS last_journal_id,
        (SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1) AS oldest_pending`);
  const r = rows[0]!;
  const journal = Object.fromEntries(JOURNAL_STATES.map((s) => [s, Number(r.journal[s] ?? 0)])) as Record<JournalState, number>;
  const eventsByType: Record<string, number> = {};
  let events = 0;
  for (const [type, n] of Object.entries(r.events)) {
    eventsByType[type] = Number(n);
    events += Number(n);
  }
  const counts: StoreCounts = { journal, events, eventsByType, rejections: r.rejections, lastJournalId: r.last_journal_id };
  if (r.oldest_pending !== null) counts.oldestPendingReceivedAt = r.oldest_pending;
  return counts;
}
