/**
 * @module events/messages
 *
 * Messages: each message object (inbound, echo or standby) as one `message.*` event, with
 * its content read once (text, captions, buttons, replies, orders, locations, contact
 * cards) and its error codes. Pure.
 */
import { idOf, isObject, own, textOf } from './json.js';
import { isoFromUnixSeconds } from './time.js';
import type { BluetickEvent, JsonObject, JsonValue } from './types.js';
import { type Scope, scopedId } from './scope.js';
import { type ItemFields, assemble } from './assemble.js';
import type { Contacts } from './contacts.js';

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
