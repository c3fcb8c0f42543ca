/**
 * @module api/mask
 *
 * Message text hidden from viewers whose token says so (`maskText`): every string under a
 * key that carries what people wrote (`text`, `body`, `caption`, ...) is replaced by
 * {@link MASK}, at any depth, so the provider's own payload under `data` is covered too.
 * Ids, numbers, names, statuses and times stay, which is what a viewer watching delivery
 * needs. Pure: JSON in, JSON out.
 */
import type { JsonValue } from '../events/types.js';

export const MASK = '•••';

/** Keys whose string values are message content in bluetick's answers and in provider payloads. */
const TEXT_KEYS = new Set(['text', 'body', 'caption', 'title', 'description', 'snippet', 'formatted_name', 'address', 'name_text', 'response_json', 'note']);

/** A copy of `value` with message text replaced by {@link MASK}. */
export function maskText(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(maskText);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = TEXT_KEYS.has(key) && typeof v === 'string' ? MASK : maskText(v);
  }
  return out;
}
