/**
 * @module store/store
 *
 * The one seam between bluetick and its database, as parts (`store.journal`, `store.events`,
 * ...) plus a capability profile. Every method is async so that the
 * PostgreSQL backend can implement it without changing a caller; the SQLite backend
 * answers synchronously inside resolved promises. SQL and dialect quirks stay in the
 * backend folders (`store/sqlite`, `store/postgres`).
 */
import type { BluetickEvent, EventType, Provider } from '../events/types.js';
import type { PipelineHandle, RemotePipelineOptions } from '../pipeline.js';
import type { AccessStore } from './access.js';
import type { DeliveryStore } from './deliveries.js';
import type { ErasureReceipt } from './erasure.js';
import type { OutboundStore } from './outbound.js';
import type { ProjectionStore } from './projections.js';
import type { SearchStore } from './search.js';
import type { StorageUsage } from './usage.js';
import type { PruneBatchResult, PruneRequest } from '../retention/policy.js';

/** How a POST proved where it came from. */
export type VerifiedBy = 'basic' | 'meta-signature' | 'meta-signature-escaped' | 'none'
  // Written by bluetick itself (the silence watch, src/watch/), not received.
  | 'bluetick';

/** Where a journal row is in the pipeline. */
export type JournalState =
  | 'pending' // acknowledged, not yet normalized
  | 'processed' // normalized; at least one new event
  | 'duplicate' // normalized; every event already existed (a redelivery)
  | 'quarantined' // not a JSON object: kept with its cause, no events
  | 'failed'; // the normalizer or the event write failed: kept with its cause, can be retried
export const JOURNAL_STATES: readonly JournalState[] = ['pending', 'processed', 'duplicate', 'quarantined', 'failed'];

/** One POST as the ingest path hands it to the journal. */
export interface JournalInput {
  channel: string;
  /** Epoch milliseconds. */
  receivedAt: number;
  remoteAddress?: string;
  /** The headers worth keeping (content type, user agent, signature), secrets masked. */
  headers: Record<string, string>;
  /** The exact bytes of the body. */
  body: Buffer;
  verifiedBy: VerifiedBy;
}

export interface JournalRow extends JournalInput {
  id: number;
  state: JournalState;
  cause?: string;
  eventCount: number;
  newEventCount: number;
  processedAt?: number;
  /**
   * Times the pipeline took this row and did not finish it (the process stopped mid-batch, or
   * the row failed and was handed back with `journal.release`).
   * Absent when none. The pipeline gives up on a row at `journal.maxAttempts`.
   */
  attempts?: number;
}

/** The outcome of normalizing one journal row, written in one transaction with its events. */
export interface JournalOutcome {
  journalId: number;
  state: Exclude<JournalState, 'pending'>;
  cause?: string;
  events: BluetickEvent[];
}

export interface RecordResult {
  /** Events written for the first time. */
  inserted: number;
  /** Events whose id was already stored (their duplicate counter went up). */
  duplicates: number;
  /** The events written for the first time, in `seq` order (for live listeners). */
  recorded: StoredEvent[];
}

export interface StoredEvent {
  /** Store-wide insertion order; a stable cursor for pagination and streaming. */
  seq: number;
  event: BluetickEvent;
  journalId: number;
  /** How many later POSTs carried this same event again. */
  duplicates: number;
}

/**
 * The keys of a stored event that say where and when it arrived (`events.arrivals`): read
 * from the events table's columns, never from the event's body, so a reader that follows
 * every inbound message (the silence watch) does not parse each one. Optional keys are
 * absent when the event has none.
 */
export interface EventArrival {
  seq: number;
  type: EventType;
  channel: string;
  provider: Provider;
  /** The event's `receivedAt`, epoch ms. */
  receivedAt: number;
  businessAccountId?: string;
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  /** `channel.silent` and `channel.resumed` only: the silence's `lastInboundAt`. */
  lastInboundAt?: string;
}

export interface ArrivalFilter {
  type: EventType[];
  /** Epoch ms, inclusive, on receivedAt. */
  since?: number;
}

export interface JournalFilter {
  state?: JournalState[];
  channel?: string;
}

export interface EventFilter {
  type?: EventType[];
  channel?: string;
  phoneNumberId?: string;
  from?: string;
  messageId?: string;
  /** Events first stored by this journal row. */
  journalId?: number;
  /** Epoch ms, inclusive, on receivedAt. */
  since?: number;
  /** Epoch ms, exclusive, on receivedAt. */
  until?: number;
}

export interface PageRequest {
  /** Return rows after this cursor (exclusive), in ascending order. */
  after?: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` to read on; absent when there is nothing more right now. */
  next?: number;
}

/** Why a request was refused before it reached the journal. */
export type RejectionCause =
  | 'unauthorized'
  | 'payload-too-large'
  | 'method-not-allowed'
  | 'unknown-channel'
  | 'verify-token-mismatch'
  | 'journal-unavailable'
  | 'request-timeout'
  | 'bad-request';

export interface RejectionInput {
  at: number;
  channel?: string;
  cause: RejectionCause;
  method: string;
  path: string;
  remoteAddress?: string;
  detail?: string;
}

export interface Rejection extends RejectionInput {
  id: number;
}

export interface RejectionFilter {
  cause?: RejectionCause[];
  channel?: string;
  /** Epoch ms, inclusive, on `at`. */
  since?: number;
  /** Epoch ms, exclusive, on `at`. */
  until?: number;
}

export interface StoreCounts {
  journal: Record<JournalState, number>;
  events: number;
  eventsByType: Record<string, number>;
  rejections: number;
  /** Id of the newest journal row and of the oldest one still pending (pipeline lag). */
  lastJournalId: number;
  oldestPendingReceivedAt?: number;
}

/**
 * Per-minute counts of the events received since a time (`activity()`): one row per minute and
 * event type, with how many of those events' deliveries succeeded; and the journal rows (acked
 * POSTs) those events came from, per minute. `minute` is the minute's start, epoch ms.
 */
export interface ActivityCounts {
  events: Array<{ minute: number; type: string; count: number; delivered: number }>;
  acks: Array<{ minute: number; count: number }>;
}

/**
 * What a backend can do, as data (the code above the store reads this instead of asking
 * which class it has).
 */
export interface StoreCapabilities {
  /**
   * Journal commits worth having in flight at once (see `journal/writer.ts`): 1 where
   * every commit ends with its own fsync on one file (SQLite), so rows that arrive meanwhile
   * share the next one; half the connection pool on PostgreSQL.
   */
  readonly maxCommitsInFlight: number;
  /**
   * Where the pipeline runs: `own-thread` when the store runs it on a thread of its own (SQLite:
   * the store's thread, next to its connection; PostgreSQL: a thread with its own connections),
   * `createPipeline` is then present; `in-process` when the caller runs a {@link Pipeline} on
   * this thread against the store.
   */
  readonly pipelineThread: 'own-thread' | 'in-process';
  /** Several processes may use the same database at once (PostgreSQL); claims are then leases. */
  readonly sharedByProcesses: boolean;
}

/** `Store.journal`: one row per acknowledged POST, the pipeline's input. */
export interface JournalStore {
  /**
   * Appends rows in ONE transaction. When the promise resolves, every row is durable
   * (committed and synced). Rejects when the write cannot be made; nothing is then acked.
   * Concurrent callers are not merged here: `journal/writer.ts` does that above it.
   */
  append(rows: JournalInput[]): Promise<number[]>;

  /**
   * Up to `limit` pending journal rows, oldest first, that this process may normalize now.
   * A row handed out is not handed out again until `record` for it has settled
   * (if that failed, the row is still pending and is handed out again). A store shared by
   * several processes (PostgreSQL) hands it out again, to any process, once the claim's
   * lease has expired: its process is presumed dead.
   */
  claim(limit: number): Promise<JournalRow[]>;

  /**
   * Writes events (ignoring ids already stored) and the outcome of each row, in ONE transaction.
   * An event id already stored by another journal row bumps that event's `duplicates`; a
   * `processed` row whose events all existed is stored as `duplicate`. An event id already
   * stored by the same row (the row is normalized again) counts as neither new nor duplicate,
   * and the row keeps its own events' count as new.
   * Each event written for the first time is applied to the projections in the same
   * transaction, in `seq` order (see `store/projections.ts`), and gets one delivery per
   * route set with `deliveries.setRoutes` that matches it (see `store/deliveries.ts`).
   */
  record(outcomes: JournalOutcome[]): Promise<RecordResult>;

  /**
   * Hands claimed rows back still `pending`, with one more attempt counted: the pipeline tried
   * them and failed (the normalizer threw, ran over its time budget, or the row alone could not
   * be recorded). They are claimable again, each alone (`attempts` > 0), and the pipeline
   * settles one as `failed` once its attempts reach `journal.maxAttempts`.
   */
  release(ids: number[]): Promise<void>;

  /** Puts `failed` rows (or the given ones) back to `pending` so the pipeline tries them again. */
  retry(ids?: number[]): Promise<number>;

  get(id: number): Promise<JournalRow | undefined>;
  list(filter: JournalFilter, page: PageRequest): Promise<Page<JournalRow>>;

  /**
   * `receivedAt` of the oldest row the pipeline has not settled yet, `undefined` when none:
   * the pipeline lag, read with one indexed lookup (no counting, so scrapes stay cheap).
   */
  oldestPendingAt(): Promise<number | undefined>;
}

/** `Store.events`: what the pipeline recorded, in `seq` order. */
export interface EventStore {
  get(id: string): Promise<StoredEvent | undefined>;
  list(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>>;

  /**
   * The same events as `list(filter, page)`, in the same `seq` pages, as {@link EventArrival}s:
   * columns and at most two keys picked out of the body by the database, no event parsed.
   */
  arrivals(filter: ArrivalFilter, page: PageRequest): Promise<Page<EventArrival>>;

  /**
   * Per-minute counts of the events received at or after `since` (epoch ms): a range over the
   * events' received-time index grouped by minute, so it costs nothing when events are written.
   */
  activity(since: number): Promise<ActivityCounts>;

  /**
   * The highest event `seq` stored (0 when none). A live stream that starts "now" reads
   * events after it.
   */
  lastSeq(): Promise<number>;
}

/** `Store.rejections`: requests refused before the journal. */
export interface RejectionStore {
  /** Keeps the newest `keep` rejections; older ones are trimmed. */
  add(rows: RejectionInput[], keep: number): Promise<void>;
  /** Oldest first; the cursor is the rejection id. */
  list(page: PageRequest, filter?: RejectionFilter): Promise<Page<Rejection>>;
}

/**
 * A backend: a set of parts plus a capability profile. Each part is an interface of its
 * own module (`journal`, `events`, `rejections` here; `projections.ts`, `deliveries.ts`,
 * `access.ts`, `outbound.ts`, `search.ts`); what spans parts stays on the store itself.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly capabilities: StoreCapabilities;

  readonly journal: JournalStore;
  readonly events: EventStore;
  readonly rejections: RejectionStore;
  readonly projections: ProjectionStore;
  readonly deliveries: DeliveryStore;
  readonly access: AccessStore;
  readonly outbound: OutboundStore;
  readonly search: SearchStore;

  /** Applies the numbered migrations not yet applied. Safe to call on every start. */
  migrate(): Promise<{ applied: string[] }>;

  /** One snapshot of the journal, events and rejections counts (for `/metrics` and `status`). */
  counts(): Promise<StoreCounts>;

  /**
   * Erases one person: `ids` are all their identifiers (phone numbers, BSUIDs, `@usernames`;
   * resolve links first with `resolveIdentity`). In one transaction: their own events go with
   * their deliveries and dead letters; other events and journal bodies that mention them are
   * redacted in place (the journal row is marked redacted); their projection rows, outbound
   * records and search documents go; a tombstone (keyed hash) per identifier makes
   * `journal.record` drop later events about them. See `store/erasure.ts`.
   */
  eraseContact(ids: string[]): Promise<ErasureReceipt>;

  /**
   * Prunes one small batch of one data class (`retention/policy.ts`) in one transaction: rows
   * past `request.cutoff` are deleted or redacted, at most `request.limit` looked at, read by
   * primary key from a cursor or from the head of an index, so the cost of a batch does not
   * grow with the history. Journal rows the pipeline has not settled are never touched.
   * `more` says another call may find more. With `dryRun`, counts what the whole pass would
   * remove now and changes nothing.
   */
  pruneRetention(request: PruneRequest, dryRun?: boolean): Promise<PruneBatchResult>;

  /**
   * What the database's space goes to, by data class: bytes per class (indexes included; the
   * events table's share per class estimated from a bounded sample of bodies), rows, and the
   * oldest item of each, read through indexes. Reads every page on SQLite (`dbstat`, on a
   * thread of its own when the store has one): call it on demand and cache the answer.
   * See `store/usage.ts`.
   */
  storageUsage(): Promise<StorageUsage>;

  /** Resolves when the store can take a write now (used by /readyz). */
  ping(): Promise<void>;

  /**
   * Present when `capabilities.pipelineThread` is `own-thread`: the pipeline, run on a thread
   * of the store's. Created stopped.
   */
  createPipeline?(settings: RemotePipelineOptions): PipelineHandle;

  /**
   * Optional: calls `listener` soon after ANY process sharing this database commits work on
   * `channel` (PostgreSQL LISTEN/NOTIFY), so pipelines, streams and delivery workers in every
   * process wake at once instead of at their next poll. A wake-up is only a hint: the
   * listener still finds the work with a query, and after a lost connection every listener
   * is called once. Keep polling as well (slowly). A store used by one process only (SQLite)
   * leaves it out: that process already wakes its own readers after each commit.
   * Returns the function that unsubscribes.
   */
  subscribe?(channel: StoreChannel, listener: () => void): () => void;

  close(): Promise<void>;
}

/**
 * What {@link Store.subscribe} can wake on: `journal` (rows appended or put back to
 * pending), `events` (new events recorded), `deliveries` (deliveries became due).
 */
export type StoreChannel = 'journal' | 'events' | 'deliveries';
