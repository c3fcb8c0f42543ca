/**
 * @module events/meta-cloud
 *
 * The item mappers both body shapes share: messages, statuses, contacts, templates, and
 * the messages container (meta-envelope.ts reads Meta's envelope and its fields).
 *
 * EnableX posts the same message, status and contact objects that Meta does (its
 * body is the old On-Premise shape: the lists sit at the top level instead of in
 * `entry[].changes[].value`), so the per-item mapping lives here and
 * `enablex.ts` calls it with its own scope.
 *
 * Decisions on questions the provider documents leave open:
 * - `contactName`: the `contacts[]` entry whose `wa_id` equals the sender's `from`;
 *   failing that, the one whose `user_id` equals the message's `from_user_id`
 *   (users who hide their number). Meta warns that `from` and `wa_id` do not always
 *   match (country prefix rewrites), so when the list holds exactly one contact and
 *   that contact matches no message of the list, it is taken to be the sender.
 * - `from` is only ever the sender's wa_id; a sender known only by a business-scoped
 *   user id has no `from`, and that id is `userId`.
 * - `text`: text body; media caption (any type whose object has a string `caption`);
 *   button label; interactive reply title (`nfm_reply`: its body); an order's note;
 *   for `edit`, the text of the edited message it carries; a location's name and
 *   address; a shared contact card's names (both joined with ", "). Nothing else.
 * - `userId` is the message's `from_user_id` (a status's `recipient_user_id`), else the
 *   `user_id` of the matching contact; `username` comes from that contact's profile.
 * - Value-level `errors[]` (not attached to a message or status) become one
 *   `account.error` event whose `data` is that array, after the value's messages and
 *   statuses. Items with their own `errors[]` (messages too) carry `errorCodes`.
 * - Linear in the body: each container is hashed at most once (items without identity
 *   of their own are tied to its digest), and contacts are looked up by key.
 * - Template reasons are kept as sent whenever they are a string (`NONE` included)
 *   and omitted when `null`.
 * - A quality payload that arrives under `message_template_status_update` (it has
 *   `new_quality_score` and no `event`) is a `template.quality` event.
 * - `unknown` events take `occurredAt` only from a `timestamp` of their own data,
 *   never from `entry.time`. A `null` item's `data` is `{"index": i, "item": null}`.
 * - Two identical items in one POST get the same id; the store keeps one.
 */
import { digestOf, eventId, type HashMeter } from './ids.js';
import { idOf, isObject, own, textOf } from './json.js';
import { isoFromUnixSeconds } from './time.js';
import type { BluetickEvent, EventBase, EventType, JsonObject, JsonValue, MessageKeys, PhoneQualityEvent, Provider, StatusKeys, UserKeys } from './types.js';

/**
 * Where an item sits: the keys every event from that place shares. Always built by
 * {@link newScope} / {@link placeScope}, so every scope has one shape (object spreads
 * of these were a measurable share of the normalizer's time).
 */
export interface Scope {
  readonly provider: Provider;
  readonly channel: string;
  /** ISO form of the context's receive time. */
  readonly receivedAt: string;
  readonly businessAccountId: string | undefined;
  readonly phoneNumberId: string | undefined;
  readonly displayPhoneNumber: string | undefined;
  /** Meta: the change's `field`. */
  readonly field: string | undefined;
  /** `entry.time` as sent; the time of template events and part of some id keys. */
  readonly entryTime: JsonValue | undefined;
  /**
   * True when `provider` comes from the channel's configuration rather than from the
   * body's shape. It is then left out of ids, so ids depend on the bytes alone.
   */
  readonly providerFromConfig: boolean;
  /** Counts hashing work when the caller asks (tests). */
  readonly meter: HashMeter | undefined;
}

export function newScope(provider: Provider, channel: string, receivedAt: string, providerFromConfig = false, meter?: HashMeter): Scope {
  return {
    provider,
    channel,
    receivedAt,
    businessAccountId: undefined,
    phoneNumberId: undefined,
    displayPhoneNumber: undefined,
    field: undefined,
    entryTime: undefined,
    providerFromConfig,
    meter,
  };
}

/** `scope` with the place keys replaced where `place` names them. */
export function placeScope(
  scope: Scope,
  place: {
    businessAccountId?: string | undefined;
    phoneNumberId?: string | undefined;
    displayPhoneNumber?: string | undefined;
    field?: string | undefined;
    entryTime?: JsonValue | undefined;
  },
): Scope {
  return {
    provider: scope.provider,
    channel: scope.channel,
    receivedAt: scope.receivedAt,
    businessAccountId: 'businessAccountId' in place ? place.businessAccountId : scope.businessAccountId,
    phoneNumberId: 'phoneNumberId' in place ? place.phoneNumberId : scope.phoneNumberId,
    displayPhoneNumber: 'displayPhoneNumber' in place ? place.displayPhoneNumber : scope.displayPhoneNumber,
    field: 'field' in place ? place.field : scope.field,
    entryTime: 'entryTime' in place ? place.entryTime : scope.entryTime,
    providerFromConfig: scope.providerFromConfig,
    meter: scope.meter,
  };
}

/** The event id for key parts, counted on the scope's meter. */
export function scopedId(scope: Scope, parts: ReadonlyArray<JsonValue | undefined>): string {
  return eventId(parts, scope.meter);
}

/**
 * A container (a list, a value, the body) that items without identity of their own are
 * tied to in their ids. Its digest is computed once, on first use, so a body of many
 * malformed items is hashed once rather than once per item.
 */
export class Anchor {
  readonly #value: JsonValue;
  readonly #meter: HashMeter | undefined;
  #digest: string | undefined;

  constructor(value: JsonValue, meter: HashMeter | undefined) {
    this.#value = value;
    this.#meter = meter;
  }

  get digest(): string {
    this.#digest ??= digestOf(this.#value, this.#meter);
    return this.#digest;
  }
}

/**
 * `kind` of `unknown` events that are not a Meta change field. Stable strings: routes
 * and queries match on them.
 */
export const UNKNOWN_KIND = {
  /** A JSON object that is neither a Meta envelope nor an EnableX body. */
  unrecognizedBody: 'unrecognized body',
  malformedEntry: 'malformed entry',
  entryWithoutChanges: 'entry without changes',
  malformedChange: 'malformed change',
  changeWithoutField: 'change without field',
  malformedMessages: 'malformed messages',
  malformedMessage: 'malformed message',
  malformedStatuses: 'malformed statuses',
  malformedStatus: 'malformed status',
  /** A list of a typed field that is not a list (`state_sync: 5`). */
  malformedItems: 'malformed items',
  malformedItem: 'malformed item',
} as const;

// ---------------------------------------------------------------------------
// Assembling events: fixed key order (the contract table's), absent keys left out.

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

// ---------------------------------------------------------------------------
// Contacts -> sender names, usernames, BSUIDs.

interface Contact {
  waId: string | undefined;
  userId: string | undefined;
  name: string | undefined;
  username: string | undefined;
}

/** The `contacts[]` entry of a user, looked up by wa_id or BSUID in constant time. */
export interface Contacts {
  find(waId: string | undefined, userId: string | undefined): Contact | undefined;
}

const NO_CONTACTS: Contacts = { find: () => undefined };

function readContact(contact: JsonObject): Contact {
  return {
    waId: idOf(contact.wa_id),
    userId: idOf(contact.user_id),
    name: textOf(own(contact.profile, 'name')),
    username: textOf(own(contact.profile, 'username')) ?? textOf(contact.username),
  };
}

/**
 * @param users The items the contacts describe, with the keys that name their user:
 *   used once, to decide whether a lone contact that matches none of them is still the
 *   sender (Meta warns that `from` and `wa_id` do not always match).
 */
export function contactsOf(contacts: JsonValue | undefined, users: readonly JsonValue[], waIdKey = 'from', userIdKey = 'from_user_id'): Contacts {
  if (!Array.isArray(contacts) || contacts.length === 0) return NO_CONTACTS;
  const byWaId = new Map<string, Contact>();
  const byUserId = new Map<string, Contact>();
  let count = 0;
  let only: Contact | undefined;
  for (const entry of contacts) {
    if (!isObject(entry)) continue;
    const contact = readContact(entry);
    count += 1;
    only = contact;
    // The first entry with a name wins, as before; entries without one only fill gaps.
    if (contact.waId !== undefined && (!byWaId.has(contact.waId) || byWaId.get(contact.waId)?.name === undefined)) byWaId.set(contact.waId, contact);
    if (contact.userId !== undefined && (!byUserId.has(contact.userId) || byUserId.get(contact.userId)?.name === undefined)) byUserId.set(contact.userId, contact);
  }
  let single: Contact | undefined;
  if (count === 1 && only !== undefined) {
    const lone = only;
    const matchesAnItem = users.some(
      (m) =>
        isObject(m) &&
        ((lone.waId !== undefined && idOf(own(m, waIdKey)) === lone.waId) || (lone.userId !== undefined && idOf(own(m, userIdKey)) === lone.userId)),
    );
    if (!matchesAnItem) single = lone;
  }
  return {
    find(waId, userId) {
      if (waId !== undefined) {
        const found = byWaId.get(waId);
        if (found !== undefined && found.name !== undefined) return found;
      }
      if (userId !== undefined) {
        const found = byUserId.get(userId);
        if (found !== undefined && found.name !== undefined) return found;
      }
      if (single !== undefined) return single;
      return (waId !== undefined ? byWaId.get(waId) : undefined) ?? (userId !== undefined ? byUserId.get(userId) : undefined);
    },
  };
}

// ---------------------------------------------------------------------------
// Messages.

interface Content {
  text?: string | undefined;
  replyId?: string | undefined;
  latitude?: number | undefined;
  longitude?: number | undefined;
  flowToken?: string | undefined;
  targetMessageId?: string | undefined;
}

const NO_CONTENT: Content = {};

function numberOf(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** Non-empty strings joined by ", ", or `undefined` when there are none. */
function joined(parts: ReadonlyArray<string | undefined>): string | undefined {
  const present = parts.filter((p): p is string => p !== undefined && p !== '');
  return present.length > 0 ? present.join(', ') : undefined;
}

/** `flow_token` of a Flow reply's `response_json` (a JSON string). */
function flowTokenOf(responseJson: JsonValue | undefined): string | undefined {
  if (typeof responseJson !== 'string' || !responseJson.includes('flow_token')) return undefined;
  try {
    const parsed = JSON.parse(responseJson) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return idOf(own(parsed as JsonObject, 'flow_token'));
  } catch {
    return undefined;
  }
}

/** The flat content keys of a message of the given type (see the module notes). */
function readContent(type: string | undefined, message: JsonObject, nested: boolean): Content {
  switch (type) {
    case undefined:
      return NO_CONTENT;
    case 'text':
      return { text: textOf(own(message.text, 'body')) };
    case 'button':
      return { text: textOf(own(message.button, 'text')), replyId: idOf(own(message.button, 'payload')) };
    case 'interactive': {
      const replyType = own(message.interactive, 'type');
      const reply = own(message.interactive, replyType);
      if (!isObject(reply)) return NO_CONTENT;
      return {
        text: textOf(reply.title) ?? textOf(reply.body),
        replyId: idOf(reply.id),
        flowToken: replyType === 'nfm_reply' ? flowTokenOf(reply.response_json) : undefined,
      };
    }
    case 'order':
      return { text: textOf(own(message.order, 'text')) };
    case 'location': {
      const location = message.location;
      return {
        text: joined([textOf(own(location, 'name')), textOf(own(location, 'address'))]),
        latitude: numberOf(own(location, 'latitude')),
        longitude: numberOf(own(location, 'longitude')),
      };
    }
    case 'contacts': {
      const cards = message.contacts;
      if (!Array.isArray(cards)) return NO_CONTENT;
      return { text: joined(cards.map((card) => textOf(own(own(card, 'name'), 'formatted_name')))) };
    }
    case 'revoke':
      return { targetMessageId: idOf(own(message.revoke, 'original_message_id')) };
    case 'edit': {
      const targetMessageId = idOf(own(message.edit, 'original_message_id'));
      if (nested) return NO_CONTENT;
      const edited = own(message.edit, 'message');
      if (!isObject(edited)) return { targetMessageId };
      const editedType = textOf(edited.type) ?? (isObject(edited.text) ? 'text' : undefined);
      return { text: readContent(editedType, edited, true).text, targetMessageId };
    }
    default:
      return { text: textOf(own(own(message, type), 'caption')) };
  }
}

export function errorCodesOf(errors: JsonValue | undefined): number[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const codes: number[] = [];
  for (const error of errors) {
    const code = own(error, 'code');
    if (typeof code === 'number' && Number.isFinite(code)) codes.push(code);
    else if (typeof code === 'string' && /^\d{1,15}$/.test(code)) codes.push(Number(code));
  }
  return codes.length > 0 ? codes : undefined;
}

/** `kind` of a message whose `type` is missing or not a string. */
const UNTYPED_MESSAGE_KIND = 'unknown';

/**
 * What a message item is:
 * - `inbound`: `messages` (and EnableX): `message.received` / `message.reaction`;
 * - `echo`: `message_echoes` / `smb_message_echoes`: `message.echo`, the business as
 *   `from` and the customer as `to`;
 * - `standby`: `message.standby`, a passive copy.
 */
export type MessageRole = 'inbound' | 'echo' | 'standby';

function messageIdKey(scope: Scope, role: MessageRole, message: JsonObject, messageId: string | undefined): ReadonlyArray<JsonValue | undefined> {
  const prefix = role === 'inbound' ? 'msg' : role;
  return messageId !== undefined
    ? [prefix, scope.provider, messageId]
    : [prefix, scope.provider, scope.businessAccountId, scope.phoneNumberId, scope.displayPhoneNumber, message];
}

export function messageEvent(scope: Scope, message: JsonObject, contacts: Contacts, role: MessageRole): BluetickEvent {
  const messageId = idOf(message.id);
  const id = scopedId(scope, messageIdKey(scope, role, message, messageId));
  const type = textOf(message.type);
  const from = idOf(message.from);
  const to = role === 'echo' ? idOf(message.to) : undefined;
  // The user is the sender, or for an echo the customer written to.
  const userWaId = role === 'echo' ? to : from;
  const ownUserId = idOf(role === 'echo' ? (message.to_user_id ?? message.recipient_user_id) : message.from_user_id);
  const contact = contacts.find(userWaId, ownUserId);
  const user = {
    userId: ownUserId ?? (contact !== undefined && (contact.waId === undefined || contact.waId === userWaId) ? contact.userId : undefined),
    username: contact?.username,
    contactName: contact?.name,
  };
  const occurredAt = isoFromUnixSeconds(message.timestamp);
  if (type === 'reaction' && role === 'inbound') {
    const reaction = message.reaction;
    return assemble('message.reaction', scope, {
      id,
      messageId,
      from,
      userId: user.userId,
      username: user.username,
      contactName: user.contactName,
      // Meta omits `emoji` on removal; some senders send "". Both mean "removed".
      emoji: textOf(own(reaction, 'emoji')) ?? '',
      targetMessageId: idOf(own(reaction, 'message_id')),
      occurredAt,
      data: message,
    });
  }
  // One object, filled in place: object spreads per message were a measurable cost.
  const fields: ItemFields = {
    id,
    messageId,
    from,
    to,
    userId: user.userId,
    username: user.username,
    contactName: user.contactName,
    kind: type ?? UNTYPED_MESSAGE_KIND,
    contextMessageId: idOf(own(message.context, 'id')),
    errorCodes: errorCodesOf(message.errors),
    occurredAt,
    data: message,
  };
  const referral = message.referral;
  if (referral !== undefined) {
    fields.ctwaClid = idOf(own(referral, 'ctwa_clid'));
    fields.referralSourceId = idOf(own(referral, 'source_id'));
    fields.referralSourceType = textOf(own(referral, 'source_type'));
  }
  if (type === 'reaction') {
    // An echoed or standby reaction.
    fields.emoji = textOf(own(message.reaction, 'emoji')) ?? '';
    fields.targetMessageId = idOf(own(message.reaction, 'message_id'));
  } else {
    const content = readContent(type, message, false);
    fields.text = content.text;
    fields.latitude = content.latitude;
    fields.longitude = content.longitude;
    fields.replyId = content.replyId;
    fields.targetMessageId = content.targetMessageId;
    fields.flowToken = content.flowToken;
  }
  return assemble(role === 'inbound' ? 'message.received' : role === 'echo' ? 'message.echo' : 'message.standby', scope, fields);
}

// ---------------------------------------------------------------------------
// Statuses.

function statusKeys(item: JsonObject): ItemFields {
  const pricing = item.pricing;
  const conversation = item.conversation;
  if (pricing === undefined && conversation === undefined && item.biz_opaque_callback_data === undefined) return {};
  const billable = own(pricing, 'billable');
  return {
    pricingModel: textOf(own(pricing, 'pricing_model')),
    pricingCategory: textOf(own(pricing, 'category')),
    pricingType: textOf(own(pricing, 'type')),
    billable: typeof billable === 'boolean' ? billable : undefined,
    conversationId: idOf(own(conversation, 'id')),
    conversationOrigin: textOf(own(own(conversation, 'origin'), 'type')),
    conversationExpiresAt: isoFromUnixSeconds(own(conversation, 'expiration_timestamp')),
    bizOpaqueCallbackData: textOf(item.biz_opaque_callback_data),
  };
}

export function statusEvent(scope: Scope, item: JsonObject, anchor: Anchor, standby = false): BluetickEvent {
  const status = textOf(item.status);
  if (status === undefined) return unknownEvent(scope, UNKNOWN_KIND.malformedStatus, item, anchor);
  const messageId = idOf(item.id);
  const recipientId = idOf(item.recipient_id);
  const errorCodes = errorCodesOf(item.errors);
  const occurredAt = isoFromUnixSeconds(item.timestamp);
  const prefix = standby ? 'standby status' : 'status';
  const id =
    messageId !== undefined
      ? scopedId(scope, [prefix, scope.provider, messageId, status, occurredAt ?? item.timestamp, recipientId, errorCodes])
      : scopedId(scope, [prefix, scope.provider, scope.businessAccountId, scope.phoneNumberId, scope.displayPhoneNumber, item]);
  const fields: ItemFields = statusKeys(item);
  fields.id = id;
  fields.messageId = messageId;
  fields.userId = idOf(item.recipient_user_id);
  fields.status = status;
  fields.recipientId = recipientId;
  fields.errorCodes = errorCodesOf(item.errors);
  fields.occurredAt = occurredAt;
  fields.data = item;
  return assemble(standby ? 'message.standby' : 'message.status', scope, fields);
}

// ---------------------------------------------------------------------------
// Templates.

/** Which template change a payload is, and its `status`; `undefined` when it is none. */
function classifyTemplate(
  field: string | undefined,
  value: JsonObject,
): { type: 'template.status' | 'template.quality' | 'template.category'; status: string | undefined } | undefined {
  if (field === 'message_template_quality_update') return { type: 'template.quality', status: textOf(value.new_quality_score) };
  if (field === 'template_category_update') return { type: 'template.category', status: textOf(value.new_category) };
  // message_template_status_update, or an EnableX template item (field undefined).
  const status = field === undefined ? (textOf(value.status) ?? textOf(value.event)) : textOf(value.event);
  if (status !== undefined) return { type: 'template.status', status };
  if (value.new_quality_score !== undefined) return { type: 'template.quality', status: textOf(value.new_quality_score) };
  if (value.new_category !== undefined) return { type: 'template.category', status: textOf(value.new_category) };
  return undefined;
}

/** The template keys of a value (Meta's `message_template_*` or EnableX's `template_*`). */
export function templateKeys(value: JsonObject): Pick<ItemFields, 'templateId' | 'templateName' | 'language'> {
  return {
    templateId: idOf(value.message_template_id ?? value.template_id),
    templateName: textOf(value.message_template_name ?? value.template_name),
    language: textOf(value.message_template_language ?? value.template_language),
  };
}

/**
 * A template event from a Meta change value (`field` set, time = `entry.time`) or an
 * EnableX template item (`field` undefined, time = its own `timestamp`/`time`).
 * Returns `undefined` when the value says nothing a template event can carry.
 */
export function templateEvent(scope: Scope, field: string | undefined, value: JsonObject): BluetickEvent | undefined {
  const found = classifyTemplate(field, value);
  if (found === undefined) return undefined;
  const time = field === undefined ? (value.timestamp ?? value.time) : scope.entryTime;
  return assemble(found.type, scope, {
    id: scopedId(scope, [found.type, scope.provider, scope.businessAccountId, scope.entryTime, value]),
    status: found.status,
    ...templateKeys(value),
    reason: found.type === 'template.status' ? textOf(value.reason) : undefined,
    occurredAt: isoFromUnixSeconds(time),
    data: value,
  });
}

// ---------------------------------------------------------------------------
// A messages container: Meta's `value` of field "messages" (or "standby", or an echo
// field), or the EnableX body.

/** Value-level (or EnableX top-level) `errors[]`: one `account.error` event. */
function errorsEvent(scope: Scope, errors: JsonValue, container: JsonObject): BluetickEvent {
  return assemble('account.error', scope, {
    // The recipe these had as `unknown` events of kind "errors", kept so ids do not change.
    id: scopedId(scope, ['unknown', 'errors', scope.providerFromConfig ? null : scope.provider, scope.businessAccountId, scope.entryTime, errors, container]),
    errorCodes: errorCodesOf(errors),
    data: errors,
  });
}

export interface ReadItemsOptions {
  /** EnableX: statuses that carry `template_id`/`template_name` are template notifications, not message statuses. */
  templateItems: boolean;
  role: MessageRole;
}

/** Whether a container holds any of the lists {@link readItems} reads (even empty). */
export function hasItemLists(container: JsonObject, role: MessageRole): boolean {
  const listKey = role === 'echo' ? 'message_echoes' : 'messages';
  return [container[listKey], container.statuses, container.errors].some((list) => list !== undefined && list !== null);
}

/**
 * Push the events of every message, then every status, then the value-level errors of
 * `container`. Returns how many events it pushed (0 for empty lists: an empty batch
 * yields no event).
 */
export function readItems(scope: Scope, container: JsonObject, out: BluetickEvent[], options: ReadItemsOptions): number {
  const before = out.length;
  const { role } = options;
  const listKey = role === 'echo' ? 'message_echoes' : 'messages';
  const messages = container[listKey];
  const { statuses, errors } = container;
  const anchor = new Anchor(container, scope.meter);

  if (Array.isArray(messages)) {
    const contacts = role === 'echo' ? contactsOf(container.contacts, messages, 'to', 'to_user_id') : contactsOf(container.contacts, messages);
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as JsonValue;
      if (isObject(message)) out.push(messageEvent(scope, message, contacts, role));
      else out.push(unknownEvent(scope, UNKNOWN_KIND.malformedMessage, message ?? nullItem(i), anchor));
    }
  } else if (messages !== undefined && messages !== null) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedMessages, messages, anchor));
  }

  if (Array.isArray(statuses)) {
    for (let i = 0; i < statuses.length; i++) {
      const item = statuses[i] as JsonValue;
      if (!isObject(item)) {
        out.push(unknownEvent(scope, UNKNOWN_KIND.malformedStatus, item ?? nullItem(i), anchor));
        continue;
      }
      if (options.templateItems && (item.template_id !== undefined || item.template_name !== undefined)) {
        out.push(templateEvent(scope, undefined, item) ?? unknownEvent(scope, UNKNOWN_KIND.malformedStatus, item, anchor));
        continue;
      }
      out.push(statusEvent(scope, item, anchor, role === 'standby'));
    }
  } else if (statuses !== undefined && statuses !== null) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedStatuses, statuses, anchor));
  }

  if (errors !== undefined && errors !== null && !(Array.isArray(errors) && errors.length === 0)) {
    out.push(errorsEvent(scope, errors, container));
  }
  return out.length - before;
}
