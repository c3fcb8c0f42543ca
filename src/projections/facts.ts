/**
 * @module projections/facts
 *
 * The building blocks of the account-state rows (consent, phone numbers, business accounts,
 * Flows): a {@link Fact} is one value with the time and event it came from, merged by
 * "keep the later one" under the total order (time, event id); a change history is a
 * sorted set of the latest {@link CHANGE_LIMIT} changes. Both merges are commutative and
 * idempotent, so rows built from them do not depend on arrival order or duplicates, and a
 * row never grows with the number of events applied.
 *
 * @internal Shared by the projection modules; not part of the public API.
 */
import type { BluetickEvent, JsonValue } from '../events/types.js';
import { compact, compareJson, compareText, compareTime, factTime, upsertSorted } from './order.js';

/** Changes an account-state row keeps in its history: the latest ones. */
export const CHANGE_LIMIT = 20;

/** One value as a row keeps it: what, when, and from which event. */
export interface Fact {
  /** The value as sent (`APPROVED`, `FLAGGED`, `stop`, ...). */
  value: string;
  at: string;
  eventId: string;
  /** A second value that goes with it (the old status, the requested name, the metric). */
  detail?: string;
  reason?: string;
}

/** One change in a row's history. */
export interface Change {
  eventId: string;
  type: BluetickEvent['type'];
  at: string;
  /** The event's `kind` (alert type, Flow event, ...), when it has one. */
  kind?: string;
  status?: string;
  detail?: string;
  reason?: string;
}

/** The fact an event states, or `undefined` when it has no value. */
export function factOf(event: BluetickEvent, value: string | undefined, extra: { detail?: string | undefined; reason?: string | undefined } = {}): Fact | undefined {
  if (value === undefined || value === '') return undefined;
  return compact({ value, at: factTime(event), eventId: event.id, detail: extra.detail, reason: extra.reason });
}

/** The later of two facts by (time, event id); `current` itself when the candidate is not later. */
export function laterFact(current: Fact | undefined, candidate: Fact | undefined): Fact | undefined {
  if (candidate === undefined) return current;
  if (current === undefined) return candidate;
  const order = compareTime(candidate.at, current.at) || compareText(candidate.eventId, current.eventId) || compareJson(candidate, current);
  return order > 0 ? candidate : current;
}

function compareChanges(a: Change, b: Change): number {
  return compareTime(a.at, b.at) || compareText(a.eventId, b.eventId);
}

/**
 * Adds a change to a history sorted by (time, event id) and keeps the latest
 * {@link CHANGE_LIMIT}. Returns `history` itself when nothing changes.
 */
export function addChange<C extends Change>(history: readonly C[], change: C): readonly C[] {
  const after = upsertSorted(history, change, (c) => c.eventId, compareChanges);
  if (after.length <= CHANGE_LIMIT) return after;
  const kept = after.slice(after.length - CHANGE_LIMIT);
  return kept.length === history.length && kept.every((c, i) => c === history[i]) ? history : kept;
}

/** The history entry of an event. */
export function changeOf(event: BluetickEvent, fields: { kind?: string | undefined; status?: string | undefined; detail?: string | undefined; reason?: string | undefined }): Change {
  return compact({ eventId: event.id, type: event.type, at: factTime(event), kind: fields.kind, status: fields.status, detail: fields.detail, reason: fields.reason });
}

/**
 * Merges a fact into a map of facts by name (alert type, Flow metric), keeping the later
 * fact per name and at most `limit` names: those with the latest facts. Returns `facts`
 * itself when nothing changes. Dropping the oldest is order-independent: the cut-off only
 * moves forward, so a fact older than one already dropped is dropped too.
 */
export function mergeNamed(facts: Readonly<Record<string, Fact>>, name: string, fact: Fact, limit = CHANGE_LIMIT): Readonly<Record<string, Fact>> {
  const current = Object.hasOwn(facts, name) ? facts[name] : undefined;
  const next = laterFact(current, fact);
  if (next === current) return facts;
  const merged: Record<string, Fact> = { ...facts, [name]: next as Fact };
  let names = Object.keys(merged);
  if (names.length > limit) {
    names.sort((a, b) => compareTime(merged[a]!.at, merged[b]!.at) || compareText(merged[a]!.eventId, merged[b]!.eventId));
    names = names.slice(names.length - limit);
    if (!names.includes(name)) return facts;
  }
  // Sorted by name: the same bytes whatever the arrival order.
  const out: Record<string, Fact> = {};
  for (const n of names.sort(compareText)) out[n] = merged[n]!;
  return out;
}

/** A member of a JSON object, if `value` is one. */
export function member(value: JsonValue | undefined, key: string): JsonValue | undefined {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

/** A scalar as text (numbers and big integers as their digits); `undefined` for anything else or `""`. */
export function scalarText(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}
