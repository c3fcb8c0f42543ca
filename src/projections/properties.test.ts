/**
 * Order-independence of every projection, checked with generated event sets.
 *
 * Each property takes a set of distinct events, lets them arrive in two random orders with
 * random duplicates, and asserts that the resulting rows are byte-for-byte identical (the
 * same JSON text, key order included) to those built from the events in generation order.
 * That is what makes an incremental projection equal to a rebuild. Each property runs all
 * its cases (no time box that would run fewer on a slow machine).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BluetickEvent, EventBase, MessageStatusEvent } from '../events/types.js';
import { applyEvent, applyEvents, emptyState, keysTouched, type ProjectionState } from './index.js';
import { reduceMessage, type MessageRow } from './message-status.js';
import { compareText, compareTime, factTime } from './order.js';
import { reduceReaction, type ReactionRow } from './reactions.js';
import { reduceTemplate, type TemplateRow } from './templates.js';

const RUNS = { numRuns: 200 } as const;

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();

/** The events in a random order, some of them more than once, each at least once. */
function arrivals<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  if (items.length === 0) return fc.constant([]);
  return fc
    .array(fc.nat({ max: items.length - 1 }), { maxLength: Math.min(8, items.length * 2) })
    .chain((dups) => {
      const all = [...items, ...dups.map((i) => items[i] as T)];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    });
}

/** A set of events plus two independent arrival orders of it. */
function scenario<T>(events: fc.Arbitrary<T[]>): fc.Arbitrary<[T[], T[], T[]]> {
  return events.chain((list) => fc.tuple(fc.constant(list), arrivals(list), arrivals(list)));
}

function fold<R>(reduce: (row: R | undefined, event: BluetickEvent) => R | undefined, events: readonly BluetickEvent[]): R | undefined {
  let row: R | undefined;
  for (const event of events) row = reduce(row, event);
  return row;
}

/** The state as JSON text with rows sorted by key: equal text means equal rows, key order included. */
function snapshot(state: ProjectionState): string {
  const table = <T>(map: Map<string, T>): [string, T][] => [...map.entries()].sort(([a], [b]) => compareText(a, b));
  return JSON.stringify({
    messages: table(state.messages),
    conversations: table(state.conversations),
    contacts: table(state.contacts),
    templates: table(state.templates),
    reactions: table(state.reactions),
  });
}

/** Time is given as a minute (ties are common), or absent so that receivedAt stands in. */
const timeArb = fc.record({ minute: fc.integer({ min: 0, max: 12 }), timed: fc.boolean() });

function times(spec: { minute: number; timed: boolean }, index: number): Pick<EventBase, 'occurredAt' | 'receivedAt'> {
  // receivedAt differs per event, so a missing occurredAt still gives a distinct time.
  return spec.timed ? { occurredAt: at(spec.minute), receivedAt: at(30 + index) } : { receivedAt: at(spec.minute) };
}

// ---------------------------------------------------------------------------------------
// Messages

const STATUSES = ['sent', 'delivered', 'read', 'played', 'failed', 'deleted', 'warning'] as const;
const LATTICE = ['sent', 'delivered', 'read', 'played'] as const;

const statusEventsArb: fc.Arbitrary<MessageStatusEvent[]> = fc
  .array(
    fc.record({
      status: fc.constantFrom(...STATUSES),
      time: timeArb,
      codes: fc.array(fc.constantFrom(131000, 131026, 131049), { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 10 },
  )
  .map((specs) =>
    specs.map((spec, index): MessageStatusEvent => ({
      id: `ev-${index}`,
      type: 'message.status',
      provider: 'meta',
      channel: 'main',
      phoneNumberId: 'P1',
      messageId: 'wamid.OUT',
      status: spec.status,
      recipientId: 'C1',
      ...(spec.status === 'failed' ? { errorCodes: spec.codes } : {}),
      ...times(spec.time, index),
      data: {},
    })),
  );

/** Rank for "never downgrade": failed sits above sent (the normal step before it) and below delivered. */
function progress(status: string | undefined): number {
  return status === undefined ? 0 : status === 'failed' ? 1.5 : LATTICE.indexOf(status as (typeof LATTICE)[number]) + 1;
}

describe('message status projection', () => {
  it('gives identical rows and step times for any permutation and duplication of the statuses', () => {
    fc.assert(
      fc.property(scenario(statusEventsArb), ([events, first, second]) => {
        const reference = JSON.stringify(fold(reduceMessage, events));
        expect(JSON.stringify(fold(reduceMessage, first))).toBe(reference);
        expect(JSON.stringify(fold(reduceMessage, second))).toBe(reference);
      }),
      RUNS,
    );
  });

  it('records each step at the earliest time reported for it and derives the status from the lattice', () => {
    fc.assert(
      fc.property(scenario(statusEventsArb), ([events, arrival]) => {
        const row = fold<MessageRow>(reduceMessage, arrival);
        expect(row).toBeDefined();
        if (!row) return;
        const earliest = (status: string): string | undefined =>
          events
            .filter((e) => e.status === status)
            .map((e) => factTime(e))
            .sort(compareTime)[0];
        for (const step of LATTICE) {
          const seen = earliest(step);
          if (seen !== undefined) expect(row.steps[step]).toMatchObject({ at: seen });
          if (seen !== undefined) expect(row.steps[step]?.implied).toBeUndefined();
        }
        const highest = [...LATTICE].reverse().find((step) => earliest(step) !== undefined);
        const failed = events.some((e) => e.status === 'failed');
        const expected = highest !== undefined && highest !== 'sent' ? highest : failed ? 'failed' : highest;
        expect(row.status).toBe(expected);
        // Every step below the highest is filled, actual or implied.
        if (highest !== undefined) {
          for (const step of LATTICE.slice(0, LATTICE.indexOf(highest) + 1)) expect(row.steps[step]).toBeDefined();
        }
        expect(row.timeline.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.id).sort());
        const codes = [...new Set(events.filter((e) => e.status === 'failed').flatMap((e) => e.errorCodes ?? []))].sort((a, b) => a - b);
        expect(row.failure?.errorCodes).toEqual(failed ? codes : undefined);
      }),
      RUNS,
    );
  });

  it('never downgrades the status, whatever arrives next', () => {
    fc.assert(
      fc.property(scenario(statusEventsArb), ([, arrival]) => {
        let row: MessageRow | undefined;
        let reached = 0;
        for (const event of arrival) {
          row = reduceMessage(row, event);
          const now = progress(row?.status);
          expect(now).toBeGreaterThanOrEqual(reached);
          reached = now;
        }
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Templates

const TEMPLATE_TYPES = ['template.status', 'template.quality', 'template.category'] as const;
const VALUES: Record<(typeof TEMPLATE_TYPES)[number], readonly string[]> = {
  'template.status': ['APPROVED', 'REJECTED', 'PAUSED', 'DISABLED', 'PENDING'],
  'template.quality': ['GREEN', 'YELLOW', 'RED'],
  'template.category': ['MARKETING', 'UTILITY'],
};

const templateEventsArb: fc.Arbitrary<BluetickEvent[]> = fc
  .array(
    fc.record({
      type: fc.constantFrom(...TEMPLATE_TYPES),
      pick: fc.nat(),
      reason: fc.option(fc.constantFrom('NONE', 'INVALID_FORMAT', 'PROMOTIONAL'), { nil: undefined }),
      time: timeArb,
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((specs) =>
    specs.map((spec, index): BluetickEvent => {
      const values = VALUES[spec.type];
      const common = {
        id: `tpl-${index}`,
        provider: 'meta' as const,
        channel: 'main',
        templateId: '1234567890123456789',
        templateName: 'order_update',
        language: 'en_US',
        status: values[spec.pick % values.length] as string,
        ...times(spec.time, index),
        data: {},
      };
      return spec.type === 'template.status'
        ? { ...common, type: spec.type, ...(spec.reason === undefined ? {} : { reason: spec.reason }) }
        : { ...common, type: spec.type };
    }),
  );

function latest(events: readonly BluetickEvent[]): BluetickEvent | undefined {
  return [...events].sort((a, b) => compareTime(factTime(a), factTime(b)) || compareText(a.id, b.id)).at(-1);
}

describe('template projection', () => {
  it('keeps a complete, sorted history and the latest status by time, for any order of events', () => {
    fc.assert(
      fc.property(scenario(templateEventsArb), ([events, first, second]) => {
        const row = fold<TemplateRow>(reduceTemplate, first);
        expect(JSON.stringify(row)).toBe(JSON.stringify(fold(reduceTemplate, events)));
        expect(JSON.stringify(row)).toBe(JSON.stringify(fold(reduceTemplate, second)));
        if (!row) throw new Error('no row');
        expect(row.history.map((h) => h.eventId).sort()).toEqual(events.map((e) => e.id).sort());
        const times = row.history.map((h) => factTime(h));
        expect([...times].sort(compareTime)).toEqual(times);
        const statusEvent = latest(events.filter((e) => e.type === 'template.status'));
        expect(row.status).toBe(statusEvent?.type === 'template.status' ? statusEvent.status : undefined);
        expect(row.reason).toBe(statusEvent?.type === 'template.status' ? statusEvent.reason : undefined);
        const quality = latest(events.filter((e) => e.type === 'template.quality'));
        expect(row.quality).toBe(quality?.type === 'template.quality' ? quality.status : undefined);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Reactions

const reactionEventsArb: fc.Arbitrary<BluetickEvent[]> = fc
  .array(fc.record({ emoji: fc.constantFrom('👍', '❤️', '😂', ''), time: timeArb }), { minLength: 1, maxLength: 8 })
  .map((specs) =>
    specs.map(
      (spec, index): BluetickEvent => ({
        id: `rx-${index}`,
        type: 'message.reaction',
        provider: 'meta',
        channel: 'main',
        messageId: `wamid.RX${index}`,
        from: 'C1',
        emoji: spec.emoji,
        targetMessageId: 'wamid.OUT',
        ...times(spec.time, index),
        data: {},
      }),
    ),
  );

describe('reaction projection', () => {
  it('keeps the emoji of the latest reaction by time, for any order of events', () => {
    fc.assert(
      fc.property(scenario(reactionEventsArb), ([events, first, second]) => {
        const row = fold<ReactionRow>(reduceReaction, first);
        expect(JSON.stringify(row)).toBe(JSON.stringify(fold(reduceReaction, events)));
        expect(JSON.stringify(row)).toBe(JSON.stringify(fold(reduceReaction, second)));
        const winner = latest(events);
        expect(row?.emoji).toBe(winner?.type === 'message.reaction' ? winner.emoji : undefined);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------
// The whole state: a small world of two business numbers, three contacts, messages both
// ways, reactions, number changes and templates.

const BUSINESS = [{ phoneNumberId: 'P1', displayPhoneNumber: 'D1' }, { displayPhoneNumber: 'D2' }] as const;
const CONTACTS = ['C1', 'C2', 'C3'] as const;
const pickContact = (i: number): string => CONTACTS[i % CONTACTS.length] as string;
const business = (i: number): (typeof BUSINESS)[number] => BUSINESS[i % BUSINESS.length] as (typeof BUSINESS)[number];

const specArb = fc.oneof(
  fc.record({ kind: fc.constant('in' as const), message: fc.nat({ max: 5 }), time: timeArb, text: fc.constantFrom('hi', 'order?', 'thanks') }),
  fc.record({
    kind: fc.constant('status' as const),
    message: fc.nat({ max: 5 }),
    status: fc.constantFrom(...STATUSES),
    time: timeArb,
  }),
  fc.record({
    kind: fc.constant('reaction' as const),
    target: fc.nat({ max: 5 }),
    who: fc.nat({ max: 2 }),
    emoji: fc.constantFrom('👍', ''),
    time: timeArb,
  }),
  fc.record({ kind: fc.constant('change' as const), who: fc.nat({ max: 2 }), to: fc.nat({ max: 2 }), time: timeArb }),
  fc.record({ kind: fc.constant('profile' as const), who: fc.nat({ max: 2 }), name: fc.constantFrom('Ann', 'Bo', 'Cy'), time: timeArb }),
  fc.record({
    kind: fc.constant('template' as const),
    template: fc.nat({ max: 2 }),
    type: fc.constantFrom(...TEMPLATE_TYPES),
    pick: fc.nat(),
    time: timeArb,
  }),
  fc.record({ kind: fc.constant('unknown' as const), time: timeArb }),
);

type Spec = typeof specArb extends fc.Arbitrary<infer S> ? S : never;

function toEvent(spec: Spec, index: number): BluetickEvent {
  const base = { id: `w-${index}`, provider: 'meta' as const, channel: 'main', ...times(spec.time, index), data: {} };
  switch (spec.kind) {
    case 'in':
      // A message id always comes from the same contact to the same business number.
      return {
        ...base,
        ...business(spec.message),
        type: 'message.received',
        messageId: `wamid.IN${spec.message}`,
        from: pickContact(spec.message),
        kind: 'text',
        text: spec.text,
      };
    case 'status':
      return {
        ...base,
        ...business(spec.message),
        type: 'message.status',
        messageId: `wamid.OUT${spec.message}`,
        status: spec.status,
        recipientId: pickContact(spec.message + 1),
        ...(spec.status === 'failed' ? { errorCodes: [131026] } : {}),
      };
    case 'reaction':
      return {
        ...base,
        ...business(spec.target),
        type: 'message.reaction',
        messageId: `wamid.RX${index}`,
        from: pickContact(spec.who),
        emoji: spec.emoji,
        targetMessageId: `wamid.OUT${spec.target}`,
      };
    case 'change':
      return {
        ...base,
        ...business(0),
        type: 'message.received',
        messageId: `wamid.SYS${index}`,
        from: pickContact(spec.who),
        kind: 'system',
        data: { type: 'system', system: { type: 'user_changed_number', wa_id: `N${spec.to}` } },
      };
    case 'profile':
      return {
        ...base,
        ...business(1),
        type: 'message.received',
        messageId: `wamid.P${index}`,
        from: pickContact(spec.who),
        contactName: spec.name,
        kind: 'text',
        text: 'hello',
      };
    case 'template': {
      const values = VALUES[spec.type];
      const identity =
        spec.template === 0
          ? { templateId: '102' }
          : spec.template === 1
            ? { templateName: 'welcome', language: 'en_US' }
            : { templateId: '9007199254740993', templateName: 'promo', language: 'pt_BR' };
      return { ...base, ...identity, type: spec.type, status: values[spec.pick % values.length] as string };
    }
    case 'unknown':
      return { ...base, type: 'unknown', kind: 'account_update' };
  }
}

const worldArb = fc.array(specArb, { minLength: 1, maxLength: 30 }).map((specs) => specs.map(toEvent));

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** What a store shell does per event: load the touched rows (as JSON), apply, write them back. */
function throughRows(events: readonly BluetickEvent[]): ProjectionState {
  const db = { messages: new Map<string, string>(), conversations: new Map<string, string>(), contacts: new Map<string, string>(), templates: new Map<string, string>(), reactions: new Map<string, string>() };
  const tables = ['messages', 'conversations', 'contacts', 'templates', 'reactions'] as const;
  for (const event of events) {
    const keys = keysTouched(event);
    const loaded = emptyState();
    for (const table of tables) {
      for (const key of keys[table]) {
        const text = db[table].get(key);
        if (text !== undefined) (loaded[table] as Map<string, unknown>).set(key, deepFreeze(JSON.parse(text)));
      }
    }
    const next = applyEvent(loaded, event);
    for (const table of tables) {
      for (const key of keys[table]) {
        const row = (next[table] as Map<string, unknown>).get(key);
        if (row !== undefined) db[table].set(key, JSON.stringify(row));
      }
      // Nothing outside the touched keys may appear.
      expect([...next[table].keys()].every((key) => keys[table].includes(key))).toBe(true);
    }
  }
  const state = emptyState();
  for (const table of tables) {
    for (const [key, text] of db[table]) (state[table] as Map<string, unknown>).set(key, JSON.parse(text));
  }
  return state;
}

describe('the combined projection state', () => {
  it('does not depend on arrival order or duplicates', () => {
    fc.assert(
      fc.property(scenario(worldArb), ([events, first, second]) => {
        const reference = snapshot(applyEvents(emptyState(), events));
        expect(snapshot(applyEvents(emptyState(), first))).toBe(reference);
        expect(snapshot(applyEvents(emptyState(), second))).toBe(reference);
      }),
      RUNS,
    );
  });

  it('gives the same rows when a store loads only the touched rows per event, through JSON', () => {
    fc.assert(
      fc.property(scenario(worldArb), ([events, arrival]) => {
        expect(snapshot(throughRows(arrival))).toBe(snapshot(applyEvents(emptyState(), events)));
      }),
      { ...RUNS, numRuns: 100 },
    );
  });

  it('gives the same state one event at a time as in one fold, and never changes the state it is given', () => {
    fc.assert(
      fc.property(worldArb, (events) => {
        let state = emptyState();
        for (const event of events) {
          const before = snapshot(state);
          const next = applyEvent(state, event);
          expect(snapshot(state)).toBe(before);
          state = next;
        }
        expect(snapshot(state)).toBe(snapshot(applyEvents(emptyState(), events)));
      }),
      RUNS,
    );
  });

  it('keeps a contact row for every sender and both sides of every number change', () => {
    fc.assert(
      fc.property(scenario(worldArb), ([events, arrival]) => {
        const state = applyEvents(emptyState(), arrival);
        const expected = new Set<string>();
        for (const e of events) {
          if ((e.type === 'message.received' || e.type === 'message.reaction') && e.from !== undefined) expected.add(e.from);
        }
        const changes = events.filter((e) => e.type === 'message.received' && e.kind === 'system');
        for (const change of changes) {
          const to = (change.data as { system: { wa_id: string } }).system.wa_id;
          if (change.type !== 'message.received' || change.from === undefined || to === change.from) continue;
          expected.add(to);
          expect(state.contacts.get(change.from)?.numberChanges.map((c) => c.eventId)).toContain(change.id);
          expect(state.contacts.get(to)?.numberChanges.map((c) => c.eventId)).toContain(change.id);
        }
        expect([...state.contacts.keys()].sort()).toEqual([...expected].sort());
      }),
      RUNS,
    );
  });

  it('counts each conversation message once and unread messages after the last sent one', () => {
    fc.assert(
      fc.property(scenario(worldArb), ([events, arrival]) => {
        const state = applyEvents(emptyState(), arrival);
        const keyOf = (e: BluetickEvent): string | undefined => {
          const number = e.phoneNumberId ?? e.displayPhoneNumber;
          if (e.type === 'message.received') return `${number}:${e.from}`;
          if (e.type === 'message.status') return `${number}:${e.recipientId}`;
          return undefined;
        };
        for (const [key, row] of state.conversations) {
          const mine = events.filter((e) => keyOf(e) === key);
          const received = mine.filter((e) => e.type === 'message.received');
          const statuses = mine.filter((e): e is MessageStatusEvent => e.type === 'message.status');
          expect(row.counts.inbound).toBe(new Set(received.map((e) => e.type === 'message.received' && e.messageId)).size);
          expect(row.counts.outbound).toBe(new Set(statuses.map((e) => e.messageId)).size);
          const sentTimes = statuses.filter((e) => e.status === 'sent' || e.status === 'failed').map((e) => factTime(e));
          const lastSent = sentTimes.sort(compareTime).at(-1);
          // A message's latest time decides whether it is still unanswered.
          const latestPerMessage = new Map<string, string>();
          for (const e of received) {
            if (e.type !== 'message.received' || e.messageId === undefined) continue;
            const seen = latestPerMessage.get(e.messageId);
            if (seen === undefined || compareTime(factTime(e), seen) > 0) latestPerMessage.set(e.messageId, factTime(e));
          }
          const unread = [...latestPerMessage.values()].filter((t) => lastSent === undefined || compareTime(t, lastSent) > 0);
          expect(row.counts.unreadInbound).toBe(unread.length);
        }
      }),
      RUNS,
    );
  });
});
