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
 *   without identity of their own, the body they came in.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './json.js';
import type { JsonValue } from './types.js';

export const EVENT_ID_PREFIX = 'evt_';

/** `evt_<64 hex>` from the key parts. `undefined` parts count as `null`. */
export function eventId(parts: ReadonlyArray<JsonValue | undefined>): string {
  return EVENT_ID_PREFIX + hash('sha256', canonicalJson(parts as JsonValue[]), 'hex');
}
