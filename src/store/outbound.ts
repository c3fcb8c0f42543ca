/**
 * @module store/outbound
 *
 * What the business's sending code says it sent (`POST /api/outbound`, `bluetick.track()`):
 * the message id WhatsApp gave it, and the context a status update lacks (template, text,
 * `biz_opaque_callback_data`, tags). One row per message id in `outbound_messages`
 * (migration 0008); recording the same id again replaces the fields it names and keeps the
 * others. Reads join it to messages by id, so the order in which the record and the message's
 * statuses arrive does not matter.
 */

export interface OutboundInput {
  messageId: string;
  /** The customer's wa_id. */
  to?: string;
  /** The business number (or Meta phone-number id) it was sent from. */
  businessNumber?: string;
  templateName?: string;
  templateLanguage?: string;
  text?: string;
  bizOpaqueCallbackData?: string;
  tags?: string[];
  /** Epoch ms the code sent it. */
  sentAt?: number;
}

export interface OutboundRecord extends OutboundInput {
  recordedAt: number;
  /** The token name that recorded it (`library` for `bluetick.track()`). */
  recordedBy: string;
}

/** `Store.outbound`. */
export interface OutboundStore {
  /** Inserts or updates one row per message id; answers how many were new. */
  record(rows: OutboundInput[], recordedAt: number, recordedBy: string): Promise<{ inserted: number; updated: number }>;
  /** The records of these message ids (any order; unknown ids are left out). */
  get(messageIds: string[]): Promise<OutboundRecord[]>;
}

export interface OutboundRow {
  message_id: string;
  recipient: string | null;
  business_number: string | null;
  template_name: string | null;
  template_language: string | null;
  text: string | null;
  biz_opaque_callback_data: string | null;
  tags: string | null;
  sent_at: number | string | null;
  recorded_at: number | string;
  recorded_by: string;
}

export const OUTBOUND_COLUMNS =
  'message_id, recipient, business_number, template_name, template_language, text, biz_opaque_callback_data, tags, sent_at, recorded_at, recorded_by';

/** The row's values in {@link OUTBOUND_COLUMNS} order. */
export function outboundValues(r: OutboundInput, recordedAt: number, recordedBy: string): unknown[] {
  return [
    r.messageId,
    r.to ?? null,
    r.businessNumber ?? null,
    r.templateName ?? null,
    r.templateLanguage ?? null,
    r.text ?? null,
    r.bizOpaqueCallbackData ?? null,
    r.tags === undefined ? null : JSON.stringify(r.tags),
    r.sentAt ?? null,
    recordedAt,
    recordedBy,
  ];
}

/** `col = COALESCE(excluded.col, table.col)` for each field: a second record fills in, never erases. */
export const OUTBOUND_UPSERT_SET = ['recipient', 'business_number', 'template_name', 'template_language', 'text', 'biz_opaque_callback_data', 'tags', 'sent_at']
  .map((c) => `${c} = COALESCE(excluded.${c}, outbound_messages.${c})`)
  .concat(['recorded_at = excluded.recorded_at', 'recorded_by = excluded.recorded_by'])
  .join(', ');

export function toOutbound(r: OutboundRow): OutboundRecord {
  const o: OutboundRecord = { messageId: r.message_id, recordedAt: Number(r.recorded_at), recordedBy: r.recorded_by };
  if (r.recipient !== null) o.to = r.recipient;
  if (r.business_number !== null) o.businessNumber = r.business_number;
  if (r.template_name !== null) o.templateName = r.template_name;
  if (r.template_language !== null) o.templateLanguage = r.template_language;
  if (r.text !== null) o.text = r.text;
  if (r.biz_opaque_callback_data !== null) o.bizOpaqueCallbackData = r.biz_opaque_callback_data;
  if (r.tags !== null) o.tags = JSON.parse(r.tags) as string[];
  if (r.sent_at !== null) o.sentAt = Number(r.sent_at);
  return o;
}
