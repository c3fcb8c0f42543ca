/**
 * The silence watch end to end on a real server (SQLite store, real HTTP): inbound messages
 * posted signed, the watch's rounds run by hand with an injected clock (no timers, no
 * sleeps), and its `channel.silent` / `channel.resumed` events reach a library handler
 * through the normal route matching and the events API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import type { BluetickEvent } from '../src/events/types.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { inboundBody } from './helpers/meta-bodies.js';

const SECRET = 'silence-watch-secret';
const MIN = 60_000;

let dir: string;
let running: ServerInternals;
let clock = Date.now();
const received: BluetickEvent[] = [];
const waiters: Array<() => void> = [];

/** Resolves once the handler has received `count` events. */
function handled(count: number): Promise<void> {
  if (received.length >= count) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (): void => {
      if (received.length >= count) resolve();
      else waiters.push(check);
    };
    waiters.push(check);
  });
}

let n = 0;
async function inbound(): Promise<void> {
  n++;
  const body = inboundBody([{ id: `wamid.S${n}`, from: '15550001111', text: `m${n}`, at: Date.now() }]);
  const res = await fetch(`${running.url}/webhooks/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body, SECRET) },
    body,
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-silence-'));
  const result = resolveConfig({
    written: {
      server: { port: 0, dataDir: dir },
      channels: [{ name: 'main', provider: 'meta', meta: { appSecrets: [SECRET] } }],
      watch: { silence: { multiple: 10, minimumGapMs: 5 * MIN, minMessages: 5 } },
    },
    cwd: dir,
    env: {},
  });
  expect(result.errors).toEqual([]);
  running = await launchServer(result.config!, {
    logger: silentLogger(),
    processMetrics: false,
    pipeline: { pollMs: 50 },
    watch: { now: () => clock, start: false },
    handlers: [
      {
        route: { name: 'watch', sink: 'handler:watch', match: { type: ['channel.*'] } as never },
        handler: (event) => {
          received.push(event);
          for (const w of waiters.splice(0)) w();
        },
      },
    ],
  });
});

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('silence watch', () => {
  it('emits channel.silent after the threshold, once, through routes and the events API', async () => {
    for (let i = 0; i < 6; i++) await inbound();
    await running.pipeline.drain();
    const watch = running.watch!;
    clock = Date.now();
    expect(await watch.tick()).toBe(0);
    // The usual gap is milliseconds here, so the minimum gap (5 min) decides.
    clock = Date.now() + 5 * MIN - 1_000;
    expect(await watch.tick()).toBe(0);
    clock = Date.now() + 6 * MIN;
    expect(await watch.tick()).toBe(2);
    await running.pipeline.drain();
    await handled(2);
    expect(received.map((e) => [e.type, e.phoneNumberId])).toEqual([
      ['channel.silent', undefined],
      ['channel.silent', '106540352242922'],
    ]);
    expect(received[0]).toMatchObject({ channel: 'main', provider: 'meta', businessAccountId: '102290129340398', thresholdMs: 5 * MIN });
    // Reported once: the next round finds it already known.
    clock += 10 * MIN;
    expect(await watch.tick()).toBe(0);
    const listed = await running.store.events.list({ type: ['channel.silent'] }, { limit: 10 });
    expect(listed.items).toHaveLength(2);
    const row = await running.store.journal.get(listed.items[0]!.journalId);
    expect(row).toMatchObject({ channel: 'main', verifiedBy: 'bluetick', state: 'processed' });
  });

  it('emits channel.resumed when an inbound message arrives again', async () => {
    await inbound();
    await running.pipeline.drain();
    clock = Date.now();
    expect(await running.watch!.tick()).toBe(2);
    await running.pipeline.drain();
    await handled(4);
    expect(received.slice(2).map((e) => e.type)).toEqual(['channel.resumed', 'channel.resumed']);
    expect((received[2] as BluetickEvent & { silentForMs: number }).silentForMs).toBeGreaterThan(0);
  });

  it('does not read the notice body from a webhook POST', async () => {
    const body = JSON.stringify({ bluetick: { type: 'channel.silent', lastInboundAt: '2026-01-01T00:00:00.000Z', usualGapMs: 1, thresholdMs: 1 } });
    const res = await fetch(`${running.url}/webhooks/main`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body, SECRET) },
      body,
    });
    expect(res.status).toBe(200);
    await running.pipeline.drain();
    const silent = await running.store.events.list({ type: ['channel.silent'] }, { limit: 10 });
    expect(silent.items).toHaveLength(2);
    const unknown = await running.store.events.list({ type: ['unknown'] }, { limit: 10 });
    expect(unknown.items.map((s) => (s.event as { kind?: string }).kind)).toContain('unrecognized body');
  });
});
