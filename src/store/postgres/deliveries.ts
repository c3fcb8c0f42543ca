/**
 * @module store/postgres/deliveries
 *
 * The PostgreSQL side of {@link DeliveryStore} (`migrations/postgres/0003_deliveries.sql`),
 * for workers in many processes at once. Two kinds of coordination, both in the database:
 *
 * - Leasing takes runnable, due rows with `FOR UPDATE SKIP LOCKED`: workers never hand out
 *   the same delivery twice and never wait on each other. A lease that expired (its worker
 *   died) is taken over the same way, and the lost attempt is logged.
 * - Lanes: whatever can change which delivery of a (route, ordering key) lane is runnable
 *   (adding to the lane, finishing its runnable delivery, redriving into it) first takes a
 *   transaction-scoped advisory lock per lane, all of them in one statement in hash order
 *   (see `lockNames`), so no two transactions decide "the lane is idle" at once and the
 *   next delivery is promoted only after the previous one finished, in whatever process.
 *
 * Event-created deliveries are inserted by `journal.record` inside its transaction (see
 * {@link PostgresDeliveries.onEventsRecorded}), which already holds the events lock, so their
 * ids follow `seq` order within each lane.
 */
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
import { bigintArray, textArray, type Param } from './arrays.js';
import { whereOf } from './conditions.js';
import { lockNames, pageOf, type Queryable } from './sql.js';

/** PostgreSQL returns `blocked` as a boolean. */
type DeliveryRecord = AnyDeliveryRecord<boolean>;

/** One delivery to add to a lane. */
interface NewRow {
  seq: number;
  eventId: string;
  type: string;
  route: string;
  sink: string;
  key: string;
  origin: DeliveryOrigin;
}

type Transaction = <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>;

export class PostgresDeliveries {
  private readonly db: Queryable;
  private readonly transaction: Transaction;
  private readonly lockPrefix: string;
  /** Wakes the delivery workers of every process (after the transaction committed). */
  private readonly wake: () => void;
  private routes: DeliveryRoute[] = [];
  /** Routes whose dead letters hold their lane. */
  private holding = new Set<string>();

  /** Told the routes before any backfill (the store hands them to its pipeline threads). */
  private readonly routesChanged: (routes: DeliveryRoute[]) => Promise<void>;

  constructor(
    db: Queryable,
    transaction: Transaction,
    schema: string,
    wake: () => void,
    routesChanged: (routes: DeliveryRoute[]) => Promise<void> = () => Promise.resolve(),
  ) {
    this.db = db;
    this.transaction = transaction;
    this.lockPrefix = `bluetick.lane.${schema}\u001f`;
    this.wake = wake;
    this.routesChanged = routesChanged;
  }

  /**
   * Takes the routes, hands them to whoever else records events for this store (its pipeline
   * threads: events they record from then on get their deliveries), then backfills those with
   * `backfillSince` (see {@link backfill}).
   */
  async setRoutes(routes: DeliveryRoute[], now = Date.now()): Promise<void> {
    this.useRoutes(routes);
    await this.routesChanged(this.currentRoutes);
    for (const route of this.routes) if (route.backfillSince !== undefined) await this.backfill(route, route.backfillSince, now);
  }

  /**
   * Takes the routes for the deliveries of events recorded from now on, without backfilling
   * (a pipeline thread: the store that was given the routes backfills once).
   */
  useRoutes(routes: DeliveryRoute[]): void {
    this.routes = copyRoutes(routes);
    this.holding = new Set(this.routes.filter((r) => r.onDeadLetter === 'hold').map((r) => r.name));
  }

  /** The routes in use (a copy). */
  get currentRoutes(): DeliveryRoute[] {
    return copyRoutes(this.routes);
  }

  /**
   * Gives a route a delivery for every stored event received at or after `since` that it
   * matches, oldest first, {@link BACKFILL_BATCH} events per transaction. Events that have
   * one already keep it (event deliveries are unique per event and route), so processes
   * starting together, or a restart, never add a second. Progress is kept in
   * `route_backfills`: a restart with the same `since` resumes where it stopped.
   */
  private async backfill(route: DeliveryRoute, since: number, now: number): Promise<void> {
    const done = await this.db.query<{ since: string; through_seq: string }>('SELECT since, through_seq FROM route_backfills WHERE route = $1', [
      route.name,
    ]);
    const row = done.rows[0];
    let cursor = row !== undefined && Number(row.since) === since ? Number(row.through_seq) : 0;
    const last = Number((await this.db.query<{ n: string }>('SELECT COALESCE(MAX(seq), 0) AS n FROM events')).rows[0]!.n);
    while (cursor < last) {
      cursor = await this.transaction(async (db) => {
        const { rows } = await db.query<{ seq: string; body: string }>(
          'SELECT seq, body FROM events WHERE seq > $1 AND seq <= $2 AND received_at >= $3 ORDER BY seq LIMIT $4',
          [cursor, last, since, BACKFILL_BATCH],
        );
        const fresh: NewRow[] = [];
        for (const { seq, body } of rows) {
          const event = parseEventJson(body);
          if (matchRoutes(event, [route]).length === 0) continue;
          fresh.push({ seq: Number(seq), eventId: event.id, type: event.type, route: route.name, sink: route.sink, key: orderingKey(event), origin: 'event' });
        }
        await this.insert(db, fresh, now);
        const through = rows.length < BACKFILL_BATCH ? last : Number(rows[rows.length - 1]!.seq);
        await db.query(
          `INSERT INTO route_backfills (route, since, through_seq, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (route) DO UPDATE SET since = excluded.since, through_seq = excluded.through_seq, updated_at = excluded.updated_at`,
          [route.name, since, through, now],
        );
        return through;
      });
    }
    this.wake();
  }

  get hasRoutes(): boolean {
    return this.routes.length > 0;
  }

  /**
   * Inside the transaction that stored these events for the first time (in `seq` order):
   * one delivery per matching route. Returns how many were created.
   */
  async onEventsRecorded(db: Queryable, recorded: Array<{ seq: number; event: BluetickEvent }>, now: number): Promise<number> {
    if (this.routes.length === 0 || recorded.length === 0) return 0;
    const rows: NewRow[] = [];
    for (const { seq, event } of recorded) {
      const routes = matchRoutes(event, this.routes);
      if (routes.length === 0) continue;
      const key = orderingKey(event);
      for (const route of routes) {
        rows.push({ seq, eventId: event.id, type: event.type, route: route.name, sink: route.sink, key, origin: 'event' });
      }
    }
    return (await this.insert(db, rows, now)).length;
  }

  /** Adds deliveries at the back of their lanes, in the order given. Takes the lanes' locks. */
  private async insert(db: Queryable, rows: NewRow[], now: number): Promise<DeliveryRecord[]> {
    if (rows.length === 0) return [];
    await this.lockLanes(db, rows.map((r) => [r.route, r.key]));
    const busy = await this.busyLanes(db, rows.map((r) => [r.route, r.key]));
    const blocked = rows.map((r) => {
      const lane = laneName(r.route, r.key);
      if (busy.has(lane)) return true;
      busy.add(lane);
      return false;
    });
    const { rows: out } = await db.query<DeliveryRecord>(
      `INSERT INTO deliveries (event_seq, event_id, event_type, route, sink, ordering_key, origin, blocked,
                               next_attempt_at, created_at, updated_at)
       SELECT seq, event_id, event_type, route, sink, ordering_key, origin, blocked, $9, $9, $9
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[])
            WITH ORDINALITY AS u(seq, event_id, event_type, route, sink, ordering_key, origin, blocked, ord)
       ORDER BY ord
       ON CONFLICT DO NOTHING
       RETURNING ${DELIVERY_COLUMNS}`,
      [
        bigintArray(rows.map((r) => r.seq)),
        textArray(rows.map((r) => r.eventId)),
        textArray(rows.map((r) => r.type)),
        textArray(rows.map((r) => r.route)),
        textArray(rows.map((r) => r.sink)),
        textArray(rows.map((r) => r.key)),
        textArray(rows.map((r) => r.origin)),
        blocked,
        now,
      ],
    );
    return out.sort((a, b) => a.id - b.id);
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    if (request.limit < 1 || request.sinks.length === 0) return [];
    const leased = await this.transaction((db) => this.leaseIn(db, request));
    return leased.map(({ rec, eventJson }) => ({ delivery: toDelivery(rec), event: parseEventJson(eventJson) }));
  }

  async settle({ owner, now, outcomes, lease }: SettleRequest): Promise<SettleResult> {
    const leasing = lease !== undefined && lease.limit >= 1 && lease.sinks.length > 0;
    if (outcomes.length === 0 && !leasing) return { applied: [], stale: [], leased: [] };
    const records = outcomes.map((o) => attemptRecordOf(owner, o));
    const result = await this.transaction(async (db) => {
      const recorded = records.length > 0 ? await this.record(db, records) : { applied: [], stale: [], wake: false };
      const leased = leasing ? await this.leaseIn(db, { owner, now, ...lease }) : [];
      return { ...recorded, leased: leased.map(({ rec, eventJson }) => leasedEntry(rec, eventJson)) };
    });
    if (result.wake) this.wake();
    return { applied: result.applied, stale: result.stale, leased: result.leased };
  }

  /** Takes due, runnable deliveries inside the caller's transaction. */
  private async leaseIn(db: Queryable, { owner, now, leaseMs, limit, sinks, sinkLimits }: LeaseRequest): Promise<Array<{ rec: DeliveryRecord; eventJson: string }>> {
    const want = Math.max(1, Math.floor(limit));
    const sinkList: string[] = [];
    const sinkMost: number[] = [];
    sinks.forEach((sink, i) => {
      if (sinkList.includes(sink)) return;
      sinkList.push(sink);
      sinkMost.push(Math.min(want, Math.max(0, Math.floor(sinkLimits?.[i] ?? want))));
    });
    // Expired leases first: they were due before anything queued behind them.
    const expired = await db.query<{ id: number; updated_at: number; lease_owner: string | null }>(
      `SELECT id, updated_at, lease_owner FROM deliveries
       WHERE state = 'in_flight' AND sink = ANY($1::text[]) AND lease_expires_at <= $2
       ORDER BY lease_expires_at LIMIT $3
       FOR UPDATE SKIP LOCKED`,
      [sinkList, now, want],
    );
    const ids = expired.rows.map((r) => r.id);
    if (ids.length < want) {
      // Per sink (its own index range), then fair across sinks: oldest due first overall.
      const due = await db.query<{ id: number }>(
        `SELECT d.id FROM unnest($1::text[], $4::int[]) AS s(sink, most)
         CROSS JOIN LATERAL (
           SELECT id, next_attempt_at FROM deliveries
           WHERE state = 'pending' AND NOT blocked AND sink = s.sink AND next_attempt_at <= $2
           ORDER BY next_attempt_at, id LIMIT LEAST($3, s.most)
           FOR UPDATE SKIP LOCKED) d
         ORDER BY d.next_attempt_at, d.id LIMIT $3`,
        [sinkList, now, want - ids.length, sinkMost],
      );
      for (const r of due.rows) ids.push(r.id);
    }
    if (ids.length === 0) return [];

    if (expired.rows.length > 0) {
      const lost = expired.rows;
      await db.query(
        `INSERT INTO delivery_attempts (delivery_id, started_at, latency_ms, outcome, error_code, error, owner)
         SELECT id, started, GREATEST(0, $2 - started), 'retry', 'lease-expired', $3, owner
         FROM unnest($1::bigint[], $4::bigint[], $5::text[]) AS u(id, started, owner)`,
        [lost.map((r) => r.id), now, LEASE_EXPIRED, lost.map((r) => r.updated_at), lost.map((r) => r.lease_owner ?? '')],
      );
      await db.query(
        `UPDATE deliveries SET attempts = attempts + 1, last_error = $2, last_status_code = NULL, last_attempt_at = $3
         WHERE id = ANY($1::bigint[])`,
        [lost.map((r) => r.id), LEASE_EXPIRED, now],
      );
    }
    const taken = await db.query<DeliveryRecord>(
      `UPDATE deliveries SET state = 'in_flight', lease_owner = $1, lease_expires_at = $2, updated_at = $3
       WHERE id = ANY($4::bigint[]) RETURNING ${DELIVERY_COLUMNS}`,
      [owner, now + leaseMs, now, ids],
    );
    const byId = new Map(taken.rows.map((r) => [r.id, r]));
    const bodies = await db.query<{ seq: number; body: string }>('SELECT seq, body FROM events WHERE seq = ANY($1::bigint[])', [
      taken.rows.map((r) => r.event_seq),
    ]);
    const bodyOf = new Map(bodies.rows.map((r) => [r.seq, r.body]));
    return ids.map((id) => {
      const rec = byId.get(id)!;
      return { rec, eventJson: bodyOf.get(rec.event_seq)! };
    });
  }

  async renewLeases(owner: string, now: number, leaseMs: number): Promise<number> {
    const res = await this.db.query(`UPDATE deliveries SET lease_expires_at = $1 WHERE state = 'in_flight' AND lease_owner = $2`, [
      now + leaseMs,
      owner,
    ]);
    return res.rowCount ?? 0;
  }

  async release(ids: number[], owner: string, now: number): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await this.db.query(
      `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
       WHERE id = ANY($2::bigint[]) AND state = 'in_flight' AND lease_owner = $3`,
      [now, ids, owner],
    );
    const n = res.rowCount ?? 0;
    if (n > 0) this.wake();
    return n;
  }

  async recordAttempts(records: AttemptRecord[]): Promise<RecordAttemptsResult> {
    if (records.length === 0) return { applied: [], stale: [] };
    const result = await this.transaction((db) => this.record(db, records));
    if (result.wake) this.wake();
    return { applied: result.applied, stale: result.stale };
  }

  /** Logs attempts and moves their deliveries on inside the caller's transaction. */
  private async record(db: Queryable, records: AttemptRecord[]): Promise<RecordAttemptsResult & { wake: boolean }> {
    const ids = [...new Set(records.map((r) => r.deliveryId))];
    // The lanes of the deliveries that may finish, locked before any row changes.
    const lanes = await db.query<{ route: string; ordering_key: string }>(
      'SELECT DISTINCT route, ordering_key FROM deliveries WHERE id = ANY($1::bigint[])',
      [records.filter((r) => r.next.state !== 'pending').map((r) => r.deliveryId)],
    );
    await this.lockLanes(db, lanes.rows.map((l) => [l.route, l.ordering_key]));

    await db.query(
      `INSERT INTO delivery_attempts (delivery_id, started_at, latency_ms, outcome, status_code, error_code, error, detail,
                                      retry_after_ms, owner)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[],
                            $9::int[], $10::text[])`,
      [
        records.map((r) => r.deliveryId),
        records.map((r) => r.attempt.startedAt),
        records.map((r) => Math.max(0, Math.round(r.attempt.latencyMs))),
        records.map((r) => r.attempt.outcome),
        records.map((r) => r.attempt.statusCode ?? null),
        records.map((r) => r.attempt.errorCode ?? null),
        records.map((r) => clipError(r.attempt.error)),
        records.map((r) => clipError(r.attempt.detail)),
        records.map((r) => r.attempt.retryAfterMs ?? null),
        records.map((r) => r.owner),
      ],
    );

    const current = await db.query<{ id: number; state: string; lease_owner: string | null; route: string; ordering_key: string }>(
      `SELECT id, state, lease_owner, route, ordering_key FROM deliveries WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    const live = new Map(current.rows.map((r) => [r.id, r]));
    const applied: number[] = [];
    const stale: number[] = [];
    const retry = { id: [] as number[], at: [] as number[], now: [] as number[], started: [] as number[], status: [] as Array<number | null>, error: [] as Array<string | null> };
    const done = { id: [] as number[], state: [] as string[], now: [] as number[], started: [] as number[], status: [] as Array<number | null>, error: [] as Array<string | null> };
    const finishedLanes: Array<[string, string]> = [];
    const held: number[] = [];
    for (const r of records) {
      const rec = live.get(r.deliveryId);
      if (rec === undefined || rec.state !== 'in_flight' || rec.lease_owner !== r.owner) {
        stale.push(r.deliveryId);
        continue;
      }
      const a = r.attempt;
      const status = a.statusCode ?? null;
      const lastError = a.outcome === 'success' ? null : (clipError(a.error) ?? a.errorCode ?? null);
      const into = r.next.state === 'pending' ? retry : done;
      into.id.push(r.deliveryId);
      into.now.push(r.now);
      into.started.push(a.startedAt);
      into.status.push(status);
      into.error.push(lastError);
      if (r.next.state === 'pending') {
        retry.at.push(r.next.nextAttemptAt);
        rec.state = 'pending';
      } else {
        done.state.push(r.next.state);
        rec.state = r.next.state;
        // Under `onDeadLetter: 'hold'` the lane waits behind its dead letter: no promotion.
        if (r.next.state === 'dead' && this.holding.has(rec.route)) held.push(r.deliveryId);
        else finishedLanes.push([rec.route, rec.ordering_key]);
      }
      applied.push(r.deliveryId);
    }
    if (retry.id.length > 0) {
      await db.query(
        `UPDATE deliveries d SET state = 'pending', attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
                next_attempt_at = u.at, updated_at = u.now, last_attempt_at = u.started, last_status_code = u.status,
                last_error = u.error
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::text[])
              AS u(id, at, now, started, status, error)
         WHERE d.id = u.id`,
        [retry.id, retry.at, retry.now, retry.started, retry.status, retry.error],
      );
    }
    if (done.id.length > 0) {
      await db.query(
        `UPDATE deliveries d SET state = u.state, attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
                updated_at = u.now, last_attempt_at = u.started, completed_at = u.now, last_status_code = u.status,
                last_error = u.error
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[])
              AS u(id, state, now, started, status, error)
         WHERE d.id = u.id`,
        [done.id, done.state, done.now, done.started, done.status, done.error],
      );
      if (held.length > 0) await db.query('UPDATE deliveries SET held = true WHERE id = ANY($1::bigint[])', [held]);
      await this.promote(db, finishedLanes, Math.max(...done.now));
    }
    return { applied, stale, wake: done.id.length > 0 || retry.id.length > 0 };
  }

  /** Lanes that lost their runnable delivery: let the oldest waiting one of each run, unless a dead letter holds the lane. */
  private async promote(db: Queryable, lanes: Array<[string, string]>, now: number): Promise<void> {
    if (lanes.length === 0) return;
    await db.query(PROMOTE_LANES_SQL, [...laneArrays(lanes), now]);
  }

  async get(id: number): Promise<DeliveryWithAttempts | undefined> {
    const { rows } = await this.db.query<DeliveryRecord>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1`, [id]);
    const rec = rows[0];
    if (rec === undefined) return undefined;
    const attempts = await this.db.query<DeliveryAttemptRecord>(
      `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`,
      [id],
    );
    return { ...toDelivery(rec), attemptLog: attempts.rows.map(toAttempt) };
  }

  list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    const where = whereOf(deliveryConditions(filter));
    return pageOf(this.db, `SELECT ${DELIVERY_COLUMNS} FROM deliveries`, 'id', where, page, toDelivery, (r: DeliveryRecord) => r.id);
  }

  async redrive(selector: RedriveSelector, now: number): Promise<number[]> {
    let ids: number[];
    if ('ids' in selector) {
      ids = selector.ids;
    } else {
      const filter: DeliveryFilter = 'all' in selector ? { state: ['dead'], dropped: false } : { ...selector.filter, state: ['dead'], dropped: false };
      const where = whereOf(deliveryConditions(filter));
      const { rows } = await this.db.query<{ id: number }>(`SELECT id FROM deliveries${where.sql()} ORDER BY id`, where.values);
      ids = rows.map((r) => r.id);
    }
    if (ids.length === 0) return [];
    const done = await this.transaction(async (db) => {
      const dead = await db.query<{ id: number; route: string; ordering_key: string; held: boolean }>(
        `SELECT id, route, ordering_key, held FROM deliveries WHERE id = ANY($1::bigint[]) AND state = 'dead' AND dropped_at IS NULL ORDER BY id`,
        [[...new Set(ids)]],
      );
      if (dead.rows.length === 0) return [];
      const lanes = dead.rows.map((r): [string, string] => [r.route, r.ordering_key]);
      await this.lockLanes(db, lanes);
      const busy = await this.busyLanes(db, lanes);
      const runnable = await this.busyLanes(db, lanes, { runnableOnly: true });
      // A dead letter that held its lane goes first (the rest waited behind it); any other
      // joins the back of its lane.
      const blocked = dead.rows.map((r) => {
        const lane = laneName(r.route, r.ordering_key);
        const wait = r.held ? runnable.has(lane) : busy.has(lane);
        busy.add(lane);
        runnable.add(lane);
        return wait;
      });
      const { rows } = await db.query<{ id: number }>(
        `UPDATE deliveries d SET state = 'pending', blocked = u.blocked, held = false, attempts = 0, redrives = redrives + 1,
                next_attempt_at = $3, completed_at = NULL, updated_at = $3
         FROM unnest($1::bigint[], $2::boolean[]) AS u(id, blocked)
         WHERE d.id = u.id AND d.state = 'dead' AND d.dropped_at IS NULL
         RETURNING d.id`,
        [dead.rows.map((r) => r.id), blocked, now],
      );
      return rows.map((r) => r.id).sort((a, b) => a - b);
    });
    if (done.length > 0) this.wake();
    return done;
  }

  async dropDeadLetters(ids: number[], now: number): Promise<number[]> {
    if (ids.length === 0) return [];
    const done = await this.transaction(async (db) => {
      const dead = await db.query<{ route: string; ordering_key: string }>(
        `SELECT DISTINCT route, ordering_key FROM deliveries WHERE id = ANY($1::bigint[]) AND state = 'dead' AND dropped_at IS NULL`,
        [[...new Set(ids)]],
      );
      if (dead.rows.length === 0) return { ids: [] as number[], released: false };
      const lanes = dead.rows.map((r): [string, string] => [r.route, r.ordering_key]);
      await this.lockLanes(db, lanes);
      const { rows } = await db.query<{ id: number; route: string; ordering_key: string; was_held: boolean }>(
        `UPDATE deliveries d SET dropped_at = $2, held = false, updated_at = $2
         FROM (SELECT id, held AS was_held FROM deliveries WHERE id = ANY($1::bigint[]) FOR UPDATE) o
         WHERE d.id = o.id AND d.state = 'dead' AND d.dropped_at IS NULL
         RETURNING d.id, d.route, d.ordering_key, o.was_held`,
        [[...new Set(ids)], now],
      );
      // The lanes they held move on, unless something in them already runs.
      const freed = rows.filter((r) => r.was_held).map((r): [string, string] => [r.route, r.ordering_key]);
      const running = await this.busyLanes(db, freed, { runnableOnly: true });
      const idle = freed.filter(([route, key]) => !running.has(laneName(route, key)));
      await this.promote(db, idle, now);
      return { ids: rows.map((r) => Number(r.id)).sort((a, b) => a - b), released: idle.length > 0 };
    });
    if (done.released) this.wake();
    return done.ids;
  }

  async enqueue(items: NewDelivery[], now: number): Promise<EnqueueResult> {
    if (items.length === 0) return { created: [], missing: [] };
    const result = await this.transaction(async (db) => {
      const { rows } = await db.query<{ id: string; seq: number; type: string; body: string }>(
        'SELECT id, seq, type, body FROM events WHERE id = ANY($1::text[])',
        [[...new Set(items.map((i) => i.eventId))]],
      );
      const events = new Map(rows.map((r) => [r.id, { seq: r.seq, type: r.type, key: orderingKey(parseEventJson(r.body)) }]));
      const missing: string[] = [];
      const fresh: NewRow[] = [];
      for (const item of items) {
        const ev = events.get(item.eventId);
        if (ev === undefined) missing.push(item.eventId);
        else fresh.push({ seq: ev.seq, eventId: item.eventId, type: ev.type, route: item.route, sink: item.sink, key: ev.key, origin: 'replay' });
      }
      const created = (await this.insert(db, fresh, now)).map(toDelivery);
      return { created, missing };
    });
    if (result.created.length > 0) this.wake();
    return result;
  }

  async backlog(): Promise<DeliveryBacklog> {
    const { rows } = await this.db.query<{ sink: string; state: string; blocked: boolean; n: number }>(
      `SELECT sink, state, blocked, count(*) AS n FROM deliveries WHERE state IN ('pending', 'in_flight') GROUP BY sink, state, blocked
       UNION ALL
       SELECT sink, 'dead', false, count(*) FROM deliveries WHERE state = 'dead' AND dropped_at IS NULL GROUP BY sink`,
    );
    return backlogOf(rows);
  }

  private lockLanes(db: Queryable, lanes: Array<[string, string]>): Promise<void> {
    return lockNames(
      db,
      lanes.map(([route, key]) => this.lockPrefix + laneName(route, key)),
    );
  }

  /**
   * The lanes among these that hold an unfinished delivery or are held by a dead letter;
   * with `runnableOnly`, those whose runnable delivery is pending or in flight.
   */
  private async busyLanes(db: Queryable, lanes: Array<[string, string]>, { runnableOnly = false } = {}): Promise<Set<string>> {
    if (lanes.length === 0) return new Set();
    const { rows } = await db.query<{ route: string; ordering_key: string }>(runnableOnly ? RUNNABLE_LANES_SQL : BUSY_LANES_SQL, laneArrays(lanes));
    return new Set(rows.map((r) => laneName(r.route, r.ordering_key)));
  }
}

/*
 * Lane queries. Each lane is looked at with an index probe of its own (LATERAL / EXISTS per
 * lane): its head is the first entry of deliveries_lane_idx (route, ordering_key, blocked,
 * id) for the lane, so none of them reads the backlog queued behind the head. A query over
 * all the lanes' rows at once (IN (...) with DISTINCT or DISTINCT ON) read and sorted every
 * unfinished delivery of every lane given, on every outcome: a busy conversation made each
 * of its deliveries dearer than the last.
 */

/** $1 routes, $2 ordering keys, $3 now: each lane's head, if it waits and no dead letter holds the lane, may run. */
export const PROMOTE_LANES_SQL = `UPDATE deliveries d SET blocked = false, updated_at = $3
  FROM unnest($1::text[], $2::text[]) AS l(route, ordering_key)
  CROSS JOIN LATERAL (
    SELECT h.id, h.blocked FROM deliveries h
    WHERE h.route = l.route AND h.ordering_key = l.ordering_key AND h.state IN ('pending', 'in_flight')
    ORDER BY h.blocked, h.id LIMIT 1) head
  WHERE d.id = head.id AND head.blocked
    AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.route = l.route AND x.ordering_key = l.ordering_key AND x.held)`;

/** $1 routes, $2 ordering keys: the lanes with an unfinished delivery or a dead letter holding them. */
export const BUSY_LANES_SQL = `SELECT l.route, l.ordering_key FROM unnest($1::text[], $2::text[]) AS l(route, ordering_key)
  WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.route = l.route AND d.ordering_key = l.ordering_key AND d.state IN ('pending', 'in_flight'))
     OR EXISTS (SELECT 1 FROM deliveries d WHERE d.route = l.route AND d.ordering_key = l.ordering_key AND d.held)`;

/** $1 routes, $2 ordering keys: the lanes whose runnable delivery is pending or in flight. */
export const RUNNABLE_LANES_SQL = `SELECT l.route, l.ordering_key FROM unnest($1::text[], $2::text[]) AS l(route, ordering_key)
  WHERE EXISTS (SELECT 1 FROM deliveries d
                WHERE d.route = l.route AND d.ordering_key = l.ordering_key AND d.state IN ('pending', 'in_flight') AND NOT d.blocked)`;

/** Each lane once, as the route and ordering-key arrays the lane queries take ($1, $2). */
function laneArrays(lanes: Array<[string, string]>): [Param, Param] {
  const routes: string[] = [];
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const [route, key] of lanes) {
    const name = laneName(route, key);
    if (seen.has(name)) continue;
    seen.add(name);
    routes.push(route);
    keys.push(key);
  }
  return [textArray(routes), textArray(keys)];
}

/** Events read per backfill transaction. */
const BACKFILL_BATCH = 500;

function laneName(route: string, key: string): string {
  return `${route}\u001f${key}`;
}
