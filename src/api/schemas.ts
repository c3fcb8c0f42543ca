/**
 * @module api/schemas
 *
 * Every request and response shape of `/api`, as zod schemas. Query schemas validate what
 * a request sends (and turn it into store filters); response schemas document what the
 * routes return. `GET /api/openapi.json` is generated from both (see `openapi.ts`), so the
 * document cannot drift from the code: tests parse real answers with the response schemas.
 *
 * Conventions:
 * - Query values are strings. Lists are comma-separated (`type=message.status,template.status`)
 *   or repeated (`type=a&type=b`). Times are ISO-8601 or epoch milliseconds.
 * - Unknown query parameters are refused: a typo must not silently widen a filter.
 * - Lists are `{ items, next }`. `next` is an opaque cursor: pass it as `after` to read on.
 *   It is absent when there is nothing more right now. Lists are in the order rows were
 *   first recorded, so paging never skips or repeats a row while new events arrive.
 * - Every time in a response is ISO-8601 UTC; keys that do not apply are omitted, never null.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../events/types.js';
import { OUTBOUND_STEPS } from '../projections/index.js';
import type { JournalState, RejectionCause } from '../store/store.js';

/** Largest page a list answers. */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;

/** The schemas that appear in `components.schemas` of the OpenAPI document. */
export const apiRegistry = z.registry<{ id: string }>();

/** The same schemas by id, with the description each component carries in the document. */
export const apiComponents = new Map<string, { schema: z.ZodType; description?: string }>();

export function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  apiRegistry.add(schema as z.ZodType, { id });
  apiComponents.set(id, description === undefined ? { schema } : { schema, description });
  return schema;
}

// ---------------------------------------------------------------------------------------
// Query values

const CURSOR_PATTERN = /^\d{1,15}$/;

/** `after`: the `next` of the previous page. */
export const cursorParam = z
  .string()
  .regex(CURSOR_PATTERN, { error: 'expected the `next` value of a previous page' })
  .transform(Number)
  .optional()
  .meta({ description: 'Cursor: the `next` of the previous page. Rows after it are returned.' });

/** `limit`: page size. */
export const limitParam = z
  .string()
  .regex(/^\d{1,6}$/, { error: `expected an integer from 1 to ${MAX_LIMIT}` })
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, { error: `expected an integer from 1 to ${MAX_LIMIT}` })
      .max(MAX_LIMIT, { error: `expected an integer from 1 to ${MAX_LIMIT}` }),
  )
  .optional()
  .meta({ description: `Page size, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}).` });

/** A time as ISO-8601 or epoch milliseconds, to epoch milliseconds. */
export function timeParam(description: string) {
  return z
    .string()
    .transform((value, ctx) => {
      const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) {
        ctx.issues.push({ code: 'custom', input: value, message: 'expected an ISO-8601 time or epoch milliseconds' });
        return z.NEVER;
      }
      return ms;
    })
    .optional()
    .meta({ description: `${description} ISO-8601 or epoch milliseconds.` });
}

/** A comma-separated list of values from `values`. */
export function enumListParam<T extends string>(values: readonly T[], description: string) {
  const allowed = new Set<string>(values);
  return z
    .string()
    .transform((value, ctx) => {
      const items = splitList(value);
      const bad = items.filter((v) => !allowed.has(v));
      if (items.length === 0 || bad.length > 0) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `${bad.length > 0 ? `unknown value "${bad[0]}"; ` : ''}expected one or more of ${values.join(', ')}`,
        });
        return z.NEVER;
      }
      return items as T[];
    })
    .optional()
    .meta({ description: `${description} Comma-separated, any of: ${values.join(', ')}.` });
}

/** A comma-separated list of free strings (values as sent by the provider). */
export function stringListParam(description: string) {
  return z
    .string()
    .transform((value, ctx) => {
      const items = splitList(value);
      if (items.length === 0) {
        ctx.issues.push({ code: 'custom', input: value, message: 'expected one or more comma-separated values' });
        return z.NEVER;
      }
      return items;
    })
    .optional()
    .meta({ description: `${description} Comma-separated.` });
}

export function textParam(description: string) {
  return z
    .string()
    .min(1, { error: 'expected a non-empty value' })
    .max(512, { error: 'expected at most 512 characters' })
    .optional()
    .meta({ description });
}

export function booleanParam(description: string) {
  return z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional()
    .meta({ description });
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const pageQuery = { after: cursorParam, limit: limitParam };

const JOURNAL_STATES = ['pending', 'processed', 'duplicate', 'quarantined', 'failed'] as const satisfies readonly JournalState[];
const REJECTION_CAUSES = [
  'unauthorized',
  'payload-too-large',
  'method-not-allowed',
  'unknown-channel',
  'verify-token-mismatch',
  'journal-unavailable',
  'request-timeout',
  'bad-request',
] as const satisfies readonly RejectionCause[];
const MESSAGE_STATUSES = [...OUTBOUND_STEPS, 'failed'] as const;

export const eventsQuery = z.strictObject({
  ...pageQuery,
  type: enumListParam(EVENT_TYPES, 'Event types.'),
  channel: textParam('Configured channel name.'),
  phoneNumberId: textParam('Business phone number id (Meta `phone_number_id`).'),
  from: textParam('Sender wa_id.'),
  messageId: textParam('Message id: a received message or reaction, or the message a status is about.'),
  since: timeParam('Received at or after this time.'),
  until: timeParam('Received before this time.'),
});

export const messagesQuery = z.strictObject({
  ...pageQuery,
  conversation: textParam('Conversation key `<business number>:<contact>`.'),
  direction: z
    .enum(['inbound', 'outbound'], { error: 'expected inbound or outbound' })
    .optional()
    .meta({ description: 'inbound (the customer wrote) or outbound (the business sent).' }),
  status: enumListParam(MESSAGE_STATUSES, 'Current status of outbound messages.'),
});

export const conversationMessagesQuery = messagesQuery.omit({ conversation: true });

export const conversationsQuery = z.strictObject({
  ...pageQuery,
  businessNumber: textParam('Business phone number id (or display number when the provider gives no id).'),
  contact: textParam('Contact wa_id.'),
  activeSince: timeParam('Last inbound or outbound activity at or after this time.'),
  windowOpen: booleanParam('true: only conversations whose 24-hour customer-service window is open now; false: only closed ones.'),
});

export const contactsQuery = z.strictObject({
  ...pageQuery,
  name: textParam('Substring of the latest profile name (ASCII letters compare case-insensitively).'),
  seenSince: timeParam('Last seen at or after this time.'),
});

export const templatesQuery = z.strictObject({
  ...pageQuery,
  status: stringListParam('Current review status as sent (APPROVED, REJECTED, PAUSED, DISABLED, ...).'),
  quality: stringListParam('Current quality score (GREEN, YELLOW, RED, UNKNOWN).'),
  category: stringListParam('Current category as sent.'),
  name: textParam('Template name.'),
  language: textParam('Template language code, e.g. en_US.'),
});

export const rejectionsQuery = z.strictObject({
  ...pageQuery,
  cause: enumListParam(REJECTION_CAUSES, 'Why the request was refused.'),
  channel: textParam('Channel the request was addressed to.'),
  since: timeParam('Refused at or after this time.'),
  until: timeParam('Refused before this time.'),
});

export const quarantineQuery = z.strictObject({
  ...pageQuery,
  state: enumListParam(['quarantined', 'failed'] as const, 'Which rows (default both).'),
  channel: textParam('Channel that received the POST.'),
});

export const streamQuery = z.strictObject({
  type: enumListParam(EVENT_TYPES, 'Only events of these types.'),
  channel: textParam('Only events received on this channel.'),
  after: cursorParam.meta({
    description:
      'Start after this event seq (as `Last-Event-ID` does; the header wins when both are sent). Without either, the stream starts with the next event recorded.',
  }),
});

export const emptyQuery = z.strictObject({});

// ---------------------------------------------------------------------------------------
// Path parameters

export const idPath = z.strictObject({ id: z.string().min(1).max(1024).meta({ description: 'Identifier (URL-encoded).' }) });
export const journalIdPath = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'expected a journal row id' })
    .transform(Number)
    .meta({ description: 'Journal row id.' }),
});
export const keyPath = z.strictObject({ key: z.string().min(1).max(1024).meta({ description: 'Key (URL-encoded).' }) });

// ---------------------------------------------------------------------------------------
// Responses

const iso = () => z.string().meta({ format: 'date-time' });

export const errorSchema = component(
  'Error',
  z.strictObject({
    error: z.string().meta({ description: 'HTTP reason phrase.' }),
    code: z.string().optional().meta({ description: 'The `BT_ERR_*` code (docs/reference/errors.md).' }),
    message: z.string(),
    parameter: z.string().optional().meta({ description: 'The query parameter or header that was refused (400).' }),
  }),
  'Any answer other than 2xx.',
);

export const eventSchema = component(
  'Event',
  z.looseObject({
    id: z.string(),
    type: z.enum(EVENT_TYPES),
    provider: z.enum(['meta', 'enablex']),
    channel: z.string(),
    businessAccountId: z.string().optional(),
    phoneNumberId: z.string().optional(),
    displayPhoneNumber: z.string().optional(),
    field: z.string().optional().meta({ description: "Meta: the change's `field` as sent." }),
    messageId: z.string().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    userId: z.string().optional().meta({ description: 'Business-scoped user id (BSUID).' }),
    username: z.string().optional(),
    contactName: z.string().optional(),
    kind: z.string().optional(),
    text: z.string().optional(),
    latitude: z.number().optional(),
    longitude: z.number().optional(),
    replyId: z.string().optional(),
    contextMessageId: z.string().optional(),
    emoji: z.string().optional(),
    targetMessageId: z.string().optional(),
    status: z.string().optional(),
    recipientId: z.string().optional(),
    errorCodes: z.array(z.number()).optional(),
    pricingModel: z.string().optional(),
    pricingCategory: z.string().optional(),
    pricingType: z.string().optional(),
    billable: z.boolean().optional(),
    conversationId: z.string().optional(),
    conversationOrigin: z.string().optional(),
    conversationExpiresAt: iso().optional(),
    bizOpaqueCallbackData: z.string().optional(),
    ctwaClid: z.string().optional().meta({ description: 'Click-to-WhatsApp ad click id.' }),
    referralSourceId: z.string().optional(),
    referralSourceType: z.string().optional(),
    flowToken: z.string().optional(),
    templateId: z.string().optional(),
    templateName: z.string().optional(),
    language: z.string().optional(),
    reason: z.string().optional(),
    currentLimit: z.string().optional(),
    oldLimit: z.string().optional(),
    lastInboundAt: iso().optional().meta({ description: '`channel.silent` / `channel.resumed`: the last inbound message before the silence.' }),
    usualGapMs: z.number().optional(),
    thresholdMs: z.number().optional(),
    silentForMs: z.number().optional(),
    occurredAt: iso().optional(),
    receivedAt: iso(),
    data: z.unknown().meta({ description: 'The item exactly as sent; integers beyond 2^53 keep every digit.' }),
  }),
  'One notification item in the flat event contract (DESIGN §3, §3.1). Keys that do not apply are omitted.',
);

export const storedEventSchema = component(
  'StoredEvent',
  z.strictObject({
    seq: z.number().int().meta({ description: 'Store-wide insertion order; the SSE id and the list cursor.' }),
    journalId: z.number().int(),
    duplicates: z.number().int().meta({ description: 'How many later POSTs carried this same event again.' }),
    event: eventSchema,
  }),
);

export const journalBodySchema = component(
  'JournalBody',
  z.strictObject({
    size: z.number().int(),
    text: z.string().optional().meta({ description: 'The body as text, when it is valid UTF-8.' }),
    base64: z.string().meta({ description: 'The exact bytes.' }),
  }),
);

const journalBase = {
  id: z.number().int(),
  channel: z.string(),
  receivedAt: iso(),
  remoteAddress: z.string().optional(),
  headers: z.record(z.string(), z.string()).meta({ description: 'Headers kept with the row, secrets masked.' }),
  verifiedBy: z.enum(['basic', 'meta-signature', 'meta-signature-escaped', 'none']),
  state: z.enum(JOURNAL_STATES),
  cause: z.string().optional(),
  eventCount: z.number().int(),
  newEventCount: z.number().int(),
  processedAt: iso().optional(),
};

export const journalRowSchema = component(
  'JournalRow',
  z.strictObject({ ...journalBase, body: journalBodySchema }),
  'One POST exactly as received.',
);

export const journalSummarySchema = component(
  'JournalSummary',
  z.strictObject({
    ...journalBase,
    size: z.number().int().meta({ description: 'Body size in bytes.' }),
    preview: z.string().meta({ description: 'The first bytes of the body as text (invalid UTF-8 replaced).' }),
  }),
  'A journal row without its body (read it at /api/journal/{id}).',
);

export const eventDetailSchema = component(
  'EventDetail',
  z.strictObject({
    seq: z.number().int(),
    journalId: z.number().int(),
    duplicates: z.number().int(),
    event: eventSchema,
    journal: journalRowSchema.optional(),
  }),
);

export const journalDetailSchema = component(
  'JournalDetail',
  z.strictObject({ ...journalBase, body: journalBodySchema, events: z.array(storedEventSchema) }),
  'A journal row with its body and the events first stored from it.',
);

const stepTime = component(
  'StepTime',
  z.strictObject({
    at: iso(),
    eventId: z.string(),
    implied: z.literal(true).optional().meta({ description: 'No notification for this step arrived; a higher step stands in.' }),
  }),
);

const statusEntry = component(
  'StatusEntry',
  z.strictObject({
    eventId: z.string(),
    status: z.string(),
    occurredAt: iso().optional(),
    receivedAt: iso(),
    recipientId: z.string().optional(),
    errorCodes: z.array(z.number()).optional(),
    conversationKey: z.string().optional(),
  }),
);

/** What the sending code said it sent (`POST /api/outbound`), joined to the message by id. */
export const outboundSchema = component(
  'OutboundRecord',
  z.strictObject({
    messageId: z.string(),
    to: z.string().optional(),
    businessNumber: z.string().optional(),
    templateName: z.string().optional(),
    templateLanguage: z.string().optional(),
    text: z.string().optional(),
    bizOpaqueCallbackData: z.string().optional(),
    tags: z.array(z.string()).optional(),
    sentAt: iso().optional(),
    recordedAt: iso(),
    recordedBy: z.string().meta({ description: 'The token name that recorded it; `library` for bluetick.track().' }),
  }),
  'What your code sent: WhatsApp status updates carry only the message id.',
);

export const messageSchema = component(
  'Message',
  z.strictObject({
    id: z.string(),
    direction: z.enum(['inbound', 'outbound']),
    occurredAt: iso(),
    conversationKey: z.string().optional(),
    inbound: z
      .strictObject({
        eventId: z.string(),
        occurredAt: iso().optional(),
        receivedAt: iso(),
        channel: z.string(),
        from: z.string().optional(),
        contactName: z.string().optional(),
        kind: z.string(),
        text: z.string().optional(),
        replyId: z.string().optional(),
        contextMessageId: z.string().optional(),
        conversationKey: z.string().optional(),
        ctwaClid: z.string().optional().meta({ description: 'Click-to-WhatsApp ad click id, when the message came from an ad.' }),
        referralSourceId: z.string().optional(),
        referralSourceType: z.string().optional(),
      })
      .optional(),
    outbound: z
      .strictObject({
        eventId: z.string(),
        source: z.enum(['echo', 'history']),
        occurredAt: iso().optional(),
        receivedAt: iso(),
        channel: z.string(),
        to: z.string().optional(),
        kind: z.string(),
        text: z.string().optional(),
        conversationKey: z.string().optional(),
      })
      .optional()
      .meta({ description: 'A business message whose content bluetick saw: an echo (sent from the WhatsApp Business app or another sender) or a history thread.' }),
    recipientId: z.string().optional(),
    status: z.enum(MESSAGE_STATUSES).optional(),
    steps: z.strictObject({
      sent: stepTime.optional(),
      delivered: stepTime.optional(),
      read: stepTime.optional(),
      played: stepTime.optional(),
    }),
    failure: z.strictObject({ at: iso(), eventId: z.string(), errorCodes: z.array(z.number()) }).optional(),
    timeline: z
      .array(statusEntry)
      .meta({ description: 'The earliest 16 status notifications, sorted by (time, step, event id); every one is in /api/events?messageId=.' }),
    tracked: outboundSchema.optional().meta({ description: 'What your code said it sent (POST /api/outbound, bluetick.track()), whenever it said so.' }),
  }),
  'One WhatsApp message: the status lattice sent < delivered < read < played (never downgraded), failures, and the timeline.',
);

export const reactionSchema = component(
  'Reaction',
  z.strictObject({
    key: z.string(),
    targetMessageId: z.string(),
    from: z.string(),
    emoji: z.string(),
    at: iso(),
    eventId: z.string(),
    messageId: z.string().optional(),
  }),
);

export const messageDetailSchema = component(
  'MessageDetail',
  messageSchema.extend({ reactions: z.array(reactionSchema) }),
  'A message with the reactions currently on it (removed ones left out).',
);

export const conversationSchema = component(
  'Conversation',
  z.strictObject({
    key: z.string(),
    businessNumber: z.string(),
    displayNumber: z.string().optional().meta({ description: "The business's display number, when `businessNumber` is a phone-number id (Meta)." }),
    contact: z.string(),
    lastInbound: z
      .strictObject({ messageId: z.string().optional(), at: iso(), kind: z.string(), text: z.string().optional() })
      .optional(),
    lastOutbound: z.strictObject({ messageId: z.string(), at: iso() }).optional(),
    windowOpenUntil: iso().optional().meta({ description: 'Last inbound message + 24 hours.' }),
    isWindowOpen: z.boolean().meta({ description: 'Whether free-form replies are allowed now (computed when answering).' }),
    lastActivityAt: iso().optional(),
    counts: z.strictObject({
      inbound: z.number().int(),
      outbound: z.number().int(),
      unreadInbound: z.number().int(),
    }),
    firstUnansweredAt: iso().optional().meta({ description: 'The earliest customer message not answered yet.' }),
    unanswered: z
      .array(z.strictObject({ messageId: z.string(), at: iso() }))
      .meta({ description: 'The latest 10 customer messages not answered yet (counts.unreadInbound counts all of them).' }),
    owner: z
      .strictObject({ kind: z.string().optional(), role: z.string().optional(), previousRole: z.string().optional(), at: iso(), eventId: z.string() })
      .optional()
      .meta({ description: 'Who owns the thread now: the latest `conversation.handover`.' }),
    referral: z
      .strictObject({
        messageId: z.string().optional(),
        at: iso(),
        ctwaClid: z.string().optional(),
        sourceId: z.string().optional(),
        sourceType: z.string().optional(),
      })
      .optional()
      .meta({ description: 'The latest customer message that came from a click-to-WhatsApp ad.' }),
    ctwaClid: z.string().optional().meta({ description: 'The ad click id of `referral`.' }),
    freeEntryWindowOpenUntil: iso().optional().meta({ description: 'The ad message + 72 hours: the free-entry-point window.' }),
    isFreeEntryWindowOpen: z.boolean().optional().meta({ description: 'Whether the free-entry-point window is open now (computed when answering).' }),
  }),
  'One (business number, contact) pair and its 24-hour customer-service window.',
);

const IDENTIFIER_KIND = z.enum(['phone', 'userId', 'username']);
const LINK_VIA = z.enum(['contacts', 'user_changed_number', 'user_changed_user_id', 'user_id_update']);
// ---------------------------------------------------------------------------------------
// Account state: consent and health

export const templateComponentsSchema = component(
  'TemplateComponents',
  z.strictObject({
    body: z.string().optional(),
    header: z.string().optional(),
    footer: z.string().optional(),
    buttons: z.array(z.string()).optional().meta({ description: 'Each button as `<type>: <text>`.' }),
  }),
  "A template's content as its latest `template.components` event states it.",
);

const changeSchema = component(
  'Change',
  z.strictObject({
    eventId: z.string(),
    type: z.enum(EVENT_TYPES),
    at: iso(),
    kind: z.string().optional(),
    status: z.string().optional(),
    detail: z.string().optional(),
    reason: z.string().optional(),
    userId: z.string().optional(),
    phoneNumberId: z.string().optional(),
  }),
  'One change in a row\'s history (the latest 20 are kept; `/api/events` has every one).',
);

const factSchema = component(
  'Fact',
  z.strictObject({
    value: z.string().meta({ description: 'As sent.' }),
    at: iso(),
    eventId: z.string(),
    detail: z.string().optional(),
    reason: z.string().optional(),
  }),
  'One current value, with the time and event it comes from (the latest by the time it happened).',
);

export const consentSchema = component(
  'Consent',
  z.strictObject({
    key: z.string().meta({ description: '`<businessAccountId>:<user>:<category>`.' }),
    businessAccountId: z.string().optional(),
    contact: z.string().meta({ description: 'The user: wa_id, else business-scoped user id.' }),
    waId: z.string().optional(),
    userId: z.string().optional(),
    category: z.string().meta({ description: 'As sent: `marketing_messages`, ...' }),
    state: z.string().meta({ description: 'The latest choice as sent: `stop` or `resume`.' }),
    optedOut: z.boolean(),
    changedAt: iso(),
    reason: z.string().optional(),
    eventId: z.string(),
    phoneNumberId: z.string().optional(),
    history: z.array(changeSchema),
  }),
  "A user's latest choice for one category of messages (`user.preferences`), resolved by when the user made it.",
);

export const consentQuery = z.strictObject({
  ...pageQuery,
  category: stringListParam('Category as sent (`marketing_messages`).'),
  state: stringListParam('Latest choice as sent: `stop`, `resume`.'),
  contact: textParam('The user: wa_id, or business-scoped user id for users without one.'),
  businessAccountId: textParam('Business account id.'),
});

export const phoneNumberHealthSchema = component(
  'PhoneNumberHealth',
  z.strictObject({
    key: z.string(),
    displayPhoneNumber: z.string(),
    businessAccountId: z.string().optional(),
    quality: factSchema.optional().meta({ description: '`FLAGGED` (quality dropping) or `UNFLAGGED`.' }),
    messagingLimit: factSchema.optional().meta({ description: 'Tier as sent (`TIER_1K`, ...); `detail` the event.' }),
    throughput: factSchema.optional().meta({ description: 'The latest throughput event; `detail` the level.' }),
    displayName: factSchema.optional().meta({ description: 'Display-name decision; `detail` the requested name.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const businessAccountHealthSchema = component(
  'BusinessAccountHealth',
  z.strictObject({
    key: z.string(),
    businessAccountId: z.string(),
    status: factSchema.optional(),
    review: factSchema.optional(),
    alerts: z.record(z.string(), factSchema).meta({ description: 'By alert type: the latest status of each.' }),
    capabilities: z
      .strictObject({ at: iso(), eventId: z.string(), limits: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
      .optional(),
    security: factSchema.optional(),
    lastError: factSchema.optional().meta({ description: 'Errors attached to no message: `value` their codes.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const flowHealthSchema = component(
  'FlowHealth',
  z.strictObject({
    key: z.string(),
    flowId: z.string(),
    businessAccountId: z.string().optional(),
    status: factSchema.optional().meta({ description: 'Flow status; `detail` the one before.' }),
    health: z.record(z.string(), factSchema).meta({ description: 'By Flow event (`ENDPOINT_ERROR_RATE`, ...): the alert state; `detail` the measured value.' }),
    updatedAt: iso(),
    history: z.array(changeSchema),
  }),
);

export const healthChangeSchema = component(
  'HealthChange',
  z.strictObject({
    entity: z.enum(['phone-number', 'business-account', 'flow', 'template']),
    key: z.string(),
    eventId: z.string(),
    type: z.enum(EVENT_TYPES),
    at: iso(),
    kind: z.string().optional(),
    status: z.string().optional(),
    detail: z.string().optional(),
    reason: z.string().optional(),
  }),
);

export const healthSchema = component(
  'Health',
  z.strictObject({
    phoneNumbers: z.array(phoneNumberHealthSchema),
    businessAccounts: z.array(businessAccountHealthSchema),
    flows: z.array(flowHealthSchema),
    timeline: z.array(healthChangeSchema).meta({ description: 'The latest 100 changes of every entity (templates included), newest first.' }),
  }),
  'Account health: each phone number, business account and Flow as last reported, and a timeline of changes.',
);

export const HEALTH_ENTITIES = ['phone-numbers', 'business-accounts', 'flows'] as const;

export const healthEntityPath = z.strictObject({
  entity: z.enum(HEALTH_ENTITIES, { error: `expected one of ${HEALTH_ENTITIES.join(', ')}` }).meta({ description: 'What kind of entity.' }),
  key: z.string().min(1).max(1024).meta({ description: 'Display phone number, business account id, or Flow id.' }),
});


export const contactSchema = component(
  'Contact',
  z.strictObject({
    waId: z.string(),
    profile: z.strictObject({ name: z.string(), at: iso(), eventId: z.string() }).optional(),
    firstSeenAt: iso(),
    lastSeenAt: iso(),
    newWaId: z.string().optional(),
    previousWaIds: z.array(z.string()).optional(),
    numberChanges: z.array(z.strictObject({ from: z.string(), to: z.string(), at: iso(), eventId: z.string() })),
    idKind: z.enum(['userId', 'username']).optional().meta({ description: 'What `waId` holds when it is not a wa_id: a business-scoped user id, or a username as `@name`.' }),
    aliases: z
      .array(z.strictObject({ key: z.string(), kind: IDENTIFIER_KIND, via: LINK_VIA, since: iso(), eventId: z.string() }))
      .optional()
      .meta({ description: 'Other identifiers of the same user, linked by a payload that named both.' }),
    newUserId: z.string().optional(),
    userIdChanges: z.array(z.strictObject({ from: z.string(), to: z.string(), via: LINK_VIA, at: iso(), eventId: z.string() })).optional(),
    consent: z.array(consentSchema).optional().meta({ description: 'GET /api/contacts/{id}: what the user chose per category (`/api/consent`).' }),
  }),
  'One identifier of a WhatsApp user: a wa_id, a business-scoped user id, or a username (`@name`).',
);

export const contactDetailSchema = component(
  'ContactDetail',
  contactSchema.extend({
    identity: z
      .strictObject({
        key: z.string().meta({ description: 'The row the asked identifier was found under.' }),
        current: z.strictObject({ waId: z.string().optional(), userId: z.string().optional(), username: z.string().optional() }),
        waIds: z.array(z.string()),
        userIds: z.array(z.string()),
        usernames: z.array(z.string()),
        profile: z.strictObject({ name: z.string(), at: iso(), eventId: z.string() }).optional(),
        firstSeenAt: iso(),
        lastSeenAt: iso(),
        merges: z
          .array(z.strictObject({ kind: z.enum(['alias', 'number', 'userId']), from: z.string(), to: z.string(), via: LINK_VIA, at: iso(), eventId: z.string() }))
          .meta({ description: 'Every link between the identifiers, oldest first.' }),
        truncated: z.literal(true).optional(),
      })
      .meta({ description: 'The whole user: every identifier linked to this one, the current ones, and the merge history.' }),
  }),
  'A contact found by any of its identifiers, with the user it belongs to.',
);

const templateHistoryEntry = component(
  'TemplateHistoryEntry',
  z.strictObject({
    eventId: z.string(),
    type: z.enum(['template.status', 'template.quality', 'template.category', 'template.components']),
    status: z.string().optional(),
    reason: z.string().optional(),
    occurredAt: iso().optional(),
    receivedAt: iso(),
    templateId: z.string().optional(),
    templateName: z.string().optional(),
    language: z.string().optional(),
    category: z.string().optional().meta({ description: '`template.status`: the category the status update names.' }),
    components: templateComponentsSchema.optional(),
  }),
);

export const templateSchema = component(
  'Template',
  z.strictObject({
    key: z.string().meta({ description: 'Template id, else `<name>:<language>`.' }),
    templateId: z.string().optional(),
    name: z.string().optional(),
    language: z.string().optional(),
    status: z.string().optional(),
    statusAt: iso().optional(),
    reason: z.string().optional(),
    quality: z.string().optional(),
    qualityAt: iso().optional(),
    category: z.string().optional(),
    categoryAt: iso().optional(),
    components: templateComponentsSchema.optional(),
    componentsAt: iso().optional(),
    updatedAt: iso(),
    history: z.array(templateHistoryEntry),
  }),
);

export const rejectionSchema = component(
  'Rejection',
  z.strictObject({
    id: z.number().int(),
    at: iso(),
    channel: z.string().optional(),
    cause: z.enum(REJECTION_CAUSES),
    method: z.string(),
    path: z.string(),
    remoteAddress: z.string().optional(),
    detail: z.string().optional(),
  }),
  'A request refused before the journal.',
);

export const addressFailuresSchema = component(
  'AddressFailures',
  z.strictObject({
    address: z.string().meta({ description: 'The client address (IPv6: its /64), as the backoff counts it; see SECURITY.md.' }),
    failures: z.number().int().meta({ description: 'Failures since its last success.' }),
    totalFailures: z.number().int(),
    refused: z.number().int().meta({ description: 'Requests answered 429 while it had to wait.' }),
    firstFailureAt: iso(),
    lastFailureAt: iso(),
    blockedUntil: iso().optional(),
  }),
  'Failed authentications (ingest credentials, verify tokens, the admin token) from one address, kept apart from the trimmed rejection log.',
);

export const addressFailuresListSchema = component('AddressFailuresList', z.strictObject({ items: z.array(addressFailuresSchema) }));

const countMap = z.record(z.string(), z.number().int());

export const statsSchema = component(
  'Stats',
  z.strictObject({
    at: iso(),
    events: z.strictObject({ total: z.number().int(), byType: countMap }),
    journal: z.strictObject({
      pending: z.number().int(),
      processed: z.number().int(),
      duplicate: z.number().int(),
      quarantined: z.number().int(),
      failed: z.number().int(),
    }),
    rejections: z.number().int(),
    messages: z.strictObject({
      total: z.number().int(),
      inbound: z.number().int(),
      outbound: z.number().int(),
      byStatus: countMap.meta({ description: 'Outbound messages by current status.' }),
    }),
    conversations: z.number().int(),
    contacts: z.number().int(),
    templates: z.strictObject({ total: z.number().int(), byStatus: countMap }),
    reactions: z.number().int(),
    ackLatency: z
      .strictObject({
        count: z.number().int(),
        p50Ms: z.number().optional(),
        p90Ms: z.number().optional(),
        p99Ms: z.number().optional(),
      })
      .meta({ description: 'Time to the durable 200 of webhook POSTs since the server started, estimated from the histogram buckets.' }),
    pipeline: z.strictObject({
      pending: z.number().int(),
      lagSeconds: z.number().meta({ description: 'Age of the oldest journal row not yet normalized; 0 when caught up.' }),
      oldestPendingAt: iso().optional(),
    }),
    projections: z.strictObject({
      complete: z.boolean().meta({ description: 'false while a rebuild runs or is needed (`bluetick rebuild`).' }),
      rebuildThroughSeq: z.number().int().optional(),
    }),
  }),
);

export function pageOf<T extends z.ZodType>(id: string, item: T) {
  return component(
    id,
    z.strictObject({
      items: z.array(item),
      next: z.string().optional().meta({ description: 'Pass as `after` for the next page; absent when there is nothing more now.' }),
    }),
  );
}

export const eventPageSchema = pageOf('EventPage', storedEventSchema);
export const messagePageSchema = pageOf('MessagePage', messageSchema);
export const conversationPageSchema = pageOf('ConversationPage', conversationSchema);
export const contactPageSchema = pageOf('ContactPage', contactSchema);
export const templatePageSchema = pageOf('TemplatePage', templateSchema);
export const rejectionPageSchema = pageOf('RejectionPage', rejectionSchema);
export const journalPageSchema = pageOf('JournalPage', journalSummarySchema);

export type ErrorBody = z.infer<typeof errorSchema>;

export const consentPageSchema = pageOf('ConsentPage', consentSchema);

// ---------------------------------------------------------------------------------------
// Deliveries, dead letters, replay and sinks (`endpoints/deliveries.ts`)

const deliveryFields = {
  id: z.number().int(),
  eventId: z.string(),
  eventSeq: z.number().int(),
  eventType: z.string(),
  route: z.string(),
  sink: z.string(),
  orderingKey: z.string().meta({ description: 'The lane within the route: deliveries of one lane go in order.' }),
  origin: z.enum(['event', 'replay']),
  state: z.string().meta({ description: 'pending, in_flight, succeeded or dead.' }),
  blocked: z.boolean().meta({ description: 'Pending, waiting for an earlier delivery of the same lane.' }),
  attempts: z.number().int().meta({ description: 'Attempts since it was created or last redriven.' }),
  redrives: z.number().int(),
  createdAt: iso(),
  updatedAt: iso(),
  nextAttemptAt: iso().optional().meta({ description: 'While pending: when it may run next.' }),
  leaseOwner: z.string().optional(),
  leaseExpiresAt: iso().optional(),
  lastAttemptAt: iso().optional(),
  completedAt: iso().optional(),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
  holdsLane: z.literal(true).optional().meta({ description: 'Dead, and holding its lane (a route with `onDeadLetter: "hold"`): later deliveries of the lane wait.' }),
  droppedAt: iso().optional().meta({ description: 'When an operator dropped it as a dead letter (`POST /api/dead-letters/drop`).' }),
};

export const deliverySchema = component('Delivery', z.object(deliveryFields), 'One event on its way to one sink of one route.');

export const deliveryAttemptSchema = component(
  'DeliveryAttempt',
  z.object({
    id: z.number().int(),
    startedAt: iso(),
    latencyMs: z.number(),
    outcome: z.enum(['success', 'retry', 'fail']),
    statusCode: z.number().int().optional(),
    errorCode: z.string().optional(),
    error: z.string().optional(),
    detail: z.string().optional(),
    retryAfterMs: z.number().optional(),
    owner: z.string().meta({ description: 'The worker that made it.' }),
  }),
);

export const deliveryDetailSchema = component(
  'DeliveryDetail',
  z.object({ ...deliveryFields, attemptLog: z.array(deliveryAttemptSchema).meta({ description: 'Every attempt, oldest first.' }) }),
);

export const deliveryPageSchema = pageOf('DeliveryPage', deliverySchema);

export const redriveResultSchema = component(
  'RedriveResult',
  z.object({
    redriven: z.number().int(),
    ids: z.array(z.number().int()),
    message: z.string().meta({ description: 'When delivery starts, in words.' }),
    pausedSinks: z
      .array(z.object({ sink: z.string(), breaker: z.string(), deliveryStartsAt: iso() }))
      .optional()
      .meta({ description: 'Sinks whose circuit breaker holds the redriven deliveries back, and until when.' }),
  }),
);

export const replayResultSchema = component(
  'ReplayResult',
  z.object({
    route: z.string(),
    sink: z.string(),
    dryRun: z.boolean(),
    events: z
      .array(z.object({ eventId: z.string(), seq: z.number().int(), type: z.string(), receivedAt: iso(), orderingKey: z.string() }))
      .meta({ description: 'The events that are (or, on a dry run, would be) delivered, in order.' }),
    deliveries: z.array(z.number().int()).meta({ description: 'Ids of the deliveries created; empty on a dry run.' }),
    skipped: z.array(z.object({ eventId: z.string(), reason: z.enum(['not-found', 'not-matched-by-route']) })),
    truncated: z.boolean().meta({ description: 'More events matched than `limit`; replay again with `since` after the last one.' }),
  }),
);

const breakerSchema = z.object({
  state: z.enum(['closed', 'open', 'half-open']),
  consecutiveFailures: z.number().int().optional(),
  openedAt: iso().optional(),
  nextProbeAt: iso().optional(),
  cooldownMs: z.number().optional(),
  opens: z.number().int().optional(),
});

export const sinkStatusSchema = component(
  'SinkStatus',
  z.object({
    name: z.string(),
    type: z.string(),
    breaker: breakerSchema.optional(),
    attempts: z.object({ total: z.number().int(), success: z.number().int(), retry: z.number().int(), fail: z.number().int() }),
    recent: z
      .object({
        attempts: z.number().int(),
        successRate: z.number(),
        latencyMs: z.object({ avg: z.number(), p50: z.number(), p95: z.number(), max: z.number() }),
      })
      .optional(),
    inFlight: z.number().int(),
    lastAttemptAt: iso().optional(),
    lastSuccessAt: iso().optional(),
    lastError: z.string().optional(),
    backlog: z.object({ pending: z.number().int(), blocked: z.number().int(), inFlight: z.number().int(), dead: z.number().int() }),
  }),
  "One sink's circuit breaker, recent success rate and latency, and its backlog in the store.",
);

export const sinkStatusListSchema = component('SinkStatusList', z.object({ items: z.array(sinkStatusSchema) }));

export const probeResultSchema = component(
  'ProbeResult',
  z.object({
    sink: z.string(),
    probing: z.boolean().meta({ description: 'The cool-down ended: the next delivery goes now as the probe.' }),
    message: z.string(),
    breaker: z.object({ state: z.enum(['closed', 'open', 'half-open']), nextProbeAt: iso().optional() }).optional(),
  }),
);
