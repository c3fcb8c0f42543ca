/**
 * @module store/erasure
 *
 * Erasing one person (`bluetick erase`, `DELETE /api/contacts/{id}`): the rules both store
 * backends share. Which identifiers name the person, which events are theirs, how a JSON
 * body that also holds other people loses only the person's items, and the keyed hash
 * (tombstone) that lets the pipeline drop a redelivered old notification about them
 * without the store keeping their number.
 *
 * Policy: the person's own events (they sent it, it was sent to them, it is about their
 * status, consent or identity) are deleted with their deliveries and dead letters; any
 * other event or journal body that mentions them keeps its ids and types but loses the
 * person's items, and every remaining string equal to one of their identifiers becomes
 * `[erased]`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { BluetickEvent, JsonValue } from '../events/types.js';
import { resolveIdentity, type ContactRow } from '../projections/index.js';
import { parseJsonText, stringifyJson } from '../events/json.js';

/** What a redacted string becomes. */
export const ERASED = '[erased]';

/** Keys that name a user inside a provider's item (Meta, EnableX). */
const USER_KEYS = ['wa_id', 'from', 'recipient_id', 'user_id', 'from_user_id', 'recipient_user_id', 'to', 'username', 'phone'];

/** Counts per table of what an erasure removed or rewrote. */
export interface ErasureReceipt {
  /** Every identifier erased (as given and as linked). */
  identifiers: string[];
  /** Rows deleted (`deleted`) or rewritten in place (`redacted`), per table. */
  tables: Record<string, { deleted: number; redacted: number }>;
  /** Tombstones written (one per identifier form not yet tombstoned). */
  tombstones: number;
  /** False when the WAL could not be emptied right away (a reader held it); it empties at the next checkpoint. */
  walTruncated: boolean;
}

/** A fresh erasure key: 32 random bytes, hex. */
export function newErasureKey(): string {
  return randomBytes(32).toString('hex');
}

/** The forms an identifier is stored under: phones with and without `+`, usernames with `@`. */
export function identifierForms(id: string): string[] {
  const trimmed = id.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('@')) return [trimmed, trimmed.slice(1)];
  if (trimmed.startsWith('+')) return [trimmed.slice(1), trimmed];
  return [trimmed];
}

/** Every stored form of the given identifiers, without duplicates. */
export function allForms(ids: readonly string[]): string[] {
  return [...new Set(ids.flatMap(identifierForms))];
}

/** The tombstone of one identifier: HMAC-SHA256 under the store's erasure key, hex. */
export function tombstoneOf(key: string, id: string): string {
  const canonical = id.startsWith('+') ? id.slice(1) : id;
  return createHmac('sha256', Buffer.from(key, 'hex')).update(canonical).digest('hex');
}

/** The identifiers of the user an event is about (sender, recipient, BSUID, username). */
export function eventUserIds(event: BluetickEvent): string[] {
  const e = event as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ['from', 'to', 'recipientId', 'userId', 'waId', 'contact']) {
    const v = e[k];
    if (typeof v === 'string' && v !== '') out.push(v);
  }
  if (typeof e.username === 'string' && e.username !== '') out.push(`@${e.username}`, e.username);
  if (event.type === 'message.echo' && typeof e.from === 'string') out.splice(out.indexOf(e.from), 1);
  return out;
}

/** True when `event` is the person's own (see the module comment). */
export function isPersonsEvent(event: BluetickEvent, isErased: (id: string) => boolean): boolean {
  return eventUserIds(event).some(isErased);
}

function itemIsPersons(item: { [key: string]: JsonValue }, isErased: (id: string) => boolean): boolean {
  for (const k of USER_KEYS) {
    const v = item[k];
    if (typeof v === 'string' && isErased(v)) return true;
  }
  return false;
}

/**
 * Drops every array item that names the person under a user key and turns every other
 * string equal to one of their identifiers into {@link ERASED}. `changed` counts both.
 */
export function redactValue(value: JsonValue, isErased: (id: string) => boolean): { value: JsonValue; changed: number } {
  let changed = 0;
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') {
      if (isErased(v)) {
        changed++;
        return ERASED;
      }
      return v;
    }
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      for (const item of v) {
        if (item !== null && typeof item === 'object' && !Array.isArray(item) && itemIsPersons(item, isErased)) {
          changed++;
          continue;
        }
        out.push(walk(item));
      }
      return out;
    }
    if (v !== null && typeof v === 'object') {
      const out: { [key: string]: JsonValue } = {};
      for (const [k, inner] of Object.entries(v)) out[k] = walk(inner);
      return out;
    }
    return v;
  };
  const result = walk(value);
  return { value: result, changed };
}

/** Redacts a JSON text; `undefined` when nothing in it named the person or it is not JSON. */
export function redactJsonText(text: string, isErased: (id: string) => boolean): string | undefined {
  let parsed: JsonValue;
  try {
    parsed = parseJsonText(text);
  } catch {
    return undefined;
  }
  const { value, changed } = redactValue(parsed, isErased);
  return changed > 0 ? stringifyJson(value) : undefined;
}

/** A matcher over the stored forms of the given identifiers. */
export function matcherOf(ids: readonly string[]): (id: string) => boolean {
  const set = new Set(allForms(ids));
  return (id) => set.has(id);
}

/** A matcher over tombstones: one HMAC and one Set lookup per identifier. */
export function tombstoneMatcher(key: string, tombstones: ReadonlySet<string>): (id: string) => boolean {
  return (id) => tombstones.has(tombstoneOf(key, id));
}

/** Adds `n` to a receipt's count for `table`. */
export function tally(receipt: ErasureReceipt, table: string, kind: 'deleted' | 'redacted', n: number): void {
  if (n === 0) return;
  const entry = (receipt.tables[table] ??= { deleted: 0, redacted: 0 });
  entry[kind] += n;
}

/** The store methods {@link erasePerson} needs. */
export interface ErasingStore {
  projections: { getContact(key: string): Promise<ContactRow | undefined> };
  eraseContact(ids: string[]): Promise<ErasureReceipt>;
}

/**
 * Erases the person an identifier (phone, BSUID, username) names: follows the identity links
 * to every identifier of theirs, then erases them all. An identifier no contact row knows
 * (its events were never projected) is erased as given.
 */
export async function erasePerson(store: ErasingStore, id: string): Promise<ErasureReceipt> {
  const identity = await resolveIdentity(id, (key) => store.projections.getContact(key));
  const ids = new Set<string>(identifierForms(id));
  if (identity) {
    for (const waId of identity.waIds) ids.add(waId);
    for (const userId of identity.userIds) ids.add(userId);
    for (const name of identity.usernames) ids.add(`@${name}`);
    for (const row of identity.contacts) ids.add(row.waId);
  }
  return store.eraseContact([...ids]);
}
