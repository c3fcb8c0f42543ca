/**
 * @module projections/conversations
 *
 * One row per (business number, contact): what a support agent asks first — when did the
 * customer last write, may we still answer free-form (the 24-hour customer-service window),
 * and how many of their messages are still unanswered.
 *
 * - Key: `<business number>:<contact>`. The business number is `phoneNumberId` when the
 *   event has one (Meta), else `displayPhoneNumber` (EnableX's `business_phone`). The
 *   contact is `from` for a received message and `recipientId` for a status. Events with
 *   neither part (or reactions, templates, unknown items) touch no conversation.
 * - `lastInbound`: the latest received message by (time, message id).
 * - `windowOpenUntil`: `lastInbound.at` + 24 h; ask {@link isWindowOpen} at query time.
 * - `lastOutbound`: the latest business message by the time of its `sent` (or `failed`)
 *   notification. `delivered`/`read`/`played` times are the customer's device acting, not
 *   the business: counting a read receipt would make a customer's message look answered
 *   just because the customer opened the chat. A provider that never reports `sent` leaves
 *   `lastOutbound` empty; the outbound count still sees its messages.
 * - `counts.unreadInbound`: the customer's messages later than `lastOutbound.at` (equal
 *   times count as answered); `firstUnansweredAt` the earliest of them; `unanswered` the
 *   {@link UNANSWERED_LIMIT} latest of them. The row keeps no more than that, so a contact
 *   who writes thousands of messages without a reply costs no more per event than one who
 *   writes one. The count is exact while no more than {@link UNANSWERED_LIMIT} messages
 *   wait, and whenever a reply comes later than the ones it answers; past that limit, a
 *   business message whose `sent` arrives late with a time between two waiting messages
 *   clears the older ones the row no longer lists.
 * - `counts.inbound` / `counts.outbound`: distinct message ids. The row does not keep every
 *   id (it would grow without bound); instead the caller passes the message row as it was
 *   before the event, and a message counts the first time one of its events files it under
 *   this conversation (see {@link reduceConversation}).
 *
 * - `message.echo` (a message the business sent from the WhatsApp Business app or another
 *   sender) is an outbound message at its own time: it moves `lastOutbound` and answers the
 *   waiting messages like a `sent` status does.
 * - `history.sync` fills the row through the messages of its thread (see `projections/history.ts`).
 * - `owner`: the latest `conversation.handover` (who owns the thread now), by (time, event id).
 * - `referral` / `ctwaClid` / `freeEntryWindowOpenUntil`: the latest customer message that
 *   came from a click-to-WhatsApp ad (it has a `ctwaClid`, or referral source type `ad`),
 *   and the 72-hour free-entry-point window from it. The 24-hour window only ever comes
 *   from the customer's own message times, never from a status's `conversation` object.
 * - A user known only by a business-scoped user id (no wa_id) has their conversations keyed
 *   by that id (`userId`).
 *
 * Every field is a max, a bounded set, or a count of first sightings, so the row does not
 * depend on the order in which events arrive, nor on duplicates (within the limit above).
 */
import type { BluetickEvent, MessageReceivedEvent } from '../events/types.js';
import type { MessageRow } from './message-status.js';
import { addHours, compact, compareJson, compareText, compareTime, factTime, isUtcIso } from './order.js';

/** Unanswered messages a conversation row lists: the latest ones. */
export const UNANSWERED_LIMIT = 10;

/** How long after the customer's last message the business may answer free-form. */
export const CUSTOMER_SERVICE_WINDOW_HOURS = 24;

/** How long a conversation begun from a click-to-WhatsApp ad stays a free entry point. */
export const FREE_ENTRY_WINDOW_HOURS = 72;

/** Who owns the thread, from the latest `conversation.handover`. */
export interface ConversationOwner {
  /** The handover as sent: `control_passed`, `control_taken`. */
  kind?: string;
  /** The new owner's role as sent (`primary`, `secondary`), when the handover names it. */
  role?: string;
  previousRole?: string;
  at: string;
  eventId: string;
}

/** The customer message from a click-to-WhatsApp ad that opened the free entry point. */
export interface ConversationReferral {
  messageId?: string;
  at: string;
  ctwaClid?: string;
  sourceId?: string;
  sourceType?: string;
}

export interface LastInbound {
  messageId?: string;
  at: string;
  kind: string;
  text?: string;
}

export interface LastOutbound {
  messageId: string;
  at: string;
}

export interface UnansweredMessage {
  messageId: string;
  at: string;
}

export interface ConversationCounts {
  /** Distinct customer messages. */
  inbound: number;
  /** Distinct business messages (any status, `failed` and unknown ones included). */
  outbound: number;
  /** Customer messages since the last outbound activity. */
  unreadInbound: number;
}

export interface ConversationRow {
  key: string;
  businessNumber: string;
  /** The business's display number, when `businessNumber` is a phone-number id (Meta): as the latest event gave it. */
  displayNumber?: string;
  contact: string;
  lastInbound?: LastInbound;
  lastOutbound?: LastOutbound;
  /** `lastInbound.at` + 24 h, ISO-8601 UTC. */
  windowOpenUntil?: string;
  /** The later of `lastInbound.at` and `lastOutbound.at`. */
  lastActivityAt?: string;
  counts: ConversationCounts;
  /** The earliest customer message later than `lastOutbound.at`. */
  firstUnansweredAt?: string;
  /** The latest {@link UNANSWERED_LIMIT} customer messages later than `lastOutbound.at`, sorted by (time, message id). */
  unanswered: UnansweredMessage[];
  /** Who owns the thread now (latest handover). */
  owner?: ConversationOwner;
  /** The latest customer message from a click-to-WhatsApp ad. */
  referral?: ConversationReferral;
  /** `referral.ctwaClid`, the ad click id. */
  ctwaClid?: string;
  /** `referral.at` + 72 h, ISO-8601 UTC: the free-entry-point window. */
  freeEntryWindowOpenUntil?: string;
}

/** `phoneNumberId` when present, else `displayPhoneNumber`. */
export function businessNumberOf(event: BluetickEvent): string | undefined {
  return event.phoneNumberId ?? event.displayPhoneNumber;
}

/**
 * The contact a message event is with: the sender of a received message, the recipient of
 * a status or an echo, the user of a handover; their business-scoped user id when the
 * event has no wa_id (a username-only user).
 */
export function contactOf(event: BluetickEvent): string | undefined {
  if (event.type === 'message.received') return event.from ?? event.userId;
  if (event.type === 'message.status') return event.recipientId ?? event.userId;
  if (event.type === 'message.echo') return event.to ?? event.userId;
  if (event.type === 'conversation.handover') return event.from ?? event.userId;
  return undefined;
}

/** Builds a conversation key. */
export function conversationKey(businessNumber: string, contact: string): string {
  return `${businessNumber}:${contact}`;
}

/** The conversation an event belongs to, if any. */
export function conversationKeyOf(event: BluetickEvent): string | undefined {
  const business = businessNumberOf(event);
  const contact = contactOf(event);
  return business === undefined || contact === undefined ? undefined : conversationKey(business, contact);
}

/**
 * Whether the customer-service window is open at `now`. The window closes exactly 24 h
 * after the customer's last message.
 *
 * @example
 * if (isWindowOpen(conversation, Date.now())) sendFreeFormReply(); else sendTemplate();
 */
export function isWindowOpen(conversation: Pick<ConversationRow, 'windowOpenUntil'> | undefined, now: Date | number | string): boolean {
  const until = conversation?.windowOpenUntil;
  if (until === undefined) return false;
  const nowMs = now instanceof Date ? now.getTime() : typeof now === 'number' ? now : Date.parse(now);
  const untilMs = Date.parse(until);
  return !Number.isNaN(nowMs) && !Number.isNaN(untilMs) && nowMs < untilMs;
}

/** Whether the 72-hour free-entry-point window of a conversation begun from an ad is open at `now`. */
export function isFreeEntryWindowOpen(conversation: Pick<ConversationRow, 'freeEntryWindowOpenUntil'> | undefined, now: Date | number | string): boolean {
  return isWindowOpen(conversation ? { windowOpenUntil: conversation.freeEntryWindowOpenUntil } : undefined, now);
}

/**
 * Whether a message row (as it was BEFORE an event) already counts the message in
 * conversation `key` in that direction.
 */
function isCountedIn(message: MessageRow | undefined, key: string, direction: 'inbound' | 'outbound'): boolean {
  if (!message) return false;
  if (direction === 'inbound') return message.inbound?.conversationKey === key;
  return message.conversationKey === key || message.outbound?.conversationKey === key || message.timeline.some((entry) => entry.conversationKey === key);
}

function laterInbound(a: LastInbound | undefined, b: LastInbound): LastInbound {
  if (a === undefined) return b;
  const order = compareTime(b.at, a.at) || compareText(b.messageId ?? '', a.messageId ?? '') || compareJson(b, a);
  return order > 0 ? b : a;
}

function laterOutbound(a: LastOutbound | undefined, b: LastOutbound): LastOutbound {
  if (a === undefined) return b;
  return (compareTime(b.at, a.at) || compareText(b.messageId, a.messageId)) > 0 ? b : a;
}

function compareUnanswered(a: UnansweredMessage, b: UnansweredMessage): number {
  return compareTime(a.at, b.at) || compareText(a.messageId, b.messageId);
}

/**
 * Whether `list` is sorted strictly, names each message once and starts after `after`: then
 * keeping the messages later than `after` keeps them all, and a later new one goes last.
 */
function isKeptAsIs(list: readonly UnansweredMessage[], after: string | undefined): boolean {
  if (list.length === 0) return true;
  if (after !== undefined && compareTime(list[0]!.at, after) <= 0) return false;
  // Times all written alike compare as text (see `isUtcIso`): check each once, not at every comparison.
  const asText = isUniformUtc(list);
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1]!;
    const b = list[i]!;
    const order = asText ? (a.at === b.at ? 0 : a.at < b.at ? -1 : 1) || compareText(a.messageId, b.messageId) : compareUnanswered(a, b);
    if (order >= 0) return false;
    for (let k = 0; k < i; k++) if (list[k]!.messageId === list[i]!.messageId) return false;
  }
  return true;
}

/** Whether every time in `list` is a UTC time of the same width, so that their text order is their time order. */
function isUniformUtc(list: readonly UnansweredMessage[]): boolean {
  const width = list[0]!.at.length;
  for (const item of list) if (item.at.length !== width || !isUtcIso(item.at)) return false;
  return true;
}

/** Keeps the customer messages later than `after`; one entry per message id, with its latest time. */
function mergeUnanswered(list: readonly UnansweredMessage[], add: UnansweredMessage | undefined, after: string | undefined): UnansweredMessage[] {
  // The usual step (a new message, later than every waiting one) without the sort below;
  // the result is the same.
  if (isKeptAsIs(list, after)) {
    if (add === undefined) return list.slice();
    const last = list[list.length - 1];
    const isNewAndLatest =
      (after === undefined || compareTime(add.at, after) > 0) &&
      (last === undefined || compareUnanswered(last, add) < 0) &&
      !list.some((item) => item.messageId === add.messageId);
    if (isNewAndLatest) return [...list, add];
  }
  const byId = new Map<string, UnansweredMessage>();
  for (const item of add ? [...list, add] : list) {
    const seen = byId.get(item.messageId);
    if (!seen || compareTime(item.at, seen.at) > 0) byId.set(item.messageId, item);
  }
  return [...byId.values()].filter((item) => after === undefined || compareTime(item.at, after) > 0).sort(compareUnanswered);
}

/** The unanswered messages as a row keeps them. */
interface Waiting {
  /** The latest ones, ascending. */
  listed: UnansweredMessage[];
  /** How many earlier ones are counted but no longer listed. */
  older: number;
  /** The earliest time among all of them, kept while `older > 0`. */
  firstAt: string | undefined;
}

/**
 * Folds a customer message (`add`, counted for the first time in this conversation when
 * `firstSighting`) and the latest business message time (`after`) into the waiting list.
 */
function nextWaiting(row: ConversationRow | undefined, add: UnansweredMessage | undefined, firstSighting: boolean, after: string | undefined): Waiting {
  const before = row?.unanswered ?? [];
  let older = row ? Math.max(0, row.counts.unreadInbound - before.length) : 0;
  let firstAt = older > 0 ? row?.firstUnansweredAt : undefined;
  // A reply at or after the earliest unlisted message answers the unlisted ones.
  if (older > 0 && after !== undefined && (firstAt === undefined || compareTime(after, firstAt) >= 0)) {
    older = 0;
    firstAt = undefined;
  }
  // A message seen before that is not listed is one of the unlisted ones, already counted.
  const listedBefore = add !== undefined && before.some((item) => item.messageId === add.messageId);
  const skip = add !== undefined && !firstSighting && !listedBefore && older > 0;
  let listed = mergeUnanswered(before, skip ? undefined : add, after);
  if (listed.length > UNANSWERED_LIMIT) {
    const cut = listed.length - UNANSWERED_LIMIT;
    const earliest = listed[0]!.at;
    older += cut;
    if (firstAt === undefined || compareTime(earliest, firstAt) < 0) firstAt = earliest;
    listed = listed.slice(cut);
  }
  return { listed, older, firstAt: older > 0 ? firstAt : undefined };
}

function build(
  key: string,
  businessNumber: string,
  contact: string,
  lastInbound: LastInbound | undefined,
  lastOutbound: LastOutbound | undefined,
  counts: { inbound: number; outbound: number },
  waiting: Waiting,
  extras: Extras,
): ConversationRow {
  let lastActivityAt = lastInbound?.at;
  if (lastOutbound && (lastActivityAt === undefined || compareTime(lastOutbound.at, lastActivityAt) > 0)) lastActivityAt = lastOutbound.at;
  // Built key by key, in this order, leaving out what is undefined (like `compact`, without
  // the intermediate object): the stored JSON depends on the key order.
  const row = { key, businessNumber } as ConversationRow;
  if (extras.displayNumber !== undefined) row.displayNumber = extras.displayNumber;
  row.contact = contact;
  if (lastInbound !== undefined) row.lastInbound = lastInbound;
  if (lastOutbound !== undefined) row.lastOutbound = lastOutbound;
  const windowOpenUntil = lastInbound ? addHours(lastInbound.at, CUSTOMER_SERVICE_WINDOW_HOURS) : undefined;
  if (windowOpenUntil !== undefined) row.windowOpenUntil = windowOpenUntil;
  if (lastActivityAt !== undefined) row.lastActivityAt = lastActivityAt;
  row.counts = { inbound: counts.inbound, outbound: counts.outbound, unreadInbound: waiting.older + waiting.listed.length };
  const firstUnansweredAt = waiting.older > 0 ? waiting.firstAt : waiting.listed[0]?.at;
  if (firstUnansweredAt !== undefined) row.firstUnansweredAt = firstUnansweredAt;
  row.unanswered = waiting.listed;
  const { owner, referral } = extras;
  if (owner !== undefined) row.owner = owner;
  if (referral !== undefined) {
    row.referral = referral;
    if (referral.ctwaClid !== undefined) row.ctwaClid = referral.ctwaClid;
    const freeEntryWindowOpenUntil = addHours(referral.at, FREE_ENTRY_WINDOW_HOURS);
    if (freeEntryWindowOpenUntil !== undefined) row.freeEntryWindowOpenUntil = freeEntryWindowOpenUntil;
  }
  return row;
}

/** What a row keeps beside its messages: thread owner, ad referral, the business's display number. */
interface Extras {
  owner: ConversationOwner | undefined;
  referral: ConversationReferral | undefined;
  displayNumber: string | undefined;
}

function later<T extends { at: string }>(a: T | undefined, b: T, id: (x: T) => string): T {
  if (a === undefined) return b;
  return (compareTime(b.at, a.at) || compareText(id(b), id(a)) || compareJson(b, a)) > 0 ? b : a;
}

/** The {@link LastInbound} of a received message (what `compact` would make of its fields). */
function inboundOf(event: MessageReceivedEvent, at: string): LastInbound {
  const inbound = {} as LastInbound;
  if (event.messageId !== undefined) inbound.messageId = event.messageId;
  inbound.at = at;
  if (event.kind !== undefined) inbound.kind = event.kind;
  if (event.text !== undefined) inbound.text = event.text;
  return inbound;
}

/** The handover an event records, if it is one. */
function ownerOf(event: BluetickEvent): ConversationOwner | undefined {
  if (event.type !== 'conversation.handover') return undefined;
  const detail = event.kind !== undefined && event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data[event.kind] : undefined;
  const text = (key: string): string | undefined => {
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return undefined;
    const value = detail[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return compact({ kind: event.kind, role: text('new_owner_role'), previousRole: text('previous_owner_role'), at: factTime(event), eventId: event.id });
}

/** The ad referral a customer message carries, if it came from a click-to-WhatsApp ad. */
function referralOf(event: BluetickEvent): ConversationReferral | undefined {
  if (event.type !== 'message.received') return undefined;
  if (event.ctwaClid === undefined && event.referralSourceType !== 'ad') return undefined;
  return compact({
    messageId: event.messageId,
    at: factTime(event),
    ctwaClid: event.ctwaClid,
    sourceId: event.referralSourceId,
    sourceType: event.referralSourceType,
  });
}

/**
 * Applies one event to one conversation row.
 *
 * `previousMessage` is the message row of `event.messageId` as it was BEFORE this event
 * (`undefined` when there was none). It is how a message is counted once: the first event
 * that files it under this conversation counts it, its duplicates and later statuses do
 * not. Apply the message projection after reading it, as `applyEvent` does. An event
 * without a message id moves the times but is not counted (it could not be deduplicated).
 *
 * Returns `row` itself when the event does not concern this conversation.
 */
export function reduceConversation(
  row: ConversationRow | undefined,
  event: BluetickEvent,
  previousMessage: MessageRow | undefined,
): ConversationRow | undefined {
  if (event.type !== 'message.received' && event.type !== 'message.status' && event.type !== 'message.echo' && event.type !== 'conversation.handover') return row;
  const business = businessNumberOf(event);
  const contact = contactOf(event);
  if (business === undefined || contact === undefined) return row;
  const key = conversationKey(business, contact);
  if (row !== undefined && row.key !== key) return row;

  const at = factTime(event);
  let lastInbound = row?.lastInbound;
  let lastOutbound = row?.lastOutbound;
  let inbound = row?.counts.inbound ?? 0;
  let outbound = row?.counts.outbound ?? 0;
  let added: UnansweredMessage | undefined;
  let firstSighting = false;
  let owner = row?.owner;
  let referral = row?.referral;

  if (event.type === 'conversation.handover') {
    owner = later(owner, ownerOf(event)!, (o) => o.eventId);
  } else if (event.type === 'message.echo') {
    if (event.messageId !== undefined) {
      if (!isCountedIn(previousMessage, key, 'outbound')) outbound += 1;
      lastOutbound = laterOutbound(lastOutbound, { messageId: event.messageId, at });
    }
  } else if (event.type === 'message.received') {
    const fromAd = referralOf(event);
    if (fromAd) referral = later(referral, fromAd, (r) => r.messageId ?? '');
    lastInbound = laterInbound(lastInbound, inboundOf(event, at));
    if (event.messageId !== undefined) {
      added = { messageId: event.messageId, at };
      firstSighting = !isCountedIn(previousMessage, key, 'inbound');
      if (firstSighting) inbound += 1;
    }
  } else if (event.messageId !== undefined) {
    if (!isCountedIn(previousMessage, key, 'outbound')) outbound += 1;
    if (event.status === 'sent' || event.status === 'failed') {
      lastOutbound = laterOutbound(lastOutbound, { messageId: event.messageId, at });
    }
  }

  const waiting = nextWaiting(row, added, firstSighting, lastOutbound?.at);
  // Only a phone-number id needs a display number beside it; the latest event's wins.
  const displayNumber = event.phoneNumberId !== undefined && event.displayPhoneNumber !== undefined ? event.displayPhoneNumber : row?.displayNumber;
  return build(key, business, contact, lastInbound, lastOutbound, { inbound, outbound }, waiting, { owner, referral, displayNumber });
}
