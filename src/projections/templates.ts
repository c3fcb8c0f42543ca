/**
 * @module projections/templates
 *
 * One row per message template: its current review status and reason, quality score,
 * category, content (from `template.components`), and the recent history of template events.
 *
 * - Key: `templateId` when the event has one; else `<templateName>:<language>` (a relay
 *   that drops the id still names the template). An event with neither id nor name
 *   touches no template.
 * - The history is the latest {@link HISTORY_LIMIT} template events of each type
 *   (status, quality, category, components), deduplicated by event id and sorted by (time, event id);
 *   the events table keeps every one. Keeping the latest of each type means the current
 *   values can always be derived from the history, and the row stays the same size however
 *   many events a template gets. The row is derived from it on every change: current status and
 *   reason come from the latest `template.status`, quality from the latest
 *   `template.quality`, category from the latest `template.category` or status update
 *   that names one (Meta's status updates carry `message_template_category`). "Latest" is by
 *   `occurredAt` (Meta's `entry.time`, whole seconds; `receivedAt` when absent); events
 *   with the same time are ordered by event id — arbitrary, but the same on every rebuild.
 *   Because the history is a set, arrival order and duplicates cannot change the row.
 */
import type { BluetickEvent, JsonValue, TemplateCategoryEvent, TemplateComponentsEvent, TemplateQualityEvent, TemplateStatusEvent } from '../events/types.js';
import { compact, compareText, compareTime, factTime, upsertSorted } from './order.js';

export type TemplateEvent = TemplateStatusEvent | TemplateQualityEvent | TemplateCategoryEvent | TemplateComponentsEvent;

/** A template's content as a `template.components` event states it (Meta `message_template_components_update`). */
export interface TemplateComponents {
  /** The body text. */
  body?: string;
  header?: string;
  footer?: string;
  /** Each button as `<type>: <text>`, in order. */
  buttons?: string[];
}

/** Template events of each type a row keeps in its history: the latest ones. */
export const HISTORY_LIMIT = 10;

/** One template event, as kept in the history. */
export interface TemplateHistoryEntry {
  eventId: string;
  type: TemplateEvent['type'];
  /** The value as sent: the review event, the new quality score, or the new category. */
  status?: string;
  reason?: string;
  occurredAt?: string;
  receivedAt: string;
  templateId?: string;
  templateName?: string;
  language?: string;
  /** `template.status`: the category the status update names, if any. */
  category?: string;
  /** `template.components`: the content it states. */
  components?: TemplateComponents;
}

export interface TemplateRow {
  key: string;
  templateId?: string;
  name?: string;
  language?: string;
  /** The latest `template.status` value: `APPROVED`, `REJECTED`, `PAUSED`, ... */
  status?: string;
  statusAt?: string;
  /** The reason carried by that same latest status event. */
  reason?: string;
  /** The latest quality score: `GREEN`, `YELLOW`, `RED`, `UNKNOWN`. */
  quality?: string;
  qualityAt?: string;
  category?: string;
  categoryAt?: string;
  /** The content stated by the latest `template.components` event. */
  components?: TemplateComponents;
  componentsAt?: string;
  /** Time of the latest event of any kind. */
  updatedAt: string;
  /** The latest {@link HISTORY_LIMIT} events of each type, by (time, event id). */
  history: TemplateHistoryEntry[];
}

function isTemplateEvent(event: BluetickEvent): event is TemplateEvent {
  return event.type === 'template.status' || event.type === 'template.quality' || event.type === 'template.category' || event.type === 'template.components';
}

/**
 * The template row an event belongs to.
 *
 * @example
 * templateKeyOf({ ...event, templateId: '1234567890123456789' }) // '1234567890123456789'
 * templateKeyOf({ ...event, templateName: 'order_update', language: 'en_US' }) // 'order_update:en_US'
 */
export function templateKeyOf(event: BluetickEvent): string | undefined {
  if (!isTemplateEvent(event)) return undefined;
  if (event.templateId !== undefined && event.templateId !== '') return event.templateId;
  if (event.templateName === undefined || event.templateName === '') return undefined;
  return `${event.templateName}:${event.language ?? ''}`;
}

/** History order: time, then event id. */
function compareHistory(a: TemplateHistoryEntry, b: TemplateHistoryEntry): number {
  return compareTime(factTime(a), factTime(b)) || compareText(a.eventId, b.eventId);
}

/** The category a status update names (Meta `message_template_category`, EnableX `template_category`). */
function statusCategory(event: TemplateEvent): string | undefined {
  if (event.type !== 'template.status' || typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) return undefined;
  const data = event.data as Record<string, unknown>;
  const category = Object.hasOwn(data, 'message_template_category') ? data.message_template_category : data.template_category;
  return typeof category === 'string' && category !== '' ? category : undefined;
}

function entryFrom(event: TemplateEvent): TemplateHistoryEntry {
  return compact({
    eventId: event.id,
    type: event.type,
    status: event.type === 'template.components' ? undefined : event.status,
    reason: event.type === 'template.status' ? event.reason : undefined,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    templateId: event.templateId,
    templateName: event.templateName,
    language: event.language,
    category: statusCategory(event),
    components: event.type === 'template.components' ? componentsOf(event.data) : undefined,
  });
}

function field(data: JsonValue, key: string): JsonValue | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  return Object.hasOwn(data, key) ? data[key] : undefined;
}

function textField(data: JsonValue | undefined, key: string): string | undefined {
  const value = data === undefined ? undefined : field(data, key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The content a components update states: body, header, footer, buttons (type and text). */
function componentsOf(data: JsonValue): TemplateComponents | undefined {
  const title = field(data, 'message_template_title');
  const buttons = field(data, 'message_template_buttons');
  const components = compact({
    body: textField(data, 'message_template_element'),
    header: typeof title === 'string' ? title || undefined : textField(title, 'text'),
    footer: textField(data, 'message_template_footer'),
    buttons: Array.isArray(buttons)
      ? buttons.map((b) => [textField(b, 'message_template_button_type'), textField(b, 'message_template_button_text')].filter(Boolean).join(': '))
      : undefined,
  });
  return Object.keys(components).length > 0 ? components : undefined;
}

function deriveRow(key: string, history: readonly TemplateHistoryEntry[]): TemplateRow {
  // The history is sorted ascending, so the last entry of each kind is the latest.
  let status: TemplateHistoryEntry | undefined;
  let quality: TemplateHistoryEntry | undefined;
  let category: TemplateHistoryEntry | undefined;
  let components: TemplateHistoryEntry | undefined;
  let templateId: string | undefined;
  let name: string | undefined;
  let language: string | undefined;
  for (const entry of history) {
    if (entry.type === 'template.status') status = entry;
    else if (entry.type === 'template.quality' && entry.status !== undefined) quality = entry;
    else if (entry.type === 'template.category' && entry.status !== undefined) category = entry;
    if (entry.type === 'template.status' && entry.category !== undefined) category = entry;
    if (entry.type === 'template.components') components = entry;
    templateId = entry.templateId ?? templateId;
    name = entry.templateName ?? name;
    language = entry.language ?? language;
  }
  const last = history[history.length - 1];
  return compact({
    key,
    templateId,
    name,
    language,
    status: status?.status,
    statusAt: status ? factTime(status) : undefined,
    reason: status?.reason,
    quality: quality?.status,
    qualityAt: quality ? factTime(quality) : undefined,
    category: category?.type === 'template.status' ? category.category : category?.status,
    categoryAt: category ? factTime(category) : undefined,
    components: components?.components,
    componentsAt: components ? factTime(components) : undefined,
    updatedAt: last ? factTime(last) : '',
    history: history.slice(),
  });
}

/**
 * Applies one event to one template row. Returns `row` itself when the event does not
 * concern it or is a duplicate.
 */
export function reduceTemplate(row: TemplateRow | undefined, event: BluetickEvent): TemplateRow | undefined {
  if (!isTemplateEvent(event)) return row;
  const key = templateKeyOf(event);
  if (key === undefined || (row !== undefined && row.key !== key)) return row;
  const before = row?.history ?? [];
  let after = upsertSorted(before, entryFrom(event), (e) => e.eventId, compareHistory);
  if (row && after === before) return row;
  let ofType = 0;
  for (const entry of after) if (entry.type === event.type) ofType++;
  if (ofType > HISTORY_LIMIT) {
    // Sorted ascending: the first entry of this type is its earliest.
    const drop = after.findIndex((entry) => entry.type === event.type);
    after = after.filter((_, i) => i !== drop);
    if (row && after.length === before.length && after.every((entry, i) => entry === before[i])) return row;
  }
  return deriveRow(key, after);
}
