/**
 * The silence watch when several processes share one PostgreSQL store: each process runs
 * its own watch over the shared events table, both notice the same silence, and it is
 * recorded once (the notices share an event id; the second journal row settles as a
 * duplicate). Clocks are injected; no timers, no sleeps.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { normalize } from '../src/events/normalize.js';
import { Pipeline } from '../src/pipeline.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SilenceWatch } from '../src/watch/watch.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { inboundBody } from './helpers/meta-bodies.js';

const MIN = 60_000;
const settings = { enabled: true, multiple: 10, minimumGapMs: 5 * MIN, minMessages: 5 };

describePostgres('silence watch on a shared PostgreSQL store', () => {
  const schema = schemaName('silence');
  let a: PostgresStore;
  let b: PostgresStore;
  const T0 = Date.UTC(2026, 11, 3, 6);
  let clock = T0;

  beforeAll(async () => {
    a = await openPostgresStore(urlFor(schema), { poolSize: 2 });
    b = await openPostgresStore(urlFor(schema), { poolSize: 2 });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  it('records a silence noticed by two processes once, and its end once', async () => {
    // Six inbound messages a minute apart, journaled as received.
    for (let i = 0; i < 6; i++) {
      const body = inboundBody([{ id: `wamid.PG${i}`, from: '15550001111', text: `m${i}`, at: T0 + i * MIN }]);
      expect(normalize(body, { channel: 'main', receivedAt: T0 + i * MIN }).ok).toBe(true);
      await a.journal.append([{ channel: 'main', receivedAt: T0 + i * MIN, headers: {}, body: Buffer.from(body), verifiedBy: 'meta-signature' }]);
    }
    const pipeline = new Pipeline(a);
    await pipeline.drain();

    const watches = [a, b].map(
      (store) => new SilenceWatch({ store, settings, now: () => clock, append: (row) => store.journal.append([row]) }),
    );
    clock = T0 + 6 * MIN;
    for (const w of watches) expect(await w.tick()).toBe(0);
    // Last message at T0+5min, usual gap 1 min: silent 10 min after it.
    clock = T0 + 15 * MIN + 1;
    for (const w of watches) expect(await w.tick()).toBe(2);
    await pipeline.drain();
    const silent = await a.events.list({ type: ['channel.silent'] }, { limit: 10 });
    expect(silent.items).toHaveLength(2);
    expect(silent.items.map((s) => s.event.occurredAt)).toEqual([new Date(T0 + 15 * MIN).toISOString(), new Date(T0 + 15 * MIN).toISOString()]);
    const journal = await a.journal.list({}, { limit: 100 });
    const notices = journal.items.filter((r) => r.verifiedBy === 'bluetick');
    expect(notices.map((r) => r.state).sort()).toEqual(['duplicate', 'duplicate', 'processed', 'processed']);

    // A message arrives again; each process reports the end, once in the store.
    const body = inboundBody([{ id: 'wamid.PG-back', from: '15550001111', text: 'back', at: T0 + 30 * MIN }]);
    await a.journal.append([{ channel: 'main', receivedAt: T0 + 30 * MIN, headers: {}, body: Buffer.from(body), verifiedBy: 'meta-signature' }]);
    await pipeline.drain();
    clock = T0 + 30 * MIN + 1;
    for (const w of watches) expect(await w.tick()).toBe(2);
    await pipeline.drain();
    const resumed = await a.events.list({ type: ['channel.resumed'] }, { limit: 10 });
    expect(resumed.items.map((s) => (s.event as { silentForMs?: number }).silentForMs)).toEqual([25 * MIN, 25 * MIN]);
    for (const w of watches) await w.close();
  });
});
