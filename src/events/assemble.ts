/**
 * @module events/assemble
 *
 * Assembling events: every event's keys in one fixed order (the contract table's), absent
 * keys left out; `null` items and `unknown` events. Pure.
 */
import { isObject } from './json.js';
import { isoFromUnixSeconds } from './time.js';
import type { BluetickEvent, EventBase, EventType, JsonObject, JsonValue, MessageKeys, PhoneQualityEvent, StatusKeys, UserKeys } from './types.js';
import { type Scope, scopedId, Anchor } from './scope.js';

type EventFields = Partial<
  Omit<EventBase, 'type'> &
    Omit<MessageKeys, 'type'> &
    StatusKeys &
    UserKeys & {
      emoji: string;
      status: string;
      recipientId: string;
      templateId: string;
      templateName: string;
      language: string;
      reason: string;
      currentLimit: PhoneQualityEvent['currentLimit'];
      oldLimit: PhoneQualityEvent['oldLimit'];
    }
>;

const KEY_ORDER = [
  'id',
  'provider',
  'channel',
  'businessAccountId',
  'phoneNumberId',
  'displayPhoneNumber',
  'field',
  'messageId',
  'from',
  'to',
  'userId',
  'username',
  'contactName',
  'kind',
  'text',
  'latitude',
  'longitude',
  'replyId',
  'contextMessageId',
  'emoji',
  'targetMessageId',
  'status',
  'recipientId',
  'errorCodes',
  'pricingModel',
  'pricingCategory',
  'pricingType',
  'billable',
  'conversationId',
  'conversationOrigin',
  'conversationExpiresAt',
  'bizOpaqueCallbackData',
  'ctwaClid',
  'referralSourceId',
  'referralSourceType',
  'flowToken',
  'templateId',
  'templateName',
  'language',
  'reason',
  'currentLimit',
  'oldLimit',
  'occurredAt',
  'receivedAt',
  'data',
] as const satisfies ReadonlyArray<keyof EventFields>;

// Compile-time check that KEY_ORDER names every key an event can have.
type MissingFromKeyOrder = Exclude<keyof EventFields, (typeof KEY_ORDER)[number]>;
const keyOrderIsComplete: MissingFromKeyOrder extends never ? true : never = true;
void keyOrderIsComplete;

/** Keys that come from where the item sat rather than from the item. */
const SCOPE_KEY_LIST = ['provider', 'channel', 'businessAccountId', 'phoneNumberId', 'displayPhoneNumber', 'field', 'receivedAt'] as const;
const SCOPE_KEYS: ReadonlySet<string> = new Set(SCOPE_KEY_LIST);

/** The keys an item contributes itself (`displayPhoneNumber` too, where a value names its number). */
export type ItemFields = Omit<EventFields, Exclude<(typeof SCOPE_KEY_LIST)[number], 'displayPhoneNumber'>>;

/**
 * One event: `fields` holds the item's own keys, `scope` the shared ones; keys come
 * out in KEY_ORDER and absent (`undefined`/`null`) ones are left out. An item's own
 * `displayPhoneNumber` (management fields name the number in their value) wins over
 * the scope's.
 */
export function assemble(type: EventType, scope: Scope, fields: ItemFields): BluetickEvent {
  const own = fields as Record<string, unknown>;
  const event: Record<string, unknown> = { id: own.id, type };
  for (let i = 1; i < KEY_ORDER.length; i++) {
    const key = KEY_ORDER[i] as string;
    let value: unknown;
    if (key === 'displayPhoneNumber') value = own.displayPhoneNumber ?? scope.displayPhoneNumber;
    else value = FROM_SCOPE[i] ? scope[key as keyof Scope] : own[key];
    if (value !== undefined && value !== null) event[key] = value;
  }
  return event as unknown as BluetickEvent;
}

/** Per position of KEY_ORDER: whether the key comes from the scope (looked up once, not per event). */
const FROM_SCOPE: readonly boolean[] = KEY_ORDER.map((key) => SCOPE_KEYS.has(key));

/**
 * `data` of an item that is `null` (the contract never has `data: null`): where it
 * sat, and what it was.
 */
export function nullItem(index: number): JsonObject {
  return { index, item: null };
}

/**
 * An `unknown` event. `anchor` ties items that carry no identity of their own (a stray
 * `5` in `messages[]`) to the container they came in.
 */
export function unknownEvent(scope: Scope, kind: string, data: JsonValue, anchor?: Anchor): BluetickEvent {
  return assemble('unknown', scope, {
    id: scopedId(scope, ['unknown', kind, scope.providerFromConfig ? null : scope.provider, scope.businessAccountId, scope.entryTime, data, anchor?.digest]),
    kind,
    occurredAt: isObject(data) ? isoFromUnixSeconds(data.timestamp) : undefined,
    data,
  });
}
