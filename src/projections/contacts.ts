/**
 * @module projections/contacts
 *
 * One row per WhatsApp user (wa_id) who wrote to the business: the latest profile name,
 * when they were first and last seen, and the number changes that link their wa_ids.
 *
 * - A contact is seen through events it SENT: `message.received` and `message.reaction`
 *   (`from`). Status notifications do not create contacts: a `sent` or `failed` status says
 *   nothing about the user, and a failed send to a number that is not on WhatsApp would
 *   otherwise invent a contact.
 * - The profile name is the `contactName` of the latest event by (time, event id).
 * - A `system` message with `system.type: "user_changed_number"` is sent from the OLD wa_id
 *   and names the NEW one in `system.wa_id` (or `system.new_wa_id`). The change is recorded
 *   on both rows; the new wa_id is seen at that time too, since the user just acted.
 *
 * Times are min/max and the change list is a set by event id, so the row does not depend
 * on event order or duplicates. The list keeps the latest {@link CHANGE_LIMIT} changes away
 * from the contact and the latest {@link CHANGE_LIMIT} changes to it, so the row stays the
 * same size however often a number changes (and `newWaId` always comes from the list).
 *
 * Identity (business-scoped user ids and usernames). A user can be known by a phone number
 * (wa_id), a BSUID (`userId`) and a username; a user who adopted a username may come with no
 * phone number at all. Every identifier gets its own row, keyed by the identifier itself
 * (`@name` for a username, so it never collides with a wa_id or a BSUID), with `idKind`
 * saying which it is (absent for a phone number). Rows link to each other:
 * - `aliases`: identifiers that one payload names for the same user at once (a message
 *   with both `from` and `from_user_id`, a `contacts[]` entry that carries both, a
 *   `user_id_update` naming the wa_id with the new BSUID). One entry per other identifier,
 *   with the earliest time it was seen; the {@link ALIAS_LIMIT} smallest identifiers kept.
 * - `userIdChanges`: a BSUID replaced by another (`system` `user_changed_user_id`, the
 *   previous and new ids of `user_changed_number`, `user_id_update`), kept like number changes.
 * No row lists what it was linked to by every message: the links are per identifier and per
 * change, so a row stays bounded however long the user writes. Following the links from any
 * one identifier gives the whole user and the merge history ({@link resolveIdentity}).
 */
import type { BluetickEvent, JsonValue } from '../events/types.js';
import { compact, compareJson, compareText, compareTime, factTime, upsertSorted } from './order.js';

/** Number changes of each direction (away from, to) a contact row keeps: the latest ones. */
export const CHANGE_LIMIT = 10;

/** Other identifiers a contact row lists as the same user: the smallest ones. */
export const ALIAS_LIMIT = 16;

/** What a contact row's key is: a phone number (wa_id), a business-scoped user id, or a username. */
export type IdentifierKind = 'phone' | 'userId' | 'username';

/** Which payload linked two identifiers. */
export type LinkVia = 'contacts' | 'user_changed_number' | 'user_changed_user_id' | 'user_id_update';

/** Another identifier of the same user. */
export interface ContactAlias {
  /** The other row's key (`@name` for a username). */
  key: string;
  kind: IdentifierKind;
  via: LinkVia;
  /** The earliest time a payload linked the two. */
  since: string;
  eventId: string;
}

/** A business-scoped user id replaced by another. */
export interface UserIdChange {
  from: string;
  to: string;
  via: LinkVia;
  at: string;
  eventId: string;
}

export interface ContactProfile {
  name: string;
  at: string;
  eventId: string;
}

export interface NumberChange {
  /** The wa_id the user left. */
  from: string;
  /** The wa_id the user moved to. */
  to: string;
  at: string;
  eventId: string;
}

export interface ContactRow {
  /**
   * The row's key: the wa_id; for a row of another identifier (see `idKind`) the BSUID, or
   * the username as `@name`.
   */
  waId: string;
  /** Absent for a phone number. */
  idKind?: 'userId' | 'username';
  profile?: ContactProfile;
  firstSeenAt: string;
  lastSeenAt: string;
  /** The wa_id this contact moved to (the latest change away from it). */
  newWaId?: string;
  /** The wa_ids that moved to this contact (in the kept changes), ascending. */
  previousWaIds?: string[];
  /** The latest {@link CHANGE_LIMIT} number changes away from and to this wa_id, by (time, event id). */
  numberChanges: NumberChange[];
  /** Other identifiers of the same user, by key ascending (at most {@link ALIAS_LIMIT}). */
  aliases?: ContactAlias[];
  /** The BSUID this identifier's user moved to (the latest change away from it). */
  newUserId?: string;
  /** The latest {@link CHANGE_LIMIT} BSUID changes away from and to this BSUID, by (time, event id). */
  userIdChanges?: UserIdChange[];
}

function member(value: JsonValue | undefined, key: string): JsonValue | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

function idText(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * The number change a `user_changed_number` system message announces, if `event` is one.
 *
 * @example
 * numberChangeOf(systemEvent) // { from: '15550001111', to: '15550002222', at, eventId }
 */
export function numberChangeOf(event: BluetickEvent): NumberChange | undefined {
  if (event.type !== 'message.received' || event.from === undefined) return undefined;
  const system = member(event.data, 'system');
  if (member(system, 'type') !== 'user_changed_number') return undefined;
  const to = idText(member(system, 'wa_id')) ?? idText(member(system, 'new_wa_id'));
  if (to === undefined || to === event.from) return undefined;
  return { from: event.from, to, at: factTime(event), eventId: event.id };
}

/** The contact key of a username: `@name`, so it never collides with a wa_id or a BSUID. */
export function usernameKey(username: string): string {
  return `@${username}`;
}

/** One identifier an event names, as a contact row key. */
interface Named {
  key: string;
  kind: IdentifierKind;
  /** Whether the event was sent by this identifier (its profile name applies). */
  sender: boolean;
}

/** What an event says about identities: the rows it touches and the links between them. */
interface IdentityFacts {
  named: Named[];
  aliases: Array<{ a: string; b: string; via: LinkVia }>;
  numberChange: NumberChange | undefined;
  userIdChanges: UserIdChange[];
}

/** Rows one event may touch at most (the store's positions leave room for this many). */
const NAMED_LIMIT = 6;

function systemOf(event: BluetickEvent): JsonValue | undefined {
  return event.type === 'message.received' && event.kind === 'system' ? member(event.data, 'system') : undefined;
}

/** The identity facts of an event; `undefined` for events that say nothing about a user. */
function identityFactsOf(event: BluetickEvent): IdentityFacts | undefined {
  if (event.type !== 'message.received' && event.type !== 'message.reaction' && event.type !== 'user.identity') return undefined;
  const at = factTime(event);
  const named: Named[] = [];
  const add = (key: string | undefined, kind: IdentifierKind, sender: boolean): string | undefined => {
    if (key === undefined || key === '' || kind === 'username' && key === '@') return undefined;
    const seen = named.find((n) => n.key === key);
    if (seen) seen.sender ||= sender;
    else if (named.length < NAMED_LIMIT) named.push({ key, kind, sender });
    else return undefined;
    return key;
  };
  const facts: IdentityFacts = { named, aliases: [], numberChange: undefined, userIdChanges: [] };
  const alias = (a: string | undefined, b: string | undefined, via: LinkVia): void => {
    if (a !== undefined && b !== undefined && a !== b) facts.aliases.push({ a, b, via });
  };
  const idChange = (from: string | undefined, to: string | undefined, via: LinkVia): void => {
    if (from !== undefined && to !== undefined && from !== to) facts.userIdChanges.push({ from, to, via, at, eventId: event.id });
  };

  const system = systemOf(event);
  const systemType = member(system, 'type');
  if (systemType === 'user_changed_number' || systemType === 'user_changed_user_id') {
    // The message comes from the user's old identifiers; the system object names the new ones.
    const via: LinkVia = systemType;
    const from = add(event.from, 'phone', true);
    const previousUserId = add(idText(member(system, 'previous_user_id')) ?? (via === 'user_changed_user_id' ? event.userId : undefined), 'userId', false);
    const change = numberChangeOf(event);
    facts.numberChange = change;
    const newWaId = add(change?.to, 'phone', false);
    const newUserId = add(idText(member(system, 'user_id')) ?? idText(member(system, 'new_user_id')), 'userId', false);
    alias(from, previousUserId, via);
    alias(newWaId, newUserId, via);
    if (via === 'user_changed_user_id') alias(from, newUserId, via);
    idChange(previousUserId, newUserId, via);
    return facts;
  }
  if (event.type === 'user.identity') {
    const from = add(event.from, 'phone', true);
    const current = add(event.userId, 'userId', true);
    const username = add(event.username === undefined ? undefined : usernameKey(event.username), 'username', true);
    const previous = add(idText(member(member(event.data, 'user_id'), 'previous')), 'userId', false);
    alias(from, current, 'user_id_update');
    alias(username, current, 'user_id_update');
    idChange(previous, current, 'user_id_update');
    return facts;
  }
  const from = add(event.from, 'phone', true);
  const userId = add(event.userId, 'userId', true);
  const username = add(event.username === undefined ? undefined : usernameKey(event.username), 'username', true);
  alias(from, userId, 'contacts');
  alias(username, userId ?? from, 'contacts');
  return facts;
}

/**
 * The contact rows an event touches: its sender's identifiers (wa_id, BSUID, `@username`),
 * plus the new identifiers of a number or BSUID change.
 */
export function contactIdsOf(event: BluetickEvent): string[] {
  return identityFactsOf(event)?.named.map((n) => n.key) ?? [];
}

function compareChanges(a: NumberChange, b: NumberChange): number {
  return compareTime(a.at, b.at) || compareText(a.eventId, b.eventId);
}

/** Adds `change` to a change list and keeps the latest {@link CHANGE_LIMIT} per direction seen from `key`. */
function addChange<T extends NumberChange | UserIdChange>(list: readonly T[], change: T, key: string): readonly T[] {
  let next = upsertSorted(list, change, (c) => c.eventId, compareChanges);
  const away = change.from === key;
  const same = (c: T): boolean => (c.from === key) === away;
  if (next.filter(same).length > CHANGE_LIMIT) {
    const drop = next.findIndex(same);
    next = next.filter((_, i) => i !== drop);
  }
  return next;
}

function compareAlias(a: ContactAlias, b: ContactAlias): number {
  return compareText(a.key, b.key);
}

/** Adds an alias: one per other key, the earliest link kept, the smallest keys kept. */
function addAlias(list: readonly ContactAlias[], alias: ContactAlias): readonly ContactAlias[] {
  const index = list.findIndex((a) => a.key === alias.key);
  if (index >= 0) {
    const seen = list[index]!;
    const order = compareTime(alias.since, seen.since) || compareText(alias.eventId, seen.eventId) || compareJson(alias, seen);
    if (order >= 0) return list;
    return list.map((a, i) => (i === index ? alias : a));
  }
  const next = [...list, alias].sort(compareAlias);
  return next.length > ALIAS_LIMIT ? next.slice(0, ALIAS_LIMIT) : next;
}

/**
 * Applies one event to the row of contact `waId` (any identifier key). Returns `row` itself
 * when the event does not concern that contact.
 */
export function reduceContact(row: ContactRow | undefined, waId: string, event: BluetickEvent): ContactRow | undefined {
  const facts = identityFactsOf(event);
  const me = facts?.named.find((n) => n.key === waId);
  if (!facts || !me) return row;
  const at = factTime(event);

  const firstSeenAt = row && compareTime(row.firstSeenAt, at) <= 0 ? row.firstSeenAt : at;
  const lastSeenAt = row && compareTime(row.lastSeenAt, at) >= 0 ? row.lastSeenAt : at;

  let profile = row?.profile;
  const contactName = 'contactName' in event ? event.contactName : undefined;
  if (me.sender && contactName !== undefined && contactName !== '') {
    const candidate: ContactProfile = { name: contactName, at, eventId: event.id };
    const order = profile ? compareTime(candidate.at, profile.at) || compareText(candidate.eventId, profile.eventId) || compareJson(candidate, profile) : 1;
    if (order > 0) profile = candidate;
  }

  let numberChanges: readonly NumberChange[] = row?.numberChanges ?? [];
  const change = facts.numberChange;
  if (change && (change.from === waId || change.to === waId)) numberChanges = addChange(numberChanges, change, waId);

  let userIdChanges: readonly UserIdChange[] = row?.userIdChanges ?? [];
  for (const c of facts.userIdChanges) if (c.from === waId || c.to === waId) userIdChanges = addChange(userIdChanges, c, waId);

  let aliases: readonly ContactAlias[] = row?.aliases ?? [];
  for (const link of facts.aliases) {
    const other = link.a === waId ? link.b : link.b === waId ? link.a : undefined;
    const otherNamed = other === undefined ? undefined : facts.named.find((n) => n.key === other);
    if (otherNamed) aliases = addAlias(aliases, { key: otherNamed.key, kind: otherNamed.kind, via: link.via, since: at, eventId: event.id });
  }

  let newWaId: string | undefined;
  const previous = new Set<string>();
  for (const c of numberChanges) {
    if (c.from === waId) newWaId = c.to; // sorted by time: the last one wins
    if (c.to === waId) previous.add(c.from);
  }
  let newUserId: string | undefined;
  for (const c of userIdChanges) if (c.from === waId) newUserId = c.to;

  return compact({
    waId,
    idKind: me.kind === 'phone' ? undefined : me.kind,
    profile,
    firstSeenAt,
    lastSeenAt,
    newWaId,
    previousWaIds: previous.size > 0 ? [...previous].sort(compareText) : undefined,
    numberChanges: numberChanges.slice(),
    aliases: aliases.length > 0 ? aliases.slice() : undefined,
    newUserId,
    userIdChanges: userIdChanges.length > 0 ? userIdChanges.slice() : undefined,
  });
}

/** Contact rows {@link resolveIdentity} follows at most from one identifier. */
export const RESOLVE_LIMIT = 32;

/** One link in a user's identity history. */
export interface IdentityMerge {
  /** `alias`: both named the user at once; `number` / `userId`: `from` was replaced by `to`. */
  kind: 'alias' | 'number' | 'userId';
  from: string;
  to: string;
  via: LinkVia;
  at: string;
  eventId: string;
}

/** Everything known about one user, from any of their identifiers. */
export interface ResolvedIdentity {
  /** The row key the asked identifier was found under. */
  key: string;
  /** The identifiers of the user now: the latest wa_id, BSUID and username. */
  current: { waId?: string; userId?: string; username?: string };
  waIds: string[];
  userIds: string[];
  /** Usernames without the `@`. */
  usernames: string[];
  profile?: ContactProfile;
  firstSeenAt: string;
  lastSeenAt: string;
  /** Every link between the identifiers, by (time, event id). */
  merges: IdentityMerge[];
  /** The rows of every identifier, by key. */
  contacts: ContactRow[];
  /** Present when the user has more than {@link RESOLVE_LIMIT} identifier rows (the rest left out). */
  truncated?: true;
}

/** The row keys an identifier as a user types it may be stored under, most likely first. */
export function identifierKeys(id: string): string[] {
  const keys = [id];
  if (id.startsWith('+') && id.length > 1) keys.push(id.slice(1));
  if (!id.startsWith('@')) keys.push(usernameKey(id));
  return keys;
}

function kindOfRow(row: ContactRow): IdentifierKind {
  return row.idKind ?? 'phone';
}

function latestSeen(rows: readonly ContactRow[]): ContactRow | undefined {
  let best: ContactRow | undefined;
  for (const row of rows) {
    if (!best || (compareTime(row.lastSeenAt, best.lastSeenAt) || compareText(row.waId, best.waId)) > 0) best = row;
  }
  return best;
}

function compareMerges(a: IdentityMerge, b: IdentityMerge): number {
  return compareTime(a.at, b.at) || compareText(a.eventId, b.eventId) || compareText(a.from, b.from) || compareText(a.to, b.to);
}

/**
 * Finds the user an identifier (a wa_id, a BSUID, a username with or without `@`) belongs to
 * and follows the links to every other identifier of theirs, reading at most
 * {@link RESOLVE_LIMIT} rows through `get`. `undefined` when no row has that identifier.
 *
 * @example
 * const user = await resolveIdentity('US.13491208655302741918', (key) => store.projections.getContact(key));
 * user?.current.waId; // the phone number the user has now, when one is known
 */
export async function resolveIdentity(
  id: string,
  get: (key: string) => Promise<ContactRow | undefined> | ContactRow | undefined,
): Promise<ResolvedIdentity | undefined> {
  let start: ContactRow | undefined;
  for (const key of identifierKeys(id)) {
    start = await get(key);
    if (start) break;
  }
  if (!start) return undefined;
  const rows = new Map<string, ContactRow>([[start.waId, start]]);
  const queue: string[] = [];
  let truncated = false;
  const follow = (row: ContactRow): void => {
    const next = [
      ...(row.aliases ?? []).map((a) => a.key),
      ...row.numberChanges.flatMap((c) => [c.from, c.to]),
      ...(row.userIdChanges ?? []).flatMap((c) => [c.from, c.to]),
    ];
    for (const key of next) if (!rows.has(key) && !queue.includes(key)) queue.push(key);
  };
  follow(start);
  while (queue.length > 0) {
    if (rows.size >= RESOLVE_LIMIT) {
      truncated = true;
      break;
    }
    const key = queue.shift()!;
    const row = await get(key);
    if (!row) continue;
    rows.set(key, row);
    follow(row);
  }

  const contacts = [...rows.values()].sort((a, b) => compareText(a.waId, b.waId));
  const byKind = (kind: IdentifierKind) => contacts.filter((r) => kindOfRow(r) === kind);
  const merges = new Map<string, IdentityMerge>();
  const addMerge = (m: IdentityMerge, pairKey: string): void => {
    const seen = merges.get(pairKey);
    if (!seen || compareMerges(m, seen) < 0) merges.set(pairKey, m);
  };
  for (const row of contacts) {
    for (const a of row.aliases ?? []) {
      const [from, to] = compareText(row.waId, a.key) < 0 ? [row.waId, a.key] : [a.key, row.waId];
      addMerge({ kind: 'alias', from, to, via: a.via, at: a.since, eventId: a.eventId }, `alias:${from}:${to}`);
    }
    for (const c of row.numberChanges) addMerge({ kind: 'number', from: c.from, to: c.to, via: 'user_changed_number', at: c.at, eventId: c.eventId }, `number:${c.eventId}`);
    for (const c of row.userIdChanges ?? []) addMerge({ kind: 'userId', from: c.from, to: c.to, via: c.via, at: c.at, eventId: c.eventId }, `userId:${c.eventId}:${c.from}`);
  }

  const phones = byKind('phone');
  const userIds = byKind('userId');
  const usernames = byKind('username');
  let profile: ContactProfile | undefined;
  for (const row of contacts) {
    const p = row.profile;
    if (p && (!profile || (compareTime(p.at, profile.at) || compareText(p.eventId, profile.eventId)) > 0)) profile = p;
  }
  const current = compact({
    waId: latestSeen(phones.filter((r) => r.newWaId === undefined || !rows.has(r.newWaId)))?.waId ?? latestSeen(phones)?.waId,
    userId: latestSeen(userIds.filter((r) => r.newUserId === undefined || !rows.has(r.newUserId)))?.waId ?? latestSeen(userIds)?.waId,
    username: latestSeen(usernames)?.waId.slice(1),
  });
  let firstSeenAt = start.firstSeenAt;
  let lastSeenAt = start.lastSeenAt;
  for (const row of contacts) {
    if (compareTime(row.firstSeenAt, firstSeenAt) < 0) firstSeenAt = row.firstSeenAt;
    if (compareTime(row.lastSeenAt, lastSeenAt) > 0) lastSeenAt = row.lastSeenAt;
  }
  return compact({
    key: start.waId,
    current,
    waIds: phones.map((r) => r.waId),
    userIds: userIds.map((r) => r.waId),
    usernames: usernames.map((r) => r.waId.slice(1)),
    profile,
    firstSeenAt,
    lastSeenAt,
    merges: [...merges.values()].sort(compareMerges),
    contacts,
    truncated: truncated ? (true as const) : undefined,
  });
}
