/**
 * @module store/record-plan
 *
 * What recording one batch of journal outcomes means, as a pure plan both backends carry
 * out with their own SQL inside their own transaction: which events are new (each id once,
 * in input order, so `seq` follows payload order), which ones are redeliveries (their
 * stored row's duplicate counter goes up), and how each journal row settles. Projection
 * rows follow from the new events (`projection-rows.ts`, applied in `seq` order) and
 * deliveries from the matching routes of each new event, both in the same transaction.
 *
 * The only fact a plan needs from the database is who stored each of the batch's event ids
 * before the batch ({@link batchEventIds} says which ids to look up). The rules:
 * - an id nobody stored, at its first place in the batch: new, owned by its journal row;
 * - an id owned by the same journal row: that row is being normalized again (a retry, a
 *   crash mid-batch, or the same item twice in one body); it counts as the row's own event
 *   and is neither inserted nor a duplicate, so a reprocessed row settles as it did;
 * - an id owned by another row: a redelivery, counted as a duplicate of the stored event.
 * A `processed` row with events but none of its own settles as `duplicate`.
 *
 * Keeping this sequence in one place is what keeps SQLite and PostgreSQL from drifting
 * apart on the domain rules; the backends only differ in how they look up, insert and
 * update.
 */
import type { BluetickEvent } from '../events/types.js';
import type { JournalOutcome, JournalState } from './store.js';

/** One event the batch stores for the first time. */
export interface NewEvent {
  event: BluetickEvent;
  journalId: number;
}

/** How one journal row settles. */
export interface JournalSettlement {
  journalId: number;
  state: Exclude<JournalState, 'pending'>;
  cause: string | null;
  /** Events the row yielded. */
  eventCount: number;
  /** Of those, the row's own (new now, or stored by this same row before). */
  newEventCount: number;
}

export interface RecordPlan {
  /** Events to insert, in input order, each id once. */
  fresh: NewEvent[];
  /** Stored ids carried again by another row, with how many times this batch carries them. */
  bumps: Map<string, number>;
  /** Events that were redeliveries (the sum of `bumps`). */
  duplicates: number;
  /** One settlement per outcome, in input order. */
  journal: JournalSettlement[];
}

/** The distinct event ids of a batch, in first-seen order: the ids whose owners a plan needs. */
export function batchEventIds(outcomes: readonly JournalOutcome[]): string[] {
  const ids = new Set<string>();
  for (const o of outcomes) for (const e of o.events) ids.add(e.id);
  return [...ids];
}

/**
 * Plans a batch. `storedBy` maps each of the batch's ids that is already stored to the
 * journal row that stored it (ids absent from the map are not stored).
 */
export function planRecord(outcomes: readonly JournalOutcome[], storedBy: ReadonlyMap<string, number>): RecordPlan {
  const owner = new Map<string, number>();
  const fresh: NewEvent[] = [];
  const bumps = new Map<string, number>();
  const journal: JournalSettlement[] = [];
  let duplicates = 0;
  for (const o of outcomes) {
    let own = 0;
    for (const event of o.events) {
      const id = event.id;
      const by = storedBy.get(id) ?? owner.get(id);
      if (by === undefined) {
        owner.set(id, o.journalId);
        fresh.push({ event, journalId: o.journalId });
        own++;
      } else if (by === o.journalId) {
        own++;
      } else {
        duplicates++;
        bumps.set(id, (bumps.get(id) ?? 0) + 1);
      }
    }
    const count = o.events.length;
    journal.push({
      journalId: o.journalId,
      state: o.state === 'processed' && count > 0 && own === 0 ? 'duplicate' : o.state,
      cause: o.cause ?? null,
      eventCount: count,
      newEventCount: own,
    });
  }
  return { fresh, bumps, duplicates, journal };
}
