import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import type { JournalOutcome } from './store.js';
import { batchEventIds, planRecord } from './record-plan.js';

function ev(id: string): BluetickEvent {
  return {
    id,
    type: 'message.received',
    provider: 'enablex',
    channel: 'default',
    kind: 'text',
    receivedAt: '2026-01-01T00:00:00.000Z',
    data: {},
  } as BluetickEvent;
}

function processed(journalId: number, ...ids: string[]): JournalOutcome {
  return { journalId, state: 'processed', events: ids.map(ev) };
}

describe('planRecord', () => {
  it('inserts each new id once, at its first place, in input order', () => {
    const plan = planRecord([processed(1, 'a', 'b'), processed(2, 'c', 'a')], new Map());
    expect(plan.fresh.map((f) => [f.event.id, f.journalId])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 2],
    ]);
    expect([...plan.bumps]).toEqual([['a', 1]]);
    expect(plan.duplicates).toBe(1);
    expect(plan.journal.map((j) => [j.state, j.eventCount, j.newEventCount])).toEqual([
      ['processed', 2, 2],
      ['processed', 2, 1],
    ]);
  });

  it('counts a redelivered row as duplicate and bumps each stored id once per copy', () => {
    const stored = new Map([
      ['a', 7],
      ['b', 7],
    ]);
    const plan = planRecord([processed(8, 'a', 'b'), processed(9, 'a')], stored);
    expect(plan.fresh).toEqual([]);
    expect([...plan.bumps]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(plan.duplicates).toBe(3);
    expect(plan.journal.map((j) => j.state)).toEqual(['duplicate', 'duplicate']);
  });

  it('settles a row normalized again (stored by itself) as it did the first time, with no duplicate', () => {
    const plan = planRecord([processed(5, 'a', 'b')], new Map([['a', 5]]));
    expect(plan.fresh.map((f) => f.event.id)).toEqual(['b']);
    expect(plan.duplicates).toBe(0);
    expect(plan.journal[0]).toEqual({ journalId: 5, state: 'processed', cause: null, eventCount: 2, newEventCount: 2 });
    const again = planRecord([processed(5, 'a', 'b')], new Map([['a', 5], ['b', 5]]));
    expect(again.fresh).toEqual([]);
    expect(again.journal[0]?.state).toBe('processed');
  });

  it('treats the same item twice in one body as that row’s own event, not a duplicate', () => {
    const plan = planRecord([processed(3, 'a', 'a')], new Map());
    expect(plan.fresh).toHaveLength(1);
    expect(plan.duplicates).toBe(0);
    expect(plan.journal[0]).toMatchObject({ eventCount: 2, newEventCount: 2, state: 'processed' });
  });

  it('keeps the state and cause of rows without events, and an empty processed row stays processed', () => {
    const plan = planRecord(
      [
        { journalId: 1, state: 'quarantined', cause: 'not JSON', events: [] },
        { journalId: 2, state: 'processed', events: [] },
      ],
      new Map(),
    );
    expect(plan.journal).toEqual([
      { journalId: 1, state: 'quarantined', cause: 'not JSON', eventCount: 0, newEventCount: 0 },
      { journalId: 2, state: 'processed', cause: null, eventCount: 0, newEventCount: 0 },
    ]);
  });

  it('asks for each id of a batch once', () => {
    expect(batchEventIds([processed(1, 'a', 'b'), processed(2, 'b', 'c')])).toEqual(['a', 'b', 'c']);
  });
});
