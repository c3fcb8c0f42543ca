/**
 * @module store/projection-rows
 *
 * What both backends agree on about the projection tables (`migrations/<dialect>/0002_projections.sql`),
 * with no SQL dialect in it:
 * - {@link PROJECTIONS}: per projection, its table, key column, the filter columns copied
 *   next to the JSON, and how a reducer row gives their values;
 * - {@link ProjectionCache}: the rows one transaction touches, and applying an event to them
 *   with the position rule of `store/projections.ts` (`pos = seq * POS_SLOTS + slot`, the
 *   smallest kept). Each backend says how a missing row is loaded and how changed rows are
 *   written back;
 * - the list filters as {@link Condition}s (`conditions.ts`), which each backend
 *   renders with its own placeholders;
 * - {@link countsOf}: `projections.counts()` from the grouped counts each backend queries.
 */
import {
  applyEventInPlace,
  emptyState,
  type BusinessAccountRow,
  type ConsentRow,
  type FlowRow,
  type PhoneNumberRow,
  type ContactRow,
  type ConversationRow,
  type MessageRow,
  type ProjectionState,
  type ReactionRow,
  type TemplateRow,
  type TouchedKeys,
} from '../projections/index.js';
import type { BluetickEvent } from '../events/types.js';
import { addAnyOf, type Condition } from './conditions.js';
import type {
  ConsentFilter,
  HealthKind,
  ContactFilter,
  ConversationFilter,
  MessageFilter,
  ProjectionCounts,
  RebuildOptions,
  TemplateFilter,
} from './projections.js';

export type Kind = keyof ProjectionState;
export const KINDS: readonly Kind[] = [
  'messages',
  'conversations',
  'contacts',
  'templates',
  'reactions',
  // Account state: consent and health.
  'consent',
  'phoneNumbers',
  'businessAccounts',
  'flows',
];

/** The account-health projections, listed and read by `projections.listHealth` / `projections.getHealth`. */
export const HEALTH_KINDS: readonly HealthKind[] = ['phoneNumbers', 'businessAccounts', 'flows'];

/**
 * Positions per event: `pos = seq * POS_SLOTS + slot`. Most events touch one or two rows of
 * a kind; a contact's identifiers take up to six, a `history.sync` thread up to
 * `HISTORY_MESSAGE_LIMIT` messages (migration 0007 moved this from 4 and rebuilds).
 */
export const POS_SLOTS = 1024;

/** A filter column's value as written. */
export type Column = string | number | null;

export interface ProjectionSpec {
  table: string;
  /** The column holding the projection key. */
  key: string;
  /**
   * Copies of row fields that queries filter on, written next to the JSON, with their SQL
   * type (`bigint`: epoch milliseconds).
   */
  columns: ReadonlyArray<readonly [name: string, type: 'text' | 'bigint']>;
  /** The values of `columns`, in order, for one reducer row. */
  values(row: never): Column[];
}

/** Epoch ms of an ISO timestamp; `null` when absent or unparsable. */
function msOf(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

export const PROJECTIONS: Record<Kind, ProjectionSpec> = {
  messages: {
    table: 'proj_messages',
    key: 'id',
    columns: [
      ['conversation_key', 'text'],
      ['direction', 'text'],
      ['status', 'text'],
    ],
    values: (r: MessageRow) => [r.conversationKey ?? null, r.direction, r.status ?? null],
  },
  conversations: {
    table: 'proj_conversations',
    key: 'key',
    columns: [
      ['business_number', 'text'],
      ['contact', 'text'],
      ['last_activity_at', 'bigint'],
      ['window_open_until', 'bigint'],
    ],
    values: (r: ConversationRow) => [r.businessNumber, r.contact, msOf(r.lastActivityAt), msOf(r.windowOpenUntil)],
  },
  contacts: {
    table: 'proj_contacts',
    key: 'wa_id',
    columns: [
      ['name', 'text'],
      ['last_seen_at', 'bigint'],
    ],
    values: (r: ContactRow) => [r.profile?.name ?? null, msOf(r.lastSeenAt)],
  },
  templates: {
    table: 'proj_templates',
    key: 'key',
    columns: [
      ['name', 'text'],
      ['language', 'text'],
      ['status', 'text'],
      ['quality', 'text'],
      ['category', 'text'],
    ],
    values: (r: TemplateRow) => [r.name ?? null, r.language ?? null, r.status ?? null, r.quality ?? null, r.category ?? null],
  },
  reactions: {
    table: 'proj_reactions',
    key: 'key',
    columns: [
      ['target_message_id', 'text'],
      ['emoji', 'text'],
    ],
    values: (r: ReactionRow) => [r.targetMessageId, r.emoji],
  },
  // Account state: consent and health (migrations/<dialect>/0010_account_state.sql).
  consent: {
    table: 'proj_consent',
    key: 'key',
    columns: [
      ['business_account_id', 'text'],
      ['contact', 'text'],
      ['user_id', 'text'],
      ['category', 'text'],
      ['state', 'text'],
      ['changed_at', 'bigint'],
    ],
    values: (r: ConsentRow) => [r.businessAccountId ?? null, r.contact, r.userId ?? null, r.category, r.state, msOf(r.changedAt)],
  },
  phoneNumbers: {
    table: 'proj_phone_numbers',
    key: 'key',
    columns: [['updated_at', 'bigint']],
    values: (r: PhoneNumberRow) => [msOf(r.updatedAt)],
  },
  businessAccounts: {
    table: 'proj_business_accounts',
    key: 'key',
    columns: [['updated_at', 'bigint']],
    values: (r: BusinessAccountRow) => [msOf(r.updatedAt)],
  },
  flows: {
    table: 'proj_flows',
    key: 'key',
    columns: [['updated_at', 'bigint']],
    values: (r: FlowRow) => [msOf(r.updatedAt)],
  },
};

/** One row as a writer holds it between loading and writing back. */
export interface CachedRow {
  /** The reducer row; `undefined` when neither stored nor produced yet. */
  row: unknown;
  /** The position to write (the smallest seen). */
  pos: number | undefined;
  /** The position in the table; `undefined` when the row is not stored yet. */
  storedPos: number | undefined;
  dirty: boolean;
}

/**
 * The projection rows one transaction touches, keyed by projection and key. Subclasses say
 * how a row not cached yet is found ({@link entry}) and write the dirty rows back; this class
 * applies events to the cached rows. Apply events in `seq` order.
 */
export abstract class ProjectionCache {
  protected readonly cache: Record<Kind, Map<string, CachedRow>> = {
    messages: new Map(),
    conversations: new Map(),
    contacts: new Map(),
    templates: new Map(),
    reactions: new Map(),
    // Account state: consent and health.
    consent: new Map(),
    phoneNumbers: new Map(),
    businessAccounts: new Map(),
    flows: new Map(),
  };

  /** The cached row of `key`. */
  protected abstract entry(kind: Kind, key: string): CachedRow;

  /** Caches a row as the table holds it: `stored` is its `pos` and JSON, `undefined` when absent. */
  protected remember(kind: Kind, key: string, stored: { pos: number; row: string } | undefined): CachedRow {
    const entry: CachedRow = stored
      ? { row: JSON.parse(stored.row) as unknown, pos: stored.pos, storedPos: stored.pos, dirty: false }
      : { row: undefined, pos: undefined, storedPos: undefined, dirty: false };
    this.cache[kind].set(key, entry);
    return entry;
  }

  /** The touched rows of the event being applied; cleared and refilled for each event. */
  private readonly scratch: ProjectionState = emptyState();

  /** The cached rows of the event being applied, in the order of its touched keys. */
  private readonly entries: CachedRow[] = [];

  /** Applies one event recorded with `seq` to the rows `keys` (its `keysTouched`) names. */
  protected applyTouched(seq: number, event: BluetickEvent, keys: TouchedKeys): void {
    const state = this.scratch;
    const entries = this.entries;
    entries.length = 0;
    for (const kind of KINDS) {
      const map = state[kind] as Map<string, unknown>;
      if (map.size > 0) map.clear();
      for (const key of keys[kind]) {
        const entry = this.entry(kind, key);
        entries.push(entry);
        if (entry.row !== undefined) map.set(key, entry.row);
      }
    }
    applyEventInPlace(state, event, keys);
    let next = 0;
    for (const kind of KINDS) {
      const map = state[kind] as Map<string, unknown>;
      const touched = keys[kind];
      for (let slot = 0; slot < touched.length; slot++) {
        const key = touched[slot]!;
        // The entry looked up above: the reducers never change the cache.
        const entry = entries[next++]!;
        const after = map.get(key);
        // Reducers return the same object when nothing changed (a duplicate): no write.
        if (after === undefined || after === entry.row) continue;
        entry.row = after;
        entry.dirty = true;
        const pos = seq * POS_SLOTS + slot;
        if (entry.pos === undefined || pos < entry.pos) entry.pos = pos;
      }
    }
  }
}

export function messageConditions(filter: MessageFilter): Condition[] {
  const c: Condition[] = [];
  if (filter.conversationKey !== undefined) c.push({ column: 'conversation_key', op: '=', value: filter.conversationKey });
  if (filter.direction !== undefined) c.push({ column: 'direction', op: '=', value: filter.direction });
  addAnyOf(c, 'status', filter.status);
  return c;
}

export function conversationConditions(filter: ConversationFilter): Condition[] {
  const c: Condition[] = [];
  if (filter.businessNumber !== undefined) c.push({ column: 'business_number', op: '=', value: filter.businessNumber });
  if (filter.contact !== undefined) c.push({ column: 'contact', op: '=', value: filter.contact });
  if (filter.activeSince !== undefined) c.push({ column: 'last_activity_at', op: '>=', value: filter.activeSince });
  if (filter.window !== undefined) {
    const { open, at } = filter.window;
    c.push(open ? { column: 'window_open_until', op: '>', value: at } : { column: 'window_open_until', op: 'null-or-<=', value: at });
  }
  return c;
}

export function contactConditions(filter: ContactFilter): Condition[] {
  const c: Condition[] = [];
  if (filter.name !== undefined) c.push({ column: 'name', op: 'like', value: `%${filter.name.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` });
  if (filter.seenSince !== undefined) c.push({ column: 'last_seen_at', op: '>=', value: filter.seenSince });
  return c;
}

export function templateConditions(filter: TemplateFilter): Condition[] {
  const c: Condition[] = [];
  addAnyOf(c, 'status', filter.status);
  addAnyOf(c, 'quality', filter.quality);
  addAnyOf(c, 'category', filter.category);
  if (filter.name !== undefined) c.push({ column: 'name', op: '=', value: filter.name });
  if (filter.language !== undefined) c.push({ column: 'language', op: '=', value: filter.language });
  return c;
}

export function consentConditions(filter: ConsentFilter): Condition[] {
  const c: Condition[] = [];
  addAnyOf(c, 'category', filter.category);
  addAnyOf(c, 'state', filter.state);
  if (filter.contact !== undefined) c.push({ column: 'contact', op: '=', value: filter.contact });
  if (filter.businessAccountId !== undefined) c.push({ column: 'business_account_id', op: '=', value: filter.businessAccountId });
  return c;
}

/** Events per rebuild transaction: `opts.batchSize` (default 2000), at least 1. */
export function rebuildBatchSize(opts: RebuildOptions): number {
  return Math.max(1, Math.floor(opts.batchSize ?? 2000));
}

/**
 * `projections.counts()` from message rows grouped by (direction, status), template rows
 * grouped by status, the other row counts, and the `proj_rebuild` marker if any.
 */
export function countsOf(
  messages: Iterable<{ direction: string; status: string | null; n: number }>,
  templates: Iterable<{ status: string | null; n: number }>,
  totals: { conversations: number; contacts: number; reactions: number },
  marker: { started_at: number; through_seq: number } | null | undefined,
): ProjectionCounts {
  const byStatus: Record<string, number> = {};
  let inbound = 0;
  let outbound = 0;
  for (const { direction, status, n } of messages) {
    if (direction === 'inbound') {
      inbound += n;
    } else {
      outbound += n;
      const name = status ?? 'unknown';
      byStatus[name] = (byStatus[name] ?? 0) + n;
    }
  }
  const templatesByStatus: Record<string, number> = {};
  let templateTotal = 0;
  for (const { status, n } of templates) {
    templateTotal += n;
    const name = status ?? 'unknown';
    templatesByStatus[name] = (templatesByStatus[name] ?? 0) + n;
  }
  const counts: ProjectionCounts = {
    messages: { total: inbound + outbound, inbound, outbound, byStatus },
    conversations: totals.conversations,
    contacts: totals.contacts,
    templates: { total: templateTotal, byStatus: templatesByStatus },
    reactions: totals.reactions,
  };
  if (marker) {
    counts.rebuild =
      marker.started_at > 0 ? { startedAt: marker.started_at, throughSeq: marker.through_seq } : { throughSeq: marker.through_seq };
  }
  return counts;
}
