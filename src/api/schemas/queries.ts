/**
 * @module api/schemas/queries
 *
 * Query values (cursors, limits, times, lists) and the query and path parameters of the list and detail endpoints.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../../events/types.js';
import { OUTBOUND_STEPS } from '../../projections/index.js';
import type { JournalState, RejectionCause } from '../../store/store.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './base.js';

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

export const pageQuery = { after: cursorParam, limit: limitParam };

export const JOURNAL_STATES = ['pending', 'processed', 'duplicate', 'quarantined', 'failed'] as const satisfies readonly JournalState[];
export const REJECTION_CAUSES = [
  'unauthorized',
  'payload-too-large',
  'method-not-allowed',
  'unknown-channel',
  'verify-token-mismatch',
  'journal-unavailable',
  'request-timeout',
  'bad-request',
] as const satisfies readonly RejectionCause[];
export const MESSAGE_STATUSES = [...OUTBOUND_STEPS, 'failed'] as const;

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

export const idPath = z.strictObject({ id: z.string().min(1).max(1024).meta({ description: 'Identifier (URL-encoded).' }) });
export const journalIdPath = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'expected a journal row id' })
    .transform(Number)
    .meta({ description: 'Journal row id.' }),
});
export const keyPath = z.strictObject({ key: z.string().min(1).max(1024).meta({ description: 'Key (URL-encoded).' }) });
