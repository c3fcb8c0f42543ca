/**
 * @module trigger/build
 *
 * Pure builders for realistic WhatsApp notifications, in either body shape. No IO and no
 * clock: randomness comes from an {@link Rng} and time from the caller, so the same seed
 * and time give the same bytes.
 *
 * Two steps:
 * 1. {@link buildNotification}: one kind -> one item (a message, a status, a template
 *    change, ...) with fresh, realistic ids: `wamid.` ids laid out like Meta's (sender
 *    number, direction, random hex), EnableX's shorter ids, numeric media and template ids.
 * 2. {@link buildBody}: items -> one body, exactly as the provider would post it: Meta's
 *    envelope (a `messages` change holding the messages, contacts and statuses; template
 *    and other fields as changes of their own entry, with `entry.time`), or EnableX's flat
 *    body (`messages[]` + `contacts[]` / `statuses[]` + `business_phone`; template
 *    notifications are `statuses[]` items carrying `template_id`). {@link encodeBody} gives
 *    the bytes; Meta's are written with non-ASCII characters as `\uXXXX`, as Meta sends them.
 *
 * Every item normalizes to exactly one event, of the type its kind names. Items are unique
 * by construction (random ids), so two builds never collide on an event id.
 */
import { stringifyJson } from '../events/json.js';
import type { JsonObject } from '../events/types.js';
import { escapeNonAscii } from '../ingest/verify-meta.js';
import { findKind, kindSupports, type TriggerKind, type TriggerShape } from './kinds.js';
import { type BusinessAccount, type BuildContext, type BuildOptions, type Notification, messageId, newCustomer, newOutbound } from './model.js';
import { messageContent, statusItem } from './content.js';
import { templateValue, enablexTemplateItem, otherField, fieldValue } from './fields.js';

export { DEFAULT_ACCOUNTS, wamid, enablexMessageId, newCustomer, newOutbound, type BusinessAccount, type Customer, type OutboundMessage, type BuildContext, type BuildOptions, type NotificationPart, type Notification } from './model.js';

/**
 * One notification of `kind` (a {@link TriggerKind} or its name).
 *
 * @example
 * ```ts
 * const ctx = { rng: createRng(1), shape: 'meta', account: DEFAULT_ACCOUNTS.meta } as const;
 * const n = buildNotification('status-read', ctx, { at: 1717171717 });
 * const body = encodeBody(buildBody([n], ctx.shape, ctx.account), ctx.shape);
 * ```
 */
export function buildNotification(kind: TriggerKind | string, ctx: BuildContext, opts: BuildOptions): Notification {
  const k = typeof kind === 'string' ? findKind(kind) : kind;
  if (k === undefined) throw new RangeError(`unknown notification kind: ${String(kind)}`);
  const customer = opts.customer ?? opts.outbound?.recipient ?? newCustomer(ctx.rng);
  const at = Math.floor(opts.at);
  const shape = ctx.shape;

  switch (k.family) {
    case 'message':
    case 'reaction': {
      const outbound = opts.outbound ?? newOutbound(ctx, customer);
      const id = messageId(ctx, customer.waId, true);
      const message: JsonObject = { from: customer.waId, id, timestamp: String(at), ...messageContent(k, ctx, customer, outbound) };
      // A number change comes without the sender's profile, as Meta sends it.
      const contact = k.detail === 'system' ? undefined : { profile: { name: customer.name }, wa_id: customer.waId };
      return { kind: k, shape, ref: id, part: { place: 'messages', message, contact } };
    }
    case 'status': {
      const outbound = opts.outbound ?? newOutbound(ctx, customer);
      return { kind: k, shape, ref: outbound.id, part: { place: 'statuses', status: statusItem(k, ctx, outbound, at) } };
    }
    case 'template': {
      const { field, value, ref } = templateValue(k, ctx);
      if (shape === 'enablex') return { kind: k, shape, ref, part: { place: 'statuses', status: enablexTemplateItem(k, value, at) } };
      return { kind: k, shape, ref, part: { place: 'change', field, value, time: at } };
    }
    case 'field': {
      if (!kindSupports(k, shape)) throw new RangeError(`${k.name} notifications come only in the ${k.shapes?.join(' or ')} shape`);
      if (k.field !== undefined) {
        const { value, ref } = fieldValue(k, ctx, customer, at);
        return { kind: k, shape, ref, part: { place: 'change', field: k.field, value, time: at } };
      }
      const { field, value, ref } = otherField(ctx, at);
      if (shape === 'enablex') {
        // The flat body has no field names; an unmodelled notification is a body of neither shape.
        return { kind: k, shape, ref, part: { place: 'body', body: { [field]: value } } };
      }
      return { kind: k, shape, ref, part: { place: 'change', field, value, time: at } };
    }
  }
}

/** Whether `n` can share a POST with other notifications. */
export function canShareBody(n: Notification): boolean {
  return n.part.place !== 'body';
}

/**
 * The body one POST carries for these notifications, in their order.
 * @throws RangeError for an empty list, or a standalone notification (see {@link canShareBody}) with others.
 */
export function buildBody(notifications: readonly Notification[], shape: TriggerShape, account: BusinessAccount): JsonObject {
  if (notifications.length === 0) throw new RangeError('a body needs at least one notification');
  const first = notifications[0]!;
  if (first.part.place === 'body') {
    if (notifications.length > 1) throw new RangeError(`a ${first.kind.name} notification is a body of its own`);
    return first.part.body;
  }

  const messages: JsonObject[] = [];
  const statuses: JsonObject[] = [];
  const contacts = new Map<string, JsonObject>();
  const changes: Array<{ field: string; value: JsonObject; time: number }> = [];
  for (const n of notifications) {
    const part = n.part;
    switch (part.place) {
      case 'messages':
        messages.push(part.message);
        if (part.contact !== undefined) contacts.set(String(part.contact.wa_id), part.contact);
        break;
      case 'statuses':
        statuses.push(part.status);
        break;
      case 'change':
        changes.push(part);
        break;
      default:
        throw new RangeError(`a ${n.kind.name} notification is a body of its own`);
    }
  }

  if (shape === 'enablex') {
    const body: JsonObject = {};
    if (messages.length > 0) {
      body.messages = messages;
      if (contacts.size > 0) body.contacts = [...contacts.values()];
    }
    if (statuses.length > 0) body.statuses = statuses;
    body.business_phone = account.displayPhoneNumber;
    return body;
  }

  const entry: JsonObject[] = [];
  if (messages.length > 0 || statuses.length > 0) {
    const value: JsonObject = {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: account.displayPhoneNumber, phone_number_id: account.phoneNumberId },
    };
    if (contacts.size > 0) value.contacts = [...contacts.values()];
    if (messages.length > 0) value.messages = messages;
    if (statuses.length > 0) value.statuses = statuses;
    entry.push({ id: account.wabaId, changes: [{ value, field: 'messages' }] });
  }
  // One entry per change time: `entry.time` is the time of every change it holds.
  const byTime = new Map<number, Array<{ field: string; value: JsonObject }>>();
  for (const c of changes) {
    const list = byTime.get(c.time) ?? [];
    list.push({ value: c.value, field: c.field });
    byTime.set(c.time, list);
  }
  for (const [time, list] of byTime) entry.push({ id: account.wabaId, changes: list, time });
  return { object: 'whatsapp_business_account', entry };
}

/** The exact bytes to post. Meta's bodies carry non-ASCII characters as `\uXXXX` escapes. */
export function encodeBody(body: JsonObject, shape: TriggerShape): Buffer {
  const bytes = Buffer.from(stringifyJson(body), 'utf8');
  return shape === 'meta' ? (escapeNonAscii(bytes) ?? bytes) : bytes;
}
