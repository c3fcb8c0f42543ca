/**
 * Projections in the SQLite store: filled through the real ingest path (signed POSTs, the
 * pipeline), then dropped and rebuilt from the events; the tables must come back byte for
 * byte. Plus a store-level property: whatever the batching, order and duplication of status
 * notifications, the stored rows are what the pure reducers give.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import type { BluetickEvent } from '../src/events/types.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { applyEvents, emptyState } from '../src/projections/index.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { loadMigrations, runMigrations } from '../src/store/migrate.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { serializeEvent } from '../src/events/normalize.js';
import type { Store, StoredEvent } from '../src/store/store.js';
import { dumpProjections, scenarioBodies } from './helpers/scenario.js';
import { journalInput } from './store.contract.js';
import { status } from './store.projections.contract.js';

const SECRET = 'rebuild-secret';
async function allEvents(store: Store): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await store.events.list({}, after === undefined ? { limit: 1000 } : { after, limit: 1000 });
    out.push(...page.items);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

describe('projections through real ingest', () => {
  let dir: string;
  let running: ServerInternals;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-rebuild-'));
    const { config, errors } = resolveConfig({
      written: { server: { port: 0, dataDir: dir }, channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }] },
      cwd: dir,
      env: {},
    });
    expect(errors).toEqual([]);
    running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 } });
  });

  afterEach(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rebuilds exactly the incrementally built tables, byte for byte', async () => {
    const bodies = scenarioBodies(7, 120);
    // Concurrent POSTs, so the pipeline records batches of several rows.
    for (let i = 0; i < bodies.length; i += 16) {
      const statuses = await Promise.all(
        bodies.slice(i, i + 16).map(async (body) => {
          const res = await fetch(`${running.webhookUrls.meta}`, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(body, SECRET) }, body });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    await running.pipeline.drain();
    const file = join(dir, 'bluetick.db');
    const incremental = dumpProjections(file);
    const counts = await running.store.counts();
    expect(counts.journal.duplicate).toBeGreaterThan(0);

    const result = await running.store.projections.rebuild({ batchSize: 37 });
    expect(result.events).toBe(counts.events);
    expect(result.batches).toBe(Math.floor(counts.events / 37) + 1);
    expect(dumpProjections(file)).toBe(incremental);

    // And both are what the pure reducers give over the events in seq order.
    const expected = applyEvents(emptyState(), (await allEvents(running.store)).map((s) => s.event));
    const db = new Database(file, { readonly: true });
    try {
      const rows = (t: string) => db.prepare<[], string>(`SELECT row FROM ${t} ORDER BY pos`).pluck().all();
      expect(rows('proj_messages')).toHaveLength(expected.messages.size);
      expect(new Set(rows('proj_messages'))).toEqual(new Set([...expected.messages.values()].map((r) => JSON.stringify(r))));
      expect(new Set(rows('proj_conversations'))).toEqual(new Set([...expected.conversations.values()].map((r) => JSON.stringify(r))));
      expect(new Set(rows('proj_contacts'))).toEqual(new Set([...expected.contacts.values()].map((r) => JSON.stringify(r))));
      expect(new Set(rows('proj_templates'))).toEqual(new Set([...expected.templates.values()].map((r) => JSON.stringify(r))));
      expect(new Set(rows('proj_reactions'))).toEqual(new Set([...expected.reactions.values()].map((r) => JSON.stringify(r))));
    } finally {
      db.close();
    }
  });
});

describe('projections in the store (property)', () => {
  it('stores what the reducers give, whatever the batching, order and duplication, and rebuilds to the same bytes', async () => {
    const STEPS = ['sent', 'delivered', 'read', 'played', 'failed', 'deleted'];
    const statusArb = fc.record({
      message: fc.integer({ min: 0, max: 2 }),
      step: fc.constantFrom(...STEPS),
      second: fc.integer({ min: 0, max: 30 }),
      n: fc.integer({ min: 0, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(statusArb, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 10 }), async (specs, cuts) => {
        const store = new SqliteStore(':memory:', { checkpointIntervalMs: 0 });
        try {
          await store.migrate();
          const events = specs.map((s) =>
            status({
              id: `evt_${s.message}_${s.step}_${s.n}`,
              at: Date.UTC(2025, 0, 1, 0, 0, s.second),
              messageId: `m${s.message}`,
              to: `c${s.message % 2}`,
              status: s.step,
              ...(s.step === 'failed' ? { errorCodes: [s.n] } : {}),
            }),
          );
          // Record in batches of varying sizes; ids repeated across batches are duplicates.
          let i = 0;
          let c = 0;
          while (i < events.length) {
            const size = cuts[c++ % cuts.length]!;
            const batch = events.slice(i, i + size);
            i += size;
            const [id] = await store.journal.append([journalInput()]);
            await store.journal.claim(1);
            await store.journal.record([{ journalId: id!, state: 'processed', events: batch }]);
          }
          const stored = (await store.events.list({}, { limit: 1000 })).items.map((s) => s.event);
          const expected = applyEvents(emptyState(), stored as BluetickEvent[]);
          for (const [id, row] of expected.messages) expect(await store.projections.getMessage(id)).toEqual(row);
          for (const [key, row] of expected.conversations) expect(await store.projections.getConversation(key)).toEqual(row);
          const before = JSON.stringify([await store.projections.listMessages({}, { limit: 100 }), await store.projections.listConversations({}, { limit: 100 })]);
          await store.projections.rebuild({ batchSize: 2 });
          expect(JSON.stringify([await store.projections.listMessages({}, { limit: 100 }), await store.projections.listConversations({}, { limit: 100 })])).toBe(before);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('projections added to a store that already holds events', () => {
  it('marks them incomplete when migrating, and a rebuild completes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-upgrade-'));
    const file = join(dir, 'bluetick.db');
    try {
      // A store as the first release left it: schema 0001 only, with events.
      const old = new SqliteStore(file, { checkpointIntervalMs: 0 });
      await runMigrations(old.migrationTarget(), (await loadMigrations('sqlite')).filter((m) => m.version === 1));
      await old.close();
      const events = [
        status({ id: 'u1', at: Date.UTC(2025, 0, 1), messageId: 'm1', to: 'c1', status: 'read' }),
        status({ id: 'u2', at: Date.UTC(2025, 0, 1) - 1000, messageId: 'm1', to: 'c1', status: 'sent' }),
      ];
      const db = new Database(file);
      const journalId = Number(
        db.prepare("INSERT INTO journal (channel, received_at, headers, body, verified_by, state) VALUES ('main', 0, '{}', x'7b7d', 'none', 'processed')").run().lastInsertRowid,
      );
      for (const e of events) {
        db.prepare('INSERT INTO events (id, type, channel, provider, received_at, journal_id, message_id, body) VALUES (?, ?, ?, ?, 0, ?, ?, ?)').run(
          e.id, e.type, e.channel, e.provider, journalId, 'm1', serializeEvent(e),
        );
      }
      db.close();

      const store = new SqliteStore(file, { checkpointIntervalMs: 0 });
      try {
        await store.migrate();
        expect((await store.projections.counts()).rebuild).toEqual({ throughSeq: 0 });
        expect(await store.projections.getMessage('m1')).toBeUndefined();
        const result = await store.projections.rebuild();
        expect(result.events).toBe(2);
        expect((await store.projections.counts()).rebuild).toBeUndefined();
        expect(await store.projections.getMessage('m1')).toEqual(applyEvents(emptyState(), events).messages.get('m1'));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
