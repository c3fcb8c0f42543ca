/**
 * @module api/views
 *
 * Store rows -> the JSON the API answers with (shapes in `schemas.ts`). Times the store keeps
 * as epoch milliseconds become ISO-8601; raw bodies become text (when valid UTF-8) plus
 * base64; conversations get `isWindowOpen` computed at the time of the answer.
 */
import { isFreeEntryWindowOpen, isWindowOpen, type ConversationRow } from '../projections/index.js';
import type { JournalRow, Page, Rejection } from '../store/store.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** Bytes of the body shown in a journal list. */
export const PREVIEW_BYTES = 512;

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** An API page: the cursor becomes an opaque string. */
export function pageView<T, U>(page: Page<T>, map: (item: T) => U): { items: U[]; next?: string } {
  const items = page.items.map(map);
  return page.next === undefined ? { items } : { items, next: String(page.next) };
}

export function bodyView(body: Buffer): { size: number; text?: string; base64: string } {
  let text: string | undefined;
  try {
    text = utf8.decode(body);
  } catch {
    text = undefined;
  }
  return text === undefined ? { size: body.length, base64: body.toString('base64') } : { size: body.length, text, base64: body.toString('base64') };
}

function journalBase(row: JournalRow) {
  return {
    id: row.id,
    channel: row.channel,
    receivedAt: isoOf(row.receivedAt),
    ...(row.remoteAddress !== undefined ? { remoteAddress: row.remoteAddress } : {}),
    headers: row.headers,
    verifiedBy: row.verifiedBy,
    state: row.state,
    ...(row.cause !== undefined ? { cause: row.cause } : {}),
    eventCount: row.eventCount,
    newEventCount: row.newEventCount,
    ...(row.processedAt !== undefined ? { processedAt: isoOf(row.processedAt) } : {}),
  };
}

export function journalView(row: JournalRow) {
  return { ...journalBase(row), body: bodyView(row.body) };
}

export function journalSummaryView(row: JournalRow) {
  return { ...journalBase(row), size: row.body.length, preview: lenient.decode(row.body.subarray(0, PREVIEW_BYTES)) };
}

export function rejectionView(r: Rejection) {
  return {
    id: r.id,
    at: isoOf(r.at),
    ...(r.channel !== undefined ? { channel: r.channel } : {}),
    cause: r.cause,
    method: r.method,
    path: r.path,
    ...(r.remoteAddress !== undefined ? { remoteAddress: r.remoteAddress } : {}),
    ...(r.detail !== undefined ? { detail: r.detail } : {}),
  };
}

/** The row with `isWindowOpen` at `now`, placed right after `windowOpenUntil`. */
export function conversationView(row: ConversationRow, now: number) {
  // Built key by key: spreading rows parsed from JSON is several times slower, and lists
  // build fifty of these per request.
  const view: Record<string, unknown> = { key: row.key, businessNumber: row.businessNumber, contact: row.contact };
  if (row.displayNumber !== undefined) view.displayNumber = row.displayNumber;
  if (row.lastInbound !== undefined) view.lastInbound = row.lastInbound;
  if (row.lastOutbound !== undefined) view.lastOutbound = row.lastOutbound;
  if (row.windowOpenUntil !== undefined) view.windowOpenUntil = row.windowOpenUntil;
  view.isWindowOpen = isWindowOpen(row, now);
  if (row.lastActivityAt !== undefined) view.lastActivityAt = row.lastActivityAt;
  view.counts = row.counts;
  if (row.firstUnansweredAt !== undefined) view.firstUnansweredAt = row.firstUnansweredAt;
  view.unanswered = row.unanswered;
  if (row.owner !== undefined) view.owner = row.owner;
  if (row.referral !== undefined) view.referral = row.referral;
  if (row.ctwaClid !== undefined) view.ctwaClid = row.ctwaClid;
  if (row.freeEntryWindowOpenUntil !== undefined) {
    view.freeEntryWindowOpenUntil = row.freeEntryWindowOpenUntil;
    view.isFreeEntryWindowOpen = isFreeEntryWindowOpen(row, now);
  }
  return view as Omit<ConversationRow, never> & { isWindowOpen: boolean; isFreeEntryWindowOpen?: boolean };
}
