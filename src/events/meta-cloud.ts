/**
 * @module events/meta-cloud
 *
 * The item mappers both body shapes share: statuses, templates, and the messages container
 * (meta-envelope.ts reads Meta's envelope and its fields), built on `scope.ts` (where an item
 * sits, its ids), `assemble.ts` (events in key order), `contacts.ts` (sender lookup) and
 * `messages.ts` (message items). The decisions below hold for all of them.
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
import { idOf, isObject, own, textOf } from './json.js';
import { isoFromUnixSeconds } from './time.js';
import type { BluetickEvent, JsonObject, JsonValue } from './types.js';
import { type Scope, scopedId, Anchor, UNKNOWN_KIND } from './scope.js';
import { type ItemFields, assemble, nullItem, unknownEvent } from './assemble.js';
import { contactsOf } from './contacts.js';
import { errorCodesOf, type MessageRole, messageEvent } from './messages.js';

export { newScope, placeScope, scopedId, Anchor, UNKNOWN_KIND, type Scope } from './scope.js';
export { assemble, nullItem, unknownEvent, type ItemFields } from './assemble.js';
export { contactsOf, type Contacts } from './contacts.js';
export { errorCodesOf, messageEvent, type MessageRole } from './messages.js';

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
