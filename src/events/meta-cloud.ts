/**
 * @module events/meta-cloud
 *
 * Meta Cloud API envelope -> events, and the item mappers both providers share.
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
 *   user id has no `from`, and the id stays in `data`.
 * - `text`: text body; media caption (any type whose object has a string `caption`);
 *   button label; interactive reply title (`nfm_reply`: its body); an order's note;
 *   for `edit`, the text of the edited message it carries. Nothing else.
 * - Value-level `errors[]` (not attached to a message or status) become one `unknown`
 *   event of kind `errors` whose `data` is that array, after the value's messages
 *   and statuses.
 * - Template reasons are kept as sent whenever they are a string (`NONE` included)
 *   and omitted when `null`.
 * - A quality payload that arrives under `message_template_status_update` (it has
 *   `new_quality_score` and no `event`) is a `template.quality` event.
 * - `unknown` events take `occurredAt` only from a `timestamp` of their own data,
 *   never from `entry.time`.
 * - Two identical items in one POST get the same id; the store keeps one.
 */
import { eventId } from './ids.js';
import { idOf, isObject, own, textOf } from './json.js';
import { isoFromUnixSeconds } from './time.js';
import type {
  BluetickEvent,
  EventType,
  JsonObject,
  JsonValue,
  MessageReactionEvent,
  MessageReceivedEvent,
  MessageStatusEvent,
  Provider,
  TemplateStatusEvent,
  UnknownEvent,
} from './types.js';

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
  /** `entry.time` as sent; the time of template events and part of some id keys. */
  readonly entryTime: JsonValue | undefined;
  /**
   * True when `provider` comes from the channel's configuration rather than from the
   * body's shape. It is then left out of ids, so ids depend on the bytes alone.
   */
  readonly providerFromConfig: boolean;
}

export function newScope(provider: Provider, channel: string, receivedAt: string, providerFromConfig = false): Scope {
  return {
    provider,
    channel,
    receivedAt,
    businessAccountId: undefined,
    phoneNumberId: undefined,
    displayPhoneNumber: undefined,
    entryTime: undefined,
    providerFromConfig,
  };
}

/** `scope` with the place keys replaced where `place` names them. */
export function placeScope(
  scope: Scope,
  place: { businessAccountId?: string | undefined; phoneNumberId?: string | undefined; displayPhoneNumber?: string | undefined; entryTime?: JsonValue | undefined },
): Scope {
  return {
    provider: scope.provider,
    channel: scope.channel,
    receivedAt: scope.receivedAt,
    businessAccountId: 'businessAccountId' in place ? place.businessAccountId : scope.businessAccountId,
    phoneNumberId: 'phoneNumberId' in place ? place.phoneNumberId : scope.phoneNumberId,
    displayPhoneNumber: 'displayPhoneNumber' in place ? place.displayPhoneNumber : scope.displayPhoneNumber,
    entryTime: 'entryTime' in place ? place.entryTime : scope.entryTime,
    providerFromConfig: scope.providerFromConfig,
  };
}

/**
 * `kind` of `unknown` events that are not a Meta change field. Stable strings: routes
 * and queries match on them.
 */
export const UNKNOWN_KIND = {
  /** A JSON object that is neither a Meta envelope nor an EnableX body. */
  unrecognizedBody: 'unrecognized body',
  /** A recognised body that carries no item at all. */
  emptyBatch: 'empty batch',
  malformedEntry: 'malformed entry',
  entryWithoutChanges: 'entry without changes',
  malformedChange: 'malformed change',
  changeWithoutField: 'change without field',
  malformedMessages: 'malformed messages',
  malformedMessage: 'malformed message',
  malformedStatuses: 'malformed statuses',
  malformedStatus: 'malformed status',
  /** Value-level (or EnableX top-level) `errors[]`. */
  errors: 'errors',
} as const;

// ---------------------------------------------------------------------------
// Assembling events: fixed key order (the contract table's), absent keys left out.

type EventFields = Partial<
  Omit<MessageReceivedEvent, 'type'> &
    Omit<MessageReactionEvent, 'type' | 'kind'> &
    Omit<MessageStatusEvent, 'type' | 'status'> &
    Omit<TemplateStatusEvent, 'type'> &
    Omit<UnknownEvent, 'type'>
>;

const KEY_ORDER = [
  'id',
  'provider',
  'channel',
  'businessAccountId',
  'phoneNumberId',
  'displayPhoneNumber',
  'messageId',
  'from',
  'contactName',
  'kind',
  'text',
  'replyId',
  'contextMessageId',
  'emoji',
  'targetMessageId',
  'status',
  'recipientId',
  'errorCodes',
  'templateId',
  'templateName',
  'language',
  'reason',
  'occurredAt',
  'receivedAt',
  'data',
] as const satisfies ReadonlyArray<keyof EventFields>;

// Compile-time check that KEY_ORDER names every key an event can have.
type MissingFromKeyOrder = Exclude<keyof EventFields, (typeof KEY_ORDER)[number]>;
const keyOrderIsComplete: MissingFromKeyOrder extends never ? true : never = true;
void keyOrderIsComplete;

/** Keys that come from where the item sat rather than from the item. */
const SCOPE_KEY_LIST = ['provider', 'channel', 'businessAccountId', 'phoneNumberId', 'displayPhoneNumber', 'receivedAt'] as const;
const SCOPE_KEYS: ReadonlySet<string> = new Set(SCOPE_KEY_LIST);

/** The keys an item contributes itself. */
type ItemFields = Omit<EventFields, (typeof SCOPE_KEY_LIST)[number]>;

/**
 * One event: `fields` holds the item's own keys, `scope` the shared ones; keys come
 * out in KEY_ORDER and absent (`undefined`/`null`) ones are left out.
 */
function assemble(type: EventType, scope: Scope, fields: ItemFields): BluetickEvent {
  const event: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    const value = SCOPE_KEYS.has(key) ? scope[key as keyof Scope] : (fields as EventFields)[key];
    if (value !== undefined && value !== null) event[key] = value;
    if (key === 'id') event.type = type;
  }
  return event as unknown as BluetickEvent;
}

/** `data` must never be `null`: a null item is represented by what contained it. */
function dataOr(item: JsonValue | undefined, container: JsonValue): JsonValue {
  return item === undefined || item === null ? container : item;
}

/**
 * An `unknown` event. `anchor` is folded into the id for items that carry no
 * identity of their own (a stray `5` in `messages[]`), tying them to their body.
 */
export function unknownEvent(scope: Scope, kind: string, data: JsonValue, anchor?: JsonValue): BluetickEvent {
  return assemble('unknown', scope, {
    id: eventId(['unknown', kind, scope.providerFromConfig ? null : scope.provider, scope.businessAccountId, scope.entryTime, data, anchor]),
    kind,
    occurredAt: isObject(data) ? isoFromUnixSeconds(data.timestamp) : undefined,
    data,
  });
}

// ---------------------------------------------------------------------------
// Contacts -> sender names.

interface ContactNames {
  nameFor(message: JsonObject): string | undefined;
}

const NO_CONTACTS: ContactNames = { nameFor: () => undefined };

function contactNames(contacts: JsonValue | undefined, messages: readonly JsonValue[]): ContactNames {
  if (!Array.isArray(contacts) || contacts.length === 0) return NO_CONTACTS;
  const list = contacts.filter(isObject).map((contact) => ({
    waId: idOf(contact.wa_id),
    userId: idOf(contact.user_id),
    name: textOf(own(contact.profile, 'name')),
  }));
  let single: string | undefined;
  const only = list.length === 1 ? list[0] : undefined;
  if (only !== undefined) {
    const matchesAMessage = messages.some(
      (m) =>
        isObject(m) &&
        ((only.waId !== undefined && idOf(m.from) === only.waId) ||
          (only.userId !== undefined && idOf(m.from_user_id) === only.userId)),
    );
    if (!matchesAMessage) single = only.name;
  }
  return {
    nameFor(message) {
      const from = idOf(message.from);
      if (from !== undefined) {
        const byWaId = list.find((c) => c.waId === from && c.name !== undefined);
        if (byWaId !== undefined) return byWaId.name;
      }
      const userId = idOf(message.from_user_id);
      if (userId !== undefined) {
        const byUserId = list.find((c) => c.userId === userId && c.name !== undefined);
        if (byUserId !== undefined) return byUserId.name;
      }
      return single;
    },
  };
}

// ---------------------------------------------------------------------------
// Messages.

interface Content {
  text?: string | undefined;
  replyId?: string | undefined;
}

const NO_CONTENT: Content = {};

/** The flat `text` / `replyId` of a message of the given type (see the module notes). */
function readContent(type: string | undefined, message: JsonObject, nested: boolean): Content {
  switch (type) {
    case undefined:
      return NO_CONTENT;
    case 'text':
      return { text: textOf(own(message.text, 'body')) };
    case 'button':
      return { text: textOf(own(message.button, 'text')), replyId: idOf(own(message.button, 'payload')) };
    case 'interactive': {
      const reply = own(message.interactive, own(message.interactive, 'type'));
      if (!isObject(reply)) return NO_CONTENT;
      return { text: textOf(reply.title) ?? textOf(reply.body), replyId: idOf(reply.id) };
    }
    case 'order':
      return { text: textOf(own(message.order, 'text')) };
    case 'edit': {
      if (nested) return NO_CONTENT;
      const edited = own(message.edit, 'message');
      if (!isObject(edited)) return NO_CONTENT;
      const editedType = textOf(edited.type) ?? (isObject(edited.text) ? 'text' : undefined);
      return { text: readContent(editedType, edited, true).text };
    }
    default:
      return { text: textOf(own(own(message, type), 'caption')) };
  }
}

/** `kind` of a message whose `type` is missing or not a string. */
const UNTYPED_MESSAGE_KIND = 'unknown';

function messageEvent(scope: Scope, message: JsonObject, names: ContactNames): BluetickEvent {
  const messageId = idOf(message.id);
  const id =
    messageId !== undefined
      ? eventId(['msg', scope.provider, messageId])
      : eventId(['msg', scope.provider, scope.businessAccountId, scope.phoneNumberId, scope.displayPhoneNumber, message]);
  const type = textOf(message.type);
  const from = idOf(message.from);
  const contactName = names.nameFor(message);
  const occurredAt = isoFromUnixSeconds(message.timestamp);
  if (type === 'reaction') {
    const reaction = message.reaction;
    return assemble('message.reaction', scope, {
      id,
      messageId,
      from,
      contactName,
      // Meta omits `emoji` on removal; some senders send "". Both mean "removed".
      emoji: textOf(own(reaction, 'emoji')) ?? '',
      targetMessageId: idOf(own(reaction, 'message_id')),
      occurredAt,
      data: message,
    });
  }
  const content = readContent(type, message, false);
  return assemble('message.received', scope, {
    id,
    messageId,
    from,
    contactName,
    kind: type ?? UNTYPED_MESSAGE_KIND,
    text: content.text,
    replyId: content.replyId,
    contextMessageId: idOf(own(message.context, 'id')),
    occurredAt,
    data: message,
  });
}

// ---------------------------------------------------------------------------
// Statuses.

function errorCodesOf(errors: JsonValue | undefined): number[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const codes: number[] = [];
  for (const error of errors) {
    const code = own(error, 'code');
    if (typeof code === 'number' && Number.isFinite(code)) codes.push(code);
    else if (typeof code === 'string' && /^\d{1,15}$/.test(code)) codes.push(Number(code));
  }
  return codes.length > 0 ? codes : undefined;
}

function statusEvent(scope: Scope, item: JsonObject, container: JsonValue): BluetickEvent {
  const status = textOf(item.status);
  if (status === undefined) return unknownEvent(scope, UNKNOWN_KIND.malformedStatus, item, container);
  const messageId = idOf(item.id);
  const recipientId = idOf(item.recipient_id);
  const errorCodes = errorCodesOf(item.errors);
  const occurredAt = isoFromUnixSeconds(item.timestamp);
  const id =
    messageId !== undefined
      ? eventId(['status', scope.provider, messageId, status, occurredAt ?? item.timestamp, recipientId, errorCodes])
      : eventId(['status', scope.provider, scope.businessAccountId, scope.phoneNumberId, scope.displayPhoneNumber, item]);
  return assemble('message.status', scope, {
    id,
    messageId,
    status,
    recipientId,
    errorCodes,
    occurredAt,
    data: item,
  });
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
    id: eventId([found.type, scope.provider, scope.businessAccountId, scope.entryTime, value]),
    status: found.status,
    templateId: idOf(value.message_template_id ?? value.template_id),
    templateName: textOf(value.message_template_name ?? value.template_name),
    language: textOf(value.message_template_language ?? value.template_language),
    reason: found.type === 'template.status' ? textOf(value.reason) : undefined,
    occurredAt: isoFromUnixSeconds(time),
    data: value,
  });
}

// ---------------------------------------------------------------------------
// A messages container: Meta's `value` of field "messages", or the EnableX body.

/**
 * Push the events of every message, then every status, then the value-level
 * errors of `container`. Returns how many events it pushed.
 *
 * @param templateItems EnableX: statuses that carry `template_id`/`template_name`
 *   are template notifications, not message statuses.
 */
export function readItems(scope: Scope, container: JsonObject, out: BluetickEvent[], templateItems: boolean): number {
  const before = out.length;
  const { messages, statuses, errors } = container;

  if (Array.isArray(messages)) {
    const names = contactNames(container.contacts, messages);
    for (const message of messages) {
      if (isObject(message)) out.push(messageEvent(scope, message, names));
      else out.push(unknownEvent(scope, UNKNOWN_KIND.malformedMessage, dataOr(message, container), container));
    }
  } else if (messages !== undefined && messages !== null) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedMessages, messages, container));
  }

  if (Array.isArray(statuses)) {
    for (const item of statuses) {
      if (!isObject(item)) {
        out.push(unknownEvent(scope, UNKNOWN_KIND.malformedStatus, dataOr(item, container), container));
        continue;
      }
      if (templateItems && (item.template_id !== undefined || item.template_name !== undefined)) {
        out.push(templateEvent(scope, undefined, item) ?? unknownEvent(scope, UNKNOWN_KIND.malformedStatus, item, container));
        continue;
      }
      out.push(statusEvent(scope, item, container));
    }
  } else if (statuses !== undefined && statuses !== null) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedStatuses, statuses, container));
  }

  if (errors !== undefined && errors !== null && !(Array.isArray(errors) && errors.length === 0)) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.errors, errors, container));
  }
  return out.length - before;
}

// ---------------------------------------------------------------------------
// The envelope.

const TEMPLATE_FIELDS = new Set(['message_template_status_update', 'message_template_quality_update', 'template_category_update']);

function changeEvents(scope: Scope, entry: JsonObject, change: JsonValue, out: BluetickEvent[]): void {
  if (!isObject(change)) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedChange, dataOr(change, entry), entry));
    return;
  }
  const field = textOf(change.field);
  if (field === undefined) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.changeWithoutField, change));
    return;
  }
  const value = change.value;
  if (!isObject(value)) {
    out.push(unknownEvent(scope, field, dataOr(value, change)));
    return;
  }
  const metadata = value.metadata;
  const valueScope: Scope = isObject(metadata)
    ? placeScope(scope, { phoneNumberId: idOf(metadata.phone_number_id), displayPhoneNumber: idOf(metadata.display_phone_number) })
    : scope;

  if (field === 'messages') {
    // A "messages" value with none of the lists it should carry is still kept.
    if (readItems(valueScope, value, out, false) === 0) out.push(unknownEvent(valueScope, field, value));
    return;
  }
  if (TEMPLATE_FIELDS.has(field)) {
    out.push(templateEvent(valueScope, field, value) ?? unknownEvent(valueScope, field, value));
    return;
  }
  out.push(unknownEvent(valueScope, field, value));
}

/**
 * Every entry, every change, in payload order. An envelope with no item at all
 * still yields one `unknown` event (kind `empty batch`).
 */
export function normalizeMetaEnvelope(payload: JsonObject, base: Scope, out: BluetickEvent[]): void {
  const before = out.length;
  const entries = Array.isArray(payload.entry) ? payload.entry : [];
  for (const entry of entries) {
    if (!isObject(entry)) {
      out.push(unknownEvent(base, UNKNOWN_KIND.malformedEntry, dataOr(entry, payload), payload));
      continue;
    }
    const scope = placeScope(base, { businessAccountId: idOf(entry.id), entryTime: entry.time });
    const changes = entry.changes;
    if (!Array.isArray(changes)) {
      out.push(unknownEvent(scope, UNKNOWN_KIND.entryWithoutChanges, entry));
      continue;
    }
    for (const change of changes) changeEvents(scope, entry, change, out);
  }
  if (out.length === before) out.push(unknownEvent(base, UNKNOWN_KIND.emptyBatch, payload));
}
