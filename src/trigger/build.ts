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
import type { JsonObject, JsonValue } from '../events/types.js';
import { escapeNonAscii } from '../ingest/verify-meta.js';
import { findKind, kindSupports, type TriggerKind, type TriggerShape } from './kinds.js';
import type { Rng } from './rng.js';

/** The business side of every notification. */
export interface BusinessAccount {
  /** Meta `entry.id`. */
  wabaId: string;
  /** Meta `metadata.phone_number_id`. */
  phoneNumberId: string;
  /** Meta `metadata.display_phone_number`, EnableX `business_phone`. */
  displayPhoneNumber: string;
}

export const DEFAULT_ACCOUNTS: Readonly<Record<TriggerShape, BusinessAccount>> = {
  meta: { wabaId: '102290129340398', phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' },
  enablex: { wabaId: '', phoneNumberId: '', displayPhoneNumber: '919876500001' },
};

export interface Customer {
  waId: string;
  name: string;
}

/** A business message the statuses, reactions and replies of one exchange refer to. */
export interface OutboundMessage {
  id: string;
  recipient: Customer;
}

export interface BuildContext {
  rng: Rng;
  shape: TriggerShape;
  account: BusinessAccount;
}

export interface BuildOptions {
  /** Unix seconds of the item's own timestamp. */
  at: number;
  /** The sender of a message, the recipient of a status. A new one is drawn when absent. */
  customer?: Customer;
  /** The business message a status, reaction or reply refers to. A new one is drawn when absent. */
  outbound?: OutboundMessage;
}

/** Where an item goes in a body. */
export type NotificationPart =
  | { place: 'messages'; message: JsonObject; contact: JsonObject | undefined }
  | { place: 'statuses'; status: JsonObject }
  /** Meta: a change of its own; EnableX template notifications use `statuses` instead. */
  | { place: 'change'; field: string; value: JsonObject; time: number }
  /** A whole body that cannot share a POST with anything else. */
  | { place: 'body'; body: JsonObject };

/** One notification: what it is, the id a user would look for, and its payload item. */
export interface Notification {
  kind: TriggerKind;
  shape: TriggerShape;
  /** The message id (for statuses: the business message's id), template id or field id. */
  ref: string;
  part: NotificationPart;
}

// ---------------------------------------------------------------------------
// Ids and people.

const HEX = '0123456789ABCDEF';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DIGITS = '0123456789';

/**
 * A Meta message id: base64 of the counterpart's number, the direction (0x12 inbound,
 * 0x11 outbound) and random hex, which is how real `wamid.` ids are laid out.
 */
export function wamid(rng: Rng, waId: string, inbound: boolean): string {
  const hex = rng.chars(inbound ? 20 : 18, HEX);
  const raw = Buffer.concat([
    Buffer.from([0x1c, 0x18, waId.length]),
    Buffer.from(waId, 'latin1'),
    Buffer.from([0x15, 0x02, 0x00, inbound ? 0x12 : 0x11, 0x18, hex.length]),
    Buffer.from(hex, 'latin1'),
    Buffer.from([0x00]),
  ]);
  return `wamid.${raw.toString('base64')}`;
}

/** An EnableX message id (inbound ids start `AB`, ids of the business's messages `gB`). */
export function enablexMessageId(rng: Rng, inbound: boolean): string {
  return inbound ? `ABEGkZmBI0VnAh${rng.chars(14, B64URL)}` : `gBEGkZmBI0VnAg${rng.chars(13, B64URL)}`;
}

function messageId(ctx: BuildContext, waId: string, inbound: boolean): string {
  return ctx.shape === 'meta' ? wamid(ctx.rng, waId, inbound) : enablexMessageId(ctx.rng, inbound);
}

/** A numeric id as Meta gives media, catalogs and templates (no leading zero). */
function numericId(rng: Rng, digits: number): string {
  return `${1 + rng.int(9)}${rng.chars(digits - 1, DIGITS)}`;
}

const PEOPLE: ReadonlyArray<{ code: string; areas: readonly string[]; rest: number; names: readonly string[] }> = [
  { code: '1', areas: ['415', '650', '212', '646', '305'], rest: 7, names: ['Kerry Fisher', 'Jordan Lee', 'Maria Gonzalez', 'Sam Taylor', 'Priya Patel'] },
  { code: '91', areas: ['98', '99', '97', '88', '70'], rest: 8, names: ['Anita Rao', 'Rahul Sharma', 'Sneha Iyer', 'Vikram Nair', 'अमित कुमार'] },
  { code: '55', areas: ['119', '219', '319', '419'], rest: 8, names: ['João Silva', 'Ana Souza', 'Lucas Pereira', 'Beatriz Costa'] },
  { code: '44', areas: ['7700', '7911', '7400'], rest: 6, names: ['Oliver Smith', 'Amelia Jones', 'Harry Brown', 'Chloë Evans'] },
  { code: '49', areas: ['151', '160', '176'], rest: 8, names: ['Lena Müller', 'Jonas Schmidt', 'Mia Schäfer'] },
];

/** A customer with a plausible number for one of a few countries, and a profile name. */
export function newCustomer(rng: Rng): Customer {
  const country = rng.pick(PEOPLE);
  return { waId: `${country.code}${rng.pick(country.areas)}${rng.chars(country.rest, DIGITS)}`, name: rng.pick(country.names) };
}

/** A business message to `recipient` (statuses and reactions refer to it). */
export function newOutbound(ctx: BuildContext, recipient: Customer): OutboundMessage {
  return { id: messageId(ctx, recipient.waId, false), recipient };
}

// ---------------------------------------------------------------------------
// Message content.

const TEXTS = [
  'Hi, is my order on its way?',
  'Can I change the delivery address to my office?',
  'Thanks! That solved it 🙏',
  'Olá, vocês entregam no sábado?',
  'नमस्ते, मेरी बुकिंग की पुष्टि कब होगी?',
  'Do you have this in size M?',
  'I was charged twice for order #48213',
  '¿Tienen envío gratis a Madrid?',
  'What time do you open tomorrow?',
  'Please call me back, it is about the refund',
] as const;

const CAPTIONS = ['This is the damaged box', 'Receipt attached', 'Is this the right model?', 'Foto do produto', ''] as const;
const EMOJIS = ['👍', '❤️', '😂', '😮', '🙏', '🎉'] as const;
const PLACES = [
  { latitude: 37.4847483, longitude: -122.1473981, name: 'Philz Coffee', address: '3300 El Camino Real, Palo Alto, CA 94306' },
  { latitude: 12.971599, longitude: 77.594566, name: 'MG Road Metro', address: 'Mahatma Gandhi Rd, Bengaluru 560001' },
  { latitude: -23.5613, longitude: -46.6565, name: 'MASP', address: 'Av. Paulista, 1578 - Bela Vista, São Paulo' },
  { latitude: 51.5033, longitude: -0.1196, name: 'London Eye', address: 'Riverside Building, London SE1 7PB' },
] as const;
const BUTTONS = [
  ['Track order', 'TRACK_ORDER'],
  ['Talk to an agent', 'AGENT'],
  ['Yes, confirm', 'CONFIRM_YES'],
  ['Reschedule', 'RESCHEDULE'],
] as const;
const LIST_ROWS = [
  ['slot-0900', '09:00 - 10:00', 'Morning delivery'],
  ['slot-1400', '14:00 - 15:00', 'Afternoon delivery'],
  ['plan-basic', 'Basic plan', '5 GB, unlimited calls'],
  ['lang-pt', 'Português', 'Atendimento em português'],
] as const;
const PRODUCTS = [
  ['helmet-m-black', 59.9],
  ['bell-classic', 7.5],
  ['gloves-l', 24],
  ['lock-u-200', 32.95],
] as const;
const TEMPLATE_NAMES = ['order_confirmation', 'shipping_update', 'appointment_reminder', 'spring_sale', 'otp_login', 'welcome_back'] as const;
const LANGUAGES = ['en_US', 'en_GB', 'pt_BR', 'es', 'hi', 'de'] as const;

function sha256b64(rng: Rng): string {
  return rng.bytes(32).toString('base64');
}

function media(ctx: BuildContext, mimeType: string, extra: JsonObject = {}): JsonObject {
  const { rng } = ctx;
  if (ctx.shape === 'enablex') {
    const id = [8, 4, 4, 4, 12].map((n) => rng.chars(n, '0123456789abcdef')).join('-');
    return { ...extra, mime_type: mimeType, sha256: sha256b64(rng), id, fileLink: `https://api.enablex.io/whatsapp/v1/media/${id}` };
  }
  return { ...extra, mime_type: mimeType, sha256: sha256b64(rng), id: numericId(rng, 16) };
}

function caption(rng: Rng): JsonObject {
  const text = rng.pick(CAPTIONS);
  return text === '' ? {} : { caption: text };
}

/** The type-specific part of a message; `context` for replies to a business message. */
function messageContent(kind: TriggerKind, ctx: BuildContext, customer: Customer, outbound: OutboundMessage): JsonObject {
  const { rng } = ctx;
  const context = { from: ctx.account.displayPhoneNumber, id: outbound.id };
  switch (kind.name) {
    case 'text':
      return { type: 'text', text: { body: rng.pick(TEXTS) } };
    case 'image':
      return { type: 'image', image: media(ctx, 'image/jpeg', caption(rng)) };
    case 'video':
      return { type: 'video', video: media(ctx, 'video/mp4', caption(rng)) };
    case 'audio':
      return { type: 'audio', audio: media(ctx, 'audio/ogg; codecs=opus', { voice: true }) };
    case 'document': {
      const file = `invoice-${rng.chars(6, DIGITS)}.pdf`;
      return { type: 'document', document: media(ctx, 'application/pdf', { filename: file, ...caption(rng) }) };
    }
    case 'sticker':
      return { type: 'sticker', sticker: media(ctx, 'image/webp', { animated: rng.chance(0.3) }) };
    case 'location':
      return { type: 'location', location: { ...rng.pick(PLACES) } };
    case 'contacts': {
      const shared = newCustomer(rng);
      const [first = shared.name, ...last] = shared.name.split(' ');
      return {
        type: 'contacts',
        contacts: [
          {
            name: { formatted_name: shared.name, first_name: first, ...(last.length > 0 ? { last_name: last.join(' ') } : {}) },
            phones: [{ phone: `+${shared.waId}`, type: 'CELL', wa_id: shared.waId }],
          },
        ],
      };
    }
    case 'interactive-button': {
      const [title, id] = rng.pick(BUTTONS);
      return { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: `${id}-${rng.chars(4, DIGITS)}`, title } }, context };
    }
    case 'interactive-list': {
      const [id, title, description] = rng.pick(LIST_ROWS);
      return { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id, title, description } }, context };
    }
    case 'interactive-flow': {
      const response = { flow_token: `flow-${rng.chars(10, B64URL)}`, rating: String(1 + rng.int(5)), comment: 'Quick and easy' };
      return {
        type: 'interactive',
        interactive: { type: 'nfm_reply', nfm_reply: { response_json: JSON.stringify(response), body: 'Sent', name: 'flow' } },
        context,
      };
    }
    case 'button': {
      const [text, payload] = rng.pick(BUTTONS);
      return { type: 'button', button: { text, payload: `${payload}-${rng.chars(5, DIGITS)}` }, context };
    }
    case 'order': {
      const items = rng.shuffle(PRODUCTS).slice(0, 1 + rng.int(3));
      return {
        type: 'order',
        order: {
          catalog_id: numericId(rng, 16),
          ...(rng.chance(0.5) ? { text: 'Please gift-wrap it' } : {}),
          product_items: items.map(([id, price]) => ({ product_retailer_id: id, quantity: 1 + rng.int(3), item_price: price, currency: 'USD' })),
        },
      };
    }
    case 'system': {
      const next = `${customer.waId.slice(0, -4)}${rng.chars(4, DIGITS)}`;
      return { type: 'system', system: { body: `${customer.name} changed from ${customer.waId} to ${next}`, wa_id: next, type: 'user_changed_number' } };
    }
    case 'user-id-system': {
      const previous = bsuid(rng);
      const next = bsuid(rng);
      return { type: 'system', system: { body: `${customer.name} changed their business-scoped user id`, type: 'user_changed_user_id', previous_user_id: previous, user_id: next } };
    }
    case 'ad-referral':
      return {
        type: 'text',
        text: { body: rng.pick(TEXTS) },
        referral: {
          source_url: 'https://fb.me/3cr4Wqqkv',
          source_id: numericId(rng, 15),
          source_type: 'ad',
          body: 'Spring sale: 20% off every helmet',
          headline: 'Ride safe this spring',
          media_type: 'image',
          image_url: 'https://scontent.xx.fbcdn.net/ad.jpg',
          ctwa_clid: `AR${rng.chars(28, B64URL)}`,
        },
      };
    case 'request-welcome':
      return { type: 'request_welcome' };
    case 'unsupported':
      return {
        type: 'unsupported',
        unsupported: { type: rng.pick(['poll_creation', 'gif', 'group_invite', 'keep_in_chat']) },
        errors: [
          {
            code: 131051,
            title: 'Message type unknown',
            message: 'Message type unknown',
            error_data: { details: 'Message type is currently not supported.' },
          },
        ],
      };
    case 'reaction':
      return { type: 'reaction', reaction: { message_id: outbound.id, emoji: rng.pick(EMOJIS) } };
    case 'unreaction':
      // Meta leaves `emoji` out on removal; EnableX relays have been seen sending "".
      return { type: 'reaction', reaction: ctx.shape === 'meta' ? { message_id: outbound.id } : { message_id: outbound.id, emoji: '' } };
    default:
      throw new RangeError(`not a message kind: ${kind.name}`);
  }
}

// ---------------------------------------------------------------------------
// Statuses.

function statusItem(kind: TriggerKind, ctx: BuildContext, outbound: OutboundMessage, at: number): JsonObject {
  const { rng } = ctx;
  const value = kind.detail!;
  const item: JsonObject = { id: outbound.id, status: value, timestamp: String(at), recipient_id: outbound.recipient.waId };
  if (ctx.shape === 'enablex') {
    item.type = 'message';
    item.extra = `order-${rng.chars(5, DIGITS)}`;
  } else if (value === 'sent') {
    item.conversation = {
      id: rng.chars(32, '0123456789abcdef'),
      expiration_timestamp: String(at + 86_400),
      origin: { type: rng.pick(['utility', 'marketing', 'service']) },
    };
    item.pricing = { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' };
  }
  if (value === 'failed') {
    const [code, title] = rng.pick([
      [131026, 'Message undeliverable'],
      [131049, 'This message was not delivered to maintain healthy ecosystem engagement.'],
      [131047, 'Re-engagement message'],
      [130472, "User's number is part of an experiment"],
    ] as const);
    item.errors = [
      ctx.shape === 'meta'
        ? { code, title, message: title, error_data: { details: title }, href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/' }
        : { code, title },
    ];
  }
  return item;
}

// ---------------------------------------------------------------------------
// Templates and other fields.

/** A template id: 15-16 digits like Meta's, now and then one beyond 2^53 (kept exact as a bigint). */
function templateId(rng: Rng): JsonValue {
  if (rng.chance(0.125)) return BigInt(`9${rng.chars(18, DIGITS)}`);
  return Number(numericId(rng, 15 + rng.int(2)));
}

function templateValue(kind: TriggerKind, ctx: BuildContext): { value: JsonObject; field: string; ref: string } {
  const { rng } = ctx;
  const id = templateId(rng);
  const name = rng.pick(TEMPLATE_NAMES);
  const language = rng.pick(LANGUAGES);
  const ref = String(id);
  if (kind.name === 'template-quality') {
    const [previous, next] = rng.pick([
      ['GREEN', 'YELLOW'],
      ['YELLOW', 'RED'],
      ['RED', 'YELLOW'],
      ['UNKNOWN', 'GREEN'],
    ] as const);
    return {
      field: 'message_template_quality_update',
      ref,
      value: { previous_quality_score: previous, new_quality_score: next, message_template_id: id, message_template_name: name, message_template_language: language },
    };
  }
  if (kind.name === 'template-category') {
    const [previous, next] = rng.pick([
      ['UTILITY', 'MARKETING'],
      ['MARKETING', 'UTILITY'],
      ['AUTHENTICATION', 'UTILITY'],
    ] as const);
    return {
      field: 'template_category_update',
      ref,
      value: { message_template_id: id, message_template_name: name, message_template_language: language, previous_category: previous, new_category: next },
    };
  }
  const event = kind.detail!;
  const value: JsonObject = {
    event,
    message_template_id: id,
    message_template_name: name,
    message_template_language: language,
    reason: event === 'REJECTED' ? rng.pick(['INVALID_FORMAT', 'PROMOTIONAL', 'TAG_CONTENT_MISMATCH']) : event === 'APPROVED' ? 'NONE' : null,
    message_template_category: rng.pick(['UTILITY', 'MARKETING']),
  };
  if (event === 'REJECTED') value.rejection_info = { reason: value.reason as string, recommendation: 'Remove the duplicate variable in the body.' };
  if (event === 'PAUSED') value.other_info = { title: 'FIRST_PAUSE', description: 'Your template has been paused for 3 hours because of low quality.' };
  if (event === 'DISABLED') value.other_info = { title: 'DISABLED', description: 'Your template has been disabled because of continued low quality.' };
  return { field: 'message_template_status_update', ref, value };
}

/** EnableX posts template notifications as `statuses[]` items with its own key names. */
function enablexTemplateItem(kind: TriggerKind, meta: JsonObject, at: number): JsonObject {
  const item: JsonObject = {
    template_name: meta.message_template_name as string,
    template_id: meta.message_template_id as JsonValue,
    template_language: meta.message_template_language as string,
  };
  if (kind.event === 'template.status') {
    item.status = meta.event as string;
    item.reason = meta.reason as JsonValue;
  } else if (kind.event === 'template.quality') {
    item.previous_quality_score = meta.previous_quality_score as string;
    item.new_quality_score = meta.new_quality_score as string;
  } else {
    item.previous_category = meta.previous_category as string;
    item.new_category = meta.new_category as string;
  }
  item.timestamp = String(at);
  return item;
}

/** A notification of a field bluetick does not model; each carries an id of its own. */
function otherField(ctx: BuildContext, at: number): { field: string; value: JsonObject; ref: string } {
  const { rng } = ctx;
  const id = numericId(rng, 16);
  return {
    field: rng.pick(['automatic_events', 'partner_solutions', 'payment_configuration_update']),
    ref: id,
    value: { id, event: 'SAMPLE', timestamp: at },
  };
}

/** A business-scoped user id as Meta lays them out: country, a dot, 20 digits. */
function bsuid(rng: Rng): string {
  return `US.${numericId(rng, 20)}`;
}

/**
 * The change value of one of Meta's other webhook fields (contract v2 types), shaped as
 * the field's reference page describes it. `ref` is the id a user would look for.
 */
function fieldValue(kind: TriggerKind, ctx: BuildContext, customer: Customer, at: number): { value: JsonObject; ref: string } {
  const { rng, account } = ctx;
  const metadata = { display_phone_number: account.displayPhoneNumber, phone_number_id: account.phoneNumberId };
  const contact = { profile: { name: customer.name }, wa_id: customer.waId };
  const ts = String(at);
  switch (kind.name) {
    case 'echo': {
      const id = wamid(rng, customer.waId, false);
      const echo = { from: account.displayPhoneNumber, to: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, message_echoes: [echo] } };
    }
    case 'standby': {
      const id = wamid(rng, customer.waId, true);
      const message = { from: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], messages: [message] } };
    }
    case 'handover':
      return {
        ref: customer.waId,
        value: { messaging_product: 'whatsapp', metadata, type: 'control_passed', from: customer.waId, timestamp: ts, control_passed: { metadata: 'handover from the bot' } },
      };
    case 'history': {
      const id = wamid(rng, customer.waId, true);
      const thread = { id: customer.waId, messages: [{ from: customer.waId, id, timestamp: ts, type: 'text', text: { body: rng.pick(TEXTS) }, history_context: { status: 'READ' } }] };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, history: [{ metadata: { phase: 0, chunk_order: 1, progress: 100 }, threads: [thread] }] } };
    }
    case 'contact-sync': {
      const [first = customer.name] = customer.name.split(' ');
      const item = { type: 'contact', contact: { full_name: customer.name, first_name: first, phone_number: customer.waId }, action: 'add', metadata: { timestamp: ts } };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, state_sync: [item] } };
    }
    case 'marketing-stop':
    case 'marketing-resume': {
      const value = kind.detail!;
      const item = { wa_id: customer.waId, detail: `User requested to ${value} marketing messages`, category: 'marketing_messages', value, timestamp: at };
      return { ref: customer.waId, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], user_preferences: [item] } };
    }
    case 'user-id-change': {
      const current = bsuid(rng);
      const item = { wa_id: customer.waId, detail: 'User changed business-scoped user id', user_id: { previous: bsuid(rng), current }, timestamp: ts };
      return { ref: current, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], user_id_update: [item] } };
    }
    case 'template-components': {
      const id = numericId(rng, 16);
      return {
        ref: id,
        value: {
          message_template_id: Number(id),
          message_template_name: rng.pick(TEMPLATE_NAMES),
          message_template_language: rng.pick(LANGUAGES),
          message_template_element: 'Your order {{1}} is on its way.',
        },
      };
    }
    case 'account-update':
      return {
        ref: account.wabaId,
        value: { phone_number: account.displayPhoneNumber, event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'ADULT' } },
      };
    case 'account-alert': {
      const alertId = numericId(rng, 15);
      return {
        ref: alertId,
        value: {
          entity_type: 'PHONE_NUMBER',
          entity_id: account.phoneNumberId,
          alert_info: { alert_severity: 'INFORMATIONAL', alert_status: 'ACTIVE', alert_type: 'OBA_APPROVED', alert_id: alertId, alert_description: 'Official business account approved' },
        },
      };
    }
    case 'account-review':
      return { ref: account.wabaId, value: { decision: rng.pick(['APPROVED', 'REJECTED', 'PENDING']) } };
    case 'account-capability':
      return {
        ref: account.wabaId,
        value: { max_daily_conversation_per_phone: 2000, max_daily_conversations_per_business: 2000, max_phone_numbers_per_business: 20, max_phone_numbers_per_waba: 25 },
      };
    case 'account-security':
      return { ref: account.displayPhoneNumber, value: { display_phone_number: account.displayPhoneNumber, event: 'PIN_CHANGED', requester: numericId(rng, 16) } };
    case 'account-error':
      return {
        ref: account.phoneNumberId,
        value: { messaging_product: 'whatsapp', metadata, errors: [{ code: 130429, title: 'Rate limit hit', message: 'Rate limit hit', error_data: { details: 'Cloud API message throughput has been reached.' } }] },
      };
    case 'phone-quality':
      return {
        ref: account.displayPhoneNumber,
        value: { display_phone_number: account.displayPhoneNumber, event: 'UPGRADE', old_limit: 'TIER_1K', current_limit: 'TIER_10K', max_daily_conversations_per_business: 10000 },
      };
    case 'phone-name':
      return { ref: account.displayPhoneNumber, value: { display_phone_number: account.displayPhoneNumber, decision: 'APPROVED', requested_verified_name: 'Lucky Shrub' } };
    case 'flow-status': {
      const flowId = numericId(rng, 16);
      return {
        ref: flowId,
        value: { event: 'FLOW_STATUS_CHANGE', message: 'Flow Customer survey changed status from DRAFT to PUBLISHED', flow_id: flowId, old_status: 'DRAFT', new_status: 'PUBLISHED' },
      };
    }
    case 'call': {
      const id = `wacid.${rng.chars(40, B64URL)}`;
      const call = { id, to: account.displayPhoneNumber, from: customer.waId, event: 'connect', timestamp: ts, direction: 'USER_INITIATED', session: { sdp_type: 'offer', sdp: 'v=0' } };
      return { ref: id, value: { messaging_product: 'whatsapp', metadata, contacts: [contact], calls: [call] } };
    }
    case 'group': {
      const groupId = `1203630${rng.chars(11, DIGITS)}@g.us`;
      const group = { timestamp: ts, group_id: groupId, type: 'group_create', request_id: rng.chars(32, '0123456789abcdef'), subject: 'Launch crew' };
      return { ref: groupId, value: { messaging_product: 'whatsapp', metadata, groups: [group] } };
    }
    default:
      throw new RangeError(`not a field kind: ${kind.name}`);
  }
}

// ---------------------------------------------------------------------------

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
