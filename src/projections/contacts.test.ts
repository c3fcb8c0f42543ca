import { describe, expect, it } from 'vitest';
import type { BluetickEvent, JsonValue, MessageReactionEvent, MessageReceivedEvent } from '../events/types.js';
import { contactIdsOf, numberChangeOf, reduceContact, type ContactRow } from './contacts.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();
const OLD = '16505551234';
const NEW = '16505559876';

function received(id: string, minute: number, extra: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent {
  return {
    id,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    messageId: `wamid.${id}`,
    from: OLD,
    contactName: 'Kerry',
    kind: 'text',
    text: 'hi',
    occurredAt: at(minute),
    receivedAt: at(minute),
    data: {},
    ...extra,
  };
}

function changedNumber(id: string, minute: number, system: JsonValue): MessageReceivedEvent {
  const event = received(id, minute, { kind: 'system', text: 'User A changed from +1 650 555 1234 to +1 650 555 9876', data: { type: 'system', system } });
  delete event.contactName;
  return event;
}

function reduceAll(waId: string, events: BluetickEvent[]): ContactRow {
  let row: ContactRow | undefined;
  for (const event of events) row = reduceContact(row, waId, event);
  if (!row) throw new Error(`no contact ${waId}`);
  return row;
}

describe('contacts', () => {
  it('records first and last seen and the latest profile name by time', () => {
    const events = [received('m2', 30, { contactName: 'Kerry S.' }), received('m1', 10), received('m3', 20, { contactName: 'K' })];
    const row = reduceAll(OLD, events);
    expect(row.firstSeenAt).toBe(at(10));
    expect(row.lastSeenAt).toBe(at(30));
    expect(row.profile).toEqual({ name: 'Kerry S.', at: at(30), eventId: 'm2' });
    expect(row.numberChanges).toEqual([]);
  });

  it('keeps the earlier profile name when a later event carries none', () => {
    const second = received('m2', 30);
    delete second.contactName;
    const row = reduceAll(OLD, [received('m1', 10), second]);
    expect(row.profile?.name).toBe('Kerry');
    expect(row.lastSeenAt).toBe(at(30));
  });

  it('sees the sender of a reaction', () => {
    const reaction: MessageReactionEvent = {
      id: 'x1',
      type: 'message.reaction',
      provider: 'meta',
      channel: 'main',
      from: OLD,
      contactName: 'Kerry',
      emoji: '🙏',
      targetMessageId: 'wamid.OUT1',
      occurredAt: at(5),
      receivedAt: at(5),
      data: {},
    };
    expect(contactIdsOf(reaction)).toEqual([OLD]);
    expect(reduceAll(OLD, [reaction]).firstSeenAt).toBe(at(5));
  });

  it('does not create contacts from status notifications', () => {
    const statusEvent: BluetickEvent = {
      id: 's1',
      type: 'message.status',
      provider: 'meta',
      channel: 'main',
      messageId: 'wamid.OUT1',
      status: 'failed',
      recipientId: OLD,
      receivedAt: at(0),
      data: {},
    };
    expect(contactIdsOf(statusEvent)).toEqual([]);
    expect(reduceContact(undefined, OLD, statusEvent)).toBeUndefined();
  });

  it('links the old and the new wa_id of a user_changed_number system message on both contacts', () => {
    const change = changedNumber('c1', 40, { type: 'user_changed_number', body: 'changed', wa_id: NEW });
    expect(contactIdsOf(change)).toEqual([OLD, NEW]);
    const link = { from: OLD, to: NEW, at: at(40), eventId: 'c1' };

    const old = reduceAll(OLD, [received('m1', 10), change]);
    expect(old.newWaId).toBe(NEW);
    expect(old.numberChanges).toEqual([link]);
    expect(old.profile?.name).toBe('Kerry');

    const fresh = reduceAll(NEW, [change]);
    expect(fresh.previousWaIds).toEqual([OLD]);
    expect(fresh.numberChanges).toEqual([link]);
    expect(fresh.firstSeenAt).toBe(at(40));
    expect(fresh.profile).toBeUndefined();
  });

  it('reads the new wa_id from new_wa_id too, and from a number', () => {
    expect(numberChangeOf(changedNumber('c1', 1, { type: 'user_changed_number', new_wa_id: NEW }))?.to).toBe(NEW);
    expect(numberChangeOf(changedNumber('c2', 1, { type: 'user_changed_number', wa_id: 16505559876 }))?.to).toBe(NEW);
  });

  it('ignores system messages of other types and changes without a new wa_id', () => {
    expect(numberChangeOf(changedNumber('c1', 1, { type: 'customer_identity_changed' }))).toBeUndefined();
    expect(numberChangeOf(changedNumber('c2', 1, { type: 'user_changed_number' }))).toBeUndefined();
    expect(numberChangeOf(received('m1', 1))).toBeUndefined();
  });

  it('points newWaId at the latest change when a number moved twice', () => {
    const first = changedNumber('c1', 10, { type: 'user_changed_number', wa_id: NEW });
    const second = changedNumber('c2', 50, { type: 'user_changed_number', wa_id: '16505550000' });
    expect(reduceAll(OLD, [second, first, second]).newWaId).toBe('16505550000');
    expect(reduceAll(OLD, [first, second]).numberChanges.map((c) => c.eventId)).toEqual(['c1', 'c2']);
  });
});
