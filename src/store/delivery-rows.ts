/**
 * @module store/delivery-rows
 *
 * What both backends agree on about the delivery tables (`migrations/<dialect>/0003_deliveries.sql`:
 * `deliveries`, `delivery_attempts`), with no SQL dialect in it: the column lists, the records
 * a SELECT returns and their mappers to {@link Delivery} and {@link DeliveryAttempt}, the
 * limits and texts both write, the list filter as {@link Condition}s, and the backlog from
 * grouped counts ({@link backlogOf}).
 *
 * The one column whose JS type differs between the drivers is `deliveries.blocked`: SQLite
 * has no boolean type and returns 0/1, PostgreSQL returns a boolean. {@link DeliveryRecord}
 * says which with its type parameter, and {@link toDelivery} accepts both.
 */
import type { EventType } from '../events/types.js';
import type {
  AttemptRecord,
  Delivery,
  DeliveryAttempt,
  DeliveryBacklog,
  DeliveryFilter,
  DeliveryOrigin,
  DeliveryRoute,
  DeliveryState,
  LeasedEntry,
  OutcomeEntry,
} from './deliveries.js';
import { addAnyOf, addEq, type Condition } from './conditions.js';

export const DELIVERY_COLUMNS =
  'id, event_seq, event_id, event_type, route, sink, ordering_key, origin, state, blocked, attempts, redrives, next_attempt_at, ' +
  'lease_owner, lease_expires_at, created_at, updated_at, last_attempt_at, completed_at, last_status_code, last_error, held, dropped_at';

export const ATTEMPT_COLUMNS =
  'id, delivery_id, started_at, latency_ms, outcome, status_code, error_code, error, detail, retry_after_ms, owner';

/** Longest error text kept per attempt; receivers can answer with anything. */
export const MAX_ERROR_CHARS = 2_000;

/** `error` of the attempt logged when a lease expired mid-attempt (`errorCode: 'lease-expired'`). */
export const LEASE_EXPIRED = 'lease expired: the worker stopped or lost contact mid-attempt; the outcome is unknown';

/**
 * A `deliveries` row as selected with {@link DELIVERY_COLUMNS}. `Flag` is how the driver
 * returns `blocked`: `number` (0/1) from SQLite, `boolean` from PostgreSQL.
 */
export interface DeliveryRecord<Flag extends number | boolean = number | boolean> {
  id: number;
  event_seq: number;
  event_id: string;
  event_type: string;
  route: string;
  sink: string;
  ordering_key: string;
  origin: string;
  state: string;
  blocked: Flag;
  attempts: number;
  redrives: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
  last_attempt_at: number | null;
  completed_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  held: Flag;
  dropped_at: number | null;
}

/** A `delivery_attempts` row as selected with {@link ATTEMPT_COLUMNS}. */
export interface DeliveryAttemptRecord {
  id: number;
  delivery_id: number;
  started_at: number;
  latency_ms: number;
  outcome: string;
  status_code: number | null;
  error_code: string | null;
  error: string | null;
  detail: string | null;
  retry_after_ms: number | null;
  owner: string;
}

export function toDelivery(rec: DeliveryRecord): Delivery {
  const d: Delivery = {
    id: rec.id,
    eventId: rec.event_id,
    eventSeq: rec.event_seq,
    eventType: rec.event_type as EventType,
    route: rec.route,
    sink: rec.sink,
    orderingKey: rec.ordering_key,
    origin: rec.origin as DeliveryOrigin,
    state: rec.state as DeliveryState,
    // PostgreSQL: the boolean itself; SQLite: 1 is true, 0 false.
    blocked: rec.blocked === true || rec.blocked === 1,
    attempts: rec.attempts,
    redrives: rec.redrives,
    nextAttemptAt: rec.next_attempt_at,
    createdAt: rec.created_at,
    updatedAt: rec.updated_at,
  };
  if (rec.lease_owner !== null) d.leaseOwner = rec.lease_owner;
  if (rec.lease_expires_at !== null) d.leaseExpiresAt = rec.lease_expires_at;
  if (rec.last_attempt_at !== null) d.lastAttemptAt = rec.last_attempt_at;
  if (rec.completed_at !== null) d.completedAt = rec.completed_at;
  if (rec.last_status_code !== null) d.lastStatusCode = rec.last_status_code;
  if (rec.last_error !== null) d.lastError = rec.last_error;
  if (rec.held === true || rec.held === 1) d.holdsLane = true;
  if (rec.dropped_at !== null) d.droppedAt = Number(rec.dropped_at);
  return d;
}

export function toAttempt(rec: DeliveryAttemptRecord): DeliveryAttempt {
  const a: DeliveryAttempt = {
    id: rec.id,
    deliveryId: rec.delivery_id,
    startedAt: rec.started_at,
    latencyMs: rec.latency_ms,
    outcome: rec.outcome as DeliveryAttempt['outcome'],
    owner: rec.owner,
  };
  if (rec.status_code !== null) a.statusCode = rec.status_code;
  if (rec.error_code !== null) a.errorCode = rec.error_code;
  if (rec.error !== null) a.error = rec.error;
  if (rec.detail !== null) a.detail = rec.detail;
  if (rec.retry_after_ms !== null) a.retryAfterMs = rec.retry_after_ms;
  return a;
}

/** A leased row as `deliveries.settle` hands it out. */
export function leasedEntry(
  rec: Pick<DeliveryRecord, 'id' | 'event_id' | 'route' | 'sink' | 'ordering_key' | 'attempts' | 'redrives' | 'origin'>,
  eventJson: string,
): LeasedEntry {
  return [rec.id, rec.event_id, rec.route, rec.sink, rec.ordering_key, rec.attempts, rec.redrives, rec.origin as DeliveryOrigin, eventJson];
}

/** What `deliveries.settle` is told, as `recordAttempts` takes it. */
export function attemptRecordOf(owner: string, entry: OutcomeEntry): AttemptRecord {
  const [deliveryId, startedAt, latencyMs, outcome, statusCode, errorCode, error, detail, retryAfterMs, next, at] = entry;
  const attempt: AttemptRecord['attempt'] = { startedAt, latencyMs, outcome };
  if (statusCode !== null) attempt.statusCode = statusCode;
  if (errorCode !== null) attempt.errorCode = errorCode;
  if (error !== null) attempt.error = error;
  if (detail !== null) attempt.detail = detail;
  if (retryAfterMs !== null) attempt.retryAfterMs = retryAfterMs;
  return {
    deliveryId,
    owner,
    attempt,
    next: typeof next === 'number' ? { state: 'pending', nextAttemptAt: next } : { state: next },
    now: at,
  };
}

/** An attempt's error or detail text as stored: at most {@link MAX_ERROR_CHARS}, NULL when absent. */
export function clipError(text: string | undefined): string | null {
  return text === undefined ? null : text.slice(0, MAX_ERROR_CHARS);
}

/** The routes as a store keeps them from `setRoutes`: its own copies, with only the fields it uses. */
export function copyRoutes(routes: DeliveryRoute[]): DeliveryRoute[] {
  return routes.map((r) => ({
    name: r.name,
    sink: r.sink,
    ...(r.match !== undefined ? { match: r.match } : {}),
    ...(r.onDeadLetter !== undefined ? { onDeadLetter: r.onDeadLetter } : {}),
    ...(r.backfillSince !== undefined ? { backfillSince: r.backfillSince } : {}),
  }));
}

export function deliveryConditions(filter: DeliveryFilter): Condition[] {
  const c: Condition[] = [];
  if (filter.state !== undefined && filter.state.length === 1 && filter.state[0] === 'dead') {
    // The exact term of the dead-letter partial index.
    c.push({ op: 'sql', sql: "state = 'dead'" });
  } else {
    addAnyOf(c, 'state', filter.state);
  }
  addEq(c, 'route', filter.route);
  addEq(c, 'sink', filter.sink);
  addEq(c, 'event_id', filter.eventId);
  addEq(c, 'ordering_key', filter.orderingKey);
  addEq(c, 'origin', filter.origin);
  if (filter.dropped !== undefined) c.push({ op: 'sql', sql: filter.dropped ? 'dropped_at IS NOT NULL' : 'dropped_at IS NULL' });
  return c;
}

/** Deliveries counted per (sink, state, blocked), as `deliveries.backlog()` queries them. */
export interface BacklogGroup {
  sink: string;
  /** `pending`, `in_flight` or `dead`; finished deliveries are not counted. */
  state: string;
  /** 0/1 from SQLite, a boolean from PostgreSQL; only meaningful while pending. */
  blocked: number | boolean;
  n: number;
}

/** `deliveries.backlog()` from grouped counts; sinks appear in the order their first group comes. */
export function backlogOf(groups: Iterable<BacklogGroup>): DeliveryBacklog {
  const zero = () => ({ pending: 0, blocked: 0, inFlight: 0, dead: 0 });
  const total = zero();
  const bySink: DeliveryBacklog['bySink'] = {};
  for (const { sink, state, blocked, n } of groups) {
    const e = (bySink[sink] ??= zero());
    if (state === 'dead') {
      e.dead += n;
      total.dead += n;
    } else if (state === 'in_flight') {
      e.inFlight += n;
      total.inFlight += n;
    } else if (blocked === true || blocked === 1) {
      e.blocked += n;
      total.blocked += n;
    } else {
      e.pending += n;
      total.pending += n;
    }
  }
  return { total, bySink };
}
