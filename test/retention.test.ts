/**
 * Retention on a running server, on both backends: while signed posts flow through the real
 * ingest path and the pipeline, the pruner deletes the raw bodies and redacts the message
 * content of what was received long ago (written with old receipt times), and touches
 * nothing younger. Then, with the pruner's clock moved a year on, a burst of posts is past
 * its limit the moment it is acked while the pipeline is still working through it: each row
 * must reach the pipeline with its body (a body deleted too early would settle as
 * quarantined, with no event). `bluetick_pruned_total` counts what went. The pruner's clock
 * is injected and its passes are run by hand; nothing waits on time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import type { JournalRow } from '../src/store/store.js';
import { inboundBody } from './helpers/meta-bodies.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';

const SECRET = 'retention-meta-secret';
const DAY = 86_400_000;
const OLD_ROWS = 1_200;
const BURST_POSTS = 200;
const YOUNG_POSTS = 300;
const CONCURRENCY = 16;

const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

async function start(store: WrittenConfigInput['store'], now: () => number): Promise<ServerInternals> {
  const dir = await mkdtemp(join(tmpdir(), 'bluetick-retention-'));
  dirs.push(dir);
  const { config, errors } = resolveConfig({
    written: {
      adminToken: 'retention-admin-token-0123456789',
      server: { port: 0, dataDir: dir },
      channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }],
      retention: { rawBodies: '30d', messageContent: '30d' },
      // The silence watch would add its own notices after the old history.
      watch: { silence: { enabled: false } },
      ...(store ? { store } : {}),
    },
    cwd: dir,
    env: {},
  });
  expect(errors).toEqual([]);
  return launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, retention: { now, start: false } });
}

async function allJournal(running: ServerInternals): Promise<JournalRow[]> {
  const out: JournalRow[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await running.store.journal.list({}, { limit: 500, ...(after !== undefined ? { after } : {}) });
    out.push(...page.items);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

function oldRow(i: number, at: number) {
  const body = inboundBody([{ id: `wamid.old${i}`, from: `1555100${String(i).padStart(4, '0')}`, text: `papaya old ${i}`, at }]);
  return { channel: 'meta', receivedAt: at, headers: { 'content-type': 'application/json' }, body: Buffer.from(body), verifiedBy: 'meta-signature' as const };
}

/** Posts `count` signed notifications, `CONCURRENCY` at a time, running pruning passes until they are all acked. */
async function postWhilePruning(running: ServerInternals, prefix: string, count: number, at: number): Promise<{ posted: string[]; passes: number }> {
  let done = false;
  const posted: string[] = [];
  const load = (async () => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        const body = inboundBody([{ id: `wamid.${prefix}${n}`, from: `1555200${String(n).padStart(4, '0')}`, text: `mango ${prefix} ${n}`, at }]);
        posted.push(body);
        const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(body, SECRET) }, body });
        expect(res.status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    done = true;
  })();
  let passes = 0;
  while (!done) {
    await running.pruner.run();
    passes++;
  }
  await load;
  return { posted, passes };
}

async function allEvents(running: ServerInternals) {
  const out = [];
  let after: number | undefined;
  for (;;) {
    const page = await running.store.events.list({}, { limit: 500, ...(after !== undefined ? { after } : {}) });
    out.push(...page.items);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

async function scenario(running: ServerInternals, setClock: (ms: number) => void): Promise<void> {
  const now = Date.now();
  setClock(now);
  const oldAt = now - 60 * DAY;
  // History: old notifications, already through the pipeline.
  for (let i = 0; i < OLD_ROWS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => running.journal.append(oldRow(i + k, oldAt + i + k))));
  }
  await running.pipeline.drain();

  // Young posts flow while pruning passes run: the history goes, the young rows stay.
  const { posted, passes } = await postWhilePruning(running, 'young', YOUNG_POSTS, now);
  await running.pipeline.drain();
  await running.pruner.run();
  expect(passes).toBeGreaterThan(0);

  const journal = await allJournal(running);
  expect(journal).toHaveLength(OLD_ROWS + YOUNG_POSTS);
  const old = journal.filter((r) => r.receivedAt < now - 30 * DAY);
  const young = journal.filter((r) => r.receivedAt >= now - 30 * DAY);
  expect(old).toHaveLength(OLD_ROWS);
  for (const row of old) {
    expect(row.state).toBe('processed');
    expect(row.body.length).toBe(0);
  }
  // Young rows are byte for byte what was posted.
  expect(young.map((r) => r.body.toString('utf8')).sort()).toEqual([...posted].sort());

  const events = await allEvents(running);
  expect(events).toHaveLength(OLD_ROWS + YOUNG_POSTS);
  for (const { event } of events) {
    const e = event as unknown as { messageId: string; text?: string; data: Record<string, unknown> };
    if (e.messageId.startsWith('wamid.old')) {
      expect(e.text).toBeUndefined();
      expect(JSON.stringify(e.data)).not.toContain('papaya');
    } else {
      expect(e.text).toBe(`mango young ${e.messageId.slice('wamid.young'.length)}`);
    }
  }
  expect((await running.store.projections.getMessage('wamid.old7'))!.inbound!.text).toBeUndefined();
  expect((await running.store.projections.getMessage('wamid.young7'))!.inbound!.text).toBe('mango young 7');

  // Now every row is past its limit the moment it is acked, and the pipeline is busy with a
  // burst: the pruner meets rows it has not settled and must leave their bodies alone, so
  // each one is still normalized into its event.
  setClock(now + 365 * DAY);
  const burst = await postWhilePruning(running, 'burst', BURST_POSTS, now);
  expect(burst.passes).toBeGreaterThan(0);
  // The same with the pipeline stopped, so every row of this burst is surely still pending
  // when the passes meet it.
  await running.pipeline.drain();
  await running.pipeline.stop();
  const held = await postWhilePruning(running, 'held', BURST_POSTS, now);
  await running.pruner.run();
  const pending = (await allJournal(running)).filter((r) => r.state === 'pending');
  expect(pending.map((r) => r.body.toString('utf8')).sort()).toEqual([...held.posted].sort());
  running.pipeline.start();
  await running.pipeline.drain();
  await running.pruner.run();
  const after = await allJournal(running);
  expect(after).toHaveLength(OLD_ROWS + YOUNG_POSTS + 2 * BURST_POSTS);
  for (const row of after) {
    expect(row.state).toBe('processed');
    expect(row.newEventCount).toBe(1);
    expect(row.body.length).toBe(0);
  }

  const counted = Object.fromEntries((await running.metrics.pruned.get()).values.map((v) => [`${v.labels.class}/${v.labels.action}`, v.value]));
  const all = OLD_ROWS + YOUNG_POSTS + 2 * BURST_POSTS;
  expect(counted).toEqual({ 'rawBodies/deleted': all, 'messageContent/redacted': all });
}

describe('retention on a running server (SQLite)', () => {
  it('prunes old bodies and content while posts flow, and nothing younger or unprocessed', async () => {
    let clock = 0;
    const running = await start(undefined, () => clock);
    try {
      await scenario(running, (ms) => (clock = ms));
    } finally {
      await running.close();
    }
  }, 120_000);
});

describePostgres('retention on a running server (PostgreSQL)', () => {
  it('prunes old bodies and content while posts flow, and nothing younger or unprocessed', async () => {
    const schema = schemaName('retention');
    schemas.push(schema);
    let clock = 0;
    const running = await start({ url: urlFor(schema) }, () => clock);
    try {
      await scenario(running, (ms) => (clock = ms));
    } finally {
      await running.close();
    }
  }, 120_000);
});
