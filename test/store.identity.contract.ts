/**
 * Identity and coexistence in every backend: contact rows per identifier with their links,
 * echoes and history threads in the message table, handovers and ad windows on the
 * conversation; stored rows exactly what the pure reducers give, and a rebuild equal to the
 * incremental result. Called from `store.contract.ts` inside each backend's suite.
 */
import { beforeEach, expect, it } from 'vitest';
import { stringifyJson } from '../src/events/json.js';
import type { BluetickEvent, JsonValue } from '../src/events/types.js';
import { applyEvents, emptyState, resolveIdentity } from '../src/projections/index.js';
import type { JournalOutcome, Page, PageRequest, Store } from '../src/store/store.js';
import { journalInput } from './store.contract.js';

const PHONE = 'P1';
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const iso = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();
const base = (id: string, minute: number) => ({ id, provider: 'meta' as const, channel: 'main', phoneNumberId: PHONE, occurredAt: iso(minute), receivedAt: iso(minute + 1), data: { id } as JsonValue });

/** phone -> BSUID -> new phone, a username-only user, an ad customer answered by an echo, a handover, a history thread. */
export function identityEvents(): BluetickEvent[] {
  return [
    { ...base('i1', 1), type: 'message.received', messageId: 'd1', from: '111', userId: 'US.1', contactName: 'Dana', kind: 'text', text: 'hi' },
    { ...base('i2', 10), type: 'user.identity', from: '111', userId: 'US.2', data: { wa_id: '111', user_id: { previous: 'US.1', current: 'US.2' } } },
    {
      ...base('i3', 20),
      type: 'message.received',
      messageId: 'd2',
      from: '111',
      kind: 'system',
      data: { type: 'system', system: { type: 'user_changed_number', wa_id: '222', previous_user_id: 'US.2', user_id: 'US.3' } },
    },
    { ...base('i4', 30), type: 'message.received', messageId: 'd3', from: '222', userId: 'US.3', contactName: 'Dana R.', kind: 'text', text: 'new phone' },
    { ...base('i5', 5), type: 'message.received', messageId: 'a1', userId: 'US.9', username: 'alex', kind: 'text', text: 'no phone' },
    { ...base('i6', 2), type: 'message.received', messageId: 'k1', from: '333', kind: 'text', text: 'from the ad', ctwaClid: 'CLID', referralSourceType: 'ad' },
    { ...base('i7', 3), type: 'message.echo', messageId: 'k2', from: 'BIZ', to: '333', kind: 'text', text: 'answered in the app' },
    { ...base('i8', 4), type: 'conversation.handover', from: '333', kind: 'control_passed', data: { type: 'control_passed', control_passed: { new_owner_role: 'secondary' } } },
    {
      ...base('i9', 0),
      type: 'history.sync',
      data: {
        id: '444',
        messages: [
          { from: '444', id: 'h1', timestamp: String(T0 / 1000 - 600), type: 'text', text: { body: 'old question' } },
          { from: 'BIZ', to: '444', id: 'h2', timestamp: String(T0 / 1000 - 590), type: 'text', text: { body: 'old answer' } },
        ],
      },
    },
  ];
}

export function identityContract(getStore: () => Store): void {
  let store: Store;

  beforeEach(() => {
    store = getStore();
  });

  async function record(batches: BluetickEvent[][]): Promise<void> {
    const ids = await store.journal.append(batches.map(() => journalInput()));
    await store.journal.claim(batches.length);
    const outcomes: JournalOutcome[] = batches.map((events, i) => ({ journalId: ids[i]!, state: 'processed', events }));
    await store.journal.record(outcomes);
  }

  async function all<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let after: number | undefined;
    for (let guard = 0; guard < 100; guard++) {
      const page = await list(after === undefined ? { limit: 3 } : { after, limit: 3 });
      items.push(...page.items);
      if (page.next === undefined) return items;
      after = page.next;
    }
    throw new Error('pagination did not end');
  }

  async function snapshot(): Promise<string> {
    return stringifyJson({
      messages: await all((p) => store.projections.listMessages({}, p)),
      conversations: await all((p) => store.projections.listConversations({}, p)),
      contacts: await all((p) => store.projections.listContacts({}, p)),
    });
  }

  it('keeps identity links, echoes, history, owner and ad window as the reducers do, and rebuilds to the same rows', async () => {
    const events = identityEvents();
    await record([events.slice(0, 3), events.slice(3, 7), events.slice(7)]);
    const expected = applyEvents(emptyState(), events);
    for (const [key, row] of expected.contacts) expect(await store.projections.getContact(key)).toEqual(row);
    for (const [key, row] of expected.conversations) expect(await store.projections.getConversation(key)).toEqual(row);
    for (const [id, row] of expected.messages) expect(await store.projections.getMessage(id)).toEqual(row);

    const dana = await resolveIdentity('US.1', (key) => store.projections.getContact(key));
    expect(dana?.current).toEqual({ waId: '222', userId: 'US.3' });
    expect((await resolveIdentity('alex', (key) => store.projections.getContact(key)))?.current).toEqual({ userId: 'US.9', username: 'alex' });
    expect(await store.projections.getConversation('P1:US.9')).toBeDefined();
    expect(await store.projections.getConversation('P1:333')).toMatchObject({ counts: { unreadInbound: 0, outbound: 1 }, ctwaClid: 'CLID', owner: { role: 'secondary' } });
    expect((await store.projections.listMessages({ conversationKey: 'P1:444' }, { limit: 10 })).items.map((m) => m.id)).toEqual(['h1', 'h2']);

    const incremental = await snapshot();
    await store.projections.rebuild({ batchSize: 2 });
    expect(await snapshot()).toBe(incremental);
  });
}
