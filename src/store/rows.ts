/**
 * @module store/rows
 *
 * What both backends agree on about the tables of `migrations/<dialect>/0001_init.sql`
 * (`journal`, `events`, `rejections`), with no SQL dialect in it:
 * - the records a SELECT returns and the mappers from them to the `store/store.ts` types.
 *   Both drivers return the same JS types for these columns (the PostgreSQL pool reads
 *   BIGINT as numbers, see `store/postgres/connection.ts`; the body is a Buffer from BLOB
 *   and BYTEA alike; `headers` is TEXT in both), so one mapper serves both;
 * - the values of the indexed event columns ({@link indexString}, {@link epochMsOrNull});
 * - the list filters as {@link Condition}s (`conditions.ts`), which each backend
 *   renders with its own placeholders (`store/sqlite/sql.ts`, `store/postgres/conditions.ts`).
 */
import { parseEventJson } from '../events/normalize.js';
import { addAnyOf, addEq, addRange, type Condition } from './conditions.js';
import type { BluetickEvent, EventType, Provider } from '../events/types.js';
import type {
  ArrivalFilter,
  EventArrival,
  EventFilter,
  JournalFilter,
  JournalRow,
  JournalState,
  Rejection,
  RejectionCause,
  RejectionFilter,
  StoredEvent,
  VerifiedBy,
} from './store.js';

export const JOURNAL_COLUMNS =
  'id, channel, received_at, remote_address, headers, body, verified_by, state, cause, event_count, new_event_count, processed_at, attempts';

export const EVENT_COLUMNS = 'seq, body, journal_id, duplicates';

/**
 * The columns of an {@link ArrivalRow}, in its order; `bodyKey(key)` is the dialect's SQL for
 * one top-level string key of the body (`json_extract`, `->>`), so the database picks the two
 * keys that have no column out of the JSON and no event is parsed in JS. `lastInboundAt` is
 * read only from the watch's own events, which carry it.
 */
export function arrivalColumns(bodyKey: (key: string) => string): string {
  return `seq, type, channel, provider, received_at, phone_number_id, display_phone_number,
          ${bodyKey('businessAccountId')},
          CASE WHEN type IN ('channel.silent', 'channel.resumed') THEN ${bodyKey('lastInboundAt')} END`;
}

export const REJECTION_COLUMNS = 'id, at, channel, cause, method, path, remote_address, detail';

/** A `journal` row as selected with {@link JOURNAL_COLUMNS}. */
export interface JournalRecord {
  id: number;
  channel: string;
  received_at: number;
  remote_address: string | null;
  headers: string;
  body: Buffer;
  verified_by: string;
  state: string;
  cause: string | null;
  event_count: number;
  new_event_count: number;
  processed_at: number | null;
  attempts: number;
}

/** An `events` row as selected with {@link EVENT_COLUMNS}. */
export interface EventRecord {
  seq: number;
  body: string;
  journal_id: number;
  duplicates: number;
}

/**
 * An `events` row as selected with {@link arrivalColumns}, as an array: both drivers return
 * arrays for it (better-sqlite3 `raw`, pg `rowMode: 'array'`), cheaper than an object per row
 * for a read that runs over every inbound message.
 */
export type ArrivalRow = [
  seq: number,
  type: string,
  channel: string,
  provider: string,
  receivedAt: number,
  phoneNumberId: string | null,
  displayPhoneNumber: string | null,
  businessAccountId: unknown,
  lastInboundAt: unknown,
];

/** A `rejections` row as selected with {@link REJECTION_COLUMNS}. */
export interface RejectionRecord {
  id: number;
  at: number;
  channel: string | null;
  cause: string;
  method: string;
  path: string;
  remote_address: string | null;
  detail: string | null;
}

export function toJournalRow(rec: JournalRecord): JournalRow {
  const row: JournalRow = {
    id: rec.id,
    channel: rec.channel,
    receivedAt: rec.received_at,
    headers: JSON.parse(rec.headers) as Record<string, string>,
    body: rec.body,
    verifiedBy: rec.verified_by as VerifiedBy,
    state: rec.state as JournalState,
    eventCount: rec.event_count,
    newEventCount: rec.new_event_count,
  };
  if (rec.remote_address !== null) row.remoteAddress = rec.remote_address;
  if (rec.cause !== null) row.cause = rec.cause;
  if (rec.processed_at !== null) row.processedAt = rec.processed_at;
  if (rec.attempts > 0) row.attempts = rec.attempts;
  return row;
}

/**
 * How many of the claimed rows (sorted by id) a claim keeps. A row the pipeline took before
 * without finishing it (`attempts`) may be the one that stops it: it goes alone, and a batch
 * of fresh rows stops before such a row, so a poison row never takes other rows with it.
 */
export function claimKeeps(rows: ReadonlyArray<{ attempts?: number }>): number {
  if (rows.length === 0) return 0;
  if ((rows[0]!.attempts ?? 0) > 0) return 1;
  const retried = rows.findIndex((r) => (r.attempts ?? 0) > 0);
  return retried < 0 ? rows.length : retried;
}

export function toStoredEvent(rec: EventRecord): StoredEvent {
  return { seq: rec.seq, event: parseEventJson(rec.body), journalId: rec.journal_id, duplicates: rec.duplicates };
}

export function toArrival([seq, type, channel, provider, receivedAt, phoneNumberId, displayPhoneNumber, businessAccountId, lastInboundAt]: ArrivalRow): EventArrival {
  const a: EventArrival = { seq, type: type as EventType, channel, provider: provider as Provider, receivedAt };
  if (typeof businessAccountId === 'string') a.businessAccountId = businessAccountId;
  if (phoneNumberId !== null) a.phoneNumberId = phoneNumberId;
  if (displayPhoneNumber !== null) a.displayPhoneNumber = displayPhoneNumber;
  if (typeof lastInboundAt === 'string') a.lastInboundAt = lastInboundAt;
  return a;
}

/**
 * What `events.arrivals` returns for a stored event, computed from the event itself: the
 * definition the columns must agree with (the indexed columns hold {@link indexString}s of
 * the same keys, and `received_at` the parsed `receivedAt`).
 */
export function arrivalOf(seq: number, event: BluetickEvent): EventArrival {
  const e = event as unknown as Partial<Record<string, unknown>>;
  const a: EventArrival = { seq, type: event.type, channel: event.channel, provider: event.provider, receivedAt: Date.parse(event.receivedAt) };
  if (typeof event.businessAccountId === 'string') a.businessAccountId = event.businessAccountId;
  if (typeof event.phoneNumberId === 'string') a.phoneNumberId = event.phoneNumberId;
  if (typeof event.displayPhoneNumber === 'string') a.displayPhoneNumber = event.displayPhoneNumber;
  if ((event.type === 'channel.silent' || event.type === 'channel.resumed') && typeof e.lastInboundAt === 'string') {
    a.lastInboundAt = e.lastInboundAt;
  }
  return a;
}

export function toRejection(rec: RejectionRecord): Rejection {
  const r: Rejection = { id: rec.id, at: rec.at, cause: rec.cause as RejectionCause, method: rec.method, path: rec.path };
  if (rec.channel !== null) r.channel = rec.channel;
  if (rec.remote_address !== null) r.remoteAddress = rec.remote_address;
  if (rec.detail !== null) r.detail = rec.detail;
  return r;
}

/** An optional event field as an indexed column: the string, or NULL for anything else. */
export function indexString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** An event's ISO time as an indexed column: epoch ms, or NULL when absent or not a date. */
export function epochMsOrNull(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

export function journalConditions(filter: JournalFilter): Condition[] {
  const c: Condition[] = [];
  addAnyOf(c, 'state', filter.state);
  addEq(c, 'channel', filter.channel);
  return c;
}

export function eventConditions(filter: EventFilter): Condition[] {
  const c: Condition[] = [];
  addAnyOf(c, 'type', filter.type);
  addEq(c, 'channel', filter.channel);
  addEq(c, 'phone_number_id', filter.phoneNumberId);
  addEq(c, 'from_id', filter.from);
  addEq(c, 'message_id', filter.messageId);
  addEq(c, 'journal_id', filter.journalId);
  addRange(c, 'received_at', filter.since, filter.until);
  return c;
}

export function arrivalConditions(filter: ArrivalFilter): Condition[] {
  return eventConditions({ type: filter.type, ...(filter.since !== undefined ? { since: filter.since } : {}) });
}

export function rejectionConditions(filter: RejectionFilter): Condition[] {
  const c: Condition[] = [];
  addAnyOf(c, 'cause', filter.cause);
  addEq(c, 'channel', filter.channel);
  addRange(c, 'at', filter.since, filter.until);
  return c;
}
