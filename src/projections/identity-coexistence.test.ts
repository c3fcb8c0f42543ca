/**
 * Identity merges, coexistence (echoes, history, handovers) and the two windows, each
 * checked in every arrival order and against a rebuild from scratch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BluetickEvent, JsonValue } from '../events/types.js';
import {
  applyEvent,
  applyEvents,
  emptyState,
  isFreeEntryWindowOpen,
  isWindowOpen,
  keysTouched,
  resolveIdentity,
  type ProjectionState,
} from './index.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 5, 1, 9, minute)).toISOString();
const BIZ = '106540352242922';
const base = { provider: 'meta' as const, channel: 'main', phoneNumberId: BIZ, displayPhoneNumber: '15550783881', receivedAt: at(0) };

const P1 = '16315550199';
const P2 = '16315558899';
const U1 = 'US.70021948813327650041';
const U2 = 'US.80031958823337660052';
const U3 = 'US.90041968833347670063';

function received(id: string, minute: number, extra: Record<string, unknown> = {}): BluetickEvent {
  return { ...base, id, type: 'message.received', field: 'messages', messageId: `wamid.${id}`, kind: 'text', text: `text ${id}`, occurredAt: at(minute), data: {}, ...extra } as BluetickEvent;
}

function echo(id: string, minute: number, to: string, text: string): BluetickEvent {
  return { ...base, id, type: 'message.echo', field: 'smb_message_echoes', messageId: `wamid.${id}`, from: '15550783881', to, kind: 'text', text, occurredAt: at(minute), data: {} };
}

/** Every permutation of a short list. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Rows as JSON text per kind, sorted by key: what a store would hold. */
function snapshot(state: ProjectionState): string {
  const out: Record<string, unknown> = {};
  for (const [kind, map] of Object.entries(state)) out[kind] = [...(map as Map<string, unknown>).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(out);
}

/** One event at a time through a JSON round trip of each touched row, the way a store applies them. */
function incremental(events: readonly BluetickEvent[]): ProjectionState {
  let state = emptyState();
  for (const event of events) {
    state = restore(snapshot(applyEvent(state, event)));
  }
  return state;
}

function restore(text: string): ProjectionState {
  const parsed = JSON.parse(text) as Record<string, Array<[string, unknown]>>;
  const state = emptyState();
  for (const [kind, entries] of Object.entries(parsed)) {
    const map = state[kind as keyof ProjectionState] as Map<string, unknown>;
    for (const [key, row] of entries) map.set(key, row);
  }
  return state;
}

/** Asserts that every order, and a rebuild, give the same rows; returns them. */
function sameInEveryOrder(events: readonly BluetickEvent[]): ProjectionState {
  const rebuilt = snapshot(applyEvents(emptyState(), events));
  for (const order of permutations(events)) {
    expect(snapshot(incremental(order))).toBe(rebuilt);
    expect(snapshot(applyEvents(emptyState(), [...order, ...order]))).toBe(rebuilt);
  }
  return restore(rebuilt);
}

describe('identity', () => {
  // phone P1 with BSUID U1 -> BSUID changes to U2 -> number changes to P2 (BSUID U3).
  const first = received('m1', 1, { from: P1, userId: U1, contactName: 'Dana' });
  const idUpdate: BluetickEvent = {
    ...base,
    id: 'u1',
    type: 'user.identity',
    field: 'user_id_update',
    from: P1,
    userId: U2,
    occurredAt: at(10),
    data: { wa_id: P1, user_id: { previous: U1, current: U2 } },
  };
  const numberChange = received('s1', 20, {
    from: P1,
    kind: 'system',
    text: 'Dana changed from 16315550199 to 16315558899',
    data: { type: 'system', system: { type: 'user_changed_number', wa_id: P2, previous_user_id: U2, user_id: U3 } },
  });
  const later = received('m2', 30, { from: P2, userId: U3, contactName: 'Dana R.' });
  const events = [first, idUpdate, numberChange, later];

  it('links phone -> BSUID -> new phone, whatever the order, and rebuilds to the same rows', async () => {
    const state = sameInEveryOrder(events);
    expect([...state.contacts.keys()].sort()).toEqual([P1, P2, U1, U2, U3].sort());
    expect(state.contacts.get(U1)).toMatchObject({ idKind: 'userId', newUserId: U2 });
    expect(state.contacts.get(P1)).toMatchObject({ newWaId: P2 });
    for (const id of [P1, P2, U1, U2, U3, `+${P2}`]) {
      const user = await resolveIdentity(id, (key) => state.contacts.get(key));
      expect(user, id).toBeDefined();
      expect(user!.current).toEqual({ waId: P2, userId: U3 });
      expect(user!.waIds).toEqual([P1, P2]);
      expect(user!.userIds).toEqual([U1, U2, U3]);
      expect(user!.profile?.name).toBe('Dana R.');
      expect(user!.firstSeenAt).toBe(at(1));
      expect(user!.lastSeenAt).toBe(at(30));
      expect(user!.merges.map((m) => [m.kind, m.from, m.to, m.via])).toEqual([
        ['alias', P1, U1, 'contacts'],
        ['alias', P1, U2, 'user_id_update'],
        ['userId', U1, U2, 'user_id_update'],
        ['number', P1, P2, 'user_changed_number'],
        ['alias', P2, U3, 'user_changed_number'],
        ['userId', U2, U3, 'user_changed_number'],
      ]);
    }
    expect(await resolveIdentity('US.00000000000000000000', (key) => state.contacts.get(key))).toBeUndefined();
  });

  it('keys a username-only user by BSUID: contact rows for the id and the username, the conversation under the id', async () => {
    const alone = received('m9', 5, { userId: 'US.13491208655302741918', username: 'alex.rides', contactName: 'Alex' });
    const state = sameInEveryOrder([alone, received('m10', 6, { userId: 'US.13491208655302741918', username: 'alex.rides' })]);
    expect([...state.conversations.keys()]).toEqual([`${BIZ}:US.13491208655302741918`]);
    expect(state.contacts.get('@alex.rides')).toMatchObject({ idKind: 'username', waId: '@alex.rides' });
    for (const id of ['alex.rides', '@alex.rides', 'US.13491208655302741918']) {
      const user = await resolveIdentity(id, (key) => state.contacts.get(key));
      expect(user?.current, id).toEqual({ userId: 'US.13491208655302741918', username: 'alex.rides' });
      expect(user?.waIds).toEqual([]);
    }
  });

  it('follows a system user_changed_user_id from the old BSUID to the new one', async () => {
    const before = received('b1', 1, { from: P1, userId: U1 });
    const changed = received('b2', 5, {
      from: P1,
      userId: U1,
      kind: 'system',
      data: { type: 'system', system: { type: 'user_changed_user_id', previous_user_id: U1, user_id: U2, body: 'User changed' } },
    });
    const state = sameInEveryOrder([before, changed]);
    expect(state.contacts.get(U1)).toMatchObject({ newUserId: U2, userIdChanges: [{ from: U1, to: U2, via: 'user_changed_user_id', at: at(5), eventId: 'b2' }] });
    const user = await resolveIdentity(U2, (key) => state.contacts.get(key));
    expect(user?.current).toEqual({ waId: P1, userId: U2 });
    expect(user?.merges.map((m) => `${m.kind} ${m.from} ${m.to} ${m.via}`)).toEqual([
      `alias ${P1} ${U1} contacts`,
      `alias ${P1} ${U2} user_changed_user_id`,
      `userId ${U1} ${U2} user_changed_user_id`,
    ]);
  });

  it('keeps a contact row bounded however often the same link repeats', () => {
    const many = Array.from({ length: 200 }, (_, i) => received(`r${i}`, i % 50, { from: P1, userId: U1 }));
    const state = applyEvents(emptyState(), many);
    expect(state.contacts.get(P1)?.aliases).toHaveLength(1);
    expect(JSON.stringify(state.contacts.get(P1)).length).toBeLessThan(600);
  });
});

describe('coexistence', () => {
  const C = '16315551181';
  const key = `${BIZ}:${C}`;

  it('an echo is an outbound message in the timeline and answers what came before it', () => {
    const events = [received('i1', 1, { from: C }), received('i2', 2, { from: C }), echo('e1', 3, C, 'On our way'), received('i3', 4, { from: C })];
    const state = sameInEveryOrder(events);
    const conversation = state.conversations.get(key)!;
    expect(conversation.counts).toEqual({ inbound: 3, outbound: 1, unreadInbound: 1 });
    expect(conversation.lastOutbound).toEqual({ messageId: 'wamid.e1', at: at(3) });
    expect(conversation.unanswered.map((u) => u.messageId)).toEqual(['wamid.i3']);
    const message = state.messages.get('wamid.e1')!;
    expect(message).toMatchObject({ direction: 'outbound', conversationKey: key, occurredAt: at(3), recipientId: C });
    expect(message.outbound).toMatchObject({ source: 'echo', kind: 'text', text: 'On our way', to: C });
  });

  it('an echo and a status of the same message count it once', () => {
    const sent: BluetickEvent = { ...base, id: 'st1', type: 'message.status', messageId: 'wamid.e1', status: 'delivered', recipientId: C, occurredAt: at(5), data: {} };
    const state = sameInEveryOrder([received('i1', 1, { from: C }), echo('e1', 3, C, 'Hi'), sent]);
    expect(state.conversations.get(key)!.counts).toEqual({ inbound: 1, outbound: 1, unreadInbound: 0 });
    expect(state.messages.get('wamid.e1')).toMatchObject({ status: 'delivered', outbound: { text: 'Hi' } });
  });

  it('a history thread fills the timeline and the conversation, and touches no contact', () => {
    const history: BluetickEvent = {
      ...base,
      id: 'h1',
      type: 'history.sync',
      field: 'history',
      data: {
        id: C,
        messages: [
          { from: C, id: 'wamid.H1', timestamp: '1780304400', type: 'text', text: { body: 'Are you open on Sunday?' } },
          { from: '15550783881', to: C, id: 'wamid.H2', timestamp: '1780304700', type: 'text', text: { body: 'Yes, 10 to 4.' } },
        ] as JsonValue[],
      },
    };
    expect(keysTouched(history)).toMatchObject({ messages: ['wamid.H1', 'wamid.H2'], conversations: [key], contacts: [] });
    const state = sameInEveryOrder([history, received('i9', 1, { from: C })]);
    expect(state.messages.get('wamid.H1')).toMatchObject({ direction: 'inbound', inbound: { text: 'Are you open on Sunday?' } });
    expect(state.messages.get('wamid.H2')).toMatchObject({ direction: 'outbound', outbound: { source: 'history', text: 'Yes, 10 to 4.' } });
    expect(state.conversations.get(key)!.counts).toEqual({ inbound: 2, outbound: 1, unreadInbound: 0 });
    expect([...state.contacts.keys()]).toEqual([C]);
  });

  it('records the latest handover as the thread owner', () => {
    const handover = (id: string, minute: number, kind: string, role: string): BluetickEvent => ({
      ...base,
      id,
      type: 'conversation.handover',
      field: 'messaging_handovers',
      from: C,
      kind,
      occurredAt: at(minute),
      data: { type: kind, from: C, [kind]: { previous_owner_role: 'primary', new_owner_role: role } },
    });
    const state = sameInEveryOrder([handover('h1', 1, 'control_passed', 'secondary'), handover('h2', 9, 'control_taken', 'primary'), received('i1', 5, { from: C })]);
    expect(state.conversations.get(key)!.owner).toEqual({ kind: 'control_taken', role: 'primary', previousRole: 'primary', at: at(9), eventId: 'h2' });
  });

  it('a standby copy touches no projection', () => {
    const standby: BluetickEvent = { ...base, id: 'sb', type: 'message.standby', messageId: 'wamid.SB', from: C, kind: 'text', data: {} };
    for (const [kind, keys] of Object.entries(keysTouched(standby))) expect(keys, kind).toEqual([]);
  });
});

describe('windows', () => {
  const C = '16315551181';
  const key = `${BIZ}:${C}`;
  const hours = (h: number, minute = 1): string => new Date(Date.parse(at(minute)) + h * 3_600_000).toISOString();

  it('opens the 24-hour window from the customer message times only', () => {
    const status: BluetickEvent = {
      ...base,
      id: 'st',
      type: 'message.status',
      messageId: 'wamid.OUT',
      status: 'sent',
      recipientId: C,
      conversationExpiresAt: hours(48),
      occurredAt: at(30),
      data: {},
    };
    const state = sameInEveryOrder([received('i1', 1, { from: C }), status, echo('e1', 40, C, 'Hello')]);
    const conversation = state.conversations.get(key)!;
    expect(conversation.windowOpenUntil).toBe(hours(24));
    expect(isWindowOpen(conversation, hours(23.9))).toBe(true);
    expect(isWindowOpen(conversation, hours(24))).toBe(false);
    expect(conversation.freeEntryWindowOpenUntil).toBeUndefined();
  });

  it('adds the 72-hour free-entry window and keeps ctwaClid when the conversation began from an ad', () => {
    const fromAd = received('i1', 1, { from: C, ctwaClid: 'ARAkLkA8rmlFeiCktEJQ', referralSourceId: '120206853', referralSourceType: 'ad' });
    const state = sameInEveryOrder([fromAd, received('i2', 10, { from: C })]);
    const conversation = state.conversations.get(key)!;
    expect(conversation.ctwaClid).toBe('ARAkLkA8rmlFeiCktEJQ');
    expect(conversation.referral).toEqual({ messageId: 'wamid.i1', at: at(1), ctwaClid: 'ARAkLkA8rmlFeiCktEJQ', sourceId: '120206853', sourceType: 'ad' });
    expect(conversation.freeEntryWindowOpenUntil).toBe(hours(72));
    expect(conversation.windowOpenUntil).toBe(hours(24, 10));
    expect(isFreeEntryWindowOpen(conversation, hours(71))).toBe(true);
    expect(isFreeEntryWindowOpen(conversation, hours(72))).toBe(false);
    expect(state.messages.get('wamid.i1')?.inbound?.ctwaClid).toBe('ARAkLkA8rmlFeiCktEJQ');
  });
});

describe('order independence (property)', () => {
  const PHONES = ['111', '222', '333'];
  const IDS = ['US.1', 'US.2', 'US.3'];
  const NAMES = ['ann', 'bo'];
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

  const specArb = fc.record({
    shape: fc.constantFrom('message', 'echo', 'status', 'handover', 'identity', 'number', 'user-id'),
    minute: fc.integer({ min: 0, max: 8 }),
    message: fc.constantFrom('m1', 'm2', 'm3', 'm4'),
    phone: maybe(fc.constantFrom(...PHONES)),
    phone2: fc.constantFrom(...PHONES),
    userId: maybe(fc.constantFrom(...IDS)),
    userId2: fc.constantFrom(...IDS),
    username: maybe(fc.constantFrom(...NAMES)),
    ad: fc.boolean(),
  });

  type Spec = typeof specArb extends fc.Arbitrary<infer S> ? S : never;

  function eventOf(spec: Spec, i: number): BluetickEvent {
    const common = { ...base, id: `p${i}`, occurredAt: at(spec.minute), receivedAt: at(20 + i) };
    switch (spec.shape) {
      case 'message':
        return {
          ...common,
          type: 'message.received',
          // One message has one sender: ids are per sender, as WhatsApp's are.
          messageId: `${spec.message}-${spec.phone ?? spec.userId ?? spec.userId2}`,
          kind: 'text',
          ...(spec.phone !== undefined ? { from: spec.phone } : {}),
          ...(spec.userId !== undefined || spec.phone === undefined ? { userId: spec.userId ?? spec.userId2 } : {}),
          ...(spec.username !== undefined ? { username: spec.username } : {}),
          ...(spec.ad ? { ctwaClid: `clid-${i}`, referralSourceType: 'ad' } : {}),
          data: {},
        } as BluetickEvent;
      case 'echo':
        return { ...common, type: 'message.echo', messageId: `out-${spec.message}-${spec.phone2}`, from: 'BIZ', to: spec.phone2, kind: 'text', text: `echo ${i}`, data: {} };
      case 'status':
        return { ...common, type: 'message.status', messageId: `out-${spec.message}-${spec.phone2}`, status: spec.ad ? 'sent' : 'read', recipientId: spec.phone2, data: {} };
      case 'handover':
        return { ...common, type: 'conversation.handover', from: spec.phone2, kind: spec.ad ? 'control_passed' : 'control_taken', data: {} };
      case 'identity':
        return { ...common, type: 'user.identity', from: spec.phone2, userId: spec.userId2, data: { user_id: { previous: spec.userId ?? 'US.0', current: spec.userId2 } } };
      case 'number':
        return { ...common, type: 'message.received', messageId: `sys${i}`, from: spec.phone2, kind: 'system', data: { system: { type: 'user_changed_number', wa_id: spec.phone ?? '999', user_id: spec.userId2 } } };
      default:
        return { ...common, type: 'message.received', messageId: `sys${i}`, from: spec.phone2, kind: 'system', data: { system: { type: 'user_changed_user_id', previous_user_id: spec.userId ?? 'US.0', user_id: spec.userId2 } } };
    }
  }

  it('gives the same rows in any arrival order, with duplicates, as a rebuild in generation order', () => {
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 12 }).chain((specs) => {
          const events = specs.map(eventOf);
          const withDups = fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 6 }).map((d) => [...events, ...d.map((i) => events[i]!)]);
          return fc.tuple(fc.constant(events), withDups.chain((all) => fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length })));
        }),
        ([events, arrival]) => {
          expect(snapshot(incremental(arrival))).toBe(snapshot(applyEvents(emptyState(), events)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
