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
  'template.status',
  'template.quality',
  'template.category',
  'unknown',
] as const;

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
  /** ISO-8601 UTC with milliseconds, from the item's own timestamp. */
  occurredAt?: string;
  /** ISO-8601 UTC with milliseconds: when bluetick received the POST. */
  receivedAt: string;
  /** The item's own object exactly as sent. */
  data: JsonValue;
}

export interface MessageReceivedEvent extends EventBase {
  type: 'message.received';
  messageId?: string;
  from?: string;
  contactName?: string;
  /** The message `type` string as sent: `text`, `image`, `interactive`, ... and new strings too. */
  kind: string;
  text?: string;
  replyId?: string;
  contextMessageId?: string;
}

export interface MessageReactionEvent extends EventBase {
  type: 'message.reaction';
  messageId?: string;
  from?: string;
  contactName?: string;
  /** `""` when the reaction was removed. */
  emoji: string;
  targetMessageId?: string;
}

export interface MessageStatusEvent extends EventBase {
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
  | UnknownEvent;

/** Narrow the union by its `type`. */
export type EventOfType<T extends EventType> = Extract<BluetickEvent, { type: T }>;
