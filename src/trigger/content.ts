/**
 * @module trigger/content
 *
 * What a message says and what a status reports: the content of every message kind (text,
 * media, location, buttons, lists, products, reactions, ...) and the status items of an
 * outbound message. Pure: randomness from an `Rng`, time from the caller.
 */
import type { JsonObject } from '../events/types.js';
import type { TriggerKind } from './kinds.js';
import type { Rng } from './rng.js';
import { type Customer, type OutboundMessage, type BuildContext, B64URL, DIGITS, numericId, newCustomer, bsuid } from './model.js';

export const TEXTS = [
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
export const TEMPLATE_NAMES = ['order_confirmation', 'shipping_update', 'appointment_reminder', 'spring_sale', 'otp_login', 'welcome_back'] as const;
export const LANGUAGES = ['en_US', 'en_GB', 'pt_BR', 'es', 'hi', 'de'] as const;

function sha256b64(rng: Rng): string {
  return rng.bytes(32).toString('base64');
}

export function media(ctx: BuildContext, mimeType: string, extra: JsonObject = {}): JsonObject {
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
export function messageContent(kind: TriggerKind, ctx: BuildContext, customer: Customer, outbound: OutboundMessage): JsonObject {
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

export function statusItem(kind: TriggerKind, ctx: BuildContext, outbound: OutboundMessage, at: number): JsonObject {
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
