/**
 * @module trigger/model
 *
 * The shapes a build works with (business account, customer, outbound message, context,
 * notification), and fresh ids and people: `wamid.` ids laid out like Meta's, EnableX's
 * shorter ids, customers with plausible numbers and names. Pure: randomness from an `Rng`.
 */
import type { JsonObject } from '../events/types.js';
import type { TriggerKind, TriggerShape } from './kinds.js';
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

const HEX = '0123456789ABCDEF';
export const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export const DIGITS = '0123456789';

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

export function messageId(ctx: BuildContext, waId: string, inbound: boolean): string {
  return ctx.shape === 'meta' ? wamid(ctx.rng, waId, inbound) : enablexMessageId(ctx.rng, inbound);
}

/** A numeric id as Meta gives media, catalogs and templates (no leading zero). */
export function numericId(rng: Rng, digits: number): string {
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

/** A business-scoped user id as Meta lays them out: country, a dot, 20 digits. */
export function bsuid(rng: Rng): string {
  return `US.${numericId(rng, 20)}`;
}
