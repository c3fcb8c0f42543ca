/**
 * @module events/types
 *
 * The event contract: the one shape every notification item takes once bluetick has read it.
 * These names are public (API, CLI, handlers, sinks) and must not change.
 *
 * Glossary
 * - journal row: one HTTP POST exactly as received (bytes, headers, time, channel).
 * - event: one item of a POST (a message, a status, a template change ...) in the flat shape below.
 * - channel: a configured endpoint (`/webhooks/{channel}`) with its own credentials.
 * - provider: who posted the body: `meta` (Cloud API envelope) or `enablex` (flat body).
 *
 * A key is omitted when it does not apply; it is never `null`.
 */

/** Every event type bluetick emits. `unknown` carries anything it does not model, so nothing is dropped. */
export const EVENT_TYPES = [
  'message.received',
  'message.reaction',
  'message.status',
  'message.echo',
  'message.standby',
  'conversation.handover',
  'history.sync',
  'contact.sync',
  'user.preferences',
  'user.identity',
  'template.status',
  'template.quality',
  'template.category',
  'template.components',
  'account.update',
  'account.alert',
  'account.review',
  'account.capability',
  'account.security',
  'account.error',
  'phone.quality',
  'phone.name',
  'flow.status',
  'call.status',
  'group.update',
  // Emitted by bluetick itself (src/watch/), not by a provider.
  'channel.silent',
  'channel.resumed',
  'unknown',
] as const;

/**
 * Types a route or handler only receives when it names them: a route without a type
 * list, or a prefix such as `message.*`, does not get them. `message.standby` items are
 * passive copies of a thread another app owns; answering them as new messages would
 * answer twice. `history.sync` threads are old messages imported at onboarding: they
 * fill the timelines, and a handler that reacts to new messages must not run for them.
 */
export const NAMED_ONLY_TYPES: readonly EventType[] = ['message.standby', 'history.sync'];

export type EventType = (typeof EVENT_TYPES)[number];

export type Provider = 'meta' | 'enablex';

/** A JSON value as read from a payload. Integers beyond 2^53 are kept exactly, as `bigint`. */
export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Keys every event can carry. */
export interface EventBase {
  /** Deterministic: the same notification redelivered gives the same id. */
  id: string;
  type: EventType;
  provider: Provider;
  /** Name of the configured channel that received the POST. */
  channel: string;
  /** Meta `entry.id` (the WhatsApp Business Account). */
  businessAccountId?: string;
  /** Meta `value.metadata.phone_number_id`. */
  phoneNumberId?: string;
  /** Meta `metadata.display_phone_number`, EnableX `business_phone`. */
  displayPhoneNumber?: string;
  /** Meta: the change's `field` as sent (`messages`, `account_alerts`, ...). Absent on EnableX events. */
  field?: string;
  /** ISO-8601 UTC with milliseconds, from the item's own timestamp. */
  occurredAt?: string;
  /** ISO-8601 UTC with milliseconds: when bluetick received the POST. */
  receivedAt: string;
  /** The item's own object exactly as sent. */
  data: JsonValue;
}

/** Who a user is, as far as the item says. */
export interface UserKeys {
  /** The user's business-scoped user id (BSUID): `from_user_id`, `recipient_user_id` or the matching `contacts[].user_id`. */
  userId?: string;
  /** The user's WhatsApp username, from the matching `contacts[]` entry. */
  username?: string;
}

/** Keys of a message item (received, echoed, standby). */
export interface MessageKeys extends UserKeys {
  messageId?: string;
  /** The sender's wa_id. Absent for a user known only by a BSUID. For `message.echo`: the business number. */
  from?: string;
  /** `message.echo`: the customer the business wrote to. */
  to?: string;
  contactName?: string;
  /** The message `type` string as sent: `text`, `image`, `interactive`, ... and new strings too. */
  kind?: string;
  text?: string;
  /** Location messages. */
  latitude?: number;
  longitude?: number;
  replyId?: string;
  contextMessageId?: string;
  /** `edit` / `revoke`: the message edited or deleted; reactions: the message reacted to. */
  targetMessageId?: string;
  /** Numeric codes of the message's `errors[]` (e.g. `unsupported` messages). */
  errorCodes?: number[];
  /** Click-to-WhatsApp ad referral. */
  ctwaClid?: string;
  referralSourceId?: string;
  referralSourceType?: string;
  /** A Flow reply's `flow_token`, from its `response_json`. */
  flowToken?: string;
}

export interface MessageReceivedEvent extends EventBase, MessageKeys {
  type: 'message.received';
  kind: string;
}

/** A message the business sent from another sender (the Business app, a linked device, another app). */
export interface MessageEchoEvent extends EventBase, MessageKeys {
  type: 'message.echo';
  kind: string;
  emoji?: string;
}

/**
 * A passive copy of a message (or of a status) in a thread another app owns. Never a new
 * inbound message: routes and handlers only get it when they name this type.
 */
export interface MessageStandbyEvent extends EventBase, MessageKeys {
  type: 'message.standby';
  emoji?: string;
  /** For a status copy: the status as sent. */
  status?: string;
  recipientId?: string;
}

export interface MessageReactionEvent extends EventBase, UserKeys {
  type: 'message.reaction';
  messageId?: string;
  from?: string;
  contactName?: string;
  /** `""` when the reaction was removed. */
  emoji: string;
  targetMessageId?: string;
}

/** Pricing and conversation keys of a status. */
export interface StatusKeys {
  pricingModel?: string;
  pricingCategory?: string;
  pricingType?: string;
  billable?: boolean;
  conversationId?: string;
  conversationOrigin?: string;
  /** ISO-8601 form of `conversation.expiration_timestamp`. */
  conversationExpiresAt?: string;
  /** The `biz_opaque_callback_data` the business attached when it sent the message. */
  bizOpaqueCallbackData?: string;
}

export interface MessageStatusEvent extends EventBase, UserKeys, StatusKeys {
  type: 'message.status';
  /** The id of the business's message this status is about. */
  messageId?: string;
  /** As sent: `sent`, `delivered`, `read`, `failed`, `played`, ... */
  status: string;
  recipientId?: string;
  errorCodes?: number[];
}

interface TemplateEventBase extends EventBase {
  templateId?: string;
  templateName?: string;
  language?: string;
}

export interface TemplateStatusEvent extends TemplateEventBase {
  type: 'template.status';
  /** As sent: `APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`, ... */
  status: string;
  reason?: string;
}

export interface TemplateQualityEvent extends TemplateEventBase {
  type: 'template.quality';
  /** The new quality score as sent: `GREEN`, `YELLOW`, `RED`, `UNKNOWN`. */
  status?: string;
}

export interface TemplateCategoryEvent extends TemplateEventBase {
  type: 'template.category';
  /** The new category as sent. */
  status?: string;
}

export interface TemplateComponentsEvent extends TemplateEventBase {
  type: 'template.components';
}

/**
 * Events of the management and coexistence fields: what they lift is listed per type in
 * docs/reference/events.md; everything else stays in `data`.
 */
interface FieldEventBase extends EventBase {
  /** As sent: the value's `event`, `decision` or status (per type). */
  status?: string;
  reason?: string;
  errorCodes?: number[];
}

export interface ConversationHandoverEvent extends FieldEventBase, UserKeys {
  type: 'conversation.handover';
  from?: string;
  /** The handover notification's type as sent (`control_passed`, `control_taken`). */
  kind?: string;
}

export interface HistorySyncEvent extends FieldEventBase {
  type: 'history.sync';
}

export interface ContactSyncEvent extends FieldEventBase {
  type: 'contact.sync';
  contactName?: string;
  /** The item's `type` as sent (`contact`). */
  kind?: string;
}

export interface UserPreferencesEvent extends FieldEventBase, UserKeys {
  type: 'user.preferences';
  from?: string;
  contactName?: string;
  /** The preference category as sent (`marketing_messages`). */
  kind?: string;
}

export interface UserIdentityEvent extends FieldEventBase, UserKeys {
  type: 'user.identity';
  from?: string;
  contactName?: string;
}

export interface AccountUpdateEvent extends FieldEventBase {
  type: 'account.update';
}

export interface AccountAlertEvent extends FieldEventBase {
  type: 'account.alert';
  /** The alert type as sent (`OBA_APPROVED`, `INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED`, ...). */
  kind?: string;
}

export interface AccountReviewEvent extends FieldEventBase {
  type: 'account.review';
}

export interface AccountCapabilityEvent extends FieldEventBase {
  type: 'account.capability';
}

export interface AccountSecurityEvent extends FieldEventBase {
  type: 'account.security';
}

/** Value-level `errors[]` (not attached to a message or status), or EnableX top-level `errors[]`. */
export interface AccountErrorEvent extends FieldEventBase {
  type: 'account.error';
}

export interface PhoneQualityEvent extends FieldEventBase {
  type: 'phone.quality';
  /** The messaging limit or throughput level as sent (`TIER_1K`, ...). */
  currentLimit?: string;
  oldLimit?: string;
}

export interface PhoneNameEvent extends FieldEventBase {
  type: 'phone.name';
}

export interface FlowStatusEvent extends FieldEventBase {
  type: 'flow.status';
  /** The Flow event as sent (`FLOW_STATUS_CHANGE`, `ENDPOINT_ERROR_RATE`, ...). */
  kind?: string;
}

export interface CallStatusEvent extends FieldEventBase, UserKeys {
  type: 'call.status';
  from?: string;
  to?: string;
  contactName?: string;
  /** The call item's `event` as sent (`connect`, `terminate`), or `status` for a call status item. */
  kind?: string;
}

export interface GroupUpdateEvent extends FieldEventBase {
  type: 'group.update';
  /** The Meta field (`group_lifecycle_update`, `group_participants_update`, ...). */
  kind: string;
}

/**
 * bluetick's own silence watch (src/watch/): a channel, or one business phone number on it,
 * that normally receives inbound messages got none for `multiple` times its usual gap
 * (`channel.silent`), or got one again (`channel.resumed`). `phoneNumberId` /
 * `displayPhoneNumber` are set when the watch is about one number; absent, about the channel.
 */
export interface ChannelWatchEvent extends EventBase {
  type: 'channel.silent' | 'channel.resumed';
  /** `receivedAt` of the last inbound message before the silence. */
  lastInboundAt: string;
  /** The usual gap between inbound messages (median of the recent ones), ms. */
  usualGapMs: number;
  /** How long without an inbound message counts as silent here, ms. */
  thresholdMs: number;
  /** `channel.resumed`: how long the silence lasted, ms. */
  silentForMs?: number;
}

export interface UnknownEvent extends EventBase {
  type: 'unknown';
  /** What the item was, where known: the Meta change `field`, or a short description. */
  kind?: string;
}

export type BluetickEvent =
  | MessageReceivedEvent
  | MessageReactionEvent
  | MessageStatusEvent
  | TemplateStatusEvent
  | TemplateQualityEvent
  | TemplateCategoryEvent
  | TemplateComponentsEvent
  | MessageEchoEvent
  | MessageStandbyEvent
  | ConversationHandoverEvent
  | HistorySyncEvent
  | ContactSyncEvent
  | UserPreferencesEvent
  | UserIdentityEvent
  | AccountUpdateEvent
  | AccountAlertEvent
  | AccountReviewEvent
  | AccountCapabilityEvent
  | AccountSecurityEvent
  | AccountErrorEvent
  | PhoneQualityEvent
  | PhoneNameEvent
  | FlowStatusEvent
  | CallStatusEvent
  | GroupUpdateEvent
  | ChannelWatchEvent
  | UnknownEvent;

/** Narrow the union by its `type`. */
export type EventOfType<T extends EventType> = Extract<BluetickEvent, { type: T }>;
