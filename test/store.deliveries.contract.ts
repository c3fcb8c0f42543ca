/**
 * The delivery behaviour every Store backend must share: deliveries created with their
 * events, lanes (one runnable delivery per route and ordering key), leases and their expiry,
 * attempts, dead letters, redrive and replay. Called from `storeContract`, so it runs on
 * each backend; no test runs from this file itself.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../src/events/types.js';
import { parseEventJson } from '../src/events/normalize.js';
import type { AttemptRecord, DeliveryRoute, LeasedDelivery, LeasedEntry, OutcomeEntry } from '../src/store/deliveries.js';
import type { Store } from '../src/store/store.js';

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);

/** An inbound text from `from` to business number `pn`: lane `conversation:<pn>:<from>`. */
function message(id: string, from: string, pn = '1065', overrides: Partial<BluetickEvent> = {}): BluetickEvent {
  return {
    id,
    type: 'message.received',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: pn,
    receivedAt: new Date(T0).toISOString(),
    kind: 'text',
    text: 'hi',
    from,
    data: { id },
    ...overrides,
  } as BluetickEvent;
}

function status(id: string, recipient: string): BluetickEvent {
  return {
    id,
    type: 'message.status',
    provider: 'meta',
    channel: 'main',
    phoneNumberId: '1065',
    receivedAt: new Date(T0).toISOString(),
    status: 'delivered',
    recipientId: recipient,
    data: { id },
  };
}

const ROUTES: DeliveryRoute[] = [
  { name: 'crm', sink: 'crm-http', match: { type: ['message.received'] } },
  { name: 'audit', sink: 'bus' },
];

export function deliveryContract(getStore: () => Store): void {
  let store: Store;
  let now: number;

  beforeEach(() => {
    store = getStore();
    now = Date.now() + 1_000;
  });

  /** One journal row per call, recorded with `events`. */
  async function record(...events: BluetickEvent[]) {
    const [journalId] = await store.journal.append([
      { channel: 'main', receivedAt: T0, headers: {}, body: Buffer.from('{}'), verifiedBy: 'none' },
    ]);
    await store.journal.claim(100);
    return store.journal.record([{ journalId: journalId!, state: 'processed', events }]);
  }

  function lease(owner: string, sinks: string[], limit = 100, at = now, leaseMs = 30_000): Promise<LeasedDelivery[]> {
    return store.deliveries.lease({ owner, now: at, leaseMs, limit, sinks });
  }

  function outcome(
    leased: Pick<LeasedDelivery, 'delivery'>,
    owner: string,
    next: AttemptRecord['next'],
    attempt: Partial<AttemptRecord['attempt']> = {},
  ): AttemptRecord {
    const ok = next.state === 'succeeded';
    return {
      deliveryId: leased.delivery.id,
      owner,
      attempt: { startedAt: now, latencyMs: 12, outcome: ok ? 'success' : next.state === 'dead' ? 'fail' : 'retry', ...attempt },
      next,
      now,
    };
  }

  it('creates no deliveries while no routes are set', async () => {
    await record(message('m1', 'a'));
    expect((await store.deliveries.list({}, { limit: 10 })).items).toEqual([]);
    expect(await lease('w', ['crm-http', 'bus'])).toEqual([]);
  });

  it('creates one delivery per matching route with the new event, none for a duplicate', async () => {
    await store.deliveries.setRoutes(ROUTES);
    const first = await record(message('m1', 'a'), status('s1', 'a'));
    expect(first.inserted).toBe(2);
    await record(message('m1', 'a'));
    const all = (await store.deliveries.list({}, { limit: 10 })).items;
    expect(all.map((d) => [d.eventId, d.route, d.sink])).toEqual([
      ['m1', 'crm', 'crm-http'],
      ['m1', 'audit', 'bus'],
      ['s1', 'audit', 'bus'],
    ]);
    const d = all[0]!;
    expect(d).toMatchObject({
      eventType: 'message.received',
      orderingKey: 'conversation:1065:a',
      origin: 'event',
      state: 'pending',
      blocked: false,
      attempts: 0,
      redrives: 0,
    });
    expect(d.eventSeq).toBe(first.recorded[0]!.seq);
    // The status of the same conversation waits behind the message on the audit route.
    expect(all[2]).toMatchObject({ orderingKey: 'conversation:1065:a', blocked: true });
    expect(d.leaseOwner).toBeUndefined();
  });

  it('leases due deliveries of the given sinks with their events, and not again while leased', async () => {
    await store.deliveries.setRoutes(ROUTES);
    await record(message('m1', 'a'), message('m2', 'b'));
    expect(await lease('w1', ['nowhere'])).toEqual([]);
    const leased = await lease('w1', ['crm-http'], 10, now, 5_000);
    expect(leased.map((l) => l.event.id)).toEqual(['m1', 'm2']);
    expect(leased[0]!.event).toEqual(message('m1', 'a'));
    expect(leased[0]!.delivery).toMatchObject({ state: 'in_flight', leaseOwner: 'w1', leaseExpiresAt: now + 5_000, route: 'crm' });
    expect(await lease('w2', ['crm-http'])).toEqual([]);
    // Not yet due for deliveries created "in the future" relative to the lease clock.
    expect(await store.deliveries.lease({ owner: 'w3', now: 0, leaseMs: 1, limit: 10, sinks: ['bus'] })).toEqual([]);
    // `limit` bounds the batch.
    expect(await lease('w4', ['bus'], 1)).toHaveLength(1);
  });

  it('leases at most each sink\'s own limit, so an older backlog of one sink leaves room for another', async () => {
    await store.deliveries.setRoutes(ROUTES);
    // Every message goes to both sinks, each from its own contact (its own lane); 'bus' also
    // gets the status first, so its deliveries are the oldest due.
    await record(status('s0', 'z'));
    await record(...['a', 'b', 'c', 'd'].map((from, i) => message(`k${i}`, from)));
    const take = (sinkLimits: number[]) =>
      store.deliveries.settle({ owner: 'w', now, outcomes: [], lease: { leaseMs: 30_000, limit: 4, sinks: ['bus', 'crm-http'], sinkLimits } });
    const first = (await take([2, 10])).leased.map((l) => l[3]);
    expect(first.filter((sink) => sink === 'bus')).toHaveLength(2);
    expect(first.filter((sink) => sink === 'crm-http')).toHaveLength(2);
    // A sink with no room is not leased at all; the other still takes only up to `limit`.
    const second = (await take([0, 10])).leased.map((l) => l[3]);
    expect(second).toEqual(['crm-http', 'crm-http']);
    // Without limits per sink, the oldest due go first whatever their sink.
    expect((await lease('w', ['bus', 'crm-http'], 10)).map((l) => l.delivery.sink)).toEqual(['bus', 'bus', 'bus']);
  });

  it('runs one delivery per lane at a time, in order, and lanes side by side', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('a1', 'a'), message('b1', 'b'), message('a2', 'a'));
    await record(message('a3', 'a'), status('b2', 'b'));
    const round1 = await lease('w', ['s']);
    expect(round1.map((l) => l.event.id)).toEqual(['a1', 'b1']);
    expect(await lease('w', ['s'])).toEqual([]);
    const [a1, b1] = round1 as [LeasedDelivery, LeasedDelivery];
    // A retry keeps the lane blocked: a2 must not overtake a1.
    await store.deliveries.recordAttempts([outcome(a1, 'w', { state: 'pending', nextAttemptAt: now + 60_000 }, { statusCode: 503, error: 'HTTP 503' })]);
    expect(await lease('w', ['s'])).toEqual([]);
    // Lane b moves on meanwhile.
    await store.deliveries.recordAttempts([outcome(b1, 'w', { state: 'succeeded' })]);
    const b2 = await lease('w', ['s']);
    expect(b2.map((l) => l.event.id)).toEqual(['b2']);
    await store.deliveries.recordAttempts([outcome(b2[0]!, 'w', { state: 'succeeded' })]);
    expect(await lease('w', ['s'])).toEqual([]);
    const retried = await lease('w', ['s'], 10, now + 60_000);
    expect(retried.map((l) => l.event.id)).toEqual(['a1']);
    expect(retried[0]!.delivery).toMatchObject({ attempts: 1, lastStatusCode: 503, lastError: 'HTTP 503', state: 'in_flight' });
    await store.deliveries.recordAttempts([outcome(retried[0]!, 'w', { state: 'succeeded' })]);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const batch = await lease('w', ['s'], 10, now + 60_000);
      order.push(...batch.map((l) => l.event.id));
      await store.deliveries.recordAttempts(batch.map((l) => outcome(l, 'w', { state: 'succeeded' })));
    }
    expect(order).toEqual(['a2', 'a3']);
  });

  it('settles outcomes and leases the next deliveries in one call, a lane\'s next one included, events as stored text', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('a1', 'a'), message('b1', 'b'), message('a2', 'a'));
    const lease = { leaseMs: 30_000, limit: 10, sinks: ['s'] };
    const success = (entry: LeasedEntry): OutcomeEntry => [entry[0], now, 12, 'success', 204, null, null, null, null, 'succeeded', now];
    expect(await store.deliveries.settle({ owner: 'w', now, outcomes: [] })).toEqual({ applied: [], stale: [], leased: [] });
    const first = await store.deliveries.settle({ owner: 'w', now, outcomes: [], lease });
    expect(first.leased.map((l) => l[1])).toEqual(['a1', 'b1']);
    const [a1, b1] = first.leased as [LeasedEntry, LeasedEntry];
    expect(a1.slice(1, 8)).toEqual(['a1', 'r', 's', 'conversation:1065:a', 0, 0, 'event']);
    expect(parseEventJson(a1[8])).toEqual(message('a1', 'a'));
    expect(await store.deliveries.get(a1[0])).toMatchObject({ state: 'in_flight', leaseOwner: 'w', leaseExpiresAt: now + 30_000 });
    // a1 succeeded: a2 is promoted and leased in the same call. b1's outcome comes from a
    // worker that does not hold its lease: logged, state unchanged.
    const second = await store.deliveries.settle({ owner: 'someone-else', now, outcomes: [success(b1)] });
    expect(second).toEqual({ applied: [], stale: [b1[0]], leased: [] });
    const third = await store.deliveries.settle({ owner: 'w', now, outcomes: [success(a1)], lease });
    expect(third.applied).toEqual([a1[0]]);
    expect(third.leased.map((l) => l[1])).toEqual(['a2']);
    expect(await store.deliveries.get(a1[0])).toMatchObject({ state: 'succeeded', attempts: 1, lastStatusCode: 204, completedAt: now });
    expect((await store.deliveries.get(b1[0]))!).toMatchObject({ state: 'in_flight', leaseOwner: 'w' });
    // A retry with everything an outcome carries; a lease of nothing leases nothing.
    const [a2] = third.leased as [LeasedEntry];
    const retry: OutcomeEntry = [a2[0], now, 30, 'retry', 429, null, 'HTTP 429', 'slow down', 5_000, now + 5_000, now + 1];
    const fourth = await store.deliveries.settle({ owner: 'w', now, outcomes: [retry], lease: { ...lease, limit: 0 } });
    expect(fourth).toEqual({ applied: [a2[0]], stale: [], leased: [] });
    const retried = await store.deliveries.get(a2[0]);
    expect(retried).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: now + 5_000, lastStatusCode: 429, lastError: 'HTTP 429', updatedAt: now + 1 });
    expect(retried!.attemptLog).toEqual([
      expect.objectContaining({ outcome: 'retry', statusCode: 429, error: 'HTTP 429', detail: 'slow down', retryAfterMs: 5_000, latencyMs: 30, owner: 'w' }),
    ]);
    const again = await store.deliveries.settle({ owner: 'w', now: now + 5_000, outcomes: [], lease });
    expect(again.leased.map((l) => [l[1], l[5]])).toEqual([['a2', 1]]);
  });

  it('records a batch of mixed outcomes at once: each as if alone, a stale one logged, every lane moving on', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    // 40 more lanes of two events each: a batch as large as a busy worker's.
    const lanes = Array.from({ length: 40 }, (_, i) => `f${i}`);
    await record(message('a1', 'a'), message('b1', 'b'), message('c1', 'c'), message('d1', 'd'), message('e1', 'e'), ...lanes.map((f) => message(`${f}.1`, f)));
    await record(message('a2', 'a'), message('b2', 'b'), message('c2', 'c'), message('d2', 'd'), ...lanes.map((f) => message(`${f}.2`, f)));
    const [a1, b1, c1, d1, e1, ...more] = await lease('w', ['s']);
    expect([a1, b1, c1, d1, e1].map((l) => l!.event.id)).toEqual(['a1', 'b1', 'c1', 'd1', 'e1']);
    expect(more.map((l) => l.event.id)).toEqual(lanes.map((f) => `${f}.1`));
    const result = await store.deliveries.recordAttempts([
      ...more.map((l) => outcome(l, 'w', { state: 'succeeded' }, { statusCode: 200 })),
      outcome(a1!, 'w', { state: 'succeeded' }, { statusCode: 204 }),
      outcome(b1!, 'w', { state: 'pending', nextAttemptAt: now + 5_000 }, { statusCode: 503, error: 'HTTP 503 Service Unavailable', retryAfterMs: 5_000 }),
      outcome(c1!, 'w', { state: 'dead' }, { statusCode: 400, error: 'HTTP 400', detail: 'bad field \u{1F600}' }),
      outcome(d1!, 'someone-else', { state: 'succeeded' }, { statusCode: 200 }),
      outcome(e1!, 'w', { state: 'pending', nextAttemptAt: now + 1_000 }, { errorCode: 'ECONNRESET', error: 'socket hang up', latencyMs: 7.6 }),
    ]);
    expect(result).toEqual({ applied: [...more, a1, b1, c1, e1].map((l) => l!.delivery.id), stale: [d1!.delivery.id] });
    const a = await store.deliveries.get(a1!.delivery.id);
    expect(a).toMatchObject({ state: 'succeeded', attempts: 1, lastStatusCode: 204, lastAttemptAt: now, completedAt: now, updatedAt: now });
    expect(a!.lastError).toBeUndefined();
    expect(a!.leaseOwner).toBeUndefined();
    const b = await store.deliveries.get(b1!.delivery.id);
    expect(b).toMatchObject({ state: 'pending', blocked: false, attempts: 1, nextAttemptAt: now + 5_000, lastStatusCode: 503, lastError: 'HTTP 503 Service Unavailable' });
    expect(b!.completedAt).toBeUndefined();
    expect(b!.attemptLog).toEqual([
      expect.objectContaining({ outcome: 'retry', statusCode: 503, error: 'HTTP 503 Service Unavailable', retryAfterMs: 5_000, owner: 'w' }),
    ]);
    const c = await store.deliveries.get(c1!.delivery.id);
    expect(c).toMatchObject({ state: 'dead', attempts: 1, lastStatusCode: 400, lastError: 'HTTP 400', completedAt: now });
    expect(c!.holdsLane).toBeUndefined();
    expect(c!.attemptLog).toEqual([expect.objectContaining({ outcome: 'fail', statusCode: 400, detail: 'bad field \u{1F600}' })]);
    const d = await store.deliveries.get(d1!.delivery.id);
    expect(d).toMatchObject({ state: 'in_flight', attempts: 0, leaseOwner: 'w' });
    expect(d!.attemptLog.map((x) => [x.owner, x.outcome, x.statusCode])).toEqual([['someone-else', 'success', 200]]);
    const e = await store.deliveries.get(e1!.delivery.id);
    expect(e).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: now + 1_000, lastError: 'socket hang up' });
    expect(e!.lastStatusCode).toBeUndefined();
    expect(e!.attemptLog).toEqual([expect.objectContaining({ outcome: 'retry', errorCode: 'ECONNRESET', error: 'socket hang up', latencyMs: 8 })]);
    expect(await store.deliveries.get(more[0]!.delivery.id)).toMatchObject({ state: 'succeeded', attempts: 1, lastStatusCode: 200 });
    // Lanes a, c and the 40 moved on; b waits for its retry, d for its owner's outcome.
    const next = await lease('w', ['s']);
    expect(next.map((l) => l.event.id)).toEqual(['a2', 'c2', ...lanes.map((f) => `${f}.2`)]);
    expect(new Set(next.map((l) => l.delivery.updatedAt))).toEqual(new Set([now]));
    expect((await lease('w', ['s'], 100, now + 5_000)).map((l) => l.event.id)).toEqual(['e1', 'b1']);
  });

  it('records a batch larger than any one statement takes, each outcome on its own delivery', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    // 150 lanes: more outcomes in one call than the largest multi-row statement holds.
    const lanes = Array.from({ length: 150 }, (_, i) => `g${i}`);
    await record(...lanes.map((f) => message(`${f}.1`, f)));
    await record(...lanes.map((f) => message(`${f}.2`, f)));
    const first = await lease('w', ['s'], 200);
    expect(first.map((l) => l.event.id)).toEqual(lanes.map((f) => `${f}.1`));
    // Every third one is retried later; the rest succeed, each with its own status.
    const result = await store.deliveries.recordAttempts(
      first.map((l, i) =>
        i % 3 === 0
          ? outcome(l, 'w', { state: 'pending', nextAttemptAt: now + 60_000 }, { statusCode: 500 + (i % 4), error: `HTTP ${500 + (i % 4)}` })
          : outcome(l, 'w', { state: 'succeeded' }, { statusCode: 200 + (i % 7) }),
      ),
    );
    expect(result).toEqual({ applied: first.map((l) => l.delivery.id), stale: [] });
    for (const [i, l] of first.entries()) {
      const d = await store.deliveries.get(l.delivery.id);
      expect(d).toMatchObject({ state: i % 3 === 0 ? 'pending' : 'succeeded', attempts: 1, lastStatusCode: i % 3 === 0 ? 500 + (i % 4) : 200 + (i % 7) });
      expect(d!.attemptLog.map((a) => [a.deliveryId, a.statusCode])).toEqual([[l.delivery.id, i % 3 === 0 ? 500 + (i % 4) : 200 + (i % 7)]]);
    }
    // Only the lanes whose first delivery succeeded move on.
    const next = await lease('w', ['s'], 200);
    expect(next.map((l) => l.event.id)).toEqual(lanes.filter((_, i) => i % 3 !== 0).map((f) => `${f}.2`));
  });

  it('records every attempt and finishes deliveries; a dead one lets its lane move on', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('x1', 'x'), message('x2', 'x'));
    const [x1] = await lease('w', ['s']);
    await store.deliveries.recordAttempts([outcome(x1!, 'w', { state: 'dead' }, { statusCode: 400, error: 'HTTP 400', detail: 'bad field' })]);
    const dead = await store.deliveries.get(x1!.delivery.id);
    expect(dead).toMatchObject({ state: 'dead', attempts: 1, lastStatusCode: 400, completedAt: now });
    expect(dead!.leaseOwner).toBeUndefined();
    expect(dead!.attemptLog).toEqual([
      {
        id: expect.any(Number),
        deliveryId: x1!.delivery.id,
        startedAt: now,
        latencyMs: 12,
        outcome: 'fail',
        statusCode: 400,
        error: 'HTTP 400',
        detail: 'bad field',
        owner: 'w',
      },
    ]);
    const [x2] = await lease('w', ['s']);
    expect(x2!.event.id).toBe('x2');
    await store.deliveries.recordAttempts([outcome(x2!, 'w', { state: 'succeeded' })]);
    expect(await store.deliveries.get(x2!.delivery.id)).toMatchObject({ state: 'succeeded', attempts: 1, completedAt: now });
    expect((await store.deliveries.get(x2!.delivery.id))!.lastError).toBeUndefined();
    expect(await store.deliveries.get(999_999)).toBeUndefined();
  });

  it('logs an attempt from a worker that lost its lease without changing the delivery', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('y1', 'y'));
    const [y1] = await lease('w1', ['s'], 10, now, 1_000);
    // w1 stalls; its lease expires and w2 takes the delivery over.
    const [taken] = await lease('w2', ['s'], 10, now + 1_000, 30_000);
    expect(taken!.delivery).toMatchObject({ id: y1!.delivery.id, leaseOwner: 'w2', attempts: 1 });
    const result = await store.deliveries.recordAttempts([outcome(y1!, 'w1', { state: 'succeeded' })]);
    expect(result).toEqual({ applied: [], stale: [y1!.delivery.id] });
    const d = await store.deliveries.get(y1!.delivery.id);
    expect(d).toMatchObject({ state: 'in_flight', leaseOwner: 'w2' });
    // The lost attempt (lease expired) and w1's late one are both in the log.
    expect(d!.attemptLog.map((a) => [a.owner, a.outcome, a.errorCode])).toEqual([
      ['w1', 'retry', 'lease-expired'],
      ['w1', 'success', undefined],
    ]);
    expect(await store.deliveries.recordAttempts([outcome(taken!, 'w2', { state: 'succeeded' })])).toEqual({ applied: [taken!.delivery.id], stale: [] });
  });

  it('renews and releases leases', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('z1', 'z'), message('q1', 'q'));
    const leased = await lease('w', ['s'], 10, now, 1_000);
    expect(await store.deliveries.renewLeases('w', now + 500, 1_000)).toBe(2);
    expect(await store.deliveries.renewLeases('other', now + 500, 1_000)).toBe(0);
    // Renewed to now + 1500: not expired at now + 1200.
    expect(await lease('w2', ['s'], 10, now + 1_200)).toEqual([]);
    expect(await store.deliveries.release([leased[0]!.delivery.id], 'not-the-owner', now)).toBe(0);
    expect(await store.deliveries.release([leased[0]!.delivery.id], 'w', now)).toBe(1);
    const released = await store.deliveries.get(leased[0]!.delivery.id);
    expect(released).toMatchObject({ state: 'pending', attempts: 0, blocked: false });
    expect(released!.leaseOwner).toBeUndefined();
    expect(released!.attemptLog).toEqual([]);
    expect((await lease('w2', ['s'], 10, now + 1_200)).map((l) => l.event.id)).toEqual(['z1']);
  });

  it('lists and filters deliveries and dead letters, paged by id', async () => {
    await store.deliveries.setRoutes(ROUTES);
    await record(message('m1', 'a'), message('m2', 'b'), status('s1', 'c'));
    const byRoute = await store.deliveries.list({ route: 'audit' }, { limit: 2 });
    expect(byRoute.items.map((d) => d.eventId)).toEqual(['m1', 'm2']);
    expect(byRoute.next).toBe(byRoute.items[1]!.id);
    const rest = await store.deliveries.list({ route: 'audit' }, { limit: 2, after: byRoute.next! });
    expect(rest.items.map((d) => d.eventId)).toEqual(['s1']);
    expect(rest.next).toBeUndefined();
    expect((await store.deliveries.list({ sink: 'crm-http', eventId: 'm2' }, { limit: 10 })).items).toHaveLength(1);
    expect((await store.deliveries.list({ orderingKey: 'conversation:1065:c' }, { limit: 10 })).items.map((d) => d.eventId)).toEqual(['s1']);
    const leased = await lease('w', ['bus']);
    await store.deliveries.recordAttempts(leased.map((l) => outcome(l, 'w', { state: 'dead' })));
    expect((await store.deliveries.list({ state: ['dead'] }, { limit: 10 })).items.map((d) => d.eventId)).toEqual(['m1', 'm2', 's1']);
    expect((await store.deliveries.list({ state: ['pending', 'in_flight'] }, { limit: 10 })).items.map((d) => d.route)).toEqual(['crm', 'crm']);
    expect(await store.deliveries.backlog()).toEqual({
      total: { pending: 2, blocked: 0, inFlight: 0, dead: 3 },
      bySink: { 'crm-http': { pending: 2, blocked: 0, inFlight: 0, dead: 0 }, bus: { pending: 0, blocked: 0, inFlight: 0, dead: 3 } },
    });
  });

  describe('redrive', () => {
    beforeEach(async () => {
      await store.deliveries.setRoutes([{ name: 'r', sink: 's' }, { name: 'other', sink: 's2' }]);
      await record(message('d1', 'd'), message('e1', 'e'));
      const leased = [...(await lease('w', ['s'])), ...(await lease('w', ['s2']))];
      await store.deliveries.recordAttempts(leased.map((l) => outcome(l, 'w', { state: 'dead' })));
    });

    it('puts a dead delivery back to pending with a fresh budget', async () => {
      const [dead] = (await store.deliveries.list({ state: ['dead'], eventId: 'd1', route: 'r' }, { limit: 1 })).items;
      expect(await store.deliveries.redrive({ ids: [dead!.id, 999_999] }, now + 5)).toEqual([dead!.id]);
      const d = await store.deliveries.get(dead!.id);
      expect(d).toMatchObject({ state: 'pending', attempts: 0, redrives: 1, nextAttemptAt: now + 5, blocked: false });
      expect(d!.completedAt).toBeUndefined();
      expect(d!.attemptLog).toHaveLength(1);
      // Redriving something that is not dead changes nothing.
      expect(await store.deliveries.redrive({ ids: [dead!.id] }, now)).toEqual([]);
      expect((await lease('w', ['s'], 10, now + 5)).map((l) => l.delivery.id)).toEqual([dead!.id]);
    });

    it('redrives by filter or all', async () => {
      const byRoute = await store.deliveries.redrive({ filter: { route: 'other' } }, now);
      expect(byRoute).toHaveLength(2);
      const rest = await store.deliveries.redrive({ all: true }, now);
      expect(rest).toHaveLength(2);
      expect((await store.deliveries.list({ state: ['dead'] }, { limit: 10 })).items).toEqual([]);
    });

    it('joins the back of a busy lane', async () => {
      await record(message('d2', 'd'));
      const [d1] = (await store.deliveries.list({ eventId: 'd1', route: 'r' }, { limit: 1 })).items;
      await store.deliveries.redrive({ ids: [d1!.id] }, now);
      expect(await store.deliveries.get(d1!.id)).toMatchObject({ state: 'pending', blocked: true });
      const [d2] = await lease('w', ['s']);
      expect(d2!.event.id).toBe('d2');
      await store.deliveries.recordAttempts([outcome(d2!, 'w', { state: 'succeeded' })]);
      expect((await lease('w', ['s'])).map((l) => l.delivery.id)).toEqual([d1!.id]);
    });
  });

  describe('onDeadLetter: hold', () => {
    beforeEach(async () => {
      await store.deliveries.setRoutes([{ name: 'r', sink: 's', onDeadLetter: 'hold' }]);
      await record(message('h1', 'h'), message('h2', 'h'), message('o1', 'o'));
      const first = await lease('w', ['s']);
      expect(first.map((l) => l.event.id)).toEqual(['h1', 'o1']);
      await store.deliveries.recordAttempts([outcome(first[0]!, 'w', { state: 'dead' }), outcome(first[1]!, 'w', { state: 'succeeded' })]);
    });

    it('keeps the lane waiting behind its dead letter, new events too; other lanes run', async () => {
      const [h1] = (await store.deliveries.list({ eventId: 'h1' }, { limit: 1 })).items;
      expect(h1).toMatchObject({ state: 'dead', holdsLane: true });
      await record(message('h3', 'h'), message('o2', 'o'));
      expect((await lease('w', ['s'])).map((l) => l.event.id)).toEqual(['o2']);
      const lane = (await store.deliveries.list({ orderingKey: h1!.orderingKey }, { limit: 10 })).items;
      expect(lane.map((d) => [d.eventId, d.state, d.blocked])).toEqual([
        ['h1', 'dead', false],
        ['h2', 'pending', true],
        ['h3', 'pending', true],
      ]);
    });

    it('runs the redriven dead letter first, then the rest of its lane in order', async () => {
      const [h1] = (await store.deliveries.list({ eventId: 'h1' }, { limit: 1 })).items;
      expect(await store.deliveries.redrive({ ids: [h1!.id] }, now)).toEqual([h1!.id]);
      const again = await lease('w', ['s']);
      expect(again.map((l) => l.event.id)).toEqual(['h1']);
      expect(again[0]!.delivery.holdsLane).toBeUndefined();
      await store.deliveries.recordAttempts([outcome(again[0]!, 'w', { state: 'succeeded' })]);
      const [h2] = await lease('w', ['s']);
      expect(h2!.event.id).toBe('h2');
    });

    it('lets the lane move on when the dead letter is dropped, which leaves the dead-letter list', async () => {
      const [h1] = (await store.deliveries.list({ eventId: 'h1' }, { limit: 1 })).items;
      expect(await store.deliveries.dropDeadLetters([h1!.id, 999_999], now)).toEqual([h1!.id]);
      expect(await store.deliveries.dropDeadLetters([h1!.id], now)).toEqual([]);
      const dropped = await store.deliveries.get(h1!.id);
      expect(dropped).toMatchObject({ state: 'dead', droppedAt: now });
      expect(dropped!.holdsLane).toBeUndefined();
      expect((await store.deliveries.list({ state: ['dead'], dropped: false }, { limit: 10 })).items).toEqual([]);
      expect((await store.deliveries.list({ state: ['dead'], dropped: true }, { limit: 10 })).items.map((d) => d.id)).toEqual([h1!.id]);
      expect((await store.deliveries.backlog()).total.dead).toBe(0);
      expect(await store.deliveries.redrive({ all: true }, now)).toEqual([]);
      expect(await store.deliveries.redrive({ ids: [h1!.id] }, now)).toEqual([]);
      expect((await lease('w', ['s'])).map((l) => l.event.id)).toEqual(['h2']);
    });
  });

  it('backfills a route from since, once, and leaves events before since alone', async () => {
    await record(message('b1', 'b'), message('b2', 'b'), message('c1', 'c'));
    await store.deliveries.setRoutes([{ name: 'late', sink: 's', backfillSince: T0 + 1 }]);
    expect((await store.deliveries.list({ route: 'late' }, { limit: 10 })).items).toEqual([]);
    await store.deliveries.setRoutes([{ name: 'late', sink: 's', backfillSince: T0 }, { name: 'now', sink: 's2' }]);
    const backfilled = (await store.deliveries.list({ route: 'late' }, { limit: 10 })).items;
    expect(backfilled.map((d) => [d.eventId, d.blocked, d.origin])).toEqual([
      ['b1', false, 'event'],
      ['b2', true, 'event'],
      ['c1', false, 'event'],
    ]);
    expect((await store.deliveries.list({ route: 'now' }, { limit: 10 })).items).toEqual([]);
    // Set again (a restart): nothing more.
    await store.deliveries.setRoutes([{ name: 'late', sink: 's', backfillSince: T0 }]);
    expect((await store.deliveries.list({ route: 'late' }, { limit: 10 })).items).toHaveLength(3);
    expect((await lease('w', ['s'])).map((l) => l.event.id)).toEqual(['b1', 'c1']);
  });

  it('enqueues replays at the back of their lanes and reports missing events', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('p1', 'p'), message('p2', 'p'));
    const result = await store.deliveries.enqueue(
      [
        { eventId: 'p1', route: 'r', sink: 's' },
        { eventId: 'nope', route: 'r', sink: 's' },
      ],
      now,
    );
    expect(result.missing).toEqual(['nope']);
    expect(result.created).toHaveLength(1);
    expect(result.created[0]).toMatchObject({ eventId: 'p1', origin: 'replay', blocked: true, orderingKey: 'conversation:1065:p', state: 'pending' });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const batch = await lease('w', ['s']);
      for (const l of batch) order.push(`${l.event.id}/${l.delivery.origin}`);
      await store.deliveries.recordAttempts(batch.map((l) => outcome(l, 'w', { state: 'succeeded' })));
    }
    expect(order).toEqual(['p1/event', 'p2/event', 'p1/replay']);
    expect(await store.deliveries.enqueue([], now)).toEqual({ created: [], missing: [] });
  });

  it('replays an event to a route as often as asked, while its own delivery stays one; a lookup by event finds them all', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    await record(message('q1', 'q'));
    const twice = [{ eventId: 'q1', route: 'r', sink: 's' }, { eventId: 'q1', route: 'r', sink: 's' }];
    expect((await store.deliveries.enqueue(twice, now)).created).toHaveLength(2);
    expect((await store.deliveries.enqueue(twice.slice(1), now)).created).toHaveLength(1);
    await record(message('q1', 'q'));
    const all = await store.deliveries.list({ eventId: 'q1' }, { limit: 10 });
    expect(all.items.map((d) => d.origin)).toEqual(['event', 'replay', 'replay', 'replay']);
    expect((await store.deliveries.list({ eventId: 'q1', origin: 'replay' }, { limit: 10 })).items).toHaveLength(3);
  });

  it('does not create deliveries when an event is recorded again by the same journal row', async () => {
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    const [journalId] = await store.journal.append([{ channel: 'main', receivedAt: T0, headers: {}, body: Buffer.from('{}'), verifiedBy: 'none' }]);
    await store.journal.claim(10);
    await store.journal.record([{ journalId: journalId!, state: 'processed', events: [message('r1', 'r')] }]);
    await store.journal.retry([journalId!]);
    await store.journal.claim(10);
    await store.journal.record([{ journalId: journalId!, state: 'processed', events: [message('r1', 'r')] }]);
    expect((await store.deliveries.list({}, { limit: 10 })).items).toHaveLength(1);
  });
}
