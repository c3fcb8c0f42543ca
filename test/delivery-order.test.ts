/**
 * Order under failure: 200 conversations x 20 events, delivered to a real HTTP receiver that
 * fails at random. Every conversation's events must arrive in order (no attempt for event
 * n+1 before event n was accepted, never two of one conversation in flight), while
 * conversations run side by side.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { http, metaMessages, newSecret, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';

const CONVERSATIONS = 200;
const EVENTS = 20;
const FAILURE_RATE = 0.15;

describe('per-conversation order with random sink failures', () => {
  let dir: string;
  let rx: Receiver;
  let running: ServerInternals;
  /** Per conversation: the index of the last accepted event. */
  const accepted = new Map<string, number>();
  /** Per conversation: attempts in flight now. */
  const inFlight = new Map<string, number>();
  const violations: string[] = [];
  let maxPerKey = 0;
  let maxKeys = 0;
  let failures = 0;
  let random = 0x2545f491;
  // A fixed-seed generator, so a failing run can be reproduced.
  const next = () => {
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    return (random >>> 0) / 0x1_0000_0000;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-order-'));
    rx = await startReceiver((req) => {
      const from = String(req.event.from);
      const index = Number(String(req.event.text).slice(1));
      const expected = (accepted.get(from) ?? -1) + 1;
      if (index !== expected) violations.push(`${from}: got e${index} while e${expected} was due`);
      const now = (inFlight.get(from) ?? 0) + 1;
      inFlight.set(from, now);
      maxPerKey = Math.max(maxPerKey, now);
      maxKeys = Math.max(maxKeys, [...inFlight.values()].filter((n) => n > 0).length);
      const fail = next() < FAILURE_RATE;
      if (fail) failures++;
      const delayMs = Math.floor(next() * 4);
      const answered = () => {
        inFlight.set(from, (inFlight.get(from) ?? 1) - 1);
        if (!fail) accepted.set(from, index);
      };
      // When the answer goes out: at once for no delay (as the receiver answers), else after it.
      // A timer for no delay would lag the answer, and a fast worker's next attempt could
      // arrive before it fires.
      if (delayMs === 0) queueMicrotask(answered);
      else setTimeout(answered, delayMs);
      return { status: fail ? 500 : 200, delayMs };
    });
    const { config, errors } = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        channels: [{ name: 'main' }],
        sinks: [{ name: 'rx', type: 'http', url: rx.url, secret: newSecret(), concurrency: 32, breaker: { failureThreshold: 8, cooldownMs: 20, maxCooldownMs: 50 } }],
        routes: [{ name: 'all', sink: 'rx', retry: { maxAttempts: 100, baseMs: 2, capMs: 20 } }],
        delivery: { concurrency: 64, pollMs: 10 },
      },
      cwd: dir,
    });
    expect(errors).toEqual([]);
    running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 10 } });
  });

  afterAll(async () => {
    await running?.close();
    await rx?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Generous limits: 4000 events through ingest, normalization and delivery on a shared machine.
  it('delivers each conversation in order while conversations run in parallel', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const contact = (c: number) => `4477009${String(c).padStart(5, '0')}`;
    // Post i carries event i of every conversation: recording order is event order.
    for (let i = 0; i < EVENTS; i++) {
      const body = metaMessages(Array.from({ length: CONVERSATIONS }, (_, c) => ({ from: contact(c), id: `wamid.c${c}.e${i}`, text: `e${i}` })));
      const res = await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    }
    const total = CONVERSATIONS * EVENTS;
    const ingested = (Date.now() - started) / 1000;
    await waitFor('every event accepted', () => rx.accepted.length >= total, 110_000);
    const seconds = (Date.now() - started) / 1000;

    expect(violations).toEqual([]);
    expect(maxPerKey).toBe(1);
    expect(failures).toBeGreaterThan(total * FAILURE_RATE * 0.5);
    for (let c = 0; c < CONVERSATIONS; c++) {
      const got = rx.accepted.filter((r) => r.event.from === contact(c)).map((r) => r.event.text);
      expect(got).toEqual(Array.from({ length: EVENTS }, (_, i) => `e${i}`));
    }
    expect(rx.accepted).toHaveLength(total);
    // Conversations overlapped: many keys were in flight at once.
    expect(maxKeys).toBeGreaterThanOrEqual(16);
    await waitFor('an empty backlog', async () => {
      const { total: t } = await running.store.deliveries.backlog();
      return t.pending + t.blocked + t.inFlight + t.dead === 0;
    });
    console.log(
      `ordering: ${total} events (posted in ${ingested.toFixed(1)} s), ${rx.requests.length} attempts (${failures} failed) in ${seconds.toFixed(1)} s ` +
        `= ${(total / seconds).toFixed(0)} events/s; most conversations in flight at once: ${maxKeys}`,
    );
  });
});
