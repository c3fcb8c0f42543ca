/**
 * Reads while the pipeline works on heavy bodies, through a real server on loopback with
 * the SQLite store on its own thread (as `bluetick serve` runs it).
 *
 * - A poison body (16 000 malformed items) settles with its cause, and `/readyz` answers
 *   200 every time it is asked meanwhile.
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

async function start(dataDir: string): Promise<ServerInternals> {
  const result = resolveConfig({
    written: {
      adminToken: TOKEN,
      channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enx:enx-pass'] }],
      server: { port: 0, dataDir },
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
