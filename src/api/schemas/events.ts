/**
 * @module api/schemas/events
 *
 * Answers about the journal and its events: errors, events as stored, journal rows and details.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../../events/types.js';
import { component, iso } from './base.js';
import { JOURNAL_STATES } from './queries.js';

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
  'One notification item in the flat event contract (docs/reference/events.md). Keys that do not apply are omitted.',
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
