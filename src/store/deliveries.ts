/**
 * @module store/deliveries
 *
 * The delivery half of the {@link Store} seam: durable deliveries (one per event and matching
 * route), their attempts, leases, dead letters and replays. Types and the interface only;
 * each backend implements them (`store/sqlite/deliveries.ts`, `store/postgres/deliveries.ts`),
 * and what the two share about the tables (records, mappers, filters) is in
 * `store/delivery-rows.ts`.
 *
 * Every argument and result is plain data (structured-cloneable), so a store running in a
 * worker thread can be driven through a generic proxy; the delivery worker that runs sinks
 * and handlers talks to the store only through these methods.
 *
 * ## Lanes
 * Deliveries that share a (route, ordering key) form a lane. At most one delivery of a lane
 * is *runnable* at a time: the others are `blocked` (state `pending`) until it succeeds or
 * goes dead, then the oldest blocked one is promoted in the same transaction. Leasing only
 * ever looks at runnable deliveries, so strict order per conversation needs no coordination
 * between workers, and different lanes run in parallel. By default a dead delivery does not
 * block its lane (one poison event must not stall a conversation for good); a redriven or
 * replayed delivery joins the back of its lane. A route with `onDeadLetter: 'hold'` keeps
 * the lane waiting behind its dead letter instead (`held`): nothing else of that lane runs
 * until the dead letter is redriven (it then runs first, so order holds) or dropped.
 *
 * ## Leases
 * A worker leases due deliveries for `leaseMs` and renews the leases of those it still runs.
 * A worker that dies stops renewing; once its leases expire the deliveries are leased again
 * by anyone (at least once, never zero), and the lost attempt is recorded as such.
 */
import type { RouteMatch } from '../dispatch/match.js';
import type { Classification } from '../dispatch/retry.js';
import type { BluetickEvent, EventType } from '../events/types.js';
import type { Page, PageRequest } from './store.js';

export type DeliveryState = 'pending' | 'in_flight' | 'succeeded' | 'dead';
export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'in_flight', 'succeeded', 'dead'];

/** `event`: created when the event was recorded. `replay`: created by a replay request. */
export type DeliveryOrigin = 'event' | 'replay';

/** What a dead letter does to the rest of its lane: nothing (`continue`), or hold it (`hold`). */
export type DeadLetterPolicy = 'continue' | 'hold';

/** What the store needs of a route to create deliveries: where events go, and which ones. */
export interface DeliveryRoute {
  name: string;
  /** A configured sink, or `handler:<route>` for a library handler. */
  sink: string;
  match?: RouteMatch;
  /** Default `continue`. */
  onDeadLetter?: DeadLetterPolicy;
  /**
   * Epoch ms: events stored before the route was set, received at or after this, get a
   * delivery too (oldest first). Without it a route takes only events recorded from now on.
   */
  backfillSince?: number;
}

export interface Delivery {
  id: number;
  eventId: string;
  eventSeq: number;
  eventType: EventType;
  route: string;
  sink: string;
  /** The lane within the route, e.g. `conversation:<business>:<contact>` (see `orderingKey`). */
  orderingKey: string;
  origin: DeliveryOrigin;
  state: DeliveryState;
  /** Pending, but waiting for an earlier delivery of the same lane to finish. */
  blocked: boolean;
  /** Attempts since the delivery was created or last redriven. */
  attempts: number;
  /** How many times it was redriven out of dead letters. */
  redrives: number;
  /** Epoch ms when it may run next (meaningful while pending). */
  nextAttemptAt: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  createdAt: number;
  updatedAt: number;
  lastAttemptAt?: number;
  /** When it succeeded or went dead. */
  completedAt?: number;
  lastStatusCode?: number;
  lastError?: string;
  /** Dead, and holding the rest of its lane until it is redriven or dropped (`onDeadLetter: 'hold'`). */
  holdsLane?: boolean;
  /** When an operator dropped this dead letter (it stays dead, but is no longer a dead letter). */
  droppedAt?: number;
}

/** One recorded attempt. `outcome` is the classification of what happened. */
export interface DeliveryAttempt {
  id: number;
  deliveryId: number;
  startedAt: number;
  latencyMs: number;
  outcome: Classification;
  statusCode?: number;
  errorCode?: string;
  error?: string;
  detail?: string;
  retryAfterMs?: number;
  /** The worker that made it. */
  owner: string;
}

export interface DeliveryWithAttempts extends Delivery {
  /** Oldest first. */
  attemptLog: DeliveryAttempt[];
}

/** A delivery handed to a worker, with its event. */
export interface LeasedDelivery {
  delivery: Delivery;
  event: BluetickEvent;
}

export interface LeaseRequest {
  /** Unique per worker (host, pid and a random part). */
  owner: string;
  /** Epoch ms; due means `nextAttemptAt <= now` (or an expired lease). */
  now: number;
  leaseMs: number;
  /** At most this many deliveries in total. */
  limit: number;
  /** Only deliveries to these sinks (the ones this worker can run and whose breaker lets them through). */
  sinks: string[];
  /**
   * At most this many due deliveries of each sink, in the order of `sinks`, so a sink with a
   * long backlog cannot take every lease while another's deliveries wait. (Expired leases,
   * taken first, count only against `limit`.)
   */
  sinkLimits?: number[];
}

/**
 * A leased delivery as {@link Store.deliveries.settle} returns it, with its event as
 * the store keeps it: the JSON text `serializeEvent` wrote (`parseEventJson` reads it back),
 * which sinks that send JSON send as is. A tuple, because it crosses threads (the SQLite
 * store runs on its own) and the structured clone of a tuple costs a fraction of an object
 * with named keys.
 */
export type LeasedEntry = [
  id: number,
  eventId: string,
  route: string,
  sink: string,
  orderingKey: string,
  attempts: number,
  redrives: number,
  origin: DeliveryOrigin,
  eventJson: string,
];

/**
 * One attempt's outcome as `deliveries.settle` takes it (a tuple for the same reason as
 * {@link LeasedEntry}): what {@link AttemptRecord} says, with `next` as `'succeeded'`,
 * `'dead'`, or the epoch ms of the retry, and `at` its `now`.
 */
export type OutcomeEntry = [
  deliveryId: number,
  startedAt: number,
  latencyMs: number,
  outcome: Classification,
  statusCode: number | null,
  errorCode: string | null,
  error: string | null,
  detail: string | null,
  retryAfterMs: number | null,
  next: 'succeeded' | 'dead' | number,
  at: number,
];

/** A worker's round trip: outcomes to record, then (optionally) deliveries to lease, in one transaction. */
export interface SettleRequest {
  /** The worker that made the attempts and takes the leases. */
  owner: string;
  /** Epoch ms, for the lease. */
  now: number;
  outcomes: OutcomeEntry[];
  /** Up to `limit` due, runnable deliveries of `sinks`, leased for `leaseMs` (as {@link LeaseRequest}). */
  lease?: { leaseMs: number; limit: number; sinks: string[]; sinkLimits?: number[] };
}

export interface SettleResult extends RecordAttemptsResult {
  /** What `lease` took, after the outcomes moved their lanes on (a lane's next delivery may be among them). */
  leased: LeasedEntry[];
}

/** Where a delivery goes after an attempt; decided by the worker from the route's retry policy. */
export type NextStep = { state: 'succeeded' } | { state: 'dead' } | { state: 'pending'; nextAttemptAt: number };

export interface AttemptRecord {
  deliveryId: number;
  /** The lease owner; an attempt by a worker that lost its lease is logged but changes nothing. */
  owner: string;
  attempt: Omit<DeliveryAttempt, 'id' | 'deliveryId' | 'owner'>;
  next: NextStep;
  /** Epoch ms. */
  now: number;
}

export interface RecordAttemptsResult {
  /** Deliveries whose state the attempts moved on. */
  applied: number[];
  /** Deliveries whose lease the owner no longer held: attempt logged, state unchanged. */
  stale: number[];
}

export interface DeliveryFilter {
  state?: DeliveryState[];
  route?: string;
  sink?: string;
  eventId?: string;
  orderingKey?: string;
  origin?: DeliveryOrigin;
  /** `false`: only deliveries not dropped (dead letters proper); `true`: only dropped ones. */
  dropped?: boolean;
}

/** Which dead letters to redrive: by id, by a filter, or all of them. Only `dead` deliveries move. */
export type RedriveSelector =
  | { ids: number[] }
  | { filter: Omit<DeliveryFilter, 'state'> }
  | { all: true };

/** A delivery created on request (replay). The store reads the event and computes its lane. */
export interface NewDelivery {
  eventId: string;
  route: string;
  sink: string;
}

export interface EnqueueResult {
  created: Delivery[];
  /** Event ids that are not stored. */
  missing: string[];
}

/** Unfinished and dead deliveries, by sink. Finished ones are not counted (that would scan them all). */
export interface DeliveryBacklog {
  total: { pending: number; blocked: number; inFlight: number; dead: number };
  bySink: Record<string, { pending: number; blocked: number; inFlight: number; dead: number }>;
}

/** `Store.deliveries`; see the module comment for lanes and leases. */
export interface DeliveryStore {
  /**
   * The routes events are delivered to (config routes and library handler routes). Recording
   * a NEW event then creates one delivery per matching route in the same transaction
   * (`journal.record`); without routes no deliveries are created. Called at start, before
   * the pipeline runs. With a shared database every process sets its own (identical)
   * config: whichever process records an event creates its deliveries, once, because
   * (event id, route) is unique for event-created deliveries.
   */
  setRoutes(routes: DeliveryRoute[]): Promise<void>;

  /**
   * Marks up to `limit` due, runnable deliveries to `sinks` `in_flight` for `owner` until
   * `now + leaseMs`, oldest due first, and returns them with their events. A delivery whose
   * lease expired (its worker died mid-attempt) is due again: taking it over logs the lost
   * attempt (`errorCode: 'lease-expired'`) and counts it.
   */
  lease(request: LeaseRequest): Promise<LeasedDelivery[]>;

  /** Extends every lease `owner` holds to `now + leaseMs`. Returns how many. */
  renewLeases(owner: string, now: number, leaseMs: number): Promise<number>;

  /**
   * Gives leased deliveries back without an attempt (the breaker refused, the worker is
   * stopping): they are `pending` again, due at the time they had. Returns how many.
   */
  release(ids: number[], owner: string, now: number): Promise<number>;

  /**
   * Logs attempts and moves their deliveries on, in ONE transaction: `succeeded` and `dead`
   * finish the delivery and promote the next one of its lane; `pending` schedules a retry.
   */
  recordAttempts(records: AttemptRecord[]): Promise<RecordAttemptsResult>;

  /**
   * The worker's round trip: {@link recordAttempts} and then {@link lease} in ONE
   * transaction, in the compact forms {@link OutcomeEntry} and {@link LeasedEntry}. One
   * commit per batch of finished attempts and next deliveries, instead of one for each.
   */
  settle(request: SettleRequest): Promise<SettleResult>;

  get(id: number): Promise<DeliveryWithAttempts | undefined>;

  /** Deliveries by id, ascending, paged with the id as cursor. */
  list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;

  /**
   * Puts dead deliveries back to `pending` (due at `now`, a fresh attempt budget, at the
   * back of their lane). Returns the ids redriven.
   */
  redrive(selector: RedriveSelector, now: number): Promise<number[]>;

  /**
   * Drops dead letters: they stay `dead` with their attempts but leave the dead-letter list,
   * and a lane one of them held moves on. Returns the ids dropped (dead and not dropped before).
   */
  dropDeadLetters(ids: number[], now: number): Promise<number[]>;

  /** Creates deliveries on request (replay): `origin: 'replay'`, due at `now`, at the back of their lanes. */
  enqueue(items: NewDelivery[], now: number): Promise<EnqueueResult>;

  backlog(): Promise<DeliveryBacklog>;
}
