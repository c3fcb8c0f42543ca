/**
 * The behaviour every Store backend must share. Each backend's test file calls
 * `storeContract(name, makeStore)`; no test runs from this file itself.
 *
 * Events are built by hand here (not by the normalizer) so each test controls ids and the
 * filterable keys exactly.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BluetickEvent, EventType } from '../src/events/types.js';
import { watchNoticeEvent } from '../src/events/watch-notice.js';
import { arrivalOf } from '../src/store/rows.js';
import type { JournalInput, JournalOutcome, Store } from '../src/store/store.js';
import { deliveryContract } from './store.deliveries.contract.js';
import { projectionContract } from './store.projections.contract.js';
import { accountStateContract } from './store.account-state.contract.js';
import { identityContract } from './store.identity.contract.js';
import { usageContract } from './store.usage.contract.js';
import { retentionContract } from './store.retention.contract.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);

export function journalInput(overrides: Partial<JournalInput> = {}): JournalInput {
  return {
    channel: 'main',
    receivedAt: T0,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{"object":"whatsapp_business_account","entry":[]}'),
    verifiedBy: 'meta-signature',
    ...overrides,
  };
}

interface EventSpec {
  id: string;
  type?: EventType;
  channel?: string;
  phoneNumberId?: string;
  from?: string;
  messageId?: string;
  receivedAt?: number;
}

/** A contract-shaped event with the filterable keys set as asked. */
export function makeEvent(spec: EventSpec): BluetickEvent {
  const type = spec.type ?? 'message.received';
  const base = {
    id: spec.id,
    provider: 'meta' as const,
    channel: spec.channel ?? 'main',
    receivedAt: new Date(spec.receivedAt ?? T0).toISOString(),
    occurredAt: new Date((spec.receivedAt ?? T0) - 1000).toISOString(),
    ...(spec.phoneNumberId !== undefined ? { phoneNumberId: spec.phoneNumberId } : {}),
    data: { id: spec.id, nested: { list: [1, 'two', null, true] } },
  };
  switch (type) {
    case 'message.received':
      return {
        ...base,
        type,
        kind: 'text',
        text: 'hello',
        ...(spec.from !== undefined ? { from: spec.from } : {}),
        ...(spec.messageId !== undefined ? { messageId: spec.messageId } : {}),
      };
    case 'message.status':
      return { ...base, type, status: 'delivered', ...(spec.messageId !== undefined ? { messageId: spec.messageId } : {}) };
    case 'template.status':
      // A template id beyond 2^53 must come back digit for digit, as must a bigint in data.
      return {
        ...base,
        type,
        status: 'APPROVED',
        templateId: '123456789012345678901',
        data: { message_template_id: 123456789012345678901n, event: 'APPROVED' },
      };
    default:
      return { ...base, type: 'unknown', kind: String(type) };
  }
}

export function storeContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    /** Appends `n` rows and records each with the given events, returning their ids. */
    async function appendAndRecord(outcomes: Array<Omit<JournalOutcome, 'journalId'> & { input?: Partial<JournalInput> }>) {
      const ids = await store.journal.append(outcomes.map((o) => journalInput(o.input)));
      const claimed = await store.journal.claim(outcomes.length);
      expect(claimed.map((r) => r.id)).toEqual(ids);
      const result = await store.journal.record(
        outcomes.map(({ input: _input, ...o }, i) => ({ ...o, journalId: ids[i]! })),
      );
      return { ids, result };
    }

    describe('migrations', () => {
      it('applies nothing when run again on a current schema', async () => {
        expect(await store.migrate()).toEqual({ applied: [] });
      });
    });

    describe('journal', () => {
      it('appends rows in one call and returns ascending ids in input order', async () => {
        const ids = await store.journal.append([
          journalInput({ channel: 'a' }),
          journalInput({ channel: 'b' }),
          journalInput({ channel: 'c' }),
        ]);
        expect(ids).toHaveLength(3);
        expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
        const channels = await Promise.all(ids.map(async (id) => (await store.journal.get(id))?.channel));
        expect(channels).toEqual(['a', 'b', 'c']);
      });

      it('returns no ids for an empty append', async () => {
        expect(await store.journal.append([])).toEqual([]);
      });

      it('reads a row back exactly as appended, pending, without absent optional keys', async () => {
        const body = Buffer.from([0x7b, 0x7d, 0x0a, 0x00, 0xff, 0xfe]);
        const [id, otherId] = await store.journal.append([
          journalInput({
            body,
            headers: { 'user-agent': 'facebookexternalua', 'x-hub-signature-256': 'sha256=***' },
            remoteAddress: '203.0.113.9',
            verifiedBy: 'basic',
            receivedAt: T0 + 123,
          }),
          journalInput(),
        ]);
        const row = await store.journal.get(id!);
        expect(row).toEqual({
          id,
          channel: 'main',
          receivedAt: T0 + 123,
          remoteAddress: '203.0.113.9',
          headers: { 'user-agent': 'facebookexternalua', 'x-hub-signature-256': 'sha256=***' },
          body,
          verifiedBy: 'basic',
          state: 'pending',
          eventCount: 0,
          newEventCount: 0,
        });
        expect(Buffer.compare(row!.body, body)).toBe(0);
        const other = await store.journal.get(otherId!);
        expect(other).toBeDefined();
        expect('remoteAddress' in other!).toBe(false);
        expect('cause' in other!).toBe(false);
        expect('processedAt' in other!).toBe(false);
      });

      it('returns undefined for an unknown journal id', async () => {
        expect(await store.journal.get(987654)).toBeUndefined();
      });
    });

    describe('claiming', () => {
      it('hands out pending rows oldest first, at most `limit` at a time', async () => {
        const ids = await store.journal.append([1, 2, 3, 4, 5].map(() => journalInput()));
        const first = await store.journal.claim(2);
        expect(first.map((r) => r.id)).toEqual(ids.slice(0, 2));
        const rest = await store.journal.claim(10);
        expect(rest.map((r) => r.id)).toEqual(ids.slice(2));
      });

      it('does not hand out a row again while it is in flight', async () => {
        const ids = await store.journal.append([journalInput(), journalInput()]);
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual(ids);
        expect(await store.journal.claim(10)).toEqual([]);
        const [late] = await store.journal.append([journalInput()]);
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([late]);
      });

      it('does not hand out rows once their outcome is recorded', async () => {
        const ids = await store.journal.append([journalInput(), journalInput()]);
        await store.journal.claim(10);
        await store.journal.record(ids.map((id) => ({ journalId: id, state: 'quarantined', cause: 'x', events: [] })));
        expect(await store.journal.claim(10)).toEqual([]);
      });

      it('writes nothing and hands the rows out again when recording a batch fails', async () => {
        const [id] = await store.journal.append([journalInput()]);
        await store.journal.claim(10);
        // The second outcome names a journal row that does not exist: the batch must fail whole.
        await expect(
          store.journal.record([
            { journalId: id!, state: 'processed', events: [makeEvent({ id: 'evt_atomic_1' })] },
            { journalId: 99_999_999, state: 'processed', events: [makeEvent({ id: 'evt_atomic_2' })] },
          ]),
        ).rejects.toThrow();
        expect(await store.events.get('evt_atomic_1')).toBeUndefined();
        expect((await store.journal.get(id!))?.state).toBe('pending');
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([id]);
      });
    });

    describe('releasing', () => {
      it('hands a released row back pending with an attempt counted; it is then claimed alone', async () => {
        const ids = await store.journal.append([journalInput(), journalInput(), journalInput()]);
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual(ids);
        await store.journal.record([ids[0]!, ids[2]!].map((id) => ({ journalId: id, state: 'quarantined', cause: 'x', events: [] })));
        await store.journal.release([ids[1]!]);
        expect(await store.journal.get(ids[1]!)).toMatchObject({ state: 'pending', attempts: 1 });
        const [late] = await store.journal.append([journalInput()]);
        // The retried row goes alone, and the row after it still flows in the next claim.
        const again = await store.journal.claim(10);
        expect(again.map((r) => [r.id, r.attempts])).toEqual([[ids[1], 1]]);
        await store.journal.release([ids[1]!]);
        expect(await store.journal.get(ids[1]!)).toMatchObject({ state: 'pending', attempts: 2 });
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([ids[1]]);
        await store.journal.record([{ journalId: ids[1]!, state: 'failed', cause: 'boom', events: [] }]);
        expect((await store.journal.get(ids[1]!))?.state).toBe('failed');
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([late]);
      });

      it('leaves a row that is no longer pending as it is', async () => {
        const ids = await store.journal.append([journalInput()]);
        await store.journal.claim(10);
        await store.journal.record([{ journalId: ids[0]!, state: 'quarantined', cause: 'x', events: [] }]);
        await store.journal.release(ids);
        await store.journal.release([]);
        const row = await store.journal.get(ids[0]!);
        expect(row?.state).toBe('quarantined');
        expect(row?.attempts).toBeUndefined();
        expect(await store.journal.claim(10)).toEqual([]);
      });
    });

    describe('recording outcomes', () => {
      it('stores new events with their outcome and reports them in seq order', async () => {
        const e1 = makeEvent({ id: 'evt_a1' });
        const e2 = makeEvent({ id: 'evt_a2', type: 'message.status', messageId: 'wamid.1' });
        const e3 = makeEvent({ id: 'evt_b1', type: 'template.status' });
        const before = Date.now();
        const { ids, result } = await appendAndRecord([
          { state: 'processed', events: [e1, e2] },
          { state: 'processed', events: [e3] },
        ]);
        expect(result.inserted).toBe(3);
        expect(result.duplicates).toBe(0);
        expect(result.recorded.map((r) => r.event.id)).toEqual(['evt_a1', 'evt_a2', 'evt_b1']);
        expect(result.recorded.map((r) => r.journalId)).toEqual([ids[0], ids[0], ids[1]]);
        const seqs = result.recorded.map((r) => r.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(3);

        const row = await store.journal.get(ids[0]!);
        expect(row).toMatchObject({ state: 'processed', eventCount: 2, newEventCount: 2 });
        expect(row!.processedAt).toBeGreaterThanOrEqual(before);
        expect('cause' in row!).toBe(false);
      });

      it('gives a large batch seq values in input order, and an event without a receive date its journal row’s', async () => {
        const rows = Array.from({ length: 30 }, (_, r) => ({
          state: 'processed' as const,
          events: Array.from({ length: 40 }, (_, k) => makeEvent({ id: `evt_big_${r}_${k}`, from: `9198${r}`, receivedAt: T0 + r })),
        }));
        const undated = { ...makeEvent({ id: 'evt_undated' }), receivedAt: 'not a date' } as BluetickEvent;
        rows[7]!.events.splice(5, 0, undated);
        const { ids, result } = await appendAndRecord(rows);
        const order = rows.flatMap((r) => r.events.map((e) => e.id));
        expect(result.recorded.map((r) => r.event.id)).toEqual(order);
        const seqs = result.recorded.map((r) => r.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        const listed = await store.events.list({}, { limit: 2_000 });
        expect(listed.items.map((s) => s.event.id)).toEqual(order);
        // The undated event is found by its row's receive time (journalInput's T0), not by none.
        const row = await store.journal.get(ids[7]!);
        const around = await store.events.list({ journalId: ids[7]!, since: row!.receivedAt, until: row!.receivedAt + 1 }, { limit: 100 });
        expect(around.items.map((s) => s.event.id)).toEqual(['evt_undated']);
      });

      it('keeps events exactly, including integers beyond 2^53', async () => {
        const e = makeEvent({ id: 'evt_big', type: 'template.status' });
        await appendAndRecord([{ state: 'processed', events: [e] }]);
        const stored = await store.events.get('evt_big');
        expect(stored?.event).toEqual(e);
        expect((stored?.event.data as { message_template_id: unknown }).message_template_id).toBe(123456789012345678901n);
      });

      it('marks a redelivered row duplicate and counts the duplicates on the stored events', async () => {
        const e1 = makeEvent({ id: 'evt_r1' });
        const e2 = makeEvent({ id: 'evt_r2' });
        const first = await appendAndRecord([{ state: 'processed', events: [e1, e2] }]);
        const second = await appendAndRecord([{ state: 'processed', events: [e1, e2] }]);
        expect(second.result).toEqual({ inserted: 0, duplicates: 2, recorded: [] });
        expect(await store.journal.get(second.ids[0]!)).toMatchObject({
          state: 'duplicate',
          eventCount: 2,
          newEventCount: 0,
        });
        const stored = await store.events.get('evt_r1');
        expect(stored).toMatchObject({ journalId: first.ids[0], duplicates: 1 });
        await appendAndRecord([{ state: 'processed', events: [e1] }]);
        expect((await store.events.get('evt_r1'))?.duplicates).toBe(2);
        expect((await store.events.get('evt_r2'))?.duplicates).toBe(1);
      });

      it('counts a redelivery inside the same batch as a duplicate', async () => {
        const e = makeEvent({ id: 'evt_same_batch' });
        const { ids, result } = await appendAndRecord([
          { state: 'processed', events: [e] },
          { state: 'processed', events: [e] },
        ]);
        expect(result).toMatchObject({ inserted: 1, duplicates: 1 });
        expect((await store.journal.get(ids[0]!))?.state).toBe('processed');
        expect((await store.journal.get(ids[1]!))?.state).toBe('duplicate');
      });

      it('keeps a row processed when only some of its events are new', async () => {
        await appendAndRecord([{ state: 'processed', events: [makeEvent({ id: 'evt_p1' })] }]);
        const { ids, result } = await appendAndRecord([
          { state: 'processed', events: [makeEvent({ id: 'evt_p1' }), makeEvent({ id: 'evt_p2' })] },
        ]);
        expect(result).toMatchObject({ inserted: 1, duplicates: 1 });
        expect(await store.journal.get(ids[0]!)).toMatchObject({ state: 'processed', eventCount: 2, newEventCount: 1 });
      });

      it('keeps a processed row with no events processed, not duplicate', async () => {
        const { ids } = await appendAndRecord([{ state: 'processed', events: [] }]);
        expect(await store.journal.get(ids[0]!)).toMatchObject({ state: 'processed', eventCount: 0 });
      });

      it('keeps quarantined and failed rows with their cause and their bytes', async () => {
        const body = Buffer.from('not json at all \u00e9');
        const { ids } = await appendAndRecord([
          { state: 'quarantined', cause: 'body is not valid JSON', events: [], input: { body } },
          { state: 'failed', cause: 'normalizer error: boom', events: [] },
        ]);
        const q = await store.journal.get(ids[0]!);
        expect(q).toMatchObject({ state: 'quarantined', cause: 'body is not valid JSON', eventCount: 0 });
        expect(Buffer.compare(q!.body, body)).toBe(0);
        expect(await store.journal.get(ids[1]!)).toMatchObject({ state: 'failed', cause: 'normalizer error: boom' });
      });
    });

    describe('retrying', () => {
      it('puts failed rows back to pending so they are claimed again, even below the claim position', async () => {
        const { ids } = await appendAndRecord([
          { state: 'failed', cause: 'boom', events: [] },
          { state: 'processed', events: [makeEvent({ id: 'evt_ok' })] },
          { state: 'quarantined', cause: 'bad', events: [] },
        ]);
        expect(await store.journal.retry()).toBe(1);
        const row = await store.journal.get(ids[0]!);
        expect(row?.state).toBe('pending');
        expect(row && 'cause' in row).toBe(false);
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([ids[0]]);
      });

      it('puts the given rows back to pending whatever their state', async () => {
        const { ids } = await appendAndRecord([
          { state: 'quarantined', cause: 'bad', events: [] },
          { state: 'quarantined', cause: 'bad', events: [] },
          { state: 'failed', cause: 'boom', events: [] },
        ]);
        expect(await store.journal.retry([ids[1]!])).toBe(1);
        expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([ids[1]]);
        expect((await store.journal.get(ids[2]!))?.state).toBe('failed');
        expect(await store.journal.retry([])).toBe(0);
      });

      it('does not count events again when the same row is normalized again', async () => {
        const e = makeEvent({ id: 'evt_again' });
        const { ids } = await appendAndRecord([{ state: 'processed', events: [e] }]);
        expect(await store.journal.retry(ids)).toBe(1);
        await store.journal.claim(10);
        const result = await store.journal.record([{ journalId: ids[0]!, state: 'processed', events: [e] }]);
        expect(result).toEqual({ inserted: 0, duplicates: 0, recorded: [] });
        expect((await store.events.get('evt_again'))?.duplicates).toBe(0);
        expect(await store.journal.get(ids[0]!)).toMatchObject({ state: 'processed', eventCount: 1, newEventCount: 1 });
      });
    });

    describe('reading events', () => {
      beforeEach(async () => {
        await appendAndRecord([
          {
            state: 'processed',
            events: [
              makeEvent({ id: 'e1', channel: 'one', phoneNumberId: 'P1', from: '111', messageId: 'm1', receivedAt: T0 }),
              makeEvent({ id: 'e2', type: 'message.status', channel: 'one', phoneNumberId: 'P1', messageId: 'm9', receivedAt: T0 }),
            ],
          },
          {
            state: 'processed',
            events: [
              makeEvent({ id: 'e3', channel: 'two', phoneNumberId: 'P2', from: '222', messageId: 'm3', receivedAt: T0 + 1000 }),
              makeEvent({ id: 'e4', type: 'template.status', channel: 'two', receivedAt: T0 + 2000 }),
              makeEvent({ id: 'e5', channel: 'one', phoneNumberId: 'P1', from: '111', messageId: 'm5', receivedAt: T0 + 3000 }),
            ],
          },
        ]);
      });

      const idsOf = (page: { items: Array<{ event: { id: string } }> }) => page.items.map((s) => s.event.id);

      it('returns undefined for an unknown event id', async () => {
        expect(await store.events.get('nope')).toBeUndefined();
      });

      it('lists every event in insertion order without a filter', async () => {
        const page = await store.events.list({}, { limit: 100 });
        expect(idsOf(page)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
        expect(page.next).toBeUndefined();
      });

      it('filters by type, channel, phone number, sender and message id', async () => {
        expect(idsOf(await store.events.list({ type: ['message.status', 'template.status'] }, { limit: 10 }))).toEqual(['e2', 'e4']);
        expect(idsOf(await store.events.list({ channel: 'one' }, { limit: 10 }))).toEqual(['e1', 'e2', 'e5']);
        expect(idsOf(await store.events.list({ phoneNumberId: 'P2' }, { limit: 10 }))).toEqual(['e3']);
        expect(idsOf(await store.events.list({ from: '111' }, { limit: 10 }))).toEqual(['e1', 'e5']);
        expect(idsOf(await store.events.list({ messageId: 'm9' }, { limit: 10 }))).toEqual(['e2']);
        expect(idsOf(await store.events.list({ channel: 'one', type: ['message.received'] }, { limit: 10 }))).toEqual(['e1', 'e5']);
        expect(idsOf(await store.events.list({ channel: 'nowhere' }, { limit: 10 }))).toEqual([]);
      });

      it('filters on receive time: since inclusive, until exclusive', async () => {
        expect(idsOf(await store.events.list({ since: T0 + 1000, until: T0 + 3000 }, { limit: 10 }))).toEqual(['e3', 'e4']);
        expect(idsOf(await store.events.list({ until: T0 }, { limit: 10 }))).toEqual([]);
      });

      it('pages with a cursor and gives `next` only while more rows exist', async () => {
        const p1 = await store.events.list({}, { limit: 2 });
        expect(idsOf(p1)).toEqual(['e1', 'e2']);
        expect(p1.next).toBe(p1.items[1]!.seq);
        const p2 = await store.events.list({}, { limit: 2, after: p1.next! });
        expect(idsOf(p2)).toEqual(['e3', 'e4']);
        const p3 = await store.events.list({}, { limit: 2, after: p2.next! });
        expect(idsOf(p3)).toEqual(['e5']);
        expect(p3.next).toBeUndefined();
        // Exactly `limit` rows left: no `next`.
        const exact = await store.events.list({}, { limit: 3, after: p1.next! });
        expect(idsOf(exact)).toEqual(['e3', 'e4', 'e5']);
        expect(exact.next).toBeUndefined();
      });

      it('pages a filtered list with the filter applied after the cursor', async () => {
        const p1 = await store.events.list({ channel: 'one' }, { limit: 1 });
        const p2 = await store.events.list({ channel: 'one' }, { limit: 1, after: p1.next! });
        const p3 = await store.events.list({ channel: 'one' }, { limit: 1, after: p2.next! });
        expect([...idsOf(p1), ...idsOf(p2), ...idsOf(p3)]).toEqual(['e1', 'e2', 'e5']);
        expect(p3.next).toBeUndefined();
      });
    });

    describe('reading arrivals', () => {
      const WATCHED: EventType[] = ['message.received', 'message.reaction', 'channel.silent'];
      const iso = (ms: number) => new Date(ms).toISOString();
      // Every optional key in some event and missing in another, a type that is not asked
      // for, and a silence notice (the only events whose lastInboundAt is read).
      const events: BluetickEvent[] = [
        {
          id: 'a1', type: 'message.received', provider: 'meta', channel: 'one', receivedAt: iso(T0),
          businessAccountId: '102290129340398', phoneNumberId: 'P1', displayPhoneNumber: '15550100',
          messageId: 'm1', from: '111', kind: 'text', text: 'hello', data: { id: 'a1' },
        },
        { id: 'a2', type: 'message.status', provider: 'meta', channel: 'one', receivedAt: iso(T0), phoneNumberId: 'P1', status: 'read', data: {} },
        { id: 'a3', type: 'message.reaction', provider: 'enablex', channel: 'two', receivedAt: iso(T0 + 1000), emoji: '👍', data: {} },
        watchNoticeEvent(
          {
            bluetick: {
              type: 'channel.silent', provider: 'meta', occurredAt: iso(T0 + 1500), lastInboundAt: iso(T0 - 60_000),
              usualGapMs: 6000, thresholdMs: 60_000, businessAccountId: 'WABA9', phoneNumberId: 'P9', displayPhoneNumber: '15550199',
            },
          },
          'three',
          iso(T0 + 2000),
        )!,
        { id: 'a5', type: 'message.received', provider: 'meta', channel: 'one', receivedAt: iso(T0 + 3000), displayPhoneNumber: '15550100', kind: 'text', data: {} },
      ];

      beforeEach(async () => {
        await appendAndRecord([{ state: 'processed', events: events.slice(0, 2) }, { state: 'processed', events: events.slice(2) }]);
      });

      it('gives the arrival keys of each watched event, with the seq list gives it, without its body', async () => {
        const listed = await store.events.list({ type: WATCHED }, { limit: 10 });
        const page = await store.events.arrivals({ type: WATCHED }, { limit: 10 });
        expect(page.next).toBeUndefined();
        const seqs = listed.items.map((s) => s.seq);
        expect(page.items.map((a) => a.seq)).toEqual(seqs);
        expect(page.items).toEqual([
          {
            seq: seqs[0], type: 'message.received', channel: 'one', provider: 'meta', receivedAt: T0,
            businessAccountId: '102290129340398', phoneNumberId: 'P1', displayPhoneNumber: '15550100',
          },
          { seq: seqs[1], type: 'message.reaction', channel: 'two', provider: 'enablex', receivedAt: T0 + 1000 },
          {
            seq: seqs[2], type: 'channel.silent', channel: 'three', provider: 'meta', receivedAt: T0 + 2000,
            businessAccountId: 'WABA9', phoneNumberId: 'P9', displayPhoneNumber: '15550199', lastInboundAt: iso(T0 - 60_000),
          },
          { seq: seqs[3], type: 'message.received', channel: 'one', provider: 'meta', receivedAt: T0 + 3000, displayPhoneNumber: '15550100' },
        ]);
        // The same as the stored events say.
        expect(page.items).toEqual(listed.items.map((s) => arrivalOf(s.seq, s.event)));
      });

      it('filters on type and receive time and pages by seq like list', async () => {
        const all = await store.events.arrivals({ type: WATCHED }, { limit: 10 });
        const seqs = all.items.map((a) => a.seq);
        const p1 = await store.events.arrivals({ type: WATCHED, since: T0 + 1000 }, { limit: 2 });
        expect(p1.items.map((a) => a.seq)).toEqual(seqs.slice(1, 3));
        expect(p1.next).toBe(seqs[2]);
        const p2 = await store.events.arrivals({ type: WATCHED, since: T0 + 1000 }, { limit: 2, after: p1.next! });
        expect(p2.items.map((a) => a.seq)).toEqual(seqs.slice(3));
        expect(p2.next).toBeUndefined();
        expect((await store.events.arrivals({ type: ['message.status'] }, { limit: 10 })).items.map((a) => a.type)).toEqual(['message.status']);
        expect((await store.events.arrivals({ type: WATCHED }, { limit: 10, after: seqs[3]! })).items).toEqual([]);
      });
    });

    describe('listing the journal', () => {
      it('filters by state and channel and pages by id', async () => {
        const { ids } = await appendAndRecord([
          { state: 'quarantined', cause: 'x', events: [], input: { channel: 'a' } },
          { state: 'processed', events: [], input: { channel: 'a' } },
          { state: 'quarantined', cause: 'x', events: [], input: { channel: 'b' } },
          { state: 'quarantined', cause: 'x', events: [], input: { channel: 'a' } },
        ]);
        const [pendingId] = await store.journal.append([journalInput({ channel: 'a' })]);

        const all = await store.journal.list({}, { limit: 10 });
        expect(all.items.map((r) => r.id)).toEqual([...ids, pendingId]);

        const q = await store.journal.list({ state: ['quarantined'], channel: 'a' }, { limit: 1 });
        expect(q.items.map((r) => r.id)).toEqual([ids[0]]);
        const q2 = await store.journal.list({ state: ['quarantined'], channel: 'a' }, { limit: 1, after: q.next! });
        expect(q2.items.map((r) => r.id)).toEqual([ids[3]]);
        expect(q2.next).toBeUndefined();

        const pending = await store.journal.list({ state: ['pending', 'processed'] }, { limit: 10 });
        expect(pending.items.map((r) => r.id)).toEqual([ids[1], pendingId]);
      });
    });

    describe('rejections', () => {
      it('keeps only the newest `keep` rejections and lists them oldest first with a cursor', async () => {
        const rows = Array.from({ length: 5 }, (_, i) => ({
          at: T0 + i,
          cause: 'unauthorized' as const,
          method: 'POST',
          path: `/webhooks/main?i=${i}`,
          ...(i % 2 === 0 ? { channel: 'main', remoteAddress: '198.51.100.1', detail: 'bad signature' } : {}),
        }));
        await store.rejections.add(rows.slice(0, 3), 4);
        await store.rejections.add(rows.slice(3), 4);
        const p1 = await store.rejections.list({ limit: 3 });
        expect(p1.items.map((r) => r.path)).toEqual(['/webhooks/main?i=1', '/webhooks/main?i=2', '/webhooks/main?i=3']);
        expect(p1.next).toBeDefined();
        const p2 = await store.rejections.list({ limit: 3, after: p1.next! });
        expect(p2.items.map((r) => r.path)).toEqual(['/webhooks/main?i=4']);
        expect(p2.next).toBeUndefined();
        expect(p1.items[0]).toEqual({ id: p1.items[0]!.id, at: T0 + 1, cause: 'unauthorized', method: 'POST', path: '/webhooks/main?i=1' });
        expect(p1.items[1]).toMatchObject({ channel: 'main', remoteAddress: '198.51.100.1', detail: 'bad signature' });
      });
    });

    describe('counts', () => {
      it('starts at zero', async () => {
        const c = await store.counts();
        expect(c).toEqual({
          journal: { pending: 0, processed: 0, duplicate: 0, quarantined: 0, failed: 0 },
          events: 0,
          eventsByType: {},
          rejections: 0,
          lastJournalId: 0,
        });
      });

      it('counts rows by state, events by type, rejections, and the pending lag', async () => {
        await appendAndRecord([
          { state: 'processed', events: [makeEvent({ id: 'c1' }), makeEvent({ id: 'c2', type: 'message.status' })] },
          { state: 'processed', events: [makeEvent({ id: 'c1' })] },
          { state: 'quarantined', cause: 'x', events: [] },
        ]);
        const pendingIds = await store.journal.append([
          journalInput({ receivedAt: T0 + 50 }),
          journalInput({ receivedAt: T0 + 60 }),
        ]);
        await store.rejections.add([{ at: T0, cause: 'payload-too-large', method: 'POST', path: '/webhooks/main' }], 10);
        const c = await store.counts();
        expect(c.journal).toEqual({ pending: 2, processed: 1, duplicate: 1, quarantined: 1, failed: 0 });
        expect(c.events).toBe(2);
        expect(c.eventsByType).toEqual({ 'message.received': 1, 'message.status': 1 });
        expect(c.rejections).toBe(1);
        expect(c.lastJournalId).toBe(pendingIds[1]);
        expect(c.oldestPendingReceivedAt).toBe(T0 + 50);
        // The lag alone, without counting anything: the same oldest pending row.
        expect(await store.journal.oldestPendingAt()).toBe(T0 + 50);
        await store.journal.claim(10);
        await store.journal.record(pendingIds.map((journalId) => ({ journalId, state: 'processed' as const, events: [] })));
        expect(await store.journal.oldestPendingAt()).toBeUndefined();
      });
    });

    describe('deliveries', () => deliveryContract(() => store));

    describe('retention', () => retentionContract(() => store));

    describe('projections', () => projectionContract(() => store));
    describe('identity and coexistence', () => identityContract(() => store));

    describe('account state', () => accountStateContract(() => store));

    describe('storage use', () => usageContract(() => store));

    describe('health', () => {
      it('answers ping while it can take writes', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
