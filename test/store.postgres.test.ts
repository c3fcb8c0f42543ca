/**
 * The PostgreSQL store: the shared contract, then what only a shared database has to get
 * right: several processes (here, several stores with their own pools) migrating, claiming,
 * deduplicating and leasing at the same time, leases taken over after expiry, and wake-ups
 * over LISTEN/NOTIFY. Each test file works in its own schema, dropped at the end.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BluetickError } from '../src/errors.js';
import { loadMigrations } from '../src/store/migrate.js';
import { openPostgresStore, PostgresStore, type PostgresStoreOptions } from '../src/store/postgres/postgres-store.js';
import { parsePostgresUrl } from '../src/store/postgres/url.js';
import type { StoreChannel } from '../src/store/store.js';
import { adminQuery, describePostgres, dropSchema, schemaName, truncateSchema, urlFor } from './helpers/postgres.js';
import { journalInput, makeEvent, storeContract } from './store.contract.js';

const contractSchema = schemaName('contract');
let contractMigrated = false;
const schemas = new Set<string>([contractSchema]);

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

describe('PostgreSQL URLs', () => {
  it('takes the schema from ?schema= and runs every session in it', () => {
    const loc = parsePostgresUrl('postgres://app:s3cret@db.internal:5433/bluetick?schema=prod&sslmode=disable');
    expect(loc.schema).toBe('prod');
    const u = new URL(loc.connectionString);
    expect(u.searchParams.get('schema')).toBeNull();
    expect(u.searchParams.get('options')).toBe('-c search_path=prod');
    expect(u.searchParams.get('sslmode')).toBe('disable');
    expect(loc.display).toBe('postgres://app:***@db.internal:5433/bluetick?sslmode=disable&schema=prod');
    expect(loc.channels).toEqual({ journal: 'bluetick.prod.journal', events: 'bluetick.prod.events', deliveries: 'bluetick.prod.deliveries' });
  });

  it('takes the schema from options=-c search_path= and keeps the other options', () => {
    const loc = parsePostgresUrl('postgresql://u@h/db?options=-c%20statement_timeout%3D5s%20-c%20search_path%3Dtenant_a,public');
    expect(loc.schema).toBe('tenant_a');
    expect(new URL(loc.connectionString).searchParams.get('options')).toBe('-c statement_timeout=5s -c search_path=tenant_a');
  });

  it('uses public without a schema, and says so explicitly to the server', () => {
    const loc = parsePostgresUrl('postgres://u@h/db');
    expect(loc.schema).toBe('public');
    expect(new URL(loc.connectionString).searchParams.get('options')).toBe('-c search_path=public');
  });

  it('refuses schema names that would need quoting, and URLs of other databases', () => {
    expect(() => parsePostgresUrl('postgres://u@h/db?schema=Prod')).toThrow(BluetickError);
    expect(() => parsePostgresUrl('postgres://u@h/db?schema=a;drop')).toThrow(/schema/);
    expect(() => parsePostgresUrl('mysql://u@h/db')).toThrow(/postgres:\/\//);
  });

  it('keeps notification channel names within 63 bytes for long schema names', () => {
    const loc = parsePostgresUrl(`postgres://u@h/db?schema=${'s'.repeat(60)}`);
    for (const name of Object.values(loc.channels)) expect(name.length).toBeLessThanOrEqual(63);
    expect(new Set(Object.values(loc.channels)).size).toBe(3);
  });
});

describe('migrations of both dialects', () => {
  it('have the same numbers, so a feature lands in both', async () => {
    const sqlite = (await loadMigrations('sqlite')).map((m) => m.name);
    const postgres = (await loadMigrations('postgres')).map((m) => m.name);
    expect(postgres).toEqual(sqlite);
  });
});

describePostgres('PostgreSQL store', () => {
  // One schema for the contract; every test starts from empty tables with identities restarted.
  storeContract('postgres', async () => {
    if (contractMigrated) await truncateSchema(contractSchema);
    const store = await openPostgresStore(urlFor(contractSchema), { poolSize: 4 });
    contractMigrated = true;
    return { store, cleanup: () => store.close() };
  });

  describe('shared by several processes', () => {
    const open: PostgresStore[] = [];

    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    /** A store on `schema` (fresh when not given), as another process would open it. */
    async function storeOn(schema: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
      schemas.add(schema);
      const store = await openPostgresStore(urlFor(schema), { poolSize: 4, ...opts });
      open.push(store);
      return store;
    }

    async function processes(n: number, opts: PostgresStoreOptions = {}): Promise<PostgresStore[]> {
      const schema = schemaName('shared');
      const first = await storeOn(schema, opts);
      const rest = await Promise.all(Array.from({ length: n - 1 }, () => storeOn(schema, opts)));
      return [first, ...rest];
    }

    it('applies each migration once when processes start together', async () => {
      const schema = schemaName('migrate');
      schemas.add(schema);
      const stores = Array.from({ length: 5 }, () => new PostgresStore(urlFor(schema), { poolSize: 2 }));
      open.push(...stores);
      const results = await Promise.all(stores.map((s) => s.migrate()));
      const names = (await loadMigrations('postgres')).map((m) => m.name);
      expect(results.flatMap((r) => r.applied).sort()).toEqual([...names].sort());
      const rows = await adminQuery<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual((await loadMigrations('postgres')).map((m) => m.version));
    });

    it('reports an unreachable server as a store error naming the URL without its password', async () => {
      const err = await openPostgresStore('postgres://u:topsecret@127.0.0.1:1/db?schema=x', { connectionTimeoutMs: 2_000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BluetickError);
      expect((err as BluetickError).code).toBe('BT_ERR_STORE_UNAVAILABLE');
      expect((err as Error).message).toContain('postgres://u:***@127.0.0.1:1/db');
      expect((err as Error).message).not.toContain('topsecret');
    });

    it('stores bodies as exact bytes', async () => {
      const [store] = await processes(1);
      const body = Buffer.from([0x00, 0x7b, 0xff, 0xfe, 0x0a, 0x00, 0xc3, 0x28]);
      const [id] = await store!.journal.append([journalInput({ body }), journalInput({ body: Buffer.alloc(0) })]);
      expect((await store!.journal.get(id!))!.body.equals(body)).toBe(true);
      expect((await store!.journal.get(id! + 1))!.body.length).toBe(0);
    });

    it('never hands the same journal row to two processes claiming at once', async () => {
      const stores = await processes(3);
      const ids = await stores[0]!.journal.append(Array.from({ length: 300 }, () => journalInput()));
      const claimed = await Promise.all(
        stores.map(async (s) => {
          const mine: number[] = [];
          for (;;) {
            const rows = await s.journal.claim(7);
            if (rows.length === 0) return mine;
            mine.push(...rows.map((r) => r.id));
          }
        }),
      );
      const all = claimed.flat();
      expect(all.length).toBe(300);
      expect(new Set(all).size).toBe(300);
      expect([...all].sort((a, b) => a - b)).toEqual(ids);
    });

    it('takes over rows claimed by a process that stopped renewing, once the lease expired', async () => {
      // A lease far longer than the test, so "not yet expired" cannot turn true by a slow
      // machine; expiry is then made to happen by moving the lease's end into the past (the
      // database's clock is the one leases are measured on).
      const schema = schemaName('lease');
      const a = await storeOn(schema, { journalLeaseMs: 3_600_000 });
      const b = await storeOn(schema, { journalLeaseMs: 3_600_000 });
      const ids = await a.journal.append([journalInput(), journalInput()]);
      expect((await a.journal.claim(10)).map((r) => r.id)).toEqual(ids);
      expect(await b.journal.claim(10)).toEqual([]);
      await adminQuery(`UPDATE ${schema}.journal SET claimed_until = now() - interval '1 second' WHERE claimed_until IS NOT NULL`);
      // Rows of a batch that did not finish come back one at a time, their attempt counted.
      const takenOver = [...(await b.journal.claim(10)), ...(await b.journal.claim(10))];
      expect(takenOver.map((r) => [r.id, r.attempts])).toEqual(ids.map((id) => [id, 1]));
      // Both rows carry the same event: the second is a redelivery.
      const e = makeEvent({ id: 'evt_takeover' });
      const first = await b.journal.record(ids.map((id) => ({ journalId: id, state: 'processed' as const, events: [e] })));
      expect(first).toMatchObject({ inserted: 1, duplicates: 1 });
      // The slow process finishes late: its outcome for rows already recorded is dropped, so
      // nothing is counted twice.
      const late = await a.journal.record(ids.map((id) => ({ journalId: id, state: 'processed' as const, events: [e] })));
      expect(late).toEqual({ inserted: 0, duplicates: 0, recorded: [] });
      expect(await a.events.get('evt_takeover')).toMatchObject({ journalId: ids[0], duplicates: 1 });
      expect((await a.counts()).journal).toMatchObject({ processed: 1, duplicate: 1, pending: 0 });
    });

    it('hands a closing process’s claimed rows to the others at once', async () => {
      const [a, b] = await processes(2);
      const ids = await a!.journal.append([journalInput(), journalInput()]);
      await a!.journal.claim(10);
      await a!.close();
      expect((await b!.journal.claim(10)).map((r) => r.id)).toEqual(ids);
    });

    it('stores each event once when two processes record the same redelivery at the same moment', async () => {
      const stores = await processes(4);
      const events = Array.from({ length: 50 }, (_, i) => makeEvent({ id: `evt_race_${i}`, messageId: `wamid.${i}`, from: '111' }));
      // The same POST journaled by each process (a redelivery to every instance).
      await Promise.all(stores.map((s) => s.journal.append([journalInput()])));
      const claimed = await Promise.all(stores.map((s) => s.journal.claim(1)));
      expect(claimed.map((rows) => rows.length)).toEqual([1, 1, 1, 1]);
      const results = await Promise.all(
        stores.map((s, i) => s.journal.record(claimed[i]!.map((r) => ({ journalId: r.id, state: 'processed' as const, events })))),
      );
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(50);
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(150);
      const counts = await stores[0]!.counts();
      expect(counts.events).toBe(50);
      expect(counts.journal).toMatchObject({ processed: 1, duplicate: 3, pending: 0 });
      for (const e of events.slice(0, 5)) expect((await stores[0]!.events.get(e.id))?.duplicates).toBe(3);
      // The projections saw each new event once.
      expect((await stores[0]!.projections.counts()).messages.total).toBe(50);
    });

    it('hands out seq values in commit order, so a reader paging by seq misses nothing', async () => {
      const stores = await processes(3);
      const writers = stores.map(async (s, w) => {
        for (let round = 0; round < 15; round++) {
          const [id] = await s.journal.append([journalInput()]);
          const events = Array.from({ length: 3 }, (_, k) => makeEvent({ id: `evt_order_${w}_${round}_${k}` }));
          await s.journal.record([{ journalId: id!, state: 'processed', events }]);
        }
      });
      const seen: number[] = [];
      let done = false;
      const reader = (async () => {
        let after = 0;
        for (;;) {
          // Only a page read after the last commit returned may end the loop: one that was
          // already running when the writers finished can miss their last events.
          const last = done;
          const page = await stores[0]!.events.list({}, { after, limit: 50 });
          for (const item of page.items) seen.push(item.seq);
          if (page.items.length > 0) after = page.items[page.items.length - 1]!.seq;
          else if (last) break;
        }
      })();
      await Promise.all(writers);
      done = true;
      await reader;
      expect(seen).toHaveLength(135);
      expect(new Set(seen).size).toBe(135);
    });

    it('wakes subscribers in other processes on journal appends, new events and deliveries', async () => {
      const [a, b] = await processes(2);
      const heard: StoreChannel[] = [];
      const waiters = new Map<StoreChannel, () => void>();
      const heardOn = (channel: StoreChannel) =>
        new Promise<void>((resolve) => {
          waiters.set(channel, resolve);
        });
      for (const channel of ['journal', 'events', 'deliveries'] as const) {
        b!.subscribe(channel, () => {
          heard.push(channel);
          waiters.get(channel)?.();
        });
      }
      await b!.listening();
      await a!.deliveries.setRoutes([{ name: 'all', sink: 'hook' }]);

      const journal = heardOn('journal');
      const [id] = await a!.journal.append([journalInput()]);
      await journal;
      const events = heardOn('events');
      const deliveries = heardOn('deliveries');
      await a!.journal.claim(1);
      await a!.journal.record([{ journalId: id!, state: 'processed', events: [makeEvent({ id: 'evt_wake' })] }]);
      await Promise.all([events, deliveries]);
      expect(heard).toEqual(expect.arrayContaining(['journal', 'events', 'deliveries']));
    });

    it('keeps each lane in order and never leases a delivery twice with workers in several processes', async () => {
      const stores = await processes(3);
      for (const s of stores) await s.deliveries.setRoutes([{ name: 'all', sink: 'hook' }]);
      // 6 conversations x 8 messages, recorded in one order.
      const ids = await stores[0]!.journal.append(Array.from({ length: 48 }, () => journalInput()));
      await stores[0]!.journal.claim(48);
      await stores[0]!.journal.record(
        ids.map((id, i) => ({
          journalId: id,
          state: 'processed' as const,
          events: [makeEvent({ id: `evt_lane_${i}`, from: `contact${i % 6}`, phoneNumberId: 'P1', messageId: `wamid.${i}` })],
        })),
      );
      const delivered: Array<{ key: string; seq: number; worker: number }> = [];
      const leasedTwice: number[] = [];
      const inFlight = new Set<number>();
      await Promise.all(
        stores.map(async (s, w) => {
          // Until every delivery is recorded (not until a quiet spell): the test's timeout bounds it.
          while (delivered.length < 48) {
            const leased = await s.deliveries.lease({ owner: `w${w}`, now: Date.now(), leaseMs: 30_000, limit: 4, sinks: ['hook'] });
            if (leased.length === 0) {
              // Nothing free now (the rest is leased or waits behind its lane): look again shortly.
              await new Promise((r) => setTimeout(r, 10));
              continue;
            }
            for (const l of leased) {
              if (inFlight.has(l.delivery.id)) leasedTwice.push(l.delivery.id);
              inFlight.add(l.delivery.id);
            }
            // Hold the leases a moment, as a sink would, so the other workers lease meanwhile.
            await new Promise((r) => setTimeout(r, 2));
            for (const l of leased) {
              delivered.push({ key: l.delivery.orderingKey, seq: l.delivery.eventSeq, worker: w });
              inFlight.delete(l.delivery.id);
            }
            const now = Date.now();
            await s.deliveries.recordAttempts(
              leased.map((l) => ({
                deliveryId: l.delivery.id,
                owner: `w${w}`,
                attempt: { startedAt: now, latencyMs: 1, outcome: 'success' as const, statusCode: 200 },
                next: { state: 'succeeded' as const },
                now,
              })),
            );
          }
        }),
      );
      expect(leasedTwice).toEqual([]);
      expect(delivered).toHaveLength(48);
      const byLane = new Map<string, number[]>();
      for (const d of delivered) byLane.set(d.key, [...(byLane.get(d.key) ?? []), d.seq]);
      expect(byLane.size).toBe(6);
      for (const seqs of byLane.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(delivered.map((d) => d.worker)).size).toBeGreaterThan(1);
    });

    it('takes over a delivery whose worker died, logging the lost attempt', async () => {
      const [a, b] = await processes(2);
      for (const s of [a!, b!]) await s.deliveries.setRoutes([{ name: 'all', sink: 'hook' }]);
      const [id] = await a!.journal.append([journalInput()]);
      await a!.journal.claim(1);
      await a!.journal.record([{ journalId: id!, state: 'processed', events: [makeEvent({ id: 'evt_dead_worker' })] }]);
      const t0 = Date.now();
      const [leased] = await a!.deliveries.lease({ owner: 'dies', now: t0, leaseMs: 1_000, limit: 1, sinks: ['hook'] });
      expect(await b!.deliveries.lease({ owner: 'b', now: t0 + 500, leaseMs: 1_000, limit: 1, sinks: ['hook'] })).toEqual([]);
      const [taken] = await b!.deliveries.lease({ owner: 'b', now: t0 + 1_000, leaseMs: 1_000, limit: 1, sinks: ['hook'] });
      expect(taken?.delivery).toMatchObject({ id: leased!.delivery.id, leaseOwner: 'b', attempts: 1 });
      const full = await b!.deliveries.get(leased!.delivery.id);
      expect(full?.attemptLog).toEqual([expect.objectContaining({ errorCode: 'lease-expired', owner: 'dies', outcome: 'retry' })]);
    });
  });
});
