/**
 * @module api/schemas/messages
 *
 * Answers about messages: status timelines, outbound content, reactions, conversations.
 */
import { z } from 'zod';
import { component, iso } from './base.js';
import { MESSAGE_STATUSES } from './queries.js';

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
