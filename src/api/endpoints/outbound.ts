/**
 * @module api/endpoints/outbound
 *
 * - `POST /api/outbound`             what your sending code sent: one record, or `{ items: [...] }`
 * - `GET  /api/outbound/{messageId}` the record of one message id
 *
 * Status updates from WhatsApp name only the message id; the record adds the template, the
 * text, `biz_opaque_callback_data` and your tags. It is kept apart and joined by message id
 * when messages are read ({@link withOutbound}), so it does not matter whether it comes before
 * or after the message's statuses.
 */
import { z } from 'zod';
import type { OutboundInput, OutboundRecord } from '../../store/outbound.js';
import type { Store } from '../../store/store.js';
import { principalOf } from '../access.js';
import type { RestContext } from '../context.js';
import { ApiError, notFound, type ApiRouter } from '../router.js';
import { component, outboundSchema } from '../schemas.js';
import { isoOf } from '../views.js';

const MAX_ITEMS = 1_000;

const shortText = (max: number, description: string) => z.string().min(1, { error: 'expected a non-empty value' }).max(max, { error: `expected at most ${max} characters` }).meta({ description });

const outboundItem = z.strictObject({
  messageId: shortText(256, 'The message id WhatsApp answered your send with (wamid.…, or the EnableX message id).'),
  to: shortText(32, "The customer's wa_id.").optional(),
  businessNumber: shortText(64, 'The business number (or Meta phone-number id) it was sent from.').optional(),
  templateName: shortText(512, 'The template, when it was a template message.').optional(),
  templateLanguage: shortText(16, "The template's language code.").optional(),
  text: z.string().max(4096, { error: 'expected at most 4096 characters' }).optional().meta({ description: 'The text sent (body, caption, or the rendered template).' }),
  bizOpaqueCallbackData: z.string().max(512, { error: 'expected at most 512 characters' }).optional().meta({ description: 'The biz_opaque_callback_data you sent with it.' }),
  tags: z.array(shortText(64, 'A tag.')).max(20, { error: 'expected at most 20 tags' }).optional().meta({ description: 'Your labels: campaign, order id, ...' }),
  sentAt: z
    .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })], { error: 'expected an ISO-8601 time or epoch milliseconds' })
    .optional()
    .meta({ description: 'When your code sent it (ISO-8601 or epoch ms). Default: not recorded.' }),
});

/** One record, or `items` with up to {@link MAX_ITEMS} of them (a record's own keys are then refused). */
const outboundBody = outboundItem.extend({
  messageId: outboundItem.shape.messageId.optional(),
  items: z.array(outboundItem).min(1).max(MAX_ITEMS, { error: `expected at most ${MAX_ITEMS} records` }).optional().meta({ description: `A batch of records instead of one (up to ${MAX_ITEMS}).` }),
});

const recordedSchema = component(
  'OutboundRecorded',
  z.strictObject({ recorded: z.number().int(), inserted: z.number().int(), updated: z.number().int() }),
);

const messageIdParams = z.strictObject({ messageId: z.string().min(1).max(256) });

function toInput(item: z.output<typeof outboundItem>): OutboundInput {
  const out: OutboundInput = { messageId: item.messageId };
  if (item.to !== undefined) out.to = item.to;
  if (item.businessNumber !== undefined) out.businessNumber = item.businessNumber;
  if (item.templateName !== undefined) out.templateName = item.templateName;
  if (item.templateLanguage !== undefined) out.templateLanguage = item.templateLanguage;
  if (item.text !== undefined) out.text = item.text;
  if (item.bizOpaqueCallbackData !== undefined) out.bizOpaqueCallbackData = item.bizOpaqueCallbackData;
  if (item.tags !== undefined) out.tags = item.tags;
  if (item.sentAt !== undefined) out.sentAt = typeof item.sentAt === 'number' ? item.sentAt : Date.parse(item.sentAt);
  return out;
}

/** The records of a body: its `items`, or the body itself as one record. */
function recordsOf(body: z.output<typeof outboundBody>): Array<z.output<typeof outboundItem>> {
  const { items, ...single } = body;
  if (items !== undefined) {
    const extra = Object.keys(single).find((k) => (single as Record<string, unknown>)[k] !== undefined);
    if (extra !== undefined) throw new ApiError(400, `${extra}: send one record, or items, not both`, extra);
    return items;
  }
  if (single.messageId === undefined) throw new ApiError(400, 'messageId: is required (or send items: [...])', 'messageId');
  return [{ ...single, messageId: single.messageId }];
}

/** An outbound record as the API shows it (times ISO-8601). */
export function outboundView(r: OutboundRecord): z.input<typeof outboundSchema> {
  const { sentAt, recordedAt, ...rest } = r;
  return { ...rest, ...(sentAt !== undefined ? { sentAt: isoOf(sentAt) } : {}), recordedAt: isoOf(recordedAt) };
}

/** `messages` with the outbound record of each (one read for the page). */
export async function withOutbound<M extends { id: string }>(store: Pick<Store, 'outbound'>, messages: M[]): Promise<Array<M & { tracked?: z.input<typeof outboundSchema> }>> {
  if (messages.length === 0) return messages;
  const records = new Map((await store.outbound.get(messages.map((m) => m.id))).map((r) => [r.messageId, r]));
  return messages.map((m) => {
    const r = records.get(m.id);
    return r === undefined ? m : { ...m, tracked: outboundView(r) };
  });
}

export function registerOutboundEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.post(
    {
      path: '/api/outbound',
      operationId: 'recordOutbound',
      tag: 'outbound',
      summary: 'Record what your code sent',
      description:
        'Tell bluetick what a message id carried: template, text, biz_opaque_callback_data, tags. Recording an id again fills in the fields it names. ' +
        'The message view and its conversation show it, whether its statuses came before or after. Roles: sender, admin.',
      body: outboundBody,
      response: recordedSchema,
    },
    async ({ body, request }) => {
      const items = recordsOf(body);
      const result = await ctx.store.outbound.record(items.map(toInput), ctx.now(), principalOf(request)?.name ?? 'admin-token');
      return { recorded: items.length, ...result };
    },
  );

  router.get(
    {
      path: '/api/outbound/{messageId}',
      operationId: 'getOutbound',
      tag: 'outbound',
      summary: 'Get the outbound record of a message id',
      params: messageIdParams,
      response: outboundSchema,
      notFound: true,
    },
    async ({ params }) => {
      const [record] = await ctx.store.outbound.get([params.messageId]);
      if (record === undefined) throw notFound(`nothing was recorded for message id "${params.messageId}" (POST /api/outbound)`);
      return outboundView(record);
    },
  );
}
