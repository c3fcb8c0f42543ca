/**
 * Disk use over real HTTP: `GET /api/storage` after real POSTs to a running server (classes
 * with their bytes, rows and oldest item, the SQLite files, free disk space from an injected
 * `statfs`), `bluetick_disk_free_bytes` in `/metrics`, and the low-space warning: logged once
 * at start, while `/readyz` stays ready. The `statfs` here is a small injected function that
 * reports whatever free space the test sets; everything else is the real server.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import type { StatFs } from '../src/disk.js';
import { createLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';

const BLOCK = 4096;
const GiB = 1024 * 1024 * 1024;
/** Free blocks the injected statfs reports: 100 MiB, under the 1 GiB default. */
let freeBlocks = (100 * 1024 * 1024) / BLOCK;
const statfs: StatFs = async () => ({ bsize: BLOCK, blocks: (50 * GiB) / BLOCK, bfree: freeBlocks, bavail: freeBlocks });

const fixture = (name: string) => readFileSync(new URL(`./fixtures/enablex/${name}.json`, import.meta.url));

let dir: string;
let running: ServerInternals;
let auth: { authorization: string };
const logLines: Array<{ level: number; msg: string; freeBytes?: number; retention?: Record<string, string> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-storage-'));
  const result = resolveConfig({ written: { server: { port: 0, dataDir: dir }, channels: [{ name: 'main' }], retention: { messageContent: '7d' } }, cwd: dir });
  expect(result.errors).toEqual([]);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as (typeof logLines)[number]);
      done();
    },
  });
  running = await launchServer(result.config!, {
    logger: createLogger({ level: 'info', destination: sink }),
    processMetrics: false,
    pipeline: { pollMs: 50 },
    statfs,
  });
  auth = { authorization: `Bearer ${running.adminToken.token}` };
  for (const name of ['text', 'status-delivered', 'status-read', 'template-approved']) {
    const res = await fetch(`${running.url}/webhooks/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fixture(name) });
    expect(res.status).toBe(200);
  }
  await running.pipeline.drain();
});

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

interface StorageAnswer {
  measuredAt: string;
  dialect: string;
  sizing: string;
  totalBytes: number;
  classes: Array<{ name: string; label: string; bytes: number; rows?: number; oldestAt?: string; bytesEstimated: boolean; retention?: { rule: string; keep: string; action: string } }>;
  files: Array<{ name: string; role: string; bytes: number }>;
  disk?: { totalBytes: number; freeBytes: number; minFreeBytes: number; low: boolean };
}

describe('GET /api/storage', () => {
  let first: StorageAnswer;

  it('answers the store by data class, the data files and the free disk space', async () => {
    const res = await fetch(`${running.url}/api/storage`, { headers: auth });
    expect(res.status).toBe(200);
    first = (await res.json()) as StorageAnswer;
    expect(first.dialect).toBe('sqlite');
    expect(first.sizing).toBe('dbstat');
    const byName = Object.fromEntries(first.classes.map((c) => [c.name, c]));
    expect(byName.journal).toMatchObject({ rows: 4, label: 'raw bodies (journal)' });
    expect(byName.messages!.rows).toBe(1);
    expect(byName.statuses!.rows).toBe(2);
    expect(byName.accounts!.rows).toBe(1);
    for (const name of ['journal', 'messages', 'statuses', 'accounts']) {
      expect(byName[name]!.bytes, name).toBeGreaterThan(0);
      // Received during this test run: an ISO time not in the future.
      expect(Date.parse(byName[name]!.oldestAt!)).toBeLessThanOrEqual(Date.now());
    }
    expect(byName.rejections).toMatchObject({ rows: 0 });
    // Each class next to the rule that ages it out, as configured (defaults but for content).
    expect(byName.journal!.retention).toEqual({ rule: 'rawBodies', keep: '30d', action: 'deleted' });
    expect(byName.messages!.retention).toEqual({ rule: 'messageContent', keep: '7d', action: 'redacted' });
    expect(byName.accounts!.retention).toEqual({ rule: 'accountEvents', keep: 'none', action: 'deleted' });
    expect(byName.projections!.retention).toBeUndefined();
    // The same limits are logged at start, so an upgrade says what it will prune.
    expect(logLines.find((l) => l.msg.startsWith('retention:'))?.retention).toMatchObject({ rawBodies: '30d', messageContent: '7d', accountEvents: 'none' });
    expect(byName.rejections!.oldestAt).toBeUndefined();
    const db = first.files.find((f) => f.role === 'database');
    expect(db?.name).toBe('bluetick.db');
    expect(db!.bytes).toBeGreaterThan(0);
    expect(first.files.map((f) => f.role)).toContain('inbox');
    expect(first.disk).toEqual({ totalBytes: 50 * GiB, freeBytes: freeBlocks * BLOCK, minFreeBytes: GiB, low: true });
  });

  it('serves one measurement of the store for a minute, with fresh free space', async () => {
    const res = await fetch(`${running.url}/webhooks/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fixture('status-sent') });
    expect(res.status).toBe(200);
    await running.pipeline.drain();
    freeBlocks = (2 * GiB) / BLOCK;
    const again = (await (await fetch(`${running.url}/api/storage`, { headers: auth })).json()) as StorageAnswer;
    expect(again.measuredAt).toBe(first.measuredAt);
    expect(again.classes.find((c) => c.name === 'journal')!.rows).toBe(4);
    expect(again.disk).toMatchObject({ freeBytes: 2 * GiB, low: false });
  });
});

describe('free disk space', () => {
  it('is a gauge in /metrics, read at the scrape', async () => {
    freeBlocks = (300 * 1024 * 1024) / BLOCK;
    const text = await (await fetch(`${running.url}/metrics`, { headers: auth })).text();
    expect(text).toMatch(new RegExp(`^bluetick_disk_free_bytes ${300 * 1024 * 1024}$`, 'm'));
  });

  it('below server.minFreeDiskBytes is logged once as a warning, and the server stays ready', async () => {
    const warnings = logLines.filter((l) => l.level === 40 && l.msg.includes('free disk space'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.freeBytes).toBe(100 * 1024 * 1024);
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });
});
