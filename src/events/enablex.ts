/**
 * @module events/enablex
 *
 * EnableX flat body -> events.
 *
 * EnableX posts `{"messages":[...],"contacts":[...],"business_phone":"..."}` for
 * inbound messages and `{"statuses":[...],"business_phone":"..."}` for delivery and
 * template notifications. The items are read as Meta's objects of the same type
 * (shared mappers in meta-cloud.ts); EnableX documents them only in part, and the
 * item is always kept whole in `data`.
 *
 * - There is no business account id or phone number id: `business_phone` maps to
 *   `displayPhoneNumber` and nothing else.
 * - A `statuses[]` item carrying `template_id` or `template_name` is a template
 *   notification: `template.status` with `status` from its `status` (or `event`)
 *   key, `reason` from `reason`, `language` from `template_language`, and
 *   `occurredAt` from its own `timestamp` when it has one.
 * - Top-level `errors[]` (the On-Premise habit) become one `account.error` event.
 * - A body with no item at all (empty lists) yields no event.
 */
import { idOf } from './json.js';
import { placeScope, readItems, type Scope } from './meta-cloud.js';
import type { BluetickEvent, JsonObject } from './types.js';

/** Whether a body (that is not a Meta envelope) has the EnableX flat shape. */
export function isEnablexBody(payload: JsonObject): boolean {
  return (
    Array.isArray(payload.messages) ||
    Array.isArray(payload.statuses) ||
    typeof payload.business_phone === 'string' ||
    typeof payload.business_phone === 'number'
  );
}

export function normalizeEnablexBody(payload: JsonObject, base: Scope, out: BluetickEvent[]): void {
  const scope = placeScope(base, { displayPhoneNumber: idOf(payload.business_phone) });
  readItems(scope, payload, out, { templateItems: true, role: 'inbound' });
}
