/**
 * @module projections/reactions
 *
 * The current reaction of each user on each message: one row per (target message, user).
 *
 * - Key: `<targetMessageId>:<from>`. A reaction without either touches no row.
 * - The latest reaction by (time, event id) wins, so a late, older notification cannot
 *   bring back an emoji the user has since changed.
 * - Removal (`emoji: ""`) is kept as a row with `emoji: ""` rather than deleted. Deleting
 *   it would lose the removal's time, and a late notification of the reaction it removed
 *   would then bring the emoji back; the row is what makes removal order-independent.
 *   Readers ask {@link currentReactions}, which skips removed ones.
 */
import type { BluetickEvent } from '../events/types.js';
import { compact, compareJson, compareText, compareTime, factTime } from './order.js';

export interface ReactionRow {
  key: string;
  targetMessageId: string;
  /** wa_id of the user who reacted. */
  from: string;
  /** The current emoji; `""` when the user removed the reaction. */
  emoji: string;
  at: string;
  eventId: string;
  /** The reaction message's own id. */
  messageId?: string;
}

/** Builds a reaction key. */
export function reactionKey(targetMessageId: string, from: string): string {
  return `${targetMessageId}:${from}`;
}

/** The reaction row an event belongs to, if any. */
export function reactionKeyOf(event: BluetickEvent): string | undefined {
  if (event.type !== 'message.reaction') return undefined;
  if (event.targetMessageId === undefined || event.from === undefined) return undefined;
  return reactionKey(event.targetMessageId, event.from);
}

/**
 * Applies one event to one reaction row. Returns `row` itself when the event does not
 * concern it or is not later than the reaction already kept.
 */
export function reduceReaction(row: ReactionRow | undefined, event: BluetickEvent): ReactionRow | undefined {
  if (event.type !== 'message.reaction') return row;
  const key = reactionKeyOf(event);
  if (key === undefined || event.targetMessageId === undefined || event.from === undefined) return row;
  if (row !== undefined && row.key !== key) return row;
  const candidate: ReactionRow = compact({
    key,
    targetMessageId: event.targetMessageId,
    from: event.from,
    emoji: event.emoji,
    at: factTime(event),
    eventId: event.id,
    messageId: event.messageId,
  });
  if (row) {
    const order = compareTime(candidate.at, row.at) || compareText(candidate.eventId, row.eventId) || compareJson(candidate, row);
    if (order <= 0) return row;
  }
  return candidate;
}

/**
 * The reactions currently on a message, removed ones left out, sorted by (time, user).
 *
 * @example
 * currentReactions(rows, 'wamid.ABC') // [{ from: '15550001111', emoji: '👍', ... }]
 */
export function currentReactions(rows: Iterable<ReactionRow>, targetMessageId: string): ReactionRow[] {
  const out: ReactionRow[] = [];
  for (const row of rows) {
    if (row.targetMessageId === targetMessageId && row.emoji !== '') out.push(row);
  }
  return out.sort((a, b) => compareTime(a.at, b.at) || compareText(a.from, b.from));
}
