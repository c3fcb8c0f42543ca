/**
 * @module search/documents
 *
 * What search finds, as documents derived from events: pure functions, no IO.
 *
 * - `message` (ref: message id): its text, the sender's number and profile name, its id.
 * - `contact` (ref: wa_id): the latest profile name and the number.
 * - `template` (ref: the template's key, as `/api/templates/{key}` takes it): its name and id.
 * - `outbound` (ref: message id): what the sending code recorded (`POST /api/outbound`).
 *
 * A document is written `replace` (it says more than an earlier one: an inbound message, a
 * newer profile name) or `keep` (only creates: a status update names a message that may
 * already carry its text), so the index holds one bounded row per thing, however many
 * events mention it. Text is folded to letters and digits separated by spaces, so ids with
 * dots (`wamid.HBgL…`) and numbers with `+` match by their parts on both backends.
 */
import type { BluetickEvent } from '../events/types.js';
import { templateKeyOf } from '../projections/templates.js';

export type SearchKind = 'message' | 'contact' | 'template' | 'outbound';
export const SEARCH_KINDS: readonly SearchKind[] = ['message', 'contact', 'template', 'outbound'];

export interface SearchDocument {
  kind: SearchKind;
  ref: string;
  /** What a result shows as its title. */
  title: string;
  /** The searchable text, folded ({@link foldText}). */
  body: string;
  /** Epoch ms of the event (or record) it came from. */
  at: number;
  /** `replace`: overwrite an existing document; `keep`: only create. */
  mode: 'replace' | 'keep';
}

const MAX_BODY = 4_096;

/** Letters and digits, lower-cased, every other run of characters one space. */
export function foldText(parts: ReadonlyArray<string | undefined>): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== '')
    .join(' ')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .slice(0, MAX_BODY);
}

/** The query's words, folded the same way (at most 8, each at most 64 characters). */
export function queryTerms(q: string): string[] {
  return foldText([q])
    .split(' ')
    .filter((t) => t !== '')
    .slice(0, 8)
    .map((t) => t.slice(0, 64));
}

function timeOf(event: BluetickEvent): number {
  const at = Date.parse(event.occurredAt ?? event.receivedAt);
  return Number.isFinite(at) ? at : Date.parse(event.receivedAt);
}

/** The documents one event contributes (none for most kinds). */
export function documentsOf(event: BluetickEvent): SearchDocument[] {
  const e = event as BluetickEvent & Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof e[key] === 'string' && e[key] !== '' ? (e[key] as string) : undefined);
  const at = timeOf(event);
  const out: SearchDocument[] = [];
  const messageId = str('messageId');
  const from = str('from');
  const contactName = str('contactName');
  switch (event.type) {
    case 'message.received':
    case 'message.echo':
    case 'message.standby': {
      const text = str('text');
      if (messageId !== undefined) {
        out.push({ kind: 'message', ref: messageId, title: contactName ?? from ?? messageId, body: foldText([text, contactName, from, messageId]), at, mode: 'replace' });
      }
      if (from !== undefined && event.type === 'message.received') {
        out.push({ kind: 'contact', ref: from, title: contactName ?? from, body: foldText([contactName, from]), at, mode: contactName !== undefined ? 'replace' : 'keep' });
      }
      break;
    }
    case 'message.status': {
      const recipient = str('recipientId');
      if (messageId !== undefined) out.push({ kind: 'message', ref: messageId, title: recipient ?? messageId, body: foldText([messageId, recipient]), at, mode: 'keep' });
      if (recipient !== undefined) out.push({ kind: 'contact', ref: recipient, title: recipient, body: foldText([recipient]), at, mode: 'keep' });
      break;
    }
    default: {
      const templateName = str('templateName');
      const key = templateKeyOf(event);
      if (key !== undefined && templateName !== undefined) {
        const language = str('language');
        out.push({
          kind: 'template',
          ref: key,
          title: language !== undefined ? `${templateName} (${language})` : templateName,
          body: foldText([templateName, str('templateId'), language]),
          at,
          mode: 'keep',
        });
      }
    }
  }
  return out;
}

/**
 * One document per (kind, ref) out of a batch, as applying them in order would leave it: a
 * `replace` overrides what came before, a `keep` counts only when nothing came before.
 */
export function collapseDocuments(docs: readonly SearchDocument[]): SearchDocument[] {
  const byKey = new Map<string, SearchDocument>();
  for (const d of docs) {
    const key = `${d.kind}\u0000${d.ref}`;
    const before = byKey.get(key);
    if (d.mode === 'replace') byKey.set(key, d);
    else if (before === undefined) byKey.set(key, d);
  }
  return [...byKey.values()];
}

/** The document of an outbound record (`POST /api/outbound`): found by its text, template, tags and callback data. */
export function outboundDocument(r: {
  messageId: string;
  to?: string | undefined;
  templateName?: string | undefined;
  text?: string | undefined;
  bizOpaqueCallbackData?: string | undefined;
  tags?: string[] | undefined;
}, at: number): SearchDocument {
  return {
    kind: 'outbound',
    ref: r.messageId,
    title: r.templateName ?? r.text?.slice(0, 80) ?? r.messageId,
    body: foldText([r.text, r.templateName, r.bizOpaqueCallbackData, ...(r.tags ?? []), r.to, r.messageId]),
    at,
    mode: 'replace',
  };
}
