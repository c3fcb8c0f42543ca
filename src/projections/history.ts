/**
 * @module projections/history
 *
 * A `history.sync` event carries one thread of the WhatsApp Business app's chat history
 * (coexistence onboarding): the customer's messages and the business's, as Meta's message
 * objects. The projections file them like live ones, so the thread's timeline and its
 * conversation row fill in, but nothing is delivered for them (routes and handlers get the
 * one `history.sync` event only when they name the type).
 *
 * Each message of the thread becomes a message event that exists only here: a customer
 * message a `message.received`, a business message a `message.echo` (field `history`),
 * with the ids the live message would have had, so a message that also arrived live is
 * one row. Contacts are not touched: history says nothing new about who the user is.
 * A thread contributes at most {@link HISTORY_MESSAGE_LIMIT} messages (the first ones, in
 * payload order); the rest stay in the event's `data`.
 */
import { contactsOf, messageEvent, newScope, placeScope } from '../events/meta-cloud.js';
import { idOf, isObject } from '../events/json.js';
import type { BluetickEvent, MessageEchoEvent, MessageReceivedEvent } from '../events/types.js';

/** Messages of one history thread the projections file. */
export const HISTORY_MESSAGE_LIMIT = 1000;

const NO_CONTACTS = contactsOf(undefined, []);

/**
 * The messages of a `history.sync` thread as message events, in payload order; `[]` for
 * any other event and for chunks without messages.
 */
export function historyMessagesOf(event: BluetickEvent): Array<MessageReceivedEvent | MessageEchoEvent> {
  if (event.type !== 'history.sync' || !isObject(event.data)) return [];
  const messages = event.data.messages;
  if (!Array.isArray(messages)) return [];
  const threadId = idOf(event.data.id);
  const scope = placeScope(newScope(event.provider, event.channel, event.receivedAt), {
    businessAccountId: event.businessAccountId,
    phoneNumberId: event.phoneNumberId,
    displayPhoneNumber: event.displayPhoneNumber,
    field: 'history',
  });
  const out: Array<MessageReceivedEvent | MessageEchoEvent> = [];
  for (const message of messages) {
    if (out.length >= HISTORY_MESSAGE_LIMIT) break;
    if (!isObject(message) || idOf(message.id) === undefined) continue;
    const from = idOf(message.from);
    const fromBusiness = from !== undefined && threadId !== undefined ? from !== threadId : message.to !== undefined;
    const item = fromBusiness && message.to === undefined && threadId !== undefined ? { ...message, to: threadId } : message;
    const sub = messageEvent(scope, item, NO_CONTACTS, fromBusiness ? 'echo' : 'inbound');
    if (sub.type === 'message.received' || sub.type === 'message.echo') out.push(sub);
  }
  return out;
}
