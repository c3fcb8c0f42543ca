/**
 * The pruner's schedule over a real SQLite store: a pass goes batch after batch until a class
 * has nothing past its limit and reports each batch; closing stops it between batches; a
 * pruner with no limit at all never touches the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETENTION_CLASSES, type RetentionLimits } from '../src/retention/policy.js';
import { prunePass, Pruner } from '../src/retention/pruner.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const none = Object.fromEntries(RETENTION_CLASSES.map((c) => [c, null])) as RetentionLimits;

let dir: string;
let store: SqliteStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-pruner-'));
  store = new SqliteStore(join(dir, 'bluetick.db'));
  await store.migrate();
  const row = (at: number) => ({ at, cause: 'unauthorized' as const, method: 'POST', path: '/webhooks/main' });
  await store.rejections.add([...Array.from({ length: 7 }, (_, i) => row(NOW - 40 * DAY + i)), row(NOW)], 100);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const remaining = async () => (await store.rejections.list({ limit: 100 })).items.length;

describe('the pruner', () => {
  it('goes batch after batch until nothing is past the limit, reporting each batch', async () => {
    const batches: number[] = [];
    const report = await prunePass(store, { limits: { ...none, rejections: 30 * DAY }, now: NOW, batch: 2, onBatch: (_c, _a, n) => batches.push(n) });
    expect(report).toEqual({ rejections: { action: 'deleted', count: 7, cutoff: NOW - 30 * DAY } });
    expect(batches).toEqual([2, 2, 2, 1]);
    expect(await remaining()).toBe(1);
  });

  it('stops between batches once closed', async () => {
    let batches = 0;
    const report = await prunePass(store, { limits: { ...none, rejections: 30 * DAY }, now: NOW, batch: 2, onBatch: () => batches++, stopped: () => batches >= 2 });
    expect(report.rejections!.count).toBe(4);
    expect(await remaining()).toBe(4);
  });

  it('does nothing at all without a limit, and nothing after close', async () => {
    const idle = new Pruner({ store, limits: none, intervalMs: 60_000, now: () => NOW });
    idle.start();
    expect(await idle.run()).toEqual({});
    await idle.close();
    const closed = new Pruner({ store, limits: { ...none, rejections: 30 * DAY }, intervalMs: 60_000, now: () => NOW });
    await closed.close();
    expect(await closed.run()).toBeUndefined();
    expect(await remaining()).toBe(8);
  });
});
