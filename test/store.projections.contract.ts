/**
 * The projection half of the Store contract (`store/projections.ts`): every backend keeps
 * the projection rows exactly as the pure reducers build them, lists them in the order they
 * were first seen with a stable cursor, and rebuilds them from the events to the same result.
 * Called from `store.contract.ts` inside each backend's suite.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { stringifyJson } from '../src/events/json.js';
import type { BluetickEvent } from '../src/events/types.js';
import { applyEvents, emptyState, reactionsOn } from '../src/projections/index.js';
import type { JournalOutcome, Page, PageRequest, Store } from '../src/store/store.js';
import { journalInput, makeEvent } from './store.contract.js';

const PHONE = 'P1';
const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

interface Common {
  id: string;
  at: number;
  phone?: string;
}

function base(c: Common) {
  return { id: c.id, provider: 'meta' as const, channel: 'main', phoneNumberId: c.phone ?? PHONE, occurredAt: iso(c.at), receivedAt: iso(c.at + 500), data: { id: c.id } };
}

export function inbound(c: Common & { messageId: string; from: string; name?: string; text?: string }): BluetickEvent {
  return {
    ...base(c),
    type: 'message.received',
    messageId: c.messageId,
    from: c.from,
    ...(c.name !== undefined ? { contactName: c.name } : {}),
    kind: 'text',
    text: c.text ?? 'hi',
  };
}

export function status(c: Common & { messageId: string; to: string; status: string; errorCodes?: number[] }): BluetickEvent {
  return {
    ...base(c),
    type: 'message.status',
    messageId: c.messageId,
    status: c.status,
    recipientId: c.to,
    ...(c.errorCodes ? { errorCodes: c.errorCodes } : {}),
  };
}

export function reaction(c: Common & { messageId: string; from: string; target: string; emoji: string }): BluetickEvent {
  return { ...base(c), type: 'message.reaction', messageId: c.messageId, from: c.from, emoji: c.emoji, targetMessageId: c.target };
}

export function template(c: Common & { templateId: string; name: string; status: string; type?: 'template.status' | 'template.quality' | 'template.category'; reason?: string }): BluetickEvent {
  const { phoneNumberId: _p, ...rest } = base(c);
  return {
    ...rest,
    type: c.type ?? 'template.status',
    templateId: c.templateId,
    templateName: c.name,
    language: 'en_US',
    status: c.status,
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
  } as BluetickEvent;
}

/** A varied set of events: late, duplicated-by-content and out-of-order notifications. */
export function sampleEvents(): BluetickEvent[] {
  return [
    inbound({ id: 'e01', at: T0, messageId: 'in1', from: 'c1', name: 'Asha' }),
    status({ id: 'e02', at: T0 + 3000, messageId: 'out1', to: 'c1', status: 'read' }),
    status({ id: 'e03', at: T0 + 1000, messageId: 'out1', to: 'c1', status: 'sent' }),
    inbound({ id: 'e04', at: T0 + 500, messageId: 'in2', from: 'c2', name: 'Bo' }),
    status({ id: 'e05', at: T0 + 2000, messageId: 'out1', to: 'c1', status: 'delivered' }),
    status({ id: 'e06', at: T0 + 4000, messageId: 'out2', to: 'c2', status: 'failed', errorCodes: [131047, 1] }),
    status({ id: 'e07', at: T0 + 3900, messageId: 'out2', to: 'c2', status: 'sent' }),
    reaction({ id: 'e08', at: T0 + 5000, messageId: 'r1', from: 'c1', target: 'out1', emoji: '👍' }),
    reaction({ id: 'e09', at: T0 + 6000, messageId: 'r2', from: 'c2', target: 'out1', emoji: '🎉' }),
    reaction({ id: 'e10', at: T0 + 7000, messageId: 'r3', from: 'c2', target: 'out1', emoji: '' }),
    template({ id: 'e11', at: T0 + 9000, templateId: '123456789012345678901', name: 'order', status: 'PAUSED', reason: 'low quality' }),
    template({ id: 'e12', at: T0 + 8000, templateId: '123456789012345678901', name: 'order', status: 'APPROVED' }),
    template({ id: 'e13', at: T0 + 8500, templateId: '123456789012345678901', name: 'order', status: 'YELLOW', type: 'template.quality' }),
    template({ id: 'e14', at: T0 + 8000, templateId: '42', name: 'welcome', status: 'REJECTED' }),
    inbound({ id: 'e15', at: T0 + 10_000, messageId: 'in3', from: 'c1', name: 'Asha K' }),
    inbound({ id: 'e16', at: T0 + 11_000, messageId: 'in4', from: 'c3', phone: 'P2' }),
  ];
}

export function projectionContract(getStore: () => Store): void {
  let store: Store;

  beforeEach(() => {
    store = getStore();
  });

  /** Appends one journal row per outcome and records them in one call. */
  async function record(batches: BluetickEvent[][]): Promise<void> {
    const ids = await store.journal.append(batches.map(() => journalInput()));
    await store.journal.claim(batches.length);
    const outcomes: JournalOutcome[] = batches.map((events, i) => ({ journalId: ids[i]!, state: 'processed', events }));
    await store.journal.record(outcomes);
  }

  async function all<T>(list: (page: PageRequest) => Promise<Page<T>>, limit = 2): Promise<{ items: T[]; cursors: number[] }> {
    const items: T[] = [];
    const cursors: number[] = [];
    let after: number | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await list(after === undefined ? { limit } : { after, limit });
      items.push(...page.items);
      if (page.next === undefined) return { items, cursors };
      cursors.push(page.next);
      after = page.next;
    }
    throw new Error('pagination did not end');
  }

  /** Every projection row, in list order, with the cursors between pages: the whole observable state. */
  async function snapshot(): Promise<string> {
    const messages = await all((p) => store.projections.listMessages({}, p));
    const reactions = [];
    for (const m of messages.items) reactions.push([m.id, await store.projections.listReactions(m.id)]);
    return stringifyJson({
      messages,
      conversations: await all((p) => store.projections.listConversations({}, p)),
      contacts: await all((p) => store.projections.listContacts({}, p)),
      templates: await all((p) => store.projections.listTemplates({}, p)),
      reactions,
    });
  }

  it('keeps each row exactly as the reducers build it from the events in seq order', async () => {
    const events = sampleEvents();
    await record([events.slice(0, 5), events.slice(5, 11), events.slice(11)]);
    const expected = applyEvents(emptyState(), events);
    for (const [id, row] of expected.messages) expect(await store.projections.getMessage(id)).toEqual(row);
    for (const [key, row] of expected.conversations) expect(await store.projections.getConversation(key)).toEqual(row);
    for (const [waId, row] of expected.contacts) expect(await store.projections.getContact(waId)).toEqual(row);
    for (const [key, row] of expected.templates) expect(await store.projections.getTemplate(key)).toEqual(row);
    expect(await store.projections.listReactions('out1')).toEqual(reactionsOn(expected, 'out1'));
    expect((await store.projections.listReactions('out1')).map((r) => r.emoji)).toEqual(['👍']);
    expect(await store.projections.getMessage('nope')).toBeUndefined();
    expect(await store.projections.getConversation('nope')).toBeUndefined();
    expect(await store.projections.getContact('nope')).toBeUndefined();
    expect(await store.projections.getTemplate('nope')).toBeUndefined();
    expect(await store.projections.listReactions('nope')).toEqual([]);

    const out1 = await store.projections.getMessage('out1');
    expect(out1).toMatchObject({ status: 'read', direction: 'outbound', conversationKey: 'P1:c1' });
    expect(out1!.timeline.map((t) => t.status)).toEqual(['sent', 'delivered', 'read']);
    expect((await store.projections.getTemplate('123456789012345678901'))?.status).toBe('PAUSED');
  });

  it('does not apply an event again when a redelivery carries it', async () => {
    const events = sampleEvents();
    await record([events]);
    const before = await snapshot();
    await record([events.slice(1, 4), events.slice(8)]);
    expect(await snapshot()).toBe(before);
  });

  it('lists rows in the order first seen, filtered, and keeps an updated row in its place', async () => {
    const events = sampleEvents();
    await record([events]);
    const conversations = await all((p) => store.projections.listConversations({}, p));
    expect(conversations.items.map((c) => c.key)).toEqual(['P1:c1', 'P1:c2', 'P2:c3']);
    // c2 writes again: its conversation is updated but stays where it was.
    await record([[inbound({ id: 'e17', at: T0 + 20_000, messageId: 'in5', from: 'c2' })]]);
    const again = await all((p) => store.projections.listConversations({}, p));
    expect(again.items.map((c) => c.key)).toEqual(['P1:c1', 'P1:c2', 'P2:c3']);
    expect(again.cursors).toEqual(conversations.cursors);
    expect(again.items[1]!.counts.inbound).toBe(2);

    const ids = async (filter: Parameters<Store['projections']['listMessages']>[0]) => (await all((p) => store.projections.listMessages(filter, p))).items.map((m) => m.id);
    expect(await ids({})).toEqual(['in1', 'out1', 'in2', 'out2', 'in3', 'in4', 'in5']);
    expect(await ids({ conversationKey: 'P1:c1' })).toEqual(['in1', 'out1', 'in3']);
    expect(await ids({ conversationKey: 'P1:c1', direction: 'outbound' })).toEqual(['out1']);
    expect(await ids({ status: ['failed', 'delivered'] })).toEqual(['out2']);
    expect(await ids({ direction: 'inbound', conversationKey: 'P1:c2' })).toEqual(['in2', 'in5']);

    const convKeys = async (filter: Parameters<Store['projections']['listConversations']>[0]) =>
      (await all((p) => store.projections.listConversations(filter, p))).items.map((c) => c.key);
    expect(await convKeys({ businessNumber: 'P2' })).toEqual(['P2:c3']);
    expect(await convKeys({ contact: 'c2' })).toEqual(['P1:c2']);
    expect(await convKeys({ activeSince: T0 + 10_500 })).toEqual(['P1:c2', 'P2:c3']);
    expect(await convKeys({ activeSince: T0 + 10_000 })).toEqual(['P1:c1', 'P1:c2', 'P2:c3']);
    // Windows close 24 h after the last inbound: c1's at T0+10s, c2's at T0+20s, c3's at T0+11s.
    const at = T0 + 24 * 3_600_000 + 15_000;
    expect(await convKeys({ window: { open: true, at } })).toEqual(['P1:c2']);
    expect(await convKeys({ window: { open: false, at } })).toEqual(['P1:c1', 'P2:c3']);

    const contacts = async (filter: Parameters<Store['projections']['listContacts']>[0]) => (await all((p) => store.projections.listContacts(filter, p))).items.map((c) => c.waId);
    expect(await contacts({})).toEqual(['c1', 'c2', 'c3']);
    expect(await contacts({ name: 'asha' })).toEqual(['c1']);
    expect(await contacts({ name: '%' })).toEqual([]);
    expect(await contacts({ seenSince: T0 + 11_000 })).toEqual(['c2', 'c3']);

    const templates = async (filter: Parameters<Store['projections']['listTemplates']>[0]) => (await all((p) => store.projections.listTemplates(filter, p))).items.map((t) => t.key);
    expect(await templates({})).toEqual(['123456789012345678901', '42']);
    expect(await templates({ status: ['REJECTED', 'DISABLED'] })).toEqual(['42']);
    expect(await templates({ quality: ['YELLOW'] })).toEqual(['123456789012345678901']);
    expect(await templates({ name: 'welcome', language: 'en_US' })).toEqual(['42']);
    expect(await templates({ category: ['MARKETING'] })).toEqual([]);
  });

  it('rebuilds the projections from the events to exactly the incremental result', async () => {
    const events = sampleEvents();
    await record([events.slice(0, 7), events.slice(7, 9), events.slice(9)]);
    await record([[inbound({ id: 'e17', at: T0 + 20_000, messageId: 'in5', from: 'c2' })], events.slice(2, 4)]);
    const incremental = await snapshot();
    const result = await store.projections.rebuild({ batchSize: 3 });
    expect(result.events).toBe(events.length + 1);
    expect(result.rows).toEqual({ messages: 7, conversations: 3, contacts: 3, templates: 2, reactions: 2 });
    expect(await snapshot()).toBe(incremental);
    expect((await store.projections.counts()).rebuild).toBeUndefined();
  });

  it('rebuilds to the incremental result while new events are recorded', async () => {
    const events = sampleEvents();
    await record(events.slice(0, 10).map((e) => [e]));
    const rebuilding = store.projections.rebuild({ batchSize: 1 });
    for (const e of events.slice(10)) await record([[e]]);
    await rebuilding;
    const afterRebuild = await snapshot();
    const expected = applyEvents(emptyState(), events);
    for (const [id, row] of expected.messages) expect(await store.projections.getMessage(id)).toEqual(row);
    for (const [key, row] of expected.templates) expect(await store.projections.getTemplate(key)).toEqual(row);
    await store.projections.rebuild();
    expect(await snapshot()).toBe(afterRebuild);
  });

  it('counts projection rows', async () => {
    expect(await store.projections.counts()).toEqual({
      messages: { total: 0, inbound: 0, outbound: 0, byStatus: {} },
      conversations: 0,
      contacts: 0,
      templates: { total: 0, byStatus: {} },
      reactions: 0,
    });
    await record([sampleEvents()]);
    expect(await store.projections.counts()).toEqual({
      messages: { total: 6, inbound: 4, outbound: 2, byStatus: { read: 1, failed: 1 } },
      conversations: 3,
      contacts: 3,
      templates: { total: 2, byStatus: { PAUSED: 1, REJECTED: 1 } },
      reactions: 1,
    });
  });

  it('reports the last event seq', async () => {
    expect(await store.events.lastSeq()).toBe(0);
    await record([sampleEvents().slice(0, 3)]);
    const page = await store.events.list({}, { limit: 10 });
    expect(await store.events.lastSeq()).toBe(page.items[2]!.seq);
  });

  it('lists the events first stored by one journal row', async () => {
    const [a, b] = [makeEvent({ id: 'j1' }), makeEvent({ id: 'j2' })];
    await record([[a], [b, a]]);
    const second = (await store.events.get('j2'))!.journalId;
    expect((await store.events.list({ journalId: second }, { limit: 10 })).items.map((e) => e.event.id)).toEqual(['j2']);
  });

  it('filters rejections by cause, channel and time', async () => {
    await store.rejections.add(
      [
        { at: T0, cause: 'unauthorized', method: 'POST', path: '/webhooks/a', channel: 'a' },
        { at: T0 + 1, cause: 'payload-too-large', method: 'POST', path: '/webhooks/b', channel: 'b' },
        { at: T0 + 2, cause: 'unauthorized', method: 'POST', path: '/webhooks/b', channel: 'b' },
      ],
      100,
    );
    const paths = async (filter: Parameters<Store['rejections']['list']>[1]) =>
      (await store.rejections.list({ limit: 10 }, filter)).items.map((r) => `${r.cause}@${r.channel}`);
    expect(await paths({ cause: ['unauthorized'] })).toEqual(['unauthorized@a', 'unauthorized@b']);
    expect(await paths({ channel: 'b' })).toEqual(['payload-too-large@b', 'unauthorized@b']);
    expect(await paths({ since: T0 + 1, until: T0 + 2 })).toEqual(['payload-too-large@b']);
    expect(await paths({})).toHaveLength(3);
    const p1 = await store.rejections.list({ limit: 1 }, { channel: 'b' });
    const p2 = await store.rejections.list({ limit: 1, after: p1.next! }, { channel: 'b' });
    expect([...p1.items, ...p2.items].map((r) => r.cause)).toEqual(['payload-too-large', 'unauthorized']);
    expect(p2.next).toBeUndefined();
  });
}
