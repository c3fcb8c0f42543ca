import { describe, expect, it } from 'vitest';
import type { BluetickEvent, MessageReactionEvent } from '../events/types.js';
import { currentReactions, reactionKeyOf, reduceReaction, type ReactionRow } from './reactions.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();

function reaction(id: string, emoji: string, minute: number, extra: Partial<MessageReactionEvent> = {}): MessageReactionEvent {
  return {
    id,
    type: 'message.reaction',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '106540352242922',
    messageId: `wamid.R${id}`,
    from: '16505551234',
    emoji,
    targetMessageId: 'wamid.OUT1',
    occurredAt: at(minute),
    receivedAt: at(minute),
    data: {},
    ...extra,
  };
}

function reduceAll(events: BluetickEvent[]): ReactionRow {
  let row: ReactionRow | undefined;
  for (const event of events) row = reduceReaction(row, event);
  if (!row) throw new Error('no reaction row');
  return row;
}

describe('reactions', () => {
  it('keys a reaction by target message and user', () => {
    expect(reactionKeyOf(reaction('x1', '👍', 0))).toBe('wamid.OUT1:16505551234');
  });

  it('keeps the latest emoji by time, whatever the arrival order', () => {
    expect(reduceAll([reaction('x2', '❤️', 5), reaction('x1', '👍', 1)])).toEqual({
      key: 'wamid.OUT1:16505551234',
      targetMessageId: 'wamid.OUT1',
      from: '16505551234',
      emoji: '❤️',
      at: at(5),
      eventId: 'x2',
      messageId: 'wamid.Rx2',
    });
  });

  it('clears the reaction on removal and keeps the row so a late older reaction cannot bring it back', () => {
    const row = reduceAll([reaction('x1', '👍', 1), reaction('x2', '', 5), reaction('x1', '👍', 1)]);
    expect(row.emoji).toBe('');
    expect(reduceAll([reaction('x2', '', 5), reaction('x1', '👍', 1)]).emoji).toBe('');
    expect(currentReactions([row], 'wamid.OUT1')).toEqual([]);
  });

  it('lists the current reactions on one message, removed ones left out', () => {
    const rows = [
      reduceAll([reaction('x1', '👍', 3)]),
      reduceAll([reaction('x2', '😂', 1, { from: '16505550000' })]),
      reduceAll([reaction('x3', '', 2, { from: '16505550001' })]),
      reduceAll([reaction('x4', '🎉', 0, { targetMessageId: 'wamid.OTHER' })]),
    ];
    expect(currentReactions(rows, 'wamid.OUT1').map((r) => [r.from, r.emoji])).toEqual([
      ['16505550000', '😂'],
      ['16505551234', '👍'],
    ]);
  });

  it('ignores a reaction without a target or a sender', () => {
    const event = reaction('x1', '👍', 0);
    delete event.targetMessageId;
    expect(reactionKeyOf(event)).toBeUndefined();
    expect(reduceReaction(undefined, event)).toBeUndefined();
  });
});
