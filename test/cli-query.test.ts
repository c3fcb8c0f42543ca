/**
 * `bluetick tail`, `status`, `templates` and `rebuild` as a user runs them: the built bin in a
 * subprocess, against a real server filled through the real ingest path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { parseJsonText } from '../src/events/json.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { ensureBuilt, runBin } from './helpers/dist.js';
import { inboundBody, statusBody, templateQualityBody, templateStatusBody } from './helpers/meta-bodies.js';
import { dumpProjections, scenarioBodies } from './helpers/scenario.js';

const TOKEN = 'cli-admin-token';
const SECRET = 'cli-meta-secret';
const NOW = Date.now();

async function startIn(dir: string): Promise<ServerInternals> {
  const { config, errors } = resolveConfig({
    written: { adminToken: TOKEN, server: { port: 0, dataDir: dir }, channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }] },
    cwd: dir,
    env: {},
  });
  expect(errors).toEqual([]);
  return launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, stream: { pollMs: 25 } });
}

async function post(running: ServerInternals, body: string): Promise<void> {
  const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(body, SECRET) }, body });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
}

async function postAll(running: ServerInternals, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 8) await Promise.all(bodies.slice(i, i + 8).map((b) => post(running, b)));
}

describe('bluetick tail / status / templates', () => {
  let dir: string;
  let running: ServerInternals;
  let env: Record<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'bluetick-cli-query-'));
    running = await startIn(dir);
    env = { BLUETICK_URL: running.url, BLUETICK_ADMIN_TOKEN: TOKEN };
    for (const body of [
      statusBody([{ id: 'wamid.cli.1', status: 'read', to: '15557770001', at: NOW - 60_000 }]),
      statusBody([{ id: 'wamid.cli.1', status: 'sent', to: '15557770001', at: NOW - 120_000 }]),
      templateStatusBody({ templateId: '9007199254740993123', name: 'order_update', language: 'en_US', event: 'APPROVED', at: NOW - 7_200_000 }),
      templateStatusBody({ templateId: '9007199254740993123', name: 'order_update', language: 'en_US', event: 'PAUSED', reason: 'low quality', at: NOW - 3_600_000 }),
      templateQualityBody({ templateId: '9007199254740993123', name: 'order_update', language: 'en_US', previous: 'GREEN', score: 'RED', at: NOW - 3_000_000 }),
      templateStatusBody({ templateId: '55', name: 'welcome', language: 'de', event: 'APPROVED', at: NOW - 7_200_000 }),
    ]) {
      await post(running, body);
    }
    await running.pipeline.drain();
  }, 240_000);

  afterAll(async () => {
    await running?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('status prints each step with its time, marking implied ones', async () => {
    const res = await runBin(['status', 'wamid.cli.1'], { cwd: dir, env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^wamid\.cli\.1 {2}outbound {2}read$/m);
    expect(res.stdout).toMatch(/^ {2}delivered +\S+ {2}\(implied by a later step\)$/m);
    expect(res.stdout).toMatch(/^ {2}sent +\S+$/m);
    expect(res.stdout).toContain('timeline:');

    const json = await runBin(['status', 'wamid.cli.1', '--json'], { cwd: dir, env });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'wamid.cli.1', status: 'read', reactions: [] });
  });

  it('status without an id prints disk use by data class, the data files and free disk space', async () => {
    const res = await runBin(['status'], { cwd: dir, env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^sqlite store: \S+ \S+/m);
    expect(res.stdout).toMatch(/^class +size +rows +oldest +kept$/m);
    // Six POSTs journaled; two statuses and four template events, each oldest time an ISO string.
    expect(res.stdout).toMatch(/^raw bodies \(journal\) +\d+(\.\d)? [KM]iB +6 +\d{4}-\d\d-\d\dT\S+Z +30d$/m);
    expect(res.stdout).toMatch(/^statuses and reactions +~\d+(\.\d)? [KM]?i?B +2 +\d{4}-\S+Z +400d$/m);
    expect(res.stdout).toMatch(/^template and account events +~\S+ \S+ +4 +\d{4}-\S+Z +for ever$/m);
    expect(res.stdout).toMatch(/^rejection log +\S+ \S+ +0 +- +30d$/m);
    expect(res.stdout).toMatch(/^ {2}bluetick\.db +\S+ \S+$/m);
    expect(res.stdout).toMatch(/^disk free: \S+ \S+ of \S+ \S+ \(\d+\.\d%\)/m);

    const json = await runBin(['status', '--json'], { cwd: dir, env });
    const parsed = JSON.parse(json.stdout) as { classes: Array<{ name: string; rows?: number }> };
    expect(parsed.classes.find((c) => c.name === 'journal')?.rows).toBe(6);
  });

  it('status fails with the server answer for an unknown message or a wrong token', async () => {
    const missing = await runBin(['status', 'wamid.nope'], { cwd: dir, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/HTTP 404: no message with id "wamid\.nope"/);
    const denied = await runBin(['status', 'wamid.cli.1', '--token', 'wrong'], { cwd: dir, env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 401.*BLUETICK_ADMIN_TOKEN/);
  });

  it('templates prints the current status, quality and reason, filtered by status', async () => {
    const res = await runBin(['templates'], { cwd: dir, env });
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TEMPLATE\s+LANGUAGE\s+STATUS\s+QUALITY\s+CATEGORY\s+UPDATED\s+ID\s+REASON$/);
    expect(lines.find((l) => l.startsWith('order_update'))).toMatch(/en_US\s+PAUSED\s+RED\s+-\s+\S+\s+9007199254740993123\s+low quality$/);
    expect(lines).toHaveLength(3);
    const paused = await runBin(['templates', '--status', 'PAUSED', '--json'], { cwd: dir, env });
    const items = paused.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(items.map((t) => t.key)).toEqual(['9007199254740993123']);
  });

  it('tail prints new events as they are recorded, as lines or NDJSON, and resumes with --after', async () => {
    // From the current end: whenever the process connects, it gets what follows.
    const start = await running.store.events.lastSeq();
    const tail = runBin(['tail', '--json', '--count', '2', '--type', 'message.received', '--after', String(start)], { cwd: dir, env, timeoutMs: 60_000 });
    await post(running, statusBody([{ id: 'wamid.cli.2', status: 'sent', to: '15557770002', at: NOW }]));
    await post(running, inboundBody([{ id: 'wamid.cli.in1', from: '15557770002', text: 'first', at: NOW }]));
    await post(running, inboundBody([{ id: 'wamid.cli.in2', from: '15557770002', text: 'second', at: NOW }]));
    const res = await tail;
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => parseJsonText(l) as any);
    expect(lines.map((l) => l.event.messageId)).toEqual(['wamid.cli.in1', 'wamid.cli.in2']);

    const human = await runBin(['tail', '--count', '1', '--after', String(lines[0].seq)], { cwd: dir, env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`#${lines[1].seq}\\s+message\\.received\\s+15557770002 \\(Name 15557770002\\) -> \\d+\\s+\\[text\\] "second"\\s+wamid\\.cli\\.in2\\s+\\[meta\\]`));
  });

  it('tail stops with the reason when the server refuses it', async () => {
    const res = await runBin(['tail', '--token', 'wrong'], { cwd: dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/HTTP 401/);
  });
});

describe('bluetick rebuild', () => {
  let dir: string | undefined;

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('recomputes the projections of a store to the same bytes, also while a server keeps ingesting', async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'bluetick-cli-rebuild-'));
    const file = join(dir, 'bluetick.db');
    const running = await startIn(dir);
    try {
      const bodies = scenarioBodies(11, 30);
      const half = Math.floor(bodies.length / 2);
      await postAll(running, bodies.slice(0, half));
      await running.pipeline.drain();

      // The rebuild runs in its own process while this server keeps recording events.
      const rebuild = runBin(['rebuild', '--data', dir, '--batch', '5'], { cwd: dir, timeoutMs: 60_000 });
      for (let i = half; i < bodies.length; i += 4) {
        await postAll(running, bodies.slice(i, i + 4));
        await new Promise((r) => setTimeout(r, 20));
      }
      const res = await rebuild;
      expect(res.stderr).toMatch(/rebuilding projections/);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^rebuilt projections from \d+ events in [\d.]+ s \(\d+ transactions\): \d+ messages, \d+ conversations, \d+ contacts, 2 templates, \d+ reactions$/m);
      await running.pipeline.drain();
      const afterConcurrent = dumpProjections(file);
      expect((await running.store.projections.counts()).rebuild).toBeUndefined();

      // The same as an undisturbed rebuild.
      await running.store.projections.rebuild();
      expect(dumpProjections(file)).toBe(afterConcurrent);
    } finally {
      await running.close();
    }

    const json = await runBin(['rebuild', '--data', dir, '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ events: expect.any(Number), rows: { templates: 2 } });
  }, 120_000);
});
