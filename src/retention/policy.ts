/**
 * @module retention/policy
 *
 * What bluetick keeps and for how long: the data classes of `retention` in the config, the
 * event types each class covers, how a message's content is taken out of an event and its
 * projection rows while its ids, type, times and status facts stay, and the duration syntax
 * (`30d`, `12h`, `none`). Pure: the store backends (`store/sqlite/retention.ts`,
 * `store/postgres/retention.ts`) run the SQL, the pruner (`retention/pruner.ts`) the schedule.
 */
import { EVENT_TYPES, type EventType, type JsonValue } from '../events/types.js';
import type { ConversationRow, MessageRow } from '../projections/index.js';

/**
 * The data classes, each with its own age limit:
 * - `rawBodies`: the journal's raw bodies (deleted once the pipeline settled the row);
 * - `messageContent`: text, captions, media ids, Flow replies, locations and contact cards in
 *   message events and the projection rows and search documents made from them, and the text
 *   of outbound records (redacted);
 * - `statuses`: `message.status` and `message.reaction` events (deleted);
 * - `accountEvents`: template, account and phone-number events (deleted);
 * - `deliveries`: succeeded deliveries and their attempts (deleted; failed ones are kept);
 * - `rejections`: the rejection log (deleted).
 */
export const RETENTION_CLASSES = ['rawBodies', 'messageContent', 'statuses', 'accountEvents', 'deliveries', 'rejections'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** What pruning a class does to a row past its limit. */
export type RetentionAction = 'deleted' | 'redacted';
export const RETENTION_ACTIONS: Readonly<Record<RetentionClass, RetentionAction>> = {
  rawBodies: 'deleted',
  messageContent: 'redacted',
  statuses: 'deleted',
  accountEvents: 'deleted',
  deliveries: 'deleted',
  rejections: 'deleted',
};

/** The defaults, as written in the config (docs/configuration.md explains each). */
export const DEFAULT_RETENTION: Readonly<Record<RetentionClass, string>> = {
  rawBodies: '30d',
  messageContent: '90d',
  statuses: '400d',
  accountEvents: 'none',
  deliveries: '30d',
  rejections: '30d',
};

/** Age limits in ms per class; `null`: kept for ever. */
export type RetentionLimits = Record<RetentionClass, number | null>;

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as written: `<n>d`, `<n>h`, `<n>m` (days, hours, minutes), or `none`. */
export const DURATION_PATTERN = /^(none|[1-9]\d{0,5}[dhm])$/;

/** `30d` -> ms; `none` -> null; anything else -> undefined. */
export function parseRetentionDuration(text: string): number | null | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  if (text === 'none') return null;
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1)]!;
}

/** A limit as written: `30d`, `12h`, `45m`, or `none`. */
export function formatRetentionDuration(ms: number | null): string {
  if (ms === null) return 'none';
  for (const unit of ['d', 'h', 'm']) if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

/** Every class's limit, from the written durations (all valid: the config schema checked them). */
export function retentionLimits(written: Readonly<Record<RetentionClass, string>>): RetentionLimits {
  const out = {} as RetentionLimits;
  for (const c of RETENTION_CLASSES) out[c] = parseRetentionDuration(written[c]) ?? null;
  return out;
}

/**
 * Which retention class ages out each event type (`kept`: none does). A record over every
 * type, so a new event type cannot be added without deciding how long it is kept.
 */
const EVENT_RETENTION: Readonly<Record<EventType, 'messageContent' | 'statuses' | 'accountEvents' | 'kept'>> = {
  'message.received': 'messageContent',
  'message.echo': 'messageContent',
  'message.standby': 'messageContent',
  'history.sync': 'messageContent',
  'message.status': 'statuses',
  'message.reaction': 'statuses',
  'template.status': 'accountEvents',
  'template.quality': 'accountEvents',
  'template.category': 'accountEvents',
  'template.components': 'accountEvents',
  'account.update': 'accountEvents',
  'account.alert': 'accountEvents',
  'account.review': 'accountEvents',
  'account.capability': 'accountEvents',
  'account.security': 'accountEvents',
  'account.error': 'accountEvents',
  'phone.quality': 'accountEvents',
  'phone.name': 'accountEvents',
  'conversation.handover': 'kept',
  'contact.sync': 'kept',
  'user.preferences': 'kept',
  'user.identity': 'kept',
  'flow.status': 'kept',
  'call.status': 'kept',
  'group.update': 'kept',
  'channel.silent': 'kept',
  'channel.resumed': 'kept',
  unknown: 'kept',
};

const typesIn = (cls: 'messageContent' | 'statuses' | 'accountEvents'): readonly EventType[] =>
  EVENT_TYPES.filter((type) => EVENT_RETENTION[type] === cls);

/** Events whose content `messageContent` redacts. */
export const CONTENT_EVENT_TYPES: readonly EventType[] = typesIn('messageContent');
/** Events `statuses` deletes. */
export const STATUS_EVENT_TYPES: readonly EventType[] = typesIn('statuses');
/** Events `accountEvents` deletes. */
export const ACCOUNT_EVENT_TYPES: readonly EventType[] = typesIn('accountEvents');

/** The event types a deleting event class covers. */
export function deletedEventTypes(cls: 'statuses' | 'accountEvents'): readonly EventType[] {
  return cls === 'statuses' ? STATUS_EVENT_TYPES : ACCOUNT_EVENT_TYPES;
}

/** Flat event keys that carry content (text or caption, a location, button or list reply, a Flow reply's token). */
const CONTENT_KEYS = ['text', 'latitude', 'longitude', 'replyId', 'flowToken'];

/**
 * Keys of a provider's message item that are not content: ids, sender and recipient, time,
 * type, the message replied to, errors, and a status copy's status facts. Everything else in the item (`text`, `image`,
 * `location`, `contacts`, `interactive`, `button`, `order`, `referral`, `messages` of a
 * history thread, ...) is content and goes.
 */
const ITEM_KEYS = new Set([
  'id',
  'from',
  'to',
  'timestamp',
  'type',
  'context',
  'errors',
  'from_user_id',
  'recipient_user_id',
  'user_id',
  'username',
  'status',
  'recipient_id',
  'pricing',
  'conversation',
]);

function keepItemKeys(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(value)) if (ITEM_KEYS.has(k)) out[k] = v;
  return out;
}

/**
 * The event without its content: the flat content keys go and `data` keeps only the item's
 * ids, parties, time, type and errors. `undefined` when there was nothing to take out (an
 * event redacted before, or one without content).
 */
export function redactEventContent(event: { [key: string]: JsonValue }): { [key: string]: JsonValue } | undefined {
  const out: { [key: string]: JsonValue } = {};
  let changed = false;
  for (const [k, v] of Object.entries(event)) {
    if (CONTENT_KEYS.includes(k)) {
      changed = true;
      continue;
    }
    if (k === 'data') {
      const data = keepItemKeys(v);
      if (JSON.stringify(data, bigintSafe) !== JSON.stringify(v, bigintSafe)) changed = true;
      out[k] = data;
      continue;
    }
    out[k] = v;
  }
  return changed ? out : undefined;
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * The message ids whose projection rows and search documents hold this event's content: the
 * event's own `messageId`, and for a history thread the ids of its messages.
 */
export function contentMessageIds(event: { [key: string]: JsonValue }): string[] {
  const ids = new Set<string>();
  if (typeof event.messageId === 'string') ids.add(event.messageId);
  const data = event.data;
  if (event.type === 'history.sync' && data !== null && typeof data === 'object' && !Array.isArray(data) && Array.isArray(data.messages)) {
    for (const m of data.messages) {
      if (m !== null && typeof m === 'object' && !Array.isArray(m) && typeof m.id === 'string') ids.add(m.id);
    }
  }
  return [...ids];
}

/** A message row without content; `undefined` when it held none. */
export function redactMessageRow(row: MessageRow): MessageRow | undefined {
  let changed = false;
  const out: MessageRow = { ...row };
  if (row.inbound && (row.inbound.text !== undefined || row.inbound.replyId !== undefined)) {
    const { text: _text, replyId: _replyId, ...inbound } = row.inbound;
    out.inbound = inbound;
    changed = true;
  }
  if (row.outbound && row.outbound.text !== undefined) {
    const { text: _text, ...outbound } = row.outbound;
    out.outbound = outbound;
    changed = true;
  }
  return changed ? out : undefined;
}

/** A conversation row without the text of its last inbound message when that is `messageId`; `undefined` when unchanged. */
export function redactConversationRow(row: ConversationRow, messageIds: readonly string[]): ConversationRow | undefined {
  const last = row.lastInbound;
  if (!last || last.text === undefined || last.messageId === undefined || !messageIds.includes(last.messageId)) return undefined;
  const { text: _text, ...lastInbound } = last;
  return { ...row, lastInbound };
}

/** One class's pruning pass, as a store reports it. */
export interface PruneBatchResult {
  /** Rows deleted or redacted (or, in a dry run, that would be). */
  count: number;
  /** True when the batch was full: call again for the next one. */
  more: boolean;
}

/** What `Store.pruneRetention` is asked to do. */
export interface PruneRequest {
  class: RetentionClass;
  /** Epoch ms: rows received (deliveries: completed, rejections: refused) before this are past the limit. */
  cutoff: number;
  /** Rows looked at in one transaction. */
  limit: number;
  /** Epoch ms, written as `body_pruned_at`. */
  now: number;
}
