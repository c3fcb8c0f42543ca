/**
 * Every projection row stays under a fixed size however many events are applied to it.
 *
 * Each case applies 100 000 distinct events to ONE key of one projection, the way a store
 * does (the row goes through JSON between events), and checks the stored text never grows
 * past a fixed bound. A list in a row that grows with history makes the per-event cost grow
 * with it (every event parses and writes the whole row), which is what these guard against.
 *
 * The cases count events, not seconds: each applies up to 100 000 events while time allows
 * and fails when fewer than 10 000 (far past the point where a growing list would pass the
 * bound) were applied, so a loaded machine neither fails them nor lets them pass unchecked.
 */
import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import { reduceContact, type ContactRow } from './contacts.js';
import { reduceConversation, UNANSWERED_LIMIT, type ConversationRow } from './conversations.js';
import { reduceMessage } from './message-status.js';
import { reduceReaction } from './reactions.js';
import { reduceTemplate } from './templates.js';

const EVENTS = 100_000;
/** Fewer events applied than this fail the case. */
const MIN_EVENTS = 10_000;
/** Stop applying events after this long (the test timeout below leaves room to finish). */
const BUDGET_MS = 20_000;
const CASE = { timeout: 60_000 };
/** Bytes of JSON any one row may take, whatever its history. */
const ROW_LIMIT = 8 * 1024;

const base = Date.UTC(2026, 0, 1);
/** Times that mostly rise, with every seventh event late (out of order). */
const at = (i: number): string => new Date(base + (i % 7 === 0 ? i - 5_000 : i) * 1_000).toISOString();

/**
 * Folds up to `count` events into one row through JSON text, stopping at the time budget;
 * returns the largest text seen, the last row and how many events were applied.
 */
function grow<R>(count: number, eventAt: (i: number) => BluetickEvent, reduce: (row: R | undefined, event: BluetickEvent) => R | undefined) {
  const deadline = performance.now() + BUDGET_MS;
  let text: string | undefined;
  let largest = 0;
  let applied = 0;
  for (; applied < count; applied++) {
    if (applied % 1_000 === 0 && applied > 0 && performance.now() > deadline) break;
    const row = text === undefined ? undefined : (JSON.parse(text) as R);
    const next = reduce(row, eventAt(applied));
    if (next !== undefined && next !== row) text = JSON.stringify(next);
    largest = Math.max(largest, text?.length ?? 0);
    // Fail at once: a row that grows makes every later event slower.
    if (largest >= ROW_LIMIT) throw new Error(`row reached ${largest} bytes after ${applied + 1} events`);
  }
  if (applied < MIN_EVENTS) throw new Error(`only ${applied} of at least ${MIN_EVENTS} events applied within ${BUDGET_MS} ms`);
  return { largest, applied, row: text === undefined ? undefined : (JSON.parse(text) as R) };
}

/** The last of the first `applied` events with `i % mod === rest` that is not a late one (see `at`). */
const lastOnTime = (applied: number, mod: number, rest: number): number => {
  let i = applied - 1;
  while (i % mod !== rest || i % 7 === 0) i--;
  return i;
};

const common = { provider: 'meta' as const, channel: 'main', phoneNumberId: 'P1', data: {} };
const STATUSES = ['sent', 'delivered', 'read', 'failed', 'deleted'];

describe('projection rows stay bounded', () => {
  it('a message with 100k status notifications', CASE, () => {
    const { largest, row } = grow(
      EVENTS,
      (i) => ({
        ...common,
        id: `st-${i}`,
        type: 'message.status',
        messageId: 'wamid.HOT',
        status: STATUSES[i % STATUSES.length]!,
        recipientId: 'C1',
        errorCodes: i % STATUSES.length === 3 ? [131000 + (i % 50)] : undefined,
        occurredAt: at(i),
        receivedAt: at(i),
      } as BluetickEvent),
      reduceMessage,
    );
    expect(largest).toBeLessThan(ROW_LIMIT);
    expect(row?.status).toBe('read');
    expect(row?.failure?.errorCodes.length).toBeGreaterThan(0);
  });

  it('a conversation with 100k unanswered customer messages, then a reply', CASE, () => {
    const inbound = (i: number): BluetickEvent => ({
      ...common,
      id: `in-${i}`,
      type: 'message.received',
      messageId: `wamid.IN${i}`,
      from: 'C1',
      kind: 'text',
      text: 'are you there?',
      occurredAt: at(i),
      receivedAt: at(i),
    });
    const reduce = (row: ConversationRow | undefined, event: BluetickEvent) => reduceConversation(row, event, undefined);
    const { largest, row, applied } = grow(EVENTS, inbound, reduce);
    expect(largest).toBeLessThan(ROW_LIMIT);
    expect(row?.counts.inbound).toBe(applied);
    expect(row?.counts.unreadInbound).toBe(applied);
    expect(row?.unanswered.length).toBe(UNANSWERED_LIMIT);
    expect(row?.firstUnansweredAt).toBe(at(0));
    const reply: BluetickEvent = {
      ...common,
      id: 'out-1',
      type: 'message.status',
      messageId: 'wamid.OUT1',
      status: 'sent',
      recipientId: 'C1',
      occurredAt: at(applied + 1),
      receivedAt: at(applied + 1),
    };
    const answered = reduceConversation(row, reply, undefined);
    expect(answered?.counts.unreadInbound).toBe(0);
    expect(answered?.unanswered).toEqual([]);
    expect(answered?.firstUnansweredAt).toBeUndefined();
  });

  it('a contact with 100k messages and number changes both ways', CASE, () => {
    const { largest, row, applied } = grow(
      EVENTS,
      (i) =>
        ({
          ...common,
          id: `c-${i}`,
          type: 'message.received',
          messageId: `wamid.C${i}`,
          from: i % 3 === 0 ? `OTHER${i}` : 'C1',
          contactName: `name ${i}`,
          kind: i % 3 === 2 ? 'text' : 'system',
          data: i % 3 === 2 ? {} : { system: { type: 'user_changed_number', wa_id: i % 3 === 0 ? 'C1' : `NEW${i}` } },
          occurredAt: at(i),
          receivedAt: at(i),
        }) as BluetickEvent,
      (r: ContactRow | undefined, e) => reduceContact(r, 'C1', e),
    );
    expect(largest).toBeLessThan(ROW_LIMIT);
    expect(row?.newWaId).toBe(`NEW${lastOnTime(applied, 3, 1)}`);
  });

  it('a template with 100k status, quality and category events', CASE, () => {
    const types = ['template.status', 'template.quality', 'template.category'] as const;
    const { largest, row, applied } = grow(
      EVENTS,
      (i) =>
        ({
          ...common,
          id: `t-${i}`,
          type: types[i % 3],
          templateId: '102',
          templateName: 'promo',
          language: 'en_US',
          status: `VALUE_${i}`,
          occurredAt: at(i),
          receivedAt: at(i),
        }) as BluetickEvent,
      reduceTemplate,
    );
    expect(largest).toBeLessThan(ROW_LIMIT);
    expect(row?.status).toBe(`VALUE_${lastOnTime(applied, 3, 0)}`);
    expect(row?.category).toBe(`VALUE_${lastOnTime(applied, 3, 2)}`);
    expect(row?.quality).toBe(`VALUE_${lastOnTime(applied, 3, 1)}`);
  });

  it('a reaction changed 100k times', CASE, () => {
    const { largest } = grow(
      EVENTS,
      (i) => ({
        ...common,
        id: `r-${i}`,
        type: 'message.reaction',
        messageId: `wamid.R${i}`,
        from: 'C1',
        emoji: i % 2 === 0 ? '👍' : '',
        targetMessageId: 'wamid.OUT',
        occurredAt: at(i),
        receivedAt: at(i),
      }),
      reduceReaction,
    );
    expect(largest).toBeLessThan(ROW_LIMIT);
  });
});
