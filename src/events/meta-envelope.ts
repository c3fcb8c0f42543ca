/**
 * @module events/meta-envelope
 *
 * Meta's `whatsapp_business_account` envelope -> events: every entry, every change,
 * and the type each change `field` maps to (docs/reference/events.md).
 *
 * - `messages` (and EnableX's flat body, see enablex.ts) go through the shared item
 *   mappers of meta-cloud.ts; `standby` and the echo fields read the same lists with
 *   another role (`message.standby`, `message.echo`).
 * - Fields whose value holds a list (`user_preferences[]`, `state_sync[]`, `calls[]`,
 *   `groups[]`, `history[].threads[]`, ...) give one event per item; a value without
 *   its list gives one event for the change, so nothing is lost.
 * - Fields with one object per change (`account_update`, `account_alerts`, ...) give
 *   one event per change. Their ids keep the recipe they had as `unknown` events, so
 *   a body journaled before the field was typed and re-delivered after dedupes.
 * - An empty batch (`entry: []`, `changes: []`, empty lists) gives no event.
 * - Every event of a change carries its `field`.
 */
import { idOf, isObject, own, textOf } from './json.js';
import {
  Anchor,
  UNKNOWN_KIND,
  assemble,
  contactsOf,
  errorCodesOf,
  hasItemLists,
  nullItem,
  placeScope,
  readItems,
  scopedId,
  templateEvent,
  templateKeys,
  unknownEvent,
  type Contacts,
  type ItemFields,
  type MessageRole,
  type Scope,
} from './meta-cloud.js';
import { isoFromUnixSeconds } from './time.js';
import type { BluetickEvent, EventType, JsonObject, JsonValue } from './types.js';

/** The event type of each typed one-object-per-change field, and the keys it lifts. */
interface ChangeSpec {
  readonly type: EventType;
  lift(value: JsonObject): ItemFields;
}

/** A field whose value holds a list: one event per item. */
interface ListSpec {
  readonly type: EventType;
  /** The key of the list in the value. */
  readonly list: string;
  lift(item: JsonObject, contacts: Contacts): ItemFields;
}

const status = (value: JsonValue | undefined) => textOf(value);

const CHANGE_FIELDS: Readonly<Record<string, ChangeSpec>> = {
  account_update: { type: 'account.update', lift: (v) => ({ status: status(v.event) }) },
  account_alerts: {
    type: 'account.alert',
    lift: (v) => ({
      kind: textOf(own(v.alert_info, 'alert_type')),
      status: textOf(own(v.alert_info, 'alert_status')),
      reason: textOf(own(v.alert_info, 'alert_description')),
    }),
  },
  account_review_update: { type: 'account.review', lift: (v) => ({ status: status(v.decision) }) },
  business_capability_update: { type: 'account.capability', lift: () => ({}) },
  phone_number_quality_update: {
    type: 'phone.quality',
    lift: (v) => ({
      displayPhoneNumber: idOf(v.display_phone_number),
      status: status(v.event),
      currentLimit: idOf(v.current_limit),
      oldLimit: idOf(v.old_limit),
    }),
  },
  phone_number_name_update: {
    type: 'phone.name',
    lift: (v) => ({ displayPhoneNumber: idOf(v.display_phone_number), status: status(v.decision), reason: textOf(v.rejection_reason) }),
  },
  security: { type: 'account.security', lift: (v) => ({ displayPhoneNumber: idOf(v.display_phone_number), status: status(v.event) }) },
  flows: { type: 'flow.status', lift: (v) => ({ kind: textOf(v.event), status: textOf(v.new_status), reason: textOf(v.message) }) },
  message_template_components_update: { type: 'template.components', lift: (v) => templateKeys(v) },
  messaging_handovers: { type: 'conversation.handover', lift: (v) => handoverKeys(v) },
};

function handoverKeys(item: JsonObject): ItemFields {
  return { from: idOf(item.from ?? item.wa_id), userId: idOf(item.from_user_id ?? item.user_id), kind: textOf(item.type) };
}

/** The user an item is about, and the matching contact's name and username. */
function userKeys(waId: string | undefined, userId: string | undefined, contacts: Contacts): ItemFields {
  const contact = contacts.find(waId, userId);
  return {
    from: waId,
    userId: userId ?? (contact !== undefined && (contact.waId === undefined || contact.waId === waId) ? contact.userId : undefined),
    username: contact?.username,
    contactName: contact?.name,
  };
}

const GROUP_SPEC = (field: string): ListSpec => ({
  type: 'group.update',
  list: 'groups',
  lift: (item) => ({ kind: field, status: textOf(item.type) ?? textOf(item.status), errorCodes: errorCodesOf(item.errors) }),
});

const LIST_FIELDS: Readonly<Record<string, ListSpec>> = {
  user_preferences: {
    type: 'user.preferences',
    list: 'user_preferences',
    lift: (item, contacts) => ({
      ...userKeys(idOf(item.wa_id), idOf(item.user_id), contacts),
      kind: textOf(item.category),
      status: textOf(item.value),
      reason: textOf(item.detail),
    }),
  },
  user_id_update: {
    type: 'user.identity',
    list: 'user_id_update',
    lift: (item, contacts) => {
      const current = idOf(own(item.user_id, 'current')) ?? idOf(item.user_id);
      return { ...userKeys(idOf(item.wa_id), current, contacts), reason: textOf(item.detail) };
    },
  },
  smb_app_state_sync: {
    type: 'contact.sync',
    list: 'state_sync',
    lift: (item) => ({
      contactName: textOf(own(item.contact, 'full_name')) ?? textOf(own(item.contact, 'first_name')),
      kind: textOf(item.type),
      status: textOf(item.action),
      occurredAt: isoFromUnixSeconds(own(item.metadata, 'timestamp')),
    }),
  },
  calls: {
    type: 'call.status',
    list: 'calls',
    lift: (item, contacts) => {
      const from = idOf(item.from);
      const contact = contacts.find(from, idOf(item.from_user_id)) ?? contacts.find(idOf(item.to), undefined);
      return {
        from,
        to: idOf(item.to),
        userId: idOf(item.from_user_id),
        contactName: contact?.name,
        kind: textOf(item.event),
        status: textOf(item.status) ?? textOf(item.event),
        errorCodes: errorCodesOf(item.errors),
      };
    },
  },
  group_lifecycle_update: GROUP_SPEC('group_lifecycle_update'),
  group_participants_update: GROUP_SPEC('group_participants_update'),
  group_settings_update: GROUP_SPEC('group_settings_update'),
  group_status_update: GROUP_SPEC('group_status_update'),
};

/** Fields read as message containers, and the role their message items play. */
const MESSAGE_FIELDS: Readonly<Record<string, MessageRole>> = {
  messages: 'inbound',
  standby: 'standby',
  message_echoes: 'echo',
  smb_message_echoes: 'echo',
};

const TEMPLATE_FIELDS = new Set(['message_template_status_update', 'message_template_quality_update', 'template_category_update']);

/** One event for a whole change, with the recipe its id had as an `unknown` event. */
function changeEvent(scope: Scope, field: string, type: EventType, value: JsonObject, fields: ItemFields): BluetickEvent {
  return assemble(type, scope, {
    ...fields,
    id: scopedId(scope, ['unknown', field, scope.provider, scope.businessAccountId, scope.entryTime, value, null]),
    errorCodes: fields.errorCodes ?? errorCodesOf(value.errors),
    occurredAt: isoFromUnixSeconds(value.timestamp ?? scope.entryTime),
    data: value,
  });
}

/** One event per item of a list. */
function itemEvent(scope: Scope, type: EventType, item: JsonObject, fields: ItemFields): BluetickEvent {
  return assemble(type, scope, {
    errorCodes: errorCodesOf(item.errors),
    occurredAt: isoFromUnixSeconds(item.timestamp),
    ...fields,
    id: scopedId(scope, [type, scope.provider, scope.businessAccountId, scope.phoneNumberId, scope.entryTime, item]),
    data: item,
  });
}

/** Items of `list` (not objects become `unknown` events tied to the value). */
function eachItem(scope: Scope, list: JsonValue[], anchor: Anchor, out: BluetickEvent[], push: (item: JsonObject) => void): void {
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as JsonValue;
    if (isObject(item)) push(item);
    else out.push(unknownEvent(scope, UNKNOWN_KIND.malformedItem, item ?? nullItem(i), anchor));
  }
}

function listEvents(scope: Scope, field: string, spec: ListSpec, value: JsonObject, out: BluetickEvent[]): void {
  const list = value[spec.list];
  if (list === undefined || list === null) {
    // `group.update` always names its field in `kind`, with or without the list.
    out.push(changeEvent(scope, field, spec.type, value, spec.type === 'group.update' ? { kind: field } : {}));
    return;
  }
  const anchor = new Anchor(value, scope.meter);
  if (!Array.isArray(list)) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedItems, list, anchor));
    return;
  }
  const contacts = contactsOf(value.contacts, list, 'wa_id', 'user_id');
  eachItem(scope, list, anchor, out, (item) => out.push(itemEvent(scope, spec.type, item, spec.lift(item, contacts))));
  // A calls value can also carry the calls' own status updates.
  if (field === 'calls' && Array.isArray(value.statuses)) {
    eachItem(scope, value.statuses, anchor, out, (item) =>
      out.push(itemEvent(scope, 'call.status', item, { to: idOf(item.recipient_id), kind: textOf(item.type), status: textOf(item.status) })),
    );
  }
}

/** `history`: one event per thread of every chunk; a chunk without threads (declined, with errors) is one event. */
function historyEvents(scope: Scope, value: JsonObject, out: BluetickEvent[]): void {
  const chunks = value.history;
  if (chunks === undefined || chunks === null) {
    out.push(changeEvent(scope, 'history', 'history.sync', value, {}));
    return;
  }
  const anchor = new Anchor(value, scope.meter);
  if (!Array.isArray(chunks)) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedItems, chunks, anchor));
    return;
  }
  eachItem(scope, chunks, anchor, out, (chunk) => {
    const threads = chunk.threads;
    if (!Array.isArray(threads)) {
      out.push(itemEvent(scope, 'history.sync', chunk, {}));
      return;
    }
    eachItem(scope, threads, new Anchor(chunk, scope.meter), out, (thread) => out.push(itemEvent(scope, 'history.sync', thread, {})));
  });
}

function changeEvents(scope: Scope, entryAnchor: Anchor, change: JsonValue, index: number, out: BluetickEvent[]): void {
  if (!isObject(change)) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.malformedChange, change ?? nullItem(index), entryAnchor));
    return;
  }
  const field = textOf(change.field);
  if (field === undefined) {
    out.push(unknownEvent(scope, UNKNOWN_KIND.changeWithoutField, change));
    return;
  }
  const fieldScope = placeScope(scope, { field });
  const value = change.value;
  if (!isObject(value)) {
    out.push(unknownEvent(fieldScope, field, value ?? change));
    return;
  }
  const metadata = value.metadata;
  const valueScope: Scope = isObject(metadata)
    ? placeScope(fieldScope, { phoneNumberId: idOf(metadata.phone_number_id), displayPhoneNumber: idOf(metadata.display_phone_number) })
    : fieldScope;

  const role = Object.hasOwn(MESSAGE_FIELDS, field) ? MESSAGE_FIELDS[field] : undefined;
  if (role !== undefined) {
    // A value with none of the lists it should carry is still kept; empty lists give nothing.
    if (hasItemLists(value, role)) readItems(valueScope, value, out, { templateItems: false, role });
    else out.push(unknownEvent(valueScope, field, value));
    return;
  }
  if (TEMPLATE_FIELDS.has(field)) {
    out.push(templateEvent(valueScope, field, value) ?? unknownEvent(valueScope, field, value));
    return;
  }
  if (field === 'history') {
    historyEvents(valueScope, value, out);
    return;
  }
  if (Object.hasOwn(LIST_FIELDS, field)) {
    listEvents(valueScope, field, LIST_FIELDS[field] as ListSpec, value, out);
    return;
  }
  if (Object.hasOwn(CHANGE_FIELDS, field)) {
    const spec = CHANGE_FIELDS[field] as ChangeSpec;
    out.push(changeEvent(valueScope, field, spec.type, value, spec.lift(value)));
    return;
  }
  out.push(unknownEvent(valueScope, field, value));
}

/** Every entry, every change, in payload order. An empty batch yields no event. */
export function normalizeMetaEnvelope(payload: JsonObject, base: Scope, out: BluetickEvent[]): void {
  const entries = Array.isArray(payload.entry) ? payload.entry : [];
  let payloadAnchor: Anchor | undefined;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as JsonValue;
    if (!isObject(entry)) {
      payloadAnchor ??= new Anchor(payload, base.meter);
      out.push(unknownEvent(base, UNKNOWN_KIND.malformedEntry, entry ?? nullItem(i), payloadAnchor));
      continue;
    }
    const scope = placeScope(base, { businessAccountId: idOf(entry.id), entryTime: entry.time });
    const changes = entry.changes;
    if (!Array.isArray(changes)) {
      out.push(unknownEvent(scope, UNKNOWN_KIND.entryWithoutChanges, entry));
      continue;
    }
    const entryAnchor = new Anchor(entry, base.meter);
    for (let c = 0; c < changes.length; c++) changeEvents(scope, entryAnchor, changes[c] as JsonValue, c, out);
  }
}
