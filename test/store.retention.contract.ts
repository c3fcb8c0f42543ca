/**
 * Retention every Store backend must share: per data class, what is past its cutoff is
 * deleted or redacted in small batches (a batch of 2 here, so every test crosses batch
 * boundaries and resumes from the stored cursor), nothing younger is touched, and a journal
 * row the pipeline has not settled keeps its body. Called from `storeContract`; no test runs
 * from this file itself.
 */
import { beforeEach, expect, it } from 'vitest';
import type { BluetickEvent } from '../src/events/types.js';
import type { RetentionClass } from '../src/retention/policy.js';
import type { Store } from '../src/store/store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const OLD = NOW - 100 * DAY;
const YOUNG = NOW - DAY;
const CUTOFF = NOW - 30 * DAY;

function inbound(id: string, from: string, text: string, at: number): BluetickEvent {
  return {
    id: `ev-${id}`,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '1065',
    receivedAt: new Date(at).toISOString(),
    occurredAt: new Date(at - 1000).toISOString(),
    messageId: id,
    from,
    contactName: 'Asha',
    kind: 'image',
    text,
    data: { id, from, timestamp: String(Math.floor(at / 1000)), type: 'image', image: { id: `media-${id}`, caption: text, mime_type: 'image/jpeg' } },
  } as BluetickEvent;
}

function status(id: string, recipient: string, at: number): BluetickEvent {
  return {
    id: `ev-${id}`,
    type: 'message.status',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '1065',
    receivedAt: new Date(at).toISOString(),
    occurredAt: new Date(at - 1000).toISOString(),
    messageId: `wamid.out-${id}`,
    status: 'delivered',
    recipientId: recipient,
    data: { id: `wamid.out-${id}`, status: 'delivered', recipient_id: recipient },
  } as BluetickEvent;
}

export function retentionContract(getStore: () => Store): void {
  let store: Store;

  beforeEach(() => {
    store = getStore();
  });

  /** One journal row received at `at`, recorded with `events`. */
  async function record(at: number, ...events: BluetickEvent[]): Promise<number> {
    const [journalId] = await store.journal.append([{ channel: 'main', receivedAt: at, headers: { 'x-hub-signature-256': 'sha256=00' }, body: Buffer.from('{"entry":[]}'), verifiedBy: 'meta-signature' }]);
    await store.journal.claim(100);
    await store.journal.record([{ journalId: journalId!, state: 'processed', events }]);
    return journalId!;
  }

  /** Every batch of a class with batches of 2, until the store says there is no more. */
  async function prune(cls: RetentionClass, limit = 2): Promise<number> {
    let total = 0;
    for (;;) {
      const { count, more } = await store.pruneRetention({ class: cls, cutoff: CUTOFF, limit, now: NOW });
      total += count;
      if (!more) return total;
    }
  }

  const dryRun = async (cls: RetentionClass) => (await store.pruneRetention({ class: cls, cutoff: CUTOFF, limit: 2, now: NOW }, true)).count;

  it('deletes old raw bodies only once the pipeline settled them, and never a young one', async () => {
    const ids = await store.journal.append([
      { channel: 'main', receivedAt: OLD, headers: { a: '1' }, body: Buffer.from('{"old":1}'), verifiedBy: 'none' },
      { channel: 'main', receivedAt: OLD + 1, headers: { a: '2' }, body: Buffer.from('{"old":2}'), verifiedBy: 'none' },
      { channel: 'main', receivedAt: OLD + 2, headers: { a: '3' }, body: Buffer.from('{"old":3}'), verifiedBy: 'none' },
      { channel: 'main', receivedAt: OLD + 3, headers: { a: '4' }, body: Buffer.from('{"old":4}'), verifiedBy: 'none' },
      { channel: 'main', receivedAt: YOUNG, headers: { a: '5' }, body: Buffer.from('{"young":5}'), verifiedBy: 'none' },
    ]);
    const [a, b, c, d, e] = ids as [number, number, number, number, number];
    await store.journal.claim(100);
    // Row c is claimed but not recorded: still pending, as during a pipeline batch.
    await store.journal.record([
      { journalId: a, state: 'processed', events: [] },
      { journalId: b, state: 'failed', cause: 'boom', events: [] },
      { journalId: d, state: 'quarantined', cause: 'not JSON', events: [] },
      { journalId: e, state: 'processed', events: [] },
    ]);

    expect(await dryRun('rawBodies')).toBe(2);
    expect((await store.journal.get(a))!.body.length).toBeGreaterThan(0);
    expect(await prune('rawBodies')).toBe(2);
    for (const id of [a, b]) {
      const row = (await store.journal.get(id))!;
      expect(row.body.length).toBe(0);
      expect(row.headers).toEqual({});
      expect(row.state).not.toBe('pending');
    }
    // The pending row and everything after it are untouched.
    expect((await store.journal.get(c))!.body.toString()).toBe('{"old":3}');
    expect((await store.journal.get(c))!.state).toBe('pending');
    expect((await store.journal.get(d))!.body.toString()).toBe('{"old":4}');
    expect((await store.journal.get(e))!.body.toString()).toBe('{"young":5}');
    // A pruned failed row is not retried: its body is gone.
    expect(await store.journal.retry([b])).toBe(0);

    // Once the pipeline settles it, the next pass takes it and the quarantined one, still not the young one.
    await store.journal.record([{ journalId: c, state: 'processed', events: [] }]);
    expect(await prune('rawBodies')).toBe(2);
    expect((await store.journal.get(c))!.body.length).toBe(0);
    expect((await store.journal.get(d))!.body.length).toBe(0);
    expect((await store.journal.get(e))!.body.toString()).toBe('{"young":5}');
    expect(await prune('rawBodies')).toBe(0);
  });

  it('redacts old message content in the event, its message and conversation rows and search, and keeps ids, type and times', async () => {
    for (let i = 0; i < 3; i++) await record(OLD + i, inbound(`wamid.old${i}`, `1555000000${i}`, `papaya secret ${i}`, OLD + i));
    await record(OLD + 10, status('s-old', '15550009999', OLD + 10));
    await record(YOUNG, inbound('wamid.young', '15550000001', 'mango fresh', YOUNG));
    // What the business's own code recorded sending (POST /api/outbound) holds content too.
    await store.outbound.record([{ messageId: 'wamid.ob-old', to: '15550000002', text: 'guava offer' }], OLD, 'library');
    await store.outbound.record([{ messageId: 'wamid.ob-young', to: '15550000002', text: 'lychee offer' }], YOUNG, 'library');
    await store.search.index(1000);
    expect((await store.search.query(['papaya'], undefined, 10)).length).toBe(3);
    expect((await store.search.query(['guava'], undefined, 10)).length).toBe(1);

    expect(await dryRun('messageContent')).toBe(4);
    expect(await prune('messageContent')).toBe(4);
    const [obOld] = await store.outbound.get(['wamid.ob-old']);
    expect(obOld!.text).toBeUndefined();
    expect(obOld!.to).toBe('15550000002');
    expect((await store.outbound.get(['wamid.ob-young']))[0]!.text).toBe('lychee offer');
    expect(await store.search.query(['guava'], undefined, 10)).toEqual([]);
    expect((await store.search.query(['lychee'], undefined, 10)).length).toBe(1);

    const old = (await store.events.get('ev-wamid.old0'))!.event as unknown as Record<string, unknown>;
    expect(old.text).toBeUndefined();
    expect(old.data).toEqual({ id: 'wamid.old0', from: '15550000000', timestamp: String(Math.floor(OLD / 1000)), type: 'image' });
    expect(old).toMatchObject({ id: 'ev-wamid.old0', type: 'message.received', messageId: 'wamid.old0', from: '15550000000', kind: 'image' });
    expect(old.receivedAt).toBe(new Date(OLD).toISOString());
    expect(JSON.stringify(old)).not.toContain('papaya');
    expect(JSON.stringify(old)).not.toContain('media-');
    const message = (await store.projections.getMessage('wamid.old0'))!;
    expect(message.inbound!.text).toBeUndefined();
    expect(message.inbound!.kind).toBe('image');
    expect(JSON.stringify((await store.projections.listConversations({}, { limit: 10 })).items)).not.toContain('papaya');
    expect(await store.search.query(['papaya'], undefined, 10)).toEqual([]);

    // The status event is not content; the young message keeps everything.
    expect((await store.events.get('ev-s-old'))!.event.data).toEqual({ id: 'wamid.out-s-old', status: 'delivered', recipient_id: '15550009999' });
    const young = (await store.events.get('ev-wamid.young'))!.event as unknown as Record<string, unknown>;
    expect(young.text).toBe('mango fresh');
    expect(JSON.stringify(young.data)).toContain('media-wamid.young');
    expect((await store.projections.getMessage('wamid.young'))!.inbound!.text).toBe('mango fresh');
    const youngConversation = await store.projections.getConversation((await store.projections.getMessage('wamid.young'))!.conversationKey!);
    expect(youngConversation!.lastInbound!.text).toBe('mango fresh');
    expect((await store.search.query(['mango'], undefined, 10)).length).toBe(1);
    // Redacted rows are not redacted again.
    expect(await prune('messageContent')).toBe(0);
  });

  it('deletes old statuses whose deliveries succeeded, keeps dead letters, and waits for running deliveries', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's', match: { type: ['message.status'] } }]);
    await record(OLD, status('s1', '15550000001', OLD));
    await record(OLD + 1, status('s2', '15550000002', OLD + 1));
    await record(OLD + 2, status('s3', '15550000003', OLD + 2));
    await record(OLD + 3, status('s4', '15550000004', OLD + 3));
    await record(YOUNG, status('s5', '15550000005', YOUNG));
    const leased = await store.deliveries.lease({ owner: 'w', now: Date.now() + 1_000, leaseMs: 30_000, limit: 10, sinks: ['s'] });
    const byEvent = new Map(leased.map((l) => [l.delivery.eventId, l.delivery.id]));
    expect(byEvent.size).toBe(5);
    const attempt = { startedAt: NOW, latencyMs: 5, outcome: 'success' as const };
    await store.deliveries.recordAttempts([
      { deliveryId: byEvent.get('ev-s1')!, owner: 'w', attempt, next: { state: 'succeeded' }, now: NOW },
      { deliveryId: byEvent.get('ev-s2')!, owner: 'w', attempt: { ...attempt, outcome: 'fail' }, next: { state: 'dead' }, now: NOW },
      { deliveryId: byEvent.get('ev-s4')!, owner: 'w', attempt, next: { state: 'succeeded' }, now: NOW },
      { deliveryId: byEvent.get('ev-s5')!, owner: 'w', attempt, next: { state: 'succeeded' }, now: NOW },
    ]);

    // s3's delivery is still running: the walk stops there (s4 waits for it).
    expect(await prune('statuses')).toBe(1);
    expect(await store.events.get('ev-s1')).toBeUndefined();
    expect(await store.deliveries.get(byEvent.get('ev-s1')!)).toBeUndefined();
    expect(await store.events.get('ev-s2')).toBeDefined();
    expect(await store.events.get('ev-s3')).toBeDefined();
    expect(await store.events.get('ev-s4')).toBeDefined();

    await store.deliveries.recordAttempts([{ deliveryId: byEvent.get('ev-s3')!, owner: 'w', attempt, next: { state: 'succeeded' }, now: NOW }]);
    expect(await prune('statuses')).toBe(2);
    expect(await store.events.get('ev-s3')).toBeUndefined();
    expect(await store.events.get('ev-s4')).toBeUndefined();
    // The dead letter keeps its event; the young status stays.
    expect((await store.deliveries.get(byEvent.get('ev-s2')!))!.state).toBe('dead');
    expect(await store.events.get('ev-s2')).toBeDefined();
    expect(await store.events.get('ev-s5')).toBeDefined();
    // The message row keeps the status the events gave it.
    expect((await store.projections.getMessage('wamid.out-s1'))!.status).toBe('delivered');
  });

  it('deletes old template events and keeps the template row and young events', async () => {
    const template = (id: string, status: string, at: number): BluetickEvent =>
      ({
        id,
        type: 'template.status',
        provider: 'meta',
        channel: 'main',
        businessAccountId: '1029',
        receivedAt: new Date(at).toISOString(),
        occurredAt: new Date(at).toISOString(),
        templateId: '123456789012345678901',
        templateName: 'order_update',
        language: 'en_US',
        status,
        data: { event: status, message_template_id: 123456789012345678901n },
      }) as BluetickEvent;
    await record(OLD, template('t-old', 'APPROVED', OLD));
    await record(OLD + 1, inbound('wamid.keep', '15550000001', 'not an account event', OLD + 1));
    await record(YOUNG, template('t-young', 'PAUSED', YOUNG));
    expect(await dryRun('accountEvents')).toBe(1);
    expect(await prune('accountEvents')).toBe(1);
    expect(await store.events.get('t-old')).toBeUndefined();
    expect(await store.events.get('ev-wamid.keep')).toBeDefined();
    expect(await store.events.get('t-young')).toBeDefined();
    const templates = (await store.projections.listTemplates({}, { limit: 10 })).items;
    expect(templates).toHaveLength(1);
    expect(templates[0]!.status).toBe('PAUSED');
  });

  it('deletes succeeded deliveries completed before the cutoff with their attempts, and keeps dead and young ones', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    for (let i = 0; i < 5; i++) await record(OLD + i, inbound(`wamid.d${i}`, `1555000010${i}`, 'hi', OLD + i));
    const leased = await store.deliveries.lease({ owner: 'w', now: Date.now() + 1_000, leaseMs: 30_000, limit: 10, sinks: ['s'] });
    const ids = leased.map((l) => l.delivery.id);
    expect(ids).toHaveLength(5);
    const ok = (id: number, at: number) => ({ deliveryId: id, owner: 'w', attempt: { startedAt: at, latencyMs: 5, outcome: 'success' as const }, next: { state: 'succeeded' as const }, now: at });
    await store.deliveries.recordAttempts([
      ok(ids[0]!, OLD + 10),
      ok(ids[1]!, OLD + 11),
      ok(ids[2]!, OLD + 12),
      { deliveryId: ids[3]!, owner: 'w', attempt: { startedAt: OLD, latencyMs: 5, outcome: 'fail' }, next: { state: 'dead' }, now: OLD + 13 },
      ok(ids[4]!, YOUNG),
    ]);
    expect(await dryRun('deliveries')).toBe(3);
    expect(await prune('deliveries')).toBe(3);
    for (const id of ids.slice(0, 3)) expect(await store.deliveries.get(id)).toBeUndefined();
    expect((await store.deliveries.get(ids[3]!))!.attemptLog).toHaveLength(1);
    expect((await store.deliveries.get(ids[4]!))!.state).toBe('succeeded');
    // The events stay (their class has its own limit).
    expect(await store.events.get('ev-wamid.d0')).toBeDefined();
  });

  it('deletes rejections refused before the cutoff', async () => {
    const row = (at: number) => ({ at, cause: 'unauthorized' as const, method: 'POST', path: '/webhooks/main' });
    await store.rejections.add([row(OLD), row(OLD + 1), row(OLD + 2), row(YOUNG)], 100);
    expect(await dryRun('rejections')).toBe(3);
    expect(await prune('rejections')).toBe(3);
    expect((await store.rejections.list({ limit: 10 })).items.map((r) => r.at)).toEqual([YOUNG]);
  });
}
