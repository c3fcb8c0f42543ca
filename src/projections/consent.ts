/**
 * @module projections/consent
 *
 * What each user told the business about each kind of message: one row per (business
 * account, user, category) from `user.preferences` events (Meta `user_preferences`:
 * `value` `stop` or `resume`, `category` such as `marketing_messages`).
 *
 * - Key: `<businessAccountId>:<user>:<category>`, the user being the wa_id (`from`), else the
 *   business-scoped user id (`userId`). An event with neither user nor category touches no row.
 *   A business account missing from the event (a relay that drops `entry.id`) leaves the
 *   first part empty.
 * - The state is the latest choice by the user's own time (`occurredAt`, then event id):
 *   a `stop` that arrives after a later `resume` does not opt the user out again.
 * - `history` keeps the latest {@link CHANGE_LIMIT} choices; the events table keeps every one.
 */
import type { BluetickEvent, UserPreferencesEvent } from '../events/types.js';
import { addChange, changeOf, factOf, laterFact, type Change, type Fact } from './facts.js';
import { compact } from './order.js';

/** The value Meta sends when a user opts out of a category. */
export const CONSENT_STOP = 'stop';

/** One choice as the history keeps it. */
export interface ConsentChange extends Change {
  userId?: string;
  phoneNumberId?: string;
}

export interface ConsentRow {
  key: string;
  businessAccountId?: string;
  /** The user: wa_id, else the business-scoped user id. */
  contact: string;
  waId?: string;
  /** The user's business-scoped user id, from the latest kept choice that carried one. */
  userId?: string;
  /** The category as sent (`marketing_messages`). */
  category: string;
  /** The latest choice as sent (`stop`, `resume`). */
  state: string;
  /** `true` while the latest choice is `stop`. */
  optedOut: boolean;
  /** When the user made the latest choice. */
  changedAt: string;
  /** The detail Meta gave with the latest choice. */
  reason?: string;
  eventId: string;
  /** The business number of the latest kept choice that named one. */
  phoneNumberId?: string;
  /** The latest choices, by (time, event id). */
  history: ConsentChange[];
}

function isPreferences(event: BluetickEvent): event is UserPreferencesEvent {
  return event.type === 'user.preferences';
}

function userOf(event: UserPreferencesEvent): string | undefined {
  if (event.from !== undefined && event.from !== '') return event.from;
  return event.userId !== undefined && event.userId !== '' ? event.userId : undefined;
}

/** Builds a consent key. */
export function consentKey(businessAccountId: string | undefined, contact: string, category: string): string {
  return `${businessAccountId ?? ''}:${contact}:${category}`;
}

/** The consent row an event belongs to, if any. */
export function consentKeyOf(event: BluetickEvent): string | undefined {
  if (!isPreferences(event)) return undefined;
  const contact = userOf(event);
  if (contact === undefined || event.kind === undefined || event.kind === '' || event.status === undefined || event.status === '') return undefined;
  return consentKey(event.businessAccountId, contact, event.kind);
}

function lastWith<K extends 'userId' | 'phoneNumberId'>(history: readonly ConsentChange[], key: K): string | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const value = history[i]![key];
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Applies one event to one consent row. Returns `row` itself when the event does not
 * concern it or changes nothing (a duplicate, or a choice older than every kept one).
 */
export function reduceConsent(row: ConsentRow | undefined, event: BluetickEvent): ConsentRow | undefined {
  const key = consentKeyOf(event);
  if (key === undefined || !isPreferences(event) || (row !== undefined && row.key !== key)) return row;
  const choice = factOf(event, event.status, { reason: event.reason }) as Fact;
  const current: Fact | undefined = row
    ? compact({ value: row.state, at: row.changedAt, eventId: row.eventId, reason: row.reason })
    : undefined;
  const latest = laterFact(current, choice) as Fact;
  const before = row?.history ?? [];
  const change: ConsentChange = compact({
    ...changeOf(event, { status: event.status, reason: event.reason }),
    userId: event.userId !== '' ? event.userId : undefined,
    phoneNumberId: event.phoneNumberId,
  });
  const history = addChange(before, change);
  if (row && history === before && latest === current) return row;
  return compact({
    key,
    businessAccountId: event.businessAccountId,
    contact: userOf(event) as string,
    waId: event.from !== '' ? event.from : undefined,
    userId: lastWith(history, 'userId'),
    category: event.kind as string,
    state: latest.value,
    optedOut: latest.value === CONSENT_STOP,
    changedAt: latest.at,
    reason: latest.reason,
    eventId: latest.eventId,
    phoneNumberId: lastWith(history, 'phoneNumberId'),
    history: history.slice(),
  });
}
