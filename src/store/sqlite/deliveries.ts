/**
 * @module store/sqlite/deliveries
 *
 * The SQLite side of {@link DeliveryStore}: every statement on `deliveries` and
 * `delivery_attempts` (migration 0003). Methods are synchronous; `SqliteStore` wraps them in
 * its async methods and calls {@link SqliteDeliveries.onEventRecorded} inside the
 * transaction that records a new event. SQLite has one writer, so the lane rules (one
 * runnable delivery per lane) hold without row locks; a PostgreSQL backend takes the lane's
 * lock (or a `SELECT ... FOR UPDATE` on its oldest unfinished row) before inserting into it.
 *
 * Durability: leases, renewals, releases and attempt outcomes commit with
 * `synchronous = NORMAL` (no fsync of their own; the next FULL commit syncs them along).
 * A power cut can lose the last of them, which only makes deliveries run again: a lost
 * lease leaves the delivery pending, a lost outcome leaves it leased until the lease
 * expires. Deliveries themselves are created in the pipeline's transaction, and redrives
 * and replays (operator actions) commit with the connection's own FULL setting. A process
 * crash loses none of them: WAL commits without fsync survive it.
 */
import type Database from 'better-sqlite3';
import { matchRoutes, orderingKey } from '../../dispatch/match.js';
import { parseEventJson } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import type {
  AttemptRecord,
  Delivery,
  DeliveryBacklog,
  DeliveryFilter,
  DeliveryOrigin,
  DeliveryRoute,
  DeliveryWithAttempts,
  EnqueueResult,
  LeasedDelivery,
  LeasedEntry,
  LeaseRequest,
  NewDelivery,
  RecordAttemptsResult,
  RedriveSelector,
  SettleRequest,
  SettleResult,
} from '../deliveries.js';
import {
  ATTEMPT_COLUMNS,
  attemptRecordOf,
  backlogOf,
  clipError,
  copyRoutes,
  DELIVERY_COLUMNS,
  deliveryConditions,
  LEASE_EXPIRED,
  leasedEntry,
  toAttempt,
  toDelivery,
  type DeliveryAttemptRecord,
  type DeliveryRecord as AnyDeliveryRecord,
} from '../delivery-rows.js';
import type { Page, PageRequest } from '../store.js';
import { pageOf, whereOf } from './sql.js';

/** SQLite returns `blocked` as 0/1. */
type DeliveryRecord = AnyDeliveryRecord<number>;

/** A leased row with its event as stored. */
interface Leased {
  rec: DeliveryRecord;
  eventJson: string;
}

/** The columns a {@link LeasedEntry} is made of. */
const LEASE_ROW_COLUMNS = 'id, event_seq, event_id, route, sink, ordering_key, attempts, redrives, origin';
type LeaseRow = Pick<DeliveryRecord, 'id' | 'event_seq' | 'event_id' | 'route' | 'sink' | 'ordering_key' | 'attempts' | 'redrives' | 'origin'>;

/**
 * The statements that look at one lane (route, ordering key). Each is a probe of
 * deliveries_lane_idx (route, ordering_key, blocked, id), which holds only unfinished
 * deliveries: a lane's head (its runnable delivery, else its oldest waiting one) is the
 * lane's first entry. None reads the backlog behind the head, so a busy conversation's
 * deliveries cost the same however many wait (`test/delivery-lanes.test.ts` checks the
 * query plans).
 */
export const LANE_SQL = {
  /** Whether the lane has an unfinished delivery. */
  busy: `SELECT 1 FROM deliveries WHERE route = ? AND ordering_key = ? AND state IN ('pending', 'in_flight') LIMIT 1`,
  /** Whether the lane has a runnable delivery (pending or in flight). */
  runnable: `SELECT 1 FROM deliveries WHERE route = ? AND ordering_key = ? AND state IN ('pending', 'in_flight') AND blocked = 0 LIMIT 1`,
  /** The lane's head. */
  head: `SELECT id, blocked FROM deliveries WHERE route = ? AND ordering_key = ? AND state IN ('pending', 'in_flight')
         ORDER BY blocked, id LIMIT 1`,
  /** For several lanes ([route, orderingKey] pairs as JSON): each lane's head, when blocked, may run. */
  promote: `UPDATE deliveries SET blocked = 0, updated_at = ?
            WHERE blocked = 1 AND id IN (
              SELECT (SELECT d.id FROM deliveries AS d
                      WHERE d.route = l.value ->> 0 AND d.ordering_key = l.value ->> 1 AND d.state IN ('pending', 'in_flight')
                      ORDER BY d.blocked, d.id LIMIT 1)
              FROM json_each(?) AS l)`,
} as const;

function prepare(db: Database.Database) {
  return {
    // No RETURNING (it buffers the row in a temporary table, a fifth of the insert's cost):
    // `changes` tells a conflict apart and `lastInsertRowid` is the id.
    insert: db.prepare<[number, string, string, string, string, string, string, number, number, number, number]>(
      `INSERT INTO deliveries (event_seq, event_id, event_type, route, sink, ordering_key, origin, blocked, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    laneBusy: db.prepare<[string, string], number>(LANE_SQL.busy).pluck(),
    laneHeld: db
      .prepare<[string, string], number>('SELECT 1 FROM deliveries WHERE route = ? AND ordering_key = ? AND held = 1 LIMIT 1')
      .pluck(),
    laneRunnable: db.prepare<[string, string], number>(LANE_SQL.runnable).pluck(),
    anyHeld: db.prepare<[], number>('SELECT 1 FROM deliveries WHERE held = 1 LIMIT 1').pluck(),
    syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    syncFull: db.prepare('PRAGMA synchronous = FULL'),
    hold: db.prepare<[number]>('UPDATE deliveries SET held = 1 WHERE id = ?'),
    drop: db.prepare<[number, number, number]>(
      `UPDATE deliveries SET dropped_at = ?, held = 0, updated_at = ? WHERE id = ? AND state = 'dead' AND dropped_at IS NULL`,
    ),
    backfillOf: db.prepare<[string], { since: number; through_seq: number }>('SELECT since, through_seq FROM route_backfills WHERE route = ?'),
    backfillSave: db.prepare<[string, number, number, number]>(
      `INSERT INTO route_backfills (route, since, through_seq, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (route) DO UPDATE SET since = excluded.since, through_seq = excluded.through_seq, updated_at = excluded.updated_at`,
    ),
    lastSeq: db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM events').pluck(),
    backfillEvents: db.prepare<[number, number, number, number], { seq: number; body: string }>(
      'SELECT seq, body FROM events WHERE seq > ? AND seq <= ? AND received_at >= ? ORDER BY seq LIMIT ?',
    ),
    laneHead: db.prepare<[string, string], { id: number; blocked: number }>(LANE_SQL.head),
    unblock: db.prepare<[number, number]>('UPDATE deliveries SET blocked = 0, updated_at = ? WHERE id = ?'),
    due: db.prepare<[string, number, number], { id: number; at: number }>(
      `SELECT id, next_attempt_at AS at FROM deliveries WHERE state = 'pending' AND blocked = 0 AND sink = ? AND next_attempt_at <= ?
       ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    expired: db
      .prepare<[string, number, number], number>(
        `SELECT id FROM deliveries WHERE state = 'in_flight' AND sink = ? AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?`,
      )
      .pluck(),
    take: db.prepare<[string, number, number, number], DeliveryRecord>(
      `UPDATE deliveries SET state = 'in_flight', lease_owner = ?, lease_expires_at = ?, updated_at = ?
       WHERE id = ? RETURNING ${DELIVERY_COLUMNS}`,
    ),
    // The worker's round trip: one statement leases the whole batch (ids as a JSON array) and
    // hands back only what a LeasedEntry carries, the event's body included. Rows come back in
    // no particular order.
    takeEntries: db.prepare<[string, number, number, string], LeaseRow & { body: string }>(
      `UPDATE deliveries SET state = 'in_flight', lease_owner = ?, lease_expires_at = ?, updated_at = ?
       WHERE id IN (SELECT value FROM json_each(?))
       RETURNING ${LEASE_ROW_COLUMNS}, (SELECT body FROM events WHERE seq = event_seq) AS body`,
    ),
    countLost: db.prepare<[string, number, number]>(
      'UPDATE deliveries SET attempts = attempts + 1, last_error = ?, last_status_code = NULL, last_attempt_at = ? WHERE id = ?',
    ),
    eventBody: db.prepare<[number], string>('SELECT body FROM events WHERE seq = ?').pluck(),
    // updated_at keeps the lease's start: a lost attempt is dated from it.
    renew: db.prepare<[number, string]>(
      `UPDATE deliveries SET lease_expires_at = ? WHERE state = 'in_flight' AND lease_owner = ?`,
    ),
    release: db.prepare<[number, number, string]>(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
       WHERE id = ? AND state = 'in_flight' AND lease_owner = ?`,
    ),
    byId: db.prepare<[number], DeliveryRecord>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`),
    insertAttempt: db.prepare<
      [number, number, number, string, number | null, string | null, string | null, string | null, number | null, string]
    >(
      `INSERT INTO delivery_attempts (delivery_id, started_at, latency_ms, outcome, status_code, error_code, error, detail, retry_after_ms, owner)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Only while the owner still holds the lease; no row back means the attempt was stale.
    finish: db.prepare<[string, number, number, number, number | null, string | null, number, string], { route: string; ordering_key: string }>(
      `UPDATE deliveries SET state = ?, attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
         updated_at = ?, last_attempt_at = ?, completed_at = ?, last_status_code = ?, last_error = ?
       WHERE id = ? AND state = 'in_flight' AND lease_owner = ? RETURNING route, ordering_key`,
    ),
    reschedule: db
      .prepare<[number, number, number, number | null, string | null, number, string], number>(
        `UPDATE deliveries SET state = 'pending', attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
           next_attempt_at = ?, updated_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?
         WHERE id = ? AND state = 'in_flight' AND lease_owner = ? RETURNING 1`,
      )
      .pluck(),
    promoteLanes: db.prepare<[number, string]>(LANE_SQL.promote),
    attemptsOf: db.prepare<[number], DeliveryAttemptRecord>(
      `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id = ? ORDER BY id`,
    ),
    redrive: db.prepare<[number, number, number, number]>(
      `UPDATE deliveries SET state = 'pending', blocked = ?, held = 0, attempts = 0, redrives = redrives + 1, next_attempt_at = ?,
         completed_at = NULL, updated_at = ? WHERE id = ? AND state = 'dead' AND dropped_at IS NULL`,
    ),
    eventById: db.prepare<[string], { seq: number; type: string; body: string }>('SELECT seq, type, body FROM events WHERE id = ?'),
    backlog: db.prepare<[], { sink: string; state: string; blocked: number; n: number }>(
      `SELECT sink, state, blocked, COUNT(*) AS n FROM deliveries WHERE state IN ('pending', 'in_flight')
       GROUP BY sink, state, blocked`,
    ),
    dead: db.prepare<[], { sink: string; n: number }>(
      `SELECT sink, COUNT(*) AS n FROM deliveries WHERE state = 'dead' AND dropped_at IS NULL GROUP BY sink`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/**
 * Rows per multi-row statement, largest first: a batch goes as a few of them (40 outcomes:
 * 32 + 8), each statement prepared once per size. Rows travel as bound parameters: carried
 * as JSON instead, every column of every row was rendered and parsed again by SQLite.
 */
const ROW_CHUNKS = [64, 32, 16, 8, 4, 2, 1] as const;

const placeholders = (width: number, rows: number) => Array<string>(rows).fill(`(${Array<string>(width).fill('?').join(', ')})`).join(', ');

/** Every attempt of a batch, in insertAttempt's column order. */
const ATTEMPT_WIDTH = 10;
const insertAttemptsSql = (rows: number) =>
  `INSERT INTO delivery_attempts (delivery_id, started_at, latency_ms, outcome, status_code, error_code, error, detail, retry_after_ms, owner)
   VALUES ${placeholders(ATTEMPT_WIDTH, rows)}`;

/**
 * finish and reschedule for a batch, one row per outcome:
 * (id, state, nextAttemptAt | null, now, startedAt, statusCode, lastError, owner). Only rows
 * whose owner still holds the lease change; the others (stale attempts) come back not at all.
 */
const SETTLE_WIDTH = 8;
const settleRowsSql = (rows: number) =>
  `UPDATE deliveries SET state = j.column2, attempts = deliveries.attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
     next_attempt_at = CASE WHEN j.column2 = 'pending' THEN j.column3 ELSE deliveries.next_attempt_at END,
     updated_at = j.column4, last_attempt_at = j.column5,
     completed_at = CASE WHEN j.column2 = 'pending' THEN deliveries.completed_at ELSE j.column4 END,
     last_status_code = j.column6, last_error = j.column7
   FROM (VALUES ${placeholders(SETTLE_WIDTH, rows)}) AS j
   WHERE deliveries.id = j.column1 AND deliveries.state = 'in_flight' AND deliveries.lease_owner = j.column8
   RETURNING deliveries.id AS id, deliveries.state AS state, deliveries.route AS route, deliveries.ordering_key AS ordering_key`;

/**
 * Outcomes from which {@link SqliteDeliveries.recordBatch} is cheaper than recording one by
 * one: its statements come in several sizes and one of them sorts each lane, a fixed cost
 * that a handful of outcomes does not repay (measured with rows as JSON: dearer up to about
 * 16, cheaper from about 32; `bench/delivery-store.js` with a small batch shows it).
 */
const RECORD_BATCH_MIN = 32;

/**
 * Whether `records` can go through {@link SqliteDeliveries.recordBatch}: each delivery once
 * (a second outcome of the same delivery is stale after the first, an order one UPDATE does
 * not keep).
 */
function batchable(records: AttemptRecord[]): boolean {
  const ids = new Set<number>();
  for (const r of records) {
    if (ids.has(r.deliveryId)) return false;
    ids.add(r.deliveryId);
  }
  return true;
}

/** Events read per backfill transaction. */
const BACKFILL_BATCH = 500;

export class SqliteDeliveries {
  private readonly db: Database.Database;
  private statements: Statements | undefined;
  private routes: DeliveryRoute[] = [];
  /** Routes whose dead letters hold their lane. */
  private holding = new Set<string>();
  /**
   * Whether any delivery may hold its lane; while none does, adding to a lane skips the
   * held check. Set from the table at `setRoutes` and whenever a delivery starts holding.
   */
  private mayHold = false;
  private readonly dynamic = new Map<string, Database.Statement<unknown[], unknown>>();
  /** recordBatch's statements, per kind and number of rows (one of {@link ROW_CHUNKS}). */
  private readonly multi = new Map<string, Database.Statement<unknown[], unknown>>();

  private readonly leaseTx: (request: LeaseRequest) => Leased[];
  private readonly recordTx: (records: AttemptRecord[]) => RecordAttemptsResult;
  private readonly settleTx: (request: SettleRequest) => SettleResult;
  private readonly redriveTx: (ids: number[], now: number) => number[];
  private readonly enqueueTx: (items: NewDelivery[], now: number) => EnqueueResult;
  private readonly dropTx: (ids: number[], now: number) => number[];

  constructor(db: Database.Database) {
    this.db = db;
    const lease = db.transaction((request: LeaseRequest) => this.leaseIn(request)).immediate;
    const record = db.transaction((records: AttemptRecord[]) => this.record(records)).immediate;
    const settle = db.transaction((request: SettleRequest) => this.settleIn(request)).immediate;
    this.leaseTx = (request) => this.relaxed(() => lease(request));
    this.recordTx = (records) => this.relaxed(() => record(records));
    this.settleTx = (request) => this.relaxed(() => settle(request));
    this.redriveTx = db.transaction((ids: number[], now: number) => this.redriveIn(ids, now)).immediate;
    this.enqueueTx = db.transaction((items: NewDelivery[], now: number) => this.enqueueIn(items, now)).immediate;
    this.dropTx = db.transaction((ids: number[], now: number) => this.drop(ids, now)).immediate;
  }

  /**
   * Runs one bookkeeping commit without its own fsync (see the module comment). The two
   * pragmas are prepared once: `db.pragma()` compiles its statement on every call, which
   * cost more than the rest of a small settle's fixed work.
   */
  private relaxed<T>(run: () => T): T {
    const q = this.q;
    q.syncNormal.run();
    try {
      return run();
    } finally {
      q.syncFull.run();
    }
  }

  /** Prepared on first use, after the migrations created the tables. */
  private get q(): Statements {
    return (this.statements ??= prepare(this.db));
  }

  /**
   * Takes the routes, then backfills those with `backfillSince` (see {@link backfill}).
   * Called at start, before the pipeline records anything.
   */
  async setRoutes(routes: DeliveryRoute[], now = Date.now()): Promise<void> {
    this.routes = copyRoutes(routes);
    this.holding = new Set(this.routes.filter((r) => r.onDeadLetter === 'hold').map((r) => r.name));
    this.mayHold = this.q.anyHeld.get() !== undefined;
    for (const route of this.routes) if (route.backfillSince !== undefined) this.backfill(route, route.backfillSince, now);
  }

  /**
   * Gives a route a delivery for every stored event received at or after `since` that it
   * matches, oldest first, in transactions of {@link BACKFILL_BATCH} events. Events that
   * already have one (recorded while the route existed) keep it: event deliveries are unique
   * per (event, route). Progress is kept in `route_backfills`, so a restart with the same
   * `since` resumes where it stopped and then costs one lookup.
   */
  private backfill(route: DeliveryRoute, since: number, now: number): void {
    const q = this.q;
    const done = q.backfillOf.get(route.name);
    let cursor = done !== undefined && done.since === since ? done.through_seq : 0;
    const last = q.lastSeq.get()!;
    if (cursor >= last) return;
    const step = this.db.transaction(() => {
      const rows = q.backfillEvents.all(cursor, last, since, BACKFILL_BATCH);
      for (const { seq, body } of rows) {
        const event = parseEventJson(body);
        if (matchRoutes(event, [route]).length === 0) continue;
        this.insert(seq, event.id, event.type, route.name, route.sink, orderingKey(event), 'event', now);
      }
      cursor = rows.length < BACKFILL_BATCH ? last : rows[rows.length - 1]!.seq;
      q.backfillSave.run(route.name, since, cursor, now);
    }).immediate;
    while (cursor < last) step();
  }

  /**
   * Called inside the transaction that stored `event` for the first time: one delivery per
   * matching route. Cheap when no route is set.
   */
  onEventRecorded(seq: number, event: BluetickEvent, now: number): void {
    if (this.routes.length === 0) return;
    const routes = matchRoutes(event, this.routes);
    if (routes.length === 0) return;
    const key = orderingKey(event);
    for (const route of routes) this.insert(seq, event.id, event.type, route.name, route.sink, key, 'event', now);
  }

  private insert(
    seq: number,
    eventId: string,
    type: string,
    route: string,
    sink: string,
    key: string,
    origin: DeliveryOrigin,
    now: number,
  ): number | undefined {
    const q = this.q;
    const blocked = q.laneBusy.get(route, key) === undefined && !this.isHeld(route, key) ? 0 : 1;
    const { changes, lastInsertRowid } = q.insert.run(seq, eventId, type, route, sink, key, origin, blocked, now, now, now);
    return changes === 1 ? Number(lastInsertRowid) : undefined;
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    if (request.limit < 1 || request.sinks.length === 0) return [];
    return this.leaseTx(request).map(({ rec, eventJson }) => ({ delivery: toDelivery(rec), event: parseEventJson(eventJson) }));
  }

  async settle(request: SettleRequest): Promise<SettleResult> {
    const leasing = request.lease !== undefined && request.lease.limit >= 1 && request.lease.sinks.length > 0;
    if (request.outcomes.length === 0 && !leasing) return { applied: [], stale: [], leased: [] };
    return this.settleTx(request);
  }

  private settleIn({ owner, now, outcomes, lease }: SettleRequest): SettleResult {
    const records = outcomes.map((o) => attemptRecordOf(owner, o));
    const { applied, stale } = records.length > 0 ? this.record(records) : { applied: [], stale: [] };
    const leased = lease !== undefined && lease.limit >= 1 && lease.sinks.length > 0 ? this.leaseEntries({ owner, now, ...lease }) : [];
    return { applied, stale, leased };
  }

  /**
   * {@link lease} for the worker's round trip: only the columns of a {@link LeasedEntry},
   * leased, with their events' bodies, in one statement.
   */
  private leaseEntries(request: LeaseRequest): LeasedEntry[] {
    const ids = this.dueIds(request);
    if (ids.length === 0) return [];
    const rows = this.q.takeEntries.all(request.owner, request.now + request.leaseMs, request.now, JSON.stringify(ids));
    // Back in the order dueIds chose (expired leases first, then oldest due).
    const order = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) order.set(ids[i]!, i);
    rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return rows.map((rec) => leasedEntry(rec, rec.body));
  }

  private leaseIn(request: LeaseRequest): Leased[] {
    const q = this.q;
    const { owner, now, leaseMs } = request;
    return this.dueIds(request).map((id) => {
      const rec = q.take.get(owner, now + leaseMs, now, id)!;
      return { rec, eventJson: q.eventBody.get(rec.event_seq)! };
    });
  }

  /**
   * The ids to lease, oldest due first: expired leases (their lost attempt logged and
   * counted here), then due runnable deliveries, fair across sinks.
   */
  private dueIds({ now, limit, sinks, sinkLimits }: LeaseRequest): number[] {
    const q = this.q;
    const want = Math.max(1, Math.floor(limit));
    // Expired leases first: they were due before anything queued behind them.
    const expired: number[] = [];
    for (const sink of new Set(sinks)) {
      for (const id of q.expired.all(sink, now, want)) expired.push(id);
    }
    let ids = expired.slice(0, want);
    if (ids.length < want) {
      const due: Array<{ id: number; at: number }> = [];
      const seen = new Set<string>();
      sinks.forEach((sink, i) => {
        if (seen.has(sink)) return;
        seen.add(sink);
        const most = Math.min(want - ids.length, Math.floor(sinkLimits?.[i] ?? Infinity));
        if (most > 0) for (const row of q.due.all(sink, now, most)) due.push(row);
      });
      // Fair across sinks: oldest due first overall.
      due.sort((a, b) => a.at - b.at || a.id - b.id);
      ids = ids.concat(due.slice(0, want - ids.length).map((r) => r.id));
    }
    for (const id of expired.slice(0, want)) {
      const before = q.byId.get(id)!;
      const latency = Math.max(0, now - before.updated_at);
      const lostBy = before.lease_owner ?? '';
      q.insertAttempt.run(id, before.updated_at, latency, 'retry', null, 'lease-expired', LEASE_EXPIRED, null, null, lostBy);
      q.countLost.run(LEASE_EXPIRED, now, id);
    }
    return ids;
  }

  async renewLeases(owner: string, now: number, leaseMs: number): Promise<number> {
    return this.relaxed(() => this.q.renew.run(now + leaseMs, owner).changes);
  }

  async release(ids: number[], owner: string, now: number): Promise<number> {
    if (ids.length === 0) return 0;
    const q = this.q;
    return this.relaxed(() =>
      this.db.transaction(() => {
        let n = 0;
        for (const id of ids) n += q.release.run(now, id, owner).changes;
        return n;
      }).immediate(),
    );
  }

  async recordAttempts(records: AttemptRecord[]): Promise<RecordAttemptsResult> {
    if (records.length === 0) return { applied: [], stale: [] };
    return this.recordTx(records);
  }

  private record(records: AttemptRecord[]): RecordAttemptsResult {
    return records.length >= RECORD_BATCH_MIN && batchable(records) ? this.recordBatch(records) : this.recordEach(records);
  }

  /**
   * {@link recordEach} in a few statements: the attempts in multi-row INSERTs and the state
   * changes in multi-row UPDATEs (one of each per chunk, see {@link ROW_CHUNKS}), then the
   * dead letters that hold their lane, then one UPDATE promoting the lanes that moved on.
   * Holds go before promotions, so a lane whose dead letter holds it is never promoted by
   * another outcome of the same batch, whatever their order. A promoted delivery's
   * `updatedAt` is the latest `now` of the batch. Only for batches where each delivery
   * appears once (see {@link batchable}).
   */
  private recordBatch(records: AttemptRecord[]): RecordAttemptsResult {
    const q = this.q;
    const attempts: unknown[] = [];
    const changes: unknown[] = [];
    for (const r of records) {
      const a = r.attempt;
      const error = clipError(a.error);
      const status = a.statusCode ?? null;
      attempts.push(
        r.deliveryId,
        a.startedAt,
        Math.max(0, Math.round(a.latencyMs)),
        a.outcome,
        status,
        a.errorCode ?? null,
        error,
        clipError(a.detail),
        a.retryAfterMs ?? null,
        r.owner,
      );
      const lastError = a.outcome === 'success' ? null : (error ?? a.errorCode ?? null);
      changes.push(r.deliveryId, r.next.state, r.next.state === 'pending' ? r.next.nextAttemptAt : null, r.now, a.startedAt, status, lastError, r.owner);
    }
    const changed = new Map<number, { state: string; route: string; ordering_key: string }>();
    for (let at = 0; at < records.length; ) {
      const rows = ROW_CHUNKS.find((n) => n <= records.length - at)!;
      this.multiRow('attempts', rows).run(attempts.slice(at * ATTEMPT_WIDTH, (at + rows) * ATTEMPT_WIDTH));
      const settled = this.multiRow('settle', rows).all(changes.slice(at * SETTLE_WIDTH, (at + rows) * SETTLE_WIDTH));
      for (const row of settled as Array<{ id: number; state: string; route: string; ordering_key: string }>) changed.set(row.id, row);
      at += rows;
    }
    const applied: number[] = [];
    const stale: number[] = [];
    const lanes = new Map<string, [string, string]>();
    let now = 0;
    for (const r of records) {
      const row = changed.get(r.deliveryId);
      if (row === undefined) {
        stale.push(r.deliveryId);
        continue;
      }
      applied.push(r.deliveryId);
      if (row.state === 'pending') continue;
      if (row.state === 'dead' && this.holding.has(row.route)) {
        // The lane waits behind this dead letter until it is redriven or dropped.
        q.hold.run(r.deliveryId);
        this.mayHold = true;
      } else {
        lanes.set(`${row.route}\u0000${row.ordering_key}`, [row.route, row.ordering_key]);
        now = Math.max(now, r.now);
      }
    }
    const promote: Array<[string, string]> = [];
    for (const lane of lanes.values()) if (!this.isHeld(lane[0], lane[1])) promote.push(lane);
    if (promote.length > 0) q.promoteLanes.run(now, JSON.stringify(promote));
    return { applied, stale };
  }

  /** Records attempts one by one: insert, state change, then hold or promote its lane. */
  private recordEach(records: AttemptRecord[]): RecordAttemptsResult {
    const q = this.q;
    const applied: number[] = [];
    const stale: number[] = [];
    for (const r of records) {
      const a = r.attempt;
      const error = clipError(a.error);
      q.insertAttempt.run(
        r.deliveryId,
        a.startedAt,
        Math.max(0, Math.round(a.latencyMs)),
        a.outcome,
        a.statusCode ?? null,
        a.errorCode ?? null,
        error,
        clipError(a.detail),
        a.retryAfterMs ?? null,
        r.owner,
      );
      const status = a.statusCode ?? null;
      const lastError = a.outcome === 'success' ? null : (error ?? a.errorCode ?? null);
      if (r.next.state === 'pending') {
        if (q.reschedule.get(r.next.nextAttemptAt, r.now, a.startedAt, status, lastError, r.deliveryId, r.owner) === undefined) {
          stale.push(r.deliveryId);
          continue;
        }
      } else {
        const rec = q.finish.get(r.next.state, r.now, a.startedAt, r.now, status, lastError, r.deliveryId, r.owner);
        if (rec === undefined) {
          stale.push(r.deliveryId);
          continue;
        }
        if (r.next.state === 'dead' && this.holding.has(rec.route)) {
          // The lane waits behind this dead letter until it is redriven or dropped.
          q.hold.run(r.deliveryId);
          this.mayHold = true;
        } else {
          this.promote(rec.route, rec.ordering_key, r.now);
        }
      }
      applied.push(r.deliveryId);
    }
    return { applied, stale };
  }

  /** Whether a dead letter holds this lane. */
  private isHeld(route: string, key: string): boolean {
    return this.mayHold && this.q.laneHeld.get(route, key) !== undefined;
  }

  /** The lane lost its runnable delivery: let the oldest waiting one run (unless a dead letter holds it). */
  private promote(route: string, key: string, now: number): void {
    if (this.isHeld(route, key)) return;
    const head = this.q.laneHead.get(route, key);
    if (head !== undefined && head.blocked === 1) this.q.unblock.run(now, head.id);
  }

  async get(id: number): Promise<DeliveryWithAttempts | undefined> {
    const rec = this.q.byId.get(id);
    if (rec === undefined) return undefined;
    return { ...toDelivery(rec), attemptLog: this.q.attemptsOf.all(id).map(toAttempt) };
  }

  async list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    const select = `SELECT ${DELIVERY_COLUMNS} FROM deliveries`;
    return pageOf((sql) => this.statement(sql), select, 'id', whereOf(deliveryConditions(filter)), page, toDelivery, (d) => d.id);
  }

  async redrive(selector: RedriveSelector, now: number): Promise<number[]> {
    let ids: number[];
    if ('ids' in selector) {
      ids = selector.ids;
    } else {
      const filter: DeliveryFilter = 'all' in selector ? { state: ['dead'], dropped: false } : { ...selector.filter, state: ['dead'], dropped: false };
      const { where, params } = whereOf(deliveryConditions(filter));
      ids = this.statement(`SELECT id FROM deliveries WHERE ${where.join(' AND ')} ORDER BY id`)
        .pluck()
        .all(...params) as number[];
    }
    if (ids.length === 0) return [];
    return this.redriveTx(ids, now);
  }

  private redriveIn(ids: number[], now: number): number[] {
    const q = this.q;
    const done: number[] = [];
    for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
      const rec = q.byId.get(id);
      if (rec === undefined || rec.state !== 'dead' || rec.dropped_at !== null) continue;
      // A dead letter that held its lane goes first (the rest of the lane waited behind it);
      // any other joins the back of its lane.
      const blocked =
        rec.held === 1
          ? q.laneRunnable.get(rec.route, rec.ordering_key) !== undefined
          : q.laneBusy.get(rec.route, rec.ordering_key) !== undefined || this.isHeld(rec.route, rec.ordering_key);
      if (q.redrive.run(blocked ? 1 : 0, now, now, id).changes > 0) done.push(id);
    }
    return done;
  }

  async dropDeadLetters(ids: number[], now: number): Promise<number[]> {
    if (ids.length === 0) return [];
    return this.dropTx(ids, now);
  }

  private drop(ids: number[], now: number): number[] {
    const q = this.q;
    const done: number[] = [];
    for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
      const rec = q.byId.get(id);
      if (rec === undefined || q.drop.run(now, now, id).changes === 0) continue;
      done.push(id);
      // The lane it held moves on, unless something in it already runs.
      if (rec.held === 1 && q.laneRunnable.get(rec.route, rec.ordering_key) === undefined) this.promote(rec.route, rec.ordering_key, now);
    }
    return done;
  }

  async enqueue(items: NewDelivery[], now: number): Promise<EnqueueResult> {
    if (items.length === 0) return { created: [], missing: [] };
    return this.enqueueTx(items, now);
  }

  private enqueueIn(items: NewDelivery[], now: number): EnqueueResult {
    const q = this.q;
    const created: Delivery[] = [];
    const missing: string[] = [];
    for (const item of items) {
      const ev = q.eventById.get(item.eventId);
      if (ev === undefined) {
        missing.push(item.eventId);
        continue;
      }
      const key = orderingKey(parseEventJson(ev.body));
      const id = this.insert(ev.seq, item.eventId, ev.type, item.route, item.sink, key, 'replay', now);
      if (id !== undefined) created.push(toDelivery(q.byId.get(id)!));
    }
    return { created, missing };
  }

  async backlog(): Promise<DeliveryBacklog> {
    const q = this.q;
    const dead = q.dead.all().map(({ sink, n }) => ({ sink, state: 'dead', blocked: 0, n }));
    return backlogOf([...q.backlog.all(), ...dead]);
  }

  private multiRow(kind: 'attempts' | 'settle', rows: number): Database.Statement<unknown[], unknown> {
    const key = `${kind}:${rows}`;
    let stmt = this.multi.get(key);
    if (stmt === undefined) {
      stmt = this.db.prepare(kind === 'attempts' ? insertAttemptsSql(rows) : settleRowsSql(rows));
      this.multi.set(key, stmt);
    }
    return stmt;
  }

  private statement(sql: string): Database.Statement<unknown[], unknown> {
    let stmt = this.dynamic.get(sql);
    if (stmt === undefined) {
      if (this.dynamic.size >= 64) this.dynamic.clear();
      stmt = this.db.prepare(sql);
      this.dynamic.set(sql, stmt);
    }
    return stmt;
  }
}
