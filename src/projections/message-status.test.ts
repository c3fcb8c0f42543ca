import { describe, expect, it } from 'vitest';
import type { BluetickEvent, MessageReceivedEvent, MessageStatusEvent } from '../events/types.js';
import { reduceMessage, type MessageRow } from './message-status.js';

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 9, 0, second)).toISOString();

function status(id: string, value: string, second: number, extra: Partial<MessageStatusEvent> = {}): MessageStatusEvent {
  return {
    id,
    type: 'message.status',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    displayPhoneNumber: '15550783881',
    messageId: 'wamid.OUT1',
    status: value,
    recipientId: '16505551234',
    occurredAt: at(second),
    receivedAt: at(59),
    data: { id: 'wamid.OUT1', status: value },
    ...extra,
  };
}

function received(id: string, second: number, extra: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent {
  return {
    id,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    messageId: 'wamid.IN1',
    from: '16505551234',
    contactName: 'Kerry',
    kind: 'text',
    text: 'hello',
    occurredAt: at(second),
    receivedAt: at(59),
    data: {},
    ...extra,
  };
}

function fold(events: BluetickEvent[], start?: MessageRow): MessageRow {
  let row = start;
  for (const event of events) row = reduceMessage(row, event);
  if (!row) throw new Error('no row was built');
  return row;
}

describe('message status lattice', () => {
  it('records each step with its own time when statuses arrive in order', () => {
    const row = fold([status('e1', 'sent', 1), status('e2', 'delivered', 2), status('e3', 'read', 3)]);
    expect(row.direction).toBe('outbound');
    expect(row.status).toBe('read');
    expect(row.steps).toEqual({
      sent: { at: at(1), eventId: 'e1' },
      delivered: { at: at(2), eventId: 'e2' },
      read: { at: at(3), eventId: 'e3' },
    });
    expect(row.occurredAt).toBe(at(1));
    expect(row.recipientId).toBe('16505551234');
    expect(row.conversationKey).toBe('106540352242922:16505551234');
  });

  it('fills delivered with the read time, marked implied, when the delivered notification was skipped', () => {
    const row = fold([status('e1', 'sent', 1), status('e3', 'read', 5)]);
    expect(row.status).toBe('read');
    expect(row.steps.delivered).toEqual({ at: at(5), eventId: 'e3', implied: true });
    expect(row.steps.sent).toEqual({ at: at(1), eventId: 'e1' });
  });

  it('replaces an implied step with the real one when its notification arrives late, without downgrading', () => {
    const row = fold([status('e3', 'read', 5), status('e1', 'sent', 1), status('e2', 'delivered', 4)]);
    expect(row.status).toBe('read');
    expect(row.steps.delivered).toEqual({ at: at(4), eventId: 'e2' });
    expect(row.timeline.map((e) => e.status)).toEqual(['sent', 'delivered', 'read']);
  });

  it('implies sent from a delivered status when sent never came', () => {
    const row = fold([status('e2', 'delivered', 4)]);
    expect(row.status).toBe('delivered');
    expect(row.steps.sent).toEqual({ at: at(4), eventId: 'e2', implied: true });
    expect(row.occurredAt).toBe(at(4));
  });

  it('keeps the earliest time when one step is reported twice with different times', () => {
    const row = fold([status('e2b', 'delivered', 9), status('e2a', 'delivered', 3)]);
    expect(row.steps.delivered).toEqual({ at: at(3), eventId: 'e2a' });
    expect(row.timeline).toHaveLength(2);
  });

  it('returns the same row for a duplicate event id', () => {
    const first = fold([status('e1', 'sent', 1), status('e2', 'delivered', 2)]);
    expect(reduceMessage(first, status('e2', 'delivered', 2))).toBe(first);
  });

  it('ranks played above read', () => {
    const row = fold([status('e4', 'played', 8), status('e3', 'read', 7), status('e1', 'sent', 1)]);
    expect(row.status).toBe('played');
    expect(row.steps.read).toEqual({ at: at(7), eventId: 'e3' });
    expect(row.steps.delivered).toEqual({ at: at(7), eventId: 'e3', implied: true });
  });

  it('uses receivedAt as the time of a status that carries no occurredAt', () => {
    const event = status('e1', 'sent', 0);
    delete event.occurredAt;
    const row = fold([event]);
    expect(row.steps.sent?.at).toBe(at(59));
  });
});

describe('failed messages', () => {
  it('records failed with its error codes and reports it over sent', () => {
    const row = fold([status('e5', 'failed', 2, { errorCodes: [131026] }), status('e1', 'sent', 1)]);
    expect(row.status).toBe('failed');
    expect(row.failure).toEqual({ at: at(2), eventId: 'e5', errorCodes: [131026] });
    expect(row.steps.sent).toEqual({ at: at(1), eventId: 'e1' });
  });

  it('keeps failed over a sent that is timestamped after it', () => {
    const row = fold([status('e5', 'failed', 2, { errorCodes: [131000] }), status('e1', 'sent', 30)]);
    expect(row.status).toBe('failed');
  });

  it('merges the error codes of several failed notifications, ascending and without repeats', () => {
    const row = fold([
      status('f2', 'failed', 6, { errorCodes: [131049, 131026] }),
      status('f1', 'failed', 4, { errorCodes: [131026] }),
    ]);
    expect(row.failure).toEqual({ at: at(4), eventId: 'f1', errorCodes: [131026, 131049] });
  });

  it('lets a later delivered win over failed, since the message reached the user, and keeps the failure', () => {
    const row = fold([status('e1', 'sent', 1), status('e5', 'failed', 2, { errorCodes: [131000] }), status('e2', 'delivered', 3)]);
    expect(row.status).toBe('delivered');
    expect(row.failure?.errorCodes).toEqual([131000]);
    expect(row.timeline.map((e) => e.status)).toEqual(['sent', 'failed', 'delivered']);
  });

  it('lets read win over a failed that is timestamped after it', () => {
    const row = fold([status('e3', 'read', 3), status('e5', 'failed', 9, { errorCodes: [131000] })]);
    expect(row.status).toBe('read');
    expect(row.failure?.at).toBe(at(9));
  });

  it('records a failure that carries no error codes with an empty list', () => {
    const row = fold([status('e5', 'failed', 2)]);
    expect(row.failure).toEqual({ at: at(2), eventId: 'e5', errorCodes: [] });
  });
});

describe('timeline', () => {
  it('keeps unknown status strings in the timeline without changing the lattice', () => {
    const row = fold([status('e1', 'sent', 1), status('e7', 'deleted', 5), status('e8', 'warning', 6)]);
    expect(row.status).toBe('sent');
    expect(row.steps).toEqual({ sent: { at: at(1), eventId: 'e1' } });
    expect(row.timeline.map((e) => e.status)).toEqual(['sent', 'deleted', 'warning']);
  });

  it('has no status while only unknown statuses are known', () => {
    const row = fold([status('e7', 'deleted', 5)]);
    expect(row.status).toBeUndefined();
    expect('status' in row).toBe(false);
    expect(row.direction).toBe('outbound');
    expect(row.occurredAt).toBe(at(5));
  });

  it('sorts entries that share a time by lattice rank, then by event id', () => {
    const row = fold([status('z', 'read', 5), status('b', 'delivered', 5), status('a', 'delivered', 5), status('c', 'sent', 5)]);
    expect(row.timeline.map((e) => e.eventId)).toEqual(['c', 'a', 'b', 'z']);
  });

  it('keeps each status event once, with its recipient and codes', () => {
    const row = fold([status('e5', 'failed', 2, { errorCodes: [131026] }), status('e5', 'failed', 2, { errorCodes: [131026] })]);
    expect(row.timeline).toEqual([
      {
        eventId: 'e5',
        status: 'failed',
        occurredAt: at(2),
        receivedAt: at(59),
        recipientId: '16505551234',
        errorCodes: [131026],
        conversationKey: '106540352242922:16505551234',
      },
    ]);
  });
});

describe('inbound messages', () => {
  it('creates an inbound row with kind, text, sender and time', () => {
    const row = fold([received('r1', 3)]);
    expect(row).toEqual({
      id: 'wamid.IN1',
      direction: 'inbound',
      occurredAt: at(3),
      conversationKey: '106540352242922:16505551234',
      inbound: {
        eventId: 'r1',
        occurredAt: at(3),
        receivedAt: at(59),
        channel: 'main',
        from: '16505551234',
        contactName: 'Kerry',
        kind: 'text',
        text: 'hello',
        conversationKey: '106540352242922:16505551234',
      },
      steps: {},
      timeline: [],
    });
  });

  it('keeps the earliest copy when two received events share one message id', () => {
    const later = received('r2', 8, { text: 'second copy' });
    const earlier = received('r1', 3);
    expect(fold([later, earlier]).inbound?.eventId).toBe('r1');
    expect(fold([earlier, later]).inbound?.eventId).toBe('r1');
  });

  it('ignores events without a message id and events of other types', () => {
    const withoutId = received('r1', 3);
    delete withoutId.messageId;
    expect(reduceMessage(undefined, withoutId)).toBeUndefined();
    const reaction: BluetickEvent = {
      id: 'x1',
      type: 'message.reaction',
      provider: 'meta',
      channel: 'main',
      emoji: '👍',
      targetMessageId: 'wamid.OUT1',
      receivedAt: at(1),
      data: {},
    };
    expect(reduceMessage(undefined, reaction)).toBeUndefined();
  });
});
