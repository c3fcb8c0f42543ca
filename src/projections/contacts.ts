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
 */
import type { BluetickEvent, JsonValue } from '../events/types.js';
import { compact, compareJson, compareText, compareTime, factTime, upsertSorted } from './order.js';

/** Number changes of each direction (away from, to) a contact row keeps: the latest ones. */
export const CHANGE_LIMIT = 10;

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
  waId: string;
  profile?: ContactProfile;
  firstSeenAt: string;
  lastSeenAt: string;
  /** The wa_id this contact moved to (the latest change away from it). */
  newWaId?: string;
  /** The wa_ids that moved to this contact (in the kept changes), ascending. */
  previousWaIds?: string[];
  /** The latest {@link CHANGE_LIMIT} number changes away from and to this wa_id, by (time, event id). */
  numberChanges: NumberChange[];
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

/** The contact rows an event touches: its sender, plus the new wa_id of a number change. */
export function contactIdsOf(event: BluetickEvent): string[] {
  if (event.type !== 'message.received' && event.type !== 'message.reaction') return [];
  if (event.from === undefined) return [];
  const change = numberChangeOf(event);
  return change ? [event.from, change.to] : [event.from];
}

function compareChanges(a: NumberChange, b: NumberChange): number {
  return compareTime(a.at, b.at) || compareText(a.eventId, b.eventId);
}

/**
 * Applies one event to the row of contact `waId`. Returns `row` itself when the event does
 * not concern that contact.
 */
export function reduceContact(row: ContactRow | undefined, waId: string, event: BluetickEvent): ContactRow | undefined {
  if (!contactIdsOf(event).includes(waId)) return row;
  if (event.type !== 'message.received' && event.type !== 'message.reaction') return row;
  const at = factTime(event);

  const firstSeenAt = row && compareTime(row.firstSeenAt, at) <= 0 ? row.firstSeenAt : at;
  const lastSeenAt = row && compareTime(row.lastSeenAt, at) >= 0 ? row.lastSeenAt : at;

  let profile = row?.profile;
  if (event.from === waId && event.contactName !== undefined && event.contactName !== '') {
    const candidate: ContactProfile = { name: event.contactName, at, eventId: event.id };
    const order = profile ? compareTime(candidate.at, profile.at) || compareText(candidate.eventId, profile.eventId) || compareJson(candidate, profile) : 1;
    if (order > 0) profile = candidate;
  }

  let numberChanges: readonly NumberChange[] = row?.numberChanges ?? [];
  const change = numberChangeOf(event);
  if (change) {
    numberChanges = upsertSorted(numberChanges, change, (c) => c.eventId, compareChanges);
    const away = change.from === waId;
    const same = (c: NumberChange): boolean => (c.from === waId) === away;
    if (numberChanges.filter(same).length > CHANGE_LIMIT) {
      const drop = numberChanges.findIndex(same);
      numberChanges = numberChanges.filter((_, i) => i !== drop);
    }
  }

  let newWaId: string | undefined;
  const previous = new Set<string>();
  for (const c of numberChanges) {
    if (c.from === waId) newWaId = c.to; // sorted by time: the last one wins
    if (c.to === waId) previous.add(c.from);
  }

  return compact({
    waId,
    profile,
    firstSeenAt,
    lastSeenAt,
    newWaId,
    previousWaIds: previous.size > 0 ? [...previous].sort(compareText) : undefined,
    numberChanges: numberChanges.slice(),
  });
}
