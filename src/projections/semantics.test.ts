/**
 * Fixtures chosen so that a projection computed from the wrong fact fails: every event's
 * own time (`occurredAt`) differs from when bluetick received it (`receivedAt`, hours
 * later, as after a provider's retry backlog); lower statuses arrive later in time than
 * higher ones; a template goes back to a status it had before; a message comes without an
 * id. Each case is checked in every arrival order of its events.
 */
import { describe, expect, it } from 'vitest';
import type { BluetickEvent, MessageReceivedEvent, MessageStatusEvent, TemplateStatusEvent } from '../events/types.js';
import { isWindowOpen } from './conversations.js';
import { applyEvents, emptyState, type ProjectionState } from './index.js';

const BASE = Date.UTC(2026, 2, 10, 8, 0, 0);
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
/** Received three hours after the fact: a window or a time computed from receivedAt is off by 3 h. */
const LATE = 3 * HOUR;

const BUSINESS = '106540352242922';
const CUSTOMER = '16505551234';

function received(n: number, offsetMs: number, extra: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent {
  return {
    id: `evt_in_${n}`,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: BUSINESS,
    messageId: `wamid.IN${n}`,
    from: CUSTOMER,
    kind: 'text',
    text: `message ${n}`,
    occurredAt: iso(BASE + offsetMs),
    receivedAt: iso(BASE + offsetMs + LATE),
    data: {},
    ...extra,
  };
}

function status(n: number, value: string, offsetMs: number, messageId = 'wamid.OUT1'): MessageStatusEvent {
  return {
    id: `evt_st_${n}`,
    type: 'message.status',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: BUSINESS,
    messageId,
    status: value,
    recipientId: CUSTOMER,
    occurredAt: iso(BASE + offsetMs),
    receivedAt: iso(BASE + offsetMs + LATE),
    data: { id: messageId, status: value },
  };
}

function template(n: number, value: string, offsetMs: number, reason?: string): TemplateStatusEvent {
  return {
    id: `evt_tpl_${n}`,
    type: 'template.status',
    provider: 'meta',
    channel: 'main',
    businessAccountId: '102290129340398',
    templateId: '774192038551263',
    templateName: 'order_update',
    language: 'en_US',
    status: value,
    ...(reason !== undefined ? { reason } : {}),
    occurredAt: iso(BASE + offsetMs),
    receivedAt: iso(BASE + offsetMs + LATE),
    data: {},
  } as TemplateStatusEvent;
}

/** Every order of a short list (the cases here have at most four events). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** The state from `events` in every arrival order; asserts they all agree and returns it. */
function project(events: readonly BluetickEvent[]): ProjectionState {
  const [first, ...others] = permutations(events).map((order) => applyEvents(emptyState(), order));
  for (const other of others) {
    expect(Object.fromEntries(other.messages)).toEqual(Object.fromEntries(first!.messages));
    expect(Object.fromEntries(other.conversations)).toEqual(Object.fromEntries(first!.conversations));
    expect(Object.fromEntries(other.templates)).toEqual(Object.fromEntries(first!.templates));
  }
  return first!;
}

const conversation = (state: ProjectionState) => state.conversations.get(`${BUSINESS}:${CUSTOMER}`)!;

describe('the 24-hour window counts from when the customer wrote, not from when it reached us', () => {
  it('closes 24 h after occurredAt although the POST came 3 h later', () => {
    const state = project([received(1, 0)]);
    const row = conversation(state);
    expect(row.lastInbound!.at).toBe(iso(BASE));
    expect(row.windowOpenUntil).toBe(iso(BASE + 24 * HOUR));
    expect(isWindowOpen(row, BASE + 24 * HOUR - 1)).toBe(true);
    expect(isWindowOpen(row, BASE + 24 * HOUR)).toBe(false);
    // Open by the receive time's count, closed in truth.
    expect(isWindowOpen(row, BASE + 25 * HOUR)).toBe(false);
  });

  it('takes the latest message by its own time, even when an older one arrived last', () => {
    // Message 2 was written later but received first; message 1 was delayed longer.
    const early = received(1, 0, { receivedAt: iso(BASE + 10 * HOUR) });
    const later = received(2, 2 * HOUR, { receivedAt: iso(BASE + 2 * HOUR + 1_000) });
    const row = conversation(project([early, later]));
    expect(row.lastInbound!.messageId).toBe('wamid.IN2');
    expect(row.windowOpenUntil).toBe(iso(BASE + 26 * HOUR));
    expect(row.counts.inbound).toBe(2);
  });

  it('answers a message by the time the reply was sent, not when its status reached us', () => {
    // The customer writes at 0 and at 2 h; the business's reply was sent at 1 h, its status received at 4 h.
    const state = project([received(1, 0), status(1, 'sent', HOUR), received(2, 2 * HOUR)]);
    const row = conversation(state);
    expect(row.lastOutbound).toEqual({ messageId: 'wamid.OUT1', at: iso(BASE + HOUR) });
    expect(row.unanswered.map((u) => u.messageId)).toEqual(['wamid.IN2']);
    expect(row.counts.unreadInbound).toBe(1);
    expect(row.lastActivityAt).toBe(iso(BASE + 2 * HOUR));
  });
});

describe('a lower status later in time never downgrades a message', () => {
  it('stays read when delivered and sent are reported after the read', () => {
    const state = project([status(1, 'read', 10_000), status(2, 'delivered', 20_000), status(3, 'sent', 30_000)]);
    const row = state.messages.get('wamid.OUT1')!;
    expect(row.status).toBe('read');
    expect(row.steps.read).toMatchObject({ at: iso(BASE + 10_000), eventId: 'evt_st_1' });
    // Steps that were reported keep their own reported times (only a step never reported is
    // implied from a higher one), and the status stays the highest step.
    expect(row.steps.delivered).toEqual({ at: iso(BASE + 20_000), eventId: 'evt_st_2' });
    expect(row.steps.sent).toEqual({ at: iso(BASE + 30_000), eventId: 'evt_st_3' });
    expect(row.timeline.map((e) => e.status)).toEqual(['read', 'delivered', 'sent']);
  });

  it('keeps delivered over a failure reported later in time', () => {
    const state = project([status(1, 'sent', 0), status(2, 'delivered', 5_000), status(3, 'failed', 9_000)]);
    const row = state.messages.get('wamid.OUT1')!;
    expect(row.status).toBe('delivered');
    expect(row.failure).toBeDefined();
  });

  it('keeps the earliest failure and the union of every failure\'s codes, in numeric order', () => {
    const first = { ...status(1, 'failed', 4_000), errorCodes: [131026, 470] };
    const second = { ...status(2, 'failed', 2_000), errorCodes: [1000, 470] };
    const row = project([first, second, status(3, 'sent', 1_000)]).messages.get('wamid.OUT1')!;
    expect(row.status).toBe('failed');
    expect(row.failure).toEqual({ at: iso(BASE + 2_000), eventId: 'evt_st_2', errorCodes: [470, 1000, 131026] });
  });

  it('files the sent step at the provider time, not the receive time', () => {
    const row = project([status(1, 'sent', 7_000)]).messages.get('wamid.OUT1')!;
    expect(row.steps.sent!.at).toBe(iso(BASE + 7_000));
    expect(row.occurredAt).toBe(iso(BASE + 7_000));
  });
});

describe('a template that returns to an earlier status', () => {
  it('reports the latest status by time when APPROVED comes back after PAUSED', () => {
    const state = project([template(1, 'APPROVED', 0), template(2, 'PAUSED', HOUR, 'LOW_QUALITY'), template(3, 'APPROVED', 2 * HOUR)]);
    const row = [...state.templates.values()][0]!;
    expect(row.status).toBe('APPROVED');
    expect(row.statusAt).toBe(iso(BASE + 2 * HOUR));
    expect(row.reason).toBeUndefined();
    expect(row.history.map((h) => h.status)).toEqual(['APPROVED', 'PAUSED', 'APPROVED']);
  });

  it('reports PAUSED when that is the latest by time, though an APPROVED arrived after it', () => {
    const paused = template(2, 'PAUSED', 3 * HOUR, 'LOW_QUALITY');
    const approvedEarlier = { ...template(3, 'APPROVED', 2 * HOUR), receivedAt: iso(BASE + 9 * HOUR) };
    const state = project([template(1, 'APPROVED', 0), paused, approvedEarlier]);
    const row = [...state.templates.values()][0]!;
    expect(row.status).toBe('PAUSED');
    expect(row.reason).toBe('LOW_QUALITY');
    expect(row.statusAt).toBe(iso(BASE + 3 * HOUR));
  });

  it('keeps two reports of the same status as two entries, the latest giving the time', () => {
    const state = project([template(1, 'APPROVED', 0), template(2, 'APPROVED', HOUR)]);
    const row = [...state.templates.values()][0]!;
    expect(row.status).toBe('APPROVED');
    expect(row.statusAt).toBe(iso(BASE + HOUR));
    expect(row.history).toHaveLength(2);
  });
});

describe('a message without an id', () => {
  it('moves the conversation times but is neither a message row nor counted', () => {
    const idless = received(2, HOUR);
    delete (idless as { messageId?: string }).messageId;
    const state = project([received(1, 0), idless]);
    expect([...state.messages.keys()]).toEqual(['wamid.IN1']);
    const row = conversation(state);
    expect(row.lastInbound!.at).toBe(iso(BASE + HOUR));
    expect(row.lastInbound!.messageId).toBeUndefined();
    expect(row.windowOpenUntil).toBe(iso(BASE + 25 * HOUR));
    expect(row.counts.inbound).toBe(1);
  });
});
