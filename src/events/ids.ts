/**
 * @module events/ids
 *
 * Deterministic event ids: `evt_` + the hex SHA-256 of a canonical key.
 *
 * The key is built only from what the provider sent about the item (never the
 * channel or the receive time), so a redelivered POST gives the same ids and the
 * store drops the copies. Parts are joined as canonical JSON of an array, so no two
 * different part lists can produce the same key text.
 *
 * Key recipes (see the callers in meta-cloud.ts):
 * - message / reaction: `msg`, provider, message id; without an id, the item itself
 *   and where it was found.
 * - status: `status`, provider, message id, status, time, recipient, error codes.
 * - template.*: event type, provider, business account, entry time, and the whole
 *   value (so an impending and a completed category change, or two pauses with
 *   different details, never collapse into one).
 * - unknown: kind, provider, business account, entry time, the data, and for items
 *   without identity of their own, the digest of the list or body they came in
 *   (hashed once per container, so a body of many malformed items costs linear time).
 * - change-level events of the management fields (`account.update`, `phone.quality`,
 *   ...): the recipe they had as `unknown` events (kind = the field), so a body
 *   received before and after the field was typed gives the same id.
 * - items of the other fields' lists (`user.preferences`, `call.status`, ...): type,
 *   provider, business account, phone number id, entry time and the item.
 * - echoes and standby copies: `echo` / `standby`, provider, message id (a standby copy
 *   and the later inbound message never share an id).
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './json.js';
import type { JsonValue } from './types.js';

export const EVENT_ID_PREFIX = 'evt_';

/**
 * Counts the text the normalizer hashes. Tests pass one in to prove that the work
 * grows linearly with the body, whatever the body holds.
 */
export interface HashMeter {
  /** Characters of canonical key text hashed. */
  chars: number;
  /** Hash computations. */
  calls: number;
}

function hashText(text: string, meter: HashMeter | undefined): string {
  if (meter !== undefined) {
    meter.chars += text.length;
    meter.calls += 1;
  }
  return hash('sha256', text, 'hex');
}

/** `evt_<64 hex>` from the key parts. `undefined` parts count as `null`. */
export function eventId(parts: ReadonlyArray<JsonValue | undefined>, meter?: HashMeter): string {
  return EVENT_ID_PREFIX + hashText(canonicalJson(parts as JsonValue[]), meter);
}

/** The hex SHA-256 of a value's canonical form: a short stand-in for a large container in id keys. */
export function digestOf(value: JsonValue, meter?: HashMeter): string {
  return hashText(canonicalJson(value), meter);
}
