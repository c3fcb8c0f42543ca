/**
 * Reads while the pipeline works on heavy bodies, through a real server on loopback with
 * the SQLite store on its own thread (as `bluetick serve` runs it).
 *
 * - A poison body (16 000 malformed items) settles with its cause, and `/readyz` answers
 *   200 every time it is asked meanwhile.
 * - With a time budget the poison body runs over (`server.journal.rowBudgetMs`), it is tried
 *   `maxAttempts` times, each alone, then settles as `failed` with the budget as its cause,
 *   listed by `/api/quarantine` and counted in `/metrics`; a body posted after it is
 *   processed, and `/readyz` answers 200 throughout.
 * - While a valid body of 39 000 statuses is being recorded, `/api/stats` answers (it reads
 *   on a connection of its own), and reports the row as still pending: it did not wait for
 *   the pipeline's transaction to finish.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';

const TOKEN = 'test-admin-token-0123456789';
const BASIC = encodeBasicAuthorization('enx', 'enx-pass');

async function start(dataDir: string, journal: Record<string, number> = {}): Promise<ServerInternals> {
  const result = resolveConfig({
    written: {
      adminToken: TOKEN,
      channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enx:enx-pass'] }],
      server: { port: 0, dataDir, journal },
    },
    cwd: dataDir,
    env: {},
  });
  expect(result.errors).toEqual([]);
  return launchServer(result.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 } });
}

async function post(running: ServerInternals, body: string): Promise<number> {
  const res = await fetch(`${running.url}/webhooks/enablex`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: BASIC },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function get(running: ServerInternals, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

describe('reads while the pipeline works on heavy bodies', () => {
  let dir: string;
  let running: ServerInternals;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-pipeline-load-'));
    running = await start(dir);
  });

  afterEach(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('settles a body of 16 000 malformed items while /readyz answers 200 throughout', async () => {
    const statuses = Array.from({ length: 16_000 }, (_, i) => ({ bogus: i }));
    expect(await post(running, JSON.stringify({ statuses, business_phone: '919876500001' }))).toBe(200);
    const ready: number[] = [];
    let journal: any;
    for (;;) {
      ready.push((await get(running, '/readyz')).status);
      journal = await get(running, '/api/journal/1');
      if (journal.status === 200 && journal.body.state !== 'pending') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ready.every((s) => s === 200)).toBe(true);
    // Each malformed item becomes its own `unknown` event (nothing is dropped), so the row is
    // processed, not stuck: it settled, and readiness never failed while it was worked on.
    expect(journal.body.state).toBe('processed');
    expect(journal.body.eventCount).toBe(16_000);
  }, 120_000);

  it('settles a poison body over the row budget as failed after maxAttempts tries, and keeps going', async () => {
    await running.close();
    // The 16 000-item body takes well over 20 ms to normalize (about 160 ms here), a
    // one-status body well under a millisecond: only the poison body runs over the budget.
    running = await start(dir, { rowBudgetMs: 20, maxAttempts: 2 });
    const batches: Array<{ rows: number; failed: number; retried: number }> = [];
    let failedSeen!: () => void;
    const settled = new Promise<void>((resolve) => (failedSeen = resolve));
    running.pipeline.on('batch', (b) => {
      batches.push({ rows: b.rows, failed: b.failed, retried: b.retried });
      if (b.failed > 0) failedSeen();
    });
    const statuses = Array.from({ length: 16_000 }, (_, i) => ({ bogus: i }));
    expect(await post(running, JSON.stringify({ statuses, business_phone: '919876500001' }))).toBe(200);
    const ready: number[] = [];
    let done = false;
    const probe = (async () => {
      while (!done) ready.push((await get(running, '/readyz')).status);
    })();
    await settled;
    const good = { id: 'gBEGgood', recipient_id: '919800000001', status: 'delivered', timestamp: '1717300000' };
    const processed = new Promise<void>((resolve) => running.pipeline.once('batch', () => resolve()));
    expect(await post(running, JSON.stringify({ statuses: [good], business_phone: '919876500001' }))).toBe(200);
    await processed;
    done = true;
    await probe;

    expect(ready.length).toBeGreaterThan(0);
    expect(ready.every((s) => s === 200)).toBe(true);
    expect(batches.slice(0, 2)).toEqual([
      { rows: 1, failed: 0, retried: 1 },
      { rows: 1, failed: 1, retried: 0 },
    ]);
    const quarantine = await get(running, '/api/quarantine?state=failed');
    expect(quarantine.body.items).toHaveLength(1);
    expect(quarantine.body.items[0].cause).toMatch(/^over the time budget: .*\(failed 2 of 2 tries\)$/);
    expect((await get(running, '/api/journal/2')).body).toMatchObject({ state: 'processed', eventCount: 1 });
    const metrics = await running.metrics.text();
    expect(metrics).toMatch(/bluetick_pipeline_rows_total\{outcome="failed"\} 1\n/);
    expect(metrics).toMatch(/bluetick_pipeline_rows_total\{outcome="retried"\} 1\n/);
  }, 120_000);

  it('answers /api/stats while a body of 39 000 statuses is being recorded', async () => {
    const statuses = Array.from({ length: 39_000 }, (_, i) => ({
      id: `gBEG${String(i).padStart(10, '0')}`,
      recipient_id: `9198${String(i % 5_000).padStart(8, '0')}`,
      status: 'delivered',
      timestamp: String(1_717_300_000 + i),
    }));
    expect(await post(running, JSON.stringify({ statuses, business_phone: '919876500001' }))).toBe(200);
    const seen: Array<{ status: number; pending: number; events: number }> = [];
    for (;;) {
      const stats = await get(running, '/api/stats');
      seen.push({ status: stats.status, pending: stats.body.pipeline?.pending, events: stats.body.events?.total });
      if (stats.body.events?.total === 39_000 && stats.body.pipeline?.pending === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen.every((s) => s.status === 200)).toBe(true);
    // At least one answer came while the row was still being recorded.
    expect(seen.some((s) => s.pending === 1 && s.events === 0)).toBe(true);
  }, 120_000);
});
