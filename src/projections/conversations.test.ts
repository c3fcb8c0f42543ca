import { describe, expect, it } from 'vitest';
import type { BluetickEvent, MessageReceivedEvent, MessageStatusEvent } from '../events/types.js';
import { conversationKeyOf, isWindowOpen, reduceConversation, type ConversationRow } from './conversations.js';
import { applyEvents, emptyState } from './index.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();
const CONTACT = '16505551234';
const KEY = `106540352242922:${CONTACT}`;

function received(id: string, messageId: string, minute: number, extra: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent {
  return {
    id,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    displayPhoneNumber: '15550783881',
    messageId,
    from: CONTACT,
    kind: 'text',
    text: `text of ${messageId}`,
    occurredAt: at(minute),
    receivedAt: at(minute),
    data: {},
    ...extra,
  };
}

function status(id: string, messageId: string, value: string, minute: number, extra: Partial<MessageStatusEvent> = {}): MessageStatusEvent {
  return {
    id,
    type: 'message.status',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    displayPhoneNumber: '15550783881',
    messageId,
    status: value,
    recipientId: CONTACT,
    occurredAt: at(minute),
    receivedAt: at(minute),
    data: {},
    ...extra,
  };
}

function conversation(events: BluetickEvent[], key = KEY): ConversationRow {
  const row = applyEvents(emptyState(), events).conversations.get(key);
  if (!row) throw new Error(`no conversation ${key}`);
  return row;
}

describe('conversation keys', () => {
  it('uses the phone number id and the sender for a received message', () => {
    expect(conversationKeyOf(received('r1', 'wamid.IN1', 0))).toBe(KEY);
  });

  it('uses the recipient for a status', () => {
    expect(conversationKeyOf(status('s1', 'wamid.OUT1', 'sent', 0))).toBe(KEY);
  });

  it('falls back to the display phone number when there is no phone number id (EnableX)', () => {
    const event = received('r1', 'wamid.IN1', 0, { provider: 'enablex' });
    delete event.phoneNumberId;
    expect(conversationKeyOf(event)).toBe(`15550783881:${CONTACT}`);
  });

  it('has no key without a business number or a contact', () => {
    const noBusiness = received('r1', 'wamid.IN1', 0);
    delete noBusiness.phoneNumberId;
    delete noBusiness.displayPhoneNumber;
    expect(conversationKeyOf(noBusiness)).toBeUndefined();
    const noRecipient = status('s1', 'wamid.OUT1', 'sent', 0);
    delete noRecipient.recipientId;
    expect(conversationKeyOf(noRecipient)).toBeUndefined();
  });
});

describe('conversation rows', () => {
  it('tracks the last inbound message and opens the window for 24 hours after it', () => {
    const row = conversation([received('r1', 'wamid.IN1', 0), received('r2', 'wamid.IN2', 5, { kind: 'image', text: 'caption' })]);
    expect(row.lastInbound).toEqual({ messageId: 'wamid.IN2', at: at(5), kind: 'image', text: 'caption' });
    expect(row.windowOpenUntil).toBe('2026-01-02T09:05:00.000Z');
    expect(row.businessNumber).toBe('106540352242922');
    expect(row.contact).toBe(CONTACT);
  });

  it('answers isWindowOpen at query time, closed from the 24th hour on', () => {
    const row = conversation([received('r1', 'wamid.IN1', 0)]);
    expect(isWindowOpen(row, '2026-01-02T08:59:59.999Z')).toBe(true);
    expect(isWindowOpen(row, new Date('2026-01-02T09:00:00.000Z'))).toBe(false);
    expect(isWindowOpen(row, Date.parse('2026-01-01T12:00:00.000Z'))).toBe(true);
    expect(isWindowOpen(undefined, Date.now())).toBe(false);
  });

  it('has no window when the customer never wrote', () => {
    const row = conversation([status('s1', 'wamid.OUT1', 'sent', 0)]);
    expect(row.windowOpenUntil).toBeUndefined();
    expect(isWindowOpen(row, at(1))).toBe(false);
  });

  it('counts each message once however many events it has', () => {
    const row = conversation([
      received('r1', 'wamid.IN1', 0),
      received('r1', 'wamid.IN1', 0),
      status('s1', 'wamid.OUT1', 'sent', 1),
      status('s2', 'wamid.OUT1', 'delivered', 2),
      status('s3', 'wamid.OUT1', 'read', 3),
      status('s4', 'wamid.OUT2', 'failed', 4, { errorCodes: [131026] }),
    ]);
    expect(row.counts).toEqual({ inbound: 1, outbound: 2, unreadInbound: 0 });
  });

  it('counts unread inbound messages since the last sent message', () => {
    const row = conversation([
      received('r1', 'wamid.IN1', 0),
      status('s1', 'wamid.OUT1', 'sent', 1),
      received('r2', 'wamid.IN2', 2),
      received('r3', 'wamid.IN3', 3),
    ]);
    expect(row.counts.unreadInbound).toBe(2);
    expect(row.unanswered).toEqual([
      { messageId: 'wamid.IN2', at: at(2) },
      { messageId: 'wamid.IN3', at: at(3) },
    ]);
    expect(row.lastOutbound).toEqual({ messageId: 'wamid.OUT1', at: at(1) });
    expect(row.lastActivityAt).toBe(at(3));
  });

  it('does not treat a read receipt as an answer to the customer', () => {
    const row = conversation([status('s1', 'wamid.OUT1', 'sent', 0), received('r1', 'wamid.IN1', 2), status('s3', 'wamid.OUT1', 'read', 5)]);
    expect(row.counts.unreadInbound).toBe(1);
    expect(row.lastOutbound?.at).toBe(at(0));
  });

  it('clears unread messages when a reply sent after them arrives late', () => {
    const row = conversation([received('r1', 'wamid.IN1', 1), received('r2', 'wamid.IN2', 2), status('s1', 'wamid.OUT1', 'sent', 3)]);
    expect(row.counts.unreadInbound).toBe(0);
    expect(row.unanswered).toEqual([]);
  });

  it('keeps separate rows per business number for the same contact', () => {
    const state = applyEvents(emptyState(), [received('r1', 'wamid.IN1', 0), received('r2', 'wamid.IN2', 0, { phoneNumberId: '999' })]);
    expect([...state.conversations.keys()].sort()).toEqual([KEY, `999:${CONTACT}`]);
  });

  it('moves times but counts nothing for a message event without a message id', () => {
    const event = received('r1', 'wamid.IN1', 4);
    delete event.messageId;
    const row = reduceConversation(undefined, event, undefined);
    expect(row?.lastInbound).toEqual({ at: at(4), kind: 'text', text: 'text of wamid.IN1' });
    expect(row?.counts).toEqual({ inbound: 0, outbound: 0, unreadInbound: 0 });
  });

  it('leaves rows alone for events of other types', () => {
    const reaction: BluetickEvent = {
      id: 'x1',
      type: 'message.reaction',
      provider: 'meta',
      channel: 'main',
      from: CONTACT,
      emoji: '👍',
      receivedAt: at(0),
      data: {},
    };
    expect(reduceConversation(undefined, reaction, undefined)).toBeUndefined();
  });
});
