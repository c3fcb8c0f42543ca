/**
 * @module projections
 *
 * The state that follows from the events, as pure reducers. Nothing here does
 * IO: a store shell loads the rows an event touches ({@link keysTouched}), runs
 * {@link applyEvent} over them, and writes them back in the transaction that records the
 * event. Rebuilding from the events gives the same rows, byte for byte, whatever order
 * the events come in.
 *
 * Row kinds and their keys:
 * - messages       message id                                  ({@link MessageRow})
 * - conversations  `<phoneNumberId | displayPhoneNumber>:<contact wa_id>`  ({@link ConversationRow})
 * - contacts       wa_id                                       ({@link ContactRow})
 * - templates      template id, else `<name>:<language>`       ({@link TemplateRow})
 * - reactions      `<targetMessageId>:<from>`                  ({@link ReactionRow})
 * - consent        `<businessAccountId>:<user>:<category>`      ({@link ConsentRow})
 * - phoneNumbers   display phone number                        ({@link PhoneNumberRow})
 * - businessAccounts  business account id                      ({@link BusinessAccountRow})
 * - flows          Flow id                                     ({@link FlowRow})
 *
 * Rows are plain JSON objects (no Map, Date or bigint inside), ready to store as JSON.
 * Apply each distinct event once, or more: duplicates by event id change nothing.
 *
 * @example
 * const keys = keysTouched(event);
 * const loaded = await loadRows(tx, keys);          // a ProjectionState holding just those rows
 * const next = applyEvent(loaded, event);
 * await writeRows(tx, keys, next);                   // every key in `keys` present in `next`
 */
import type { BluetickEvent } from '../events/types.js';
import { contactIdsOf, reduceContact, type ContactRow } from './contacts.js';
import { conversationKeyOf, reduceConversation, type ConversationRow } from './conversations.js';
import { messageKeyOf, reduceMessage, type MessageRow } from './message-status.js';
import { currentReactions, reactionKeyOf, reduceReaction, type ReactionRow } from './reactions.js';
import { reduceTemplate, templateKeyOf, type TemplateRow } from './templates.js';
import { consentKeyOf, reduceConsent, type ConsentRow } from './consent.js';
import {
  businessAccountKeyOf,
  flowKeyOf,
  phoneNumberKeyOf,
  reduceBusinessAccount,
  reduceFlow,
  reducePhoneNumber,
  type BusinessAccountRow,
  type FlowRow,
  type PhoneNumberRow,
} from './health.js';
import { historyMessagesOf } from './history.js';
import { sameJson } from './order.js';

export * from './contacts.js';
export * from './conversations.js';
export * from './history.js';
export * from './message-status.js';
export * from './reactions.js';
export * from './templates.js';
export * from './consent.js';
export * from './health.js';
export { CHANGE_LIMIT as HEALTH_CHANGE_LIMIT, type Change, type Fact } from './facts.js';

/** Every projection, in memory, keyed as described in the module header. */
export interface ProjectionState {
  messages: Map<string, MessageRow>;
  conversations: Map<string, ConversationRow>;
  contacts: Map<string, ContactRow>;
  templates: Map<string, TemplateRow>;
  reactions: Map<string, ReactionRow>;
  // Account state: consent and health.
  consent: Map<string, ConsentRow>;
  phoneNumbers: Map<string, PhoneNumberRow>;
  businessAccounts: Map<string, BusinessAccountRow>;
  flows: Map<string, FlowRow>;
}

/** The rows one event can change, per projection. */
export interface TouchedKeys {
  messages: string[];
  conversations: string[];
  contacts: string[];
  templates: string[];
  reactions: string[];
  // Account state: consent and health.
  consent: string[];
  phoneNumbers: string[];
  businessAccounts: string[];
  flows: string[];
}

export function emptyState(): ProjectionState {
  return {
    messages: new Map(),
    conversations: new Map(),
    contacts: new Map(),
    templates: new Map(),
    reactions: new Map(),
    // Account state: consent and health.
    consent: new Map(),
    phoneNumbers: new Map(),
    businessAccounts: new Map(),
    flows: new Map(),
  };
}

function one(key: string | undefined): string[] {
  return key === undefined ? [] : [key];
}

/**
 * The rows `event` may change. A store loads exactly these (absent ones stay absent), and
 * after {@link applyEvent} writes back those present in the result. A conversation update
 * also reads the event's message row, which is always in the list.
 */
export function keysTouched(event: BluetickEvent): TouchedKeys {
  if (event.type === 'history.sync') return historyKeys(event);
  return {
    messages: one(messageKeyOf(event)),
    conversations: one(conversationKeyOf(event)),
    contacts: contactIdsOf(event),
    templates: one(templateKeyOf(event)),
    reactions: one(reactionKeyOf(event)),
    // Account state: consent and health.
    consent: one(consentKeyOf(event)),
    phoneNumbers: one(phoneNumberKeyOf(event)),
    businessAccounts: one(businessAccountKeyOf(event)),
    flows: one(flowKeyOf(event)),
  };
}

/** A history thread touches its messages and their conversations (see `projections/history.ts`). */
function historyKeys(event: BluetickEvent): TouchedKeys {
  const messages = new Set<string>();
  const conversations = new Set<string>();
  for (const sub of historyMessagesOf(event)) {
    const message = messageKeyOf(sub);
    const conversation = conversationKeyOf(sub);
    if (message !== undefined) messages.add(message);
    if (conversation !== undefined) conversations.add(conversation);
  }
  return {
    messages: [...messages],
    conversations: [...conversations],
    contacts: [],
    templates: [],
    reactions: [],
    consent: [],
    phoneNumbers: [],
    businessAccounts: [],
    flows: [],
  };
}

/**
 * Replaces a row the event changed. A row rebuilt with the same content (a `delivered`
 * status leaves its conversation as it was) is not: the row that was there stays, so a
 * store shell, which writes back only the rows that are new objects, skips its write.
 */
function setIfChanged<T>(map: Map<string, T>, key: string, before: T | undefined, after: T | undefined): void {
  if (after !== undefined && after !== before && (before === undefined || !sameJson(before, after))) map.set(key, after);
}

/**
 * Applies one event to a state the caller owns, in place: the rows it changes are replaced
 * in `state`'s maps (rows themselves are never mutated). `keys` must be `keysTouched(event)`.
 * For store shells that hold the touched rows in maps of their own and reuse them from one
 * event to the next, instead of a fresh state per event.
 */
export function applyEventInPlace(state: ProjectionState, event: BluetickEvent, keys: TouchedKeys): void {
  applyInPlace(state, event, keys);
}

/** Applies one event to a state the caller owns. @internal */
function applyInPlace(state: ProjectionState, event: BluetickEvent, keys: TouchedKeys): void {
  if (event.type === 'history.sync') {
    for (const sub of historyMessagesOf(event)) {
      const subKeys = keysTouched(sub);
      applyInPlace(state, sub, { ...subKeys, contacts: [], reactions: [] });
    }
    return;
  }
  // Conversations count a message the first time one of its events files it under them,
  // which they learn from the message row as it was BEFORE this event.
  const messageId = keys.messages[0];
  const previousMessage = messageId === undefined ? undefined : state.messages.get(messageId);
  if (messageId !== undefined) {
    setIfChanged(state.messages, messageId, previousMessage, reduceMessage(previousMessage, event));
  }
  for (const key of keys.conversations) {
    const row = state.conversations.get(key);
    setIfChanged(state.conversations, key, row, reduceConversation(row, event, previousMessage));
  }
  for (const waId of keys.contacts) {
    const row = state.contacts.get(waId);
    setIfChanged(state.contacts, waId, row, reduceContact(row, waId, event));
  }
  for (const key of keys.templates) {
    const row = state.templates.get(key);
    setIfChanged(state.templates, key, row, reduceTemplate(row, event));
  }
  for (const key of keys.reactions) {
    const row = state.reactions.get(key);
    setIfChanged(state.reactions, key, row, reduceReaction(row, event));
  }
  applyAccountState(state, event, keys);
}

/** Consent and health rows: each depends on its own row and the event only. @internal */
function applyAccountState(state: ProjectionState, event: BluetickEvent, keys: TouchedKeys): void {
  for (const key of keys.consent) setIfChanged(state.consent, key, state.consent.get(key), reduceConsent(state.consent.get(key), event));
  for (const key of keys.phoneNumbers) {
    setIfChanged(state.phoneNumbers, key, state.phoneNumbers.get(key), reducePhoneNumber(state.phoneNumbers.get(key), event));
  }
  for (const key of keys.businessAccounts) {
    setIfChanged(state.businessAccounts, key, state.businessAccounts.get(key), reduceBusinessAccount(state.businessAccounts.get(key), event));
  }
  for (const key of keys.flows) setIfChanged(state.flows, key, state.flows.get(key), reduceFlow(state.flows.get(key), event));
}

function copyTouched(state: ProjectionState, keys: TouchedKeys): ProjectionState {
  return {
    messages: keys.messages.length > 0 ? new Map(state.messages) : state.messages,
    conversations: keys.conversations.length > 0 ? new Map(state.conversations) : state.conversations,
    contacts: keys.contacts.length > 0 ? new Map(state.contacts) : state.contacts,
    templates: keys.templates.length > 0 ? new Map(state.templates) : state.templates,
    reactions: keys.reactions.length > 0 ? new Map(state.reactions) : state.reactions,
    // Account state: consent and health.
    consent: keys.consent.length > 0 ? new Map(state.consent) : state.consent,
    phoneNumbers: keys.phoneNumbers.length > 0 ? new Map(state.phoneNumbers) : state.phoneNumbers,
    businessAccounts: keys.businessAccounts.length > 0 ? new Map(state.businessAccounts) : state.businessAccounts,
    flows: keys.flows.length > 0 ? new Map(state.flows) : state.flows,
  };
}

/**
 * Applies one event and returns the new state; `state` is left untouched (maps that the
 * event does not concern are shared). Copying the maps costs O(rows) per call, which is
 * nothing for the few rows a store shell loads; to fold many events over a large state,
 * use {@link applyEvents}.
 */
export function applyEvent(state: ProjectionState, event: BluetickEvent): ProjectionState {
  const keys = keysTouched(event);
  const next = copyTouched(state, keys);
  applyInPlace(next, event, keys);
  return next;
}

/**
 * Applies events in order and returns the new state; `state` is left untouched. Copies the
 * maps once, so a full rebuild is linear in the number of events.
 */
export function applyEvents(state: ProjectionState, events: Iterable<BluetickEvent>): ProjectionState {
  const next: ProjectionState = {
    messages: new Map(state.messages),
    conversations: new Map(state.conversations),
    contacts: new Map(state.contacts),
    templates: new Map(state.templates),
    reactions: new Map(state.reactions),
    // Account state: consent and health.
    consent: new Map(state.consent),
    phoneNumbers: new Map(state.phoneNumbers),
    businessAccounts: new Map(state.businessAccounts),
    flows: new Map(state.flows),
  };
  for (const event of events) applyInPlace(next, event, keysTouched(event));
  return next;
}

/** The reactions currently on a message (removed ones left out). */
export function reactionsOn(state: ProjectionState, targetMessageId: string): ReactionRow[] {
  return currentReactions(state.reactions.values(), targetMessageId);
}
