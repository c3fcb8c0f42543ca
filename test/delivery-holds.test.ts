/**
 * Dead letters in the middle of a conversation, and routes added later, end to end: webhooks
 * posted to a real server (real SQLite in a temp folder), delivered to real HTTP receivers on
 * 127.0.0.1, controlled through the real `/api` and the CLI.
 *
 * - `onDeadLetter: "continue"` (the default) lets messages 2 and 3 go ahead of a dead
 *   message 1; `"hold"` keeps them waiting, and after the redrive the receiver sees 1, 2, 3.
 * - Dropping a dead letter that holds its conversation lets the rest go.
 * - `backfill: { since }` delivers events stored before the route existed, from `since`,
 *   once; a route without it starts from now.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDeadLetters } from '../src/cli/commands/dead-letters.js';
import { resolveConfig } from '../src/config/resolve.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import type { Delivery } from '../src/store/deliveries.js';
import { http, json, metaMessages, newSecret, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';

const TOKEN = 'admin-token-for-hold-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
const ALICE = '447700900301';
const BOB = '447700900302';

let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-holds-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

async function boot(extra: Partial<WrittenConfigInput>): Promise<ServerInternals> {
  const { config, errors } = resolveConfig({
    written: {
      server: { port: 0, dataDir: dir },
      adminToken: TOKEN,
      channels: [{ name: 'main' }],
      delivery: { pollMs: 20, leaseMs: 5_000 },
      ...extra,
    },
    cwd: dir,
  });
  expect(errors).toEqual([]);
  const running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, closeGraceMs: 500 });
  let closed = false;
  const close = running.close.bind(running);
  running.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  cleanups.push(() => running.close());
  return running;
}

async function post(running: ServerInternals, body: string): Promise<void> {
  const res = await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
}

async function deliveries(running: ServerInternals, route: string): Promise<Delivery[]> {
  return (await running.store.deliveries.list({ route }, { limit: 1000 })).items;
}

/** The receiver refuses message `refused` with a 400 (dead at once) while `refusing()` says so. */
function refusing(refused: string, refusing: () => boolean) {
  return (req: { event: Record<string, unknown> }) => ({ status: refusing() && req.event.messageId === refused ? 400 : 204 });
}

const texts = (rx: Receiver, from = ALICE) => rx.accepted.filter((r) => r.event.from === from).map((r) => r.event.text);

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

describe('a dead letter in the middle of a conversation', () => {
  it('continue lets 2 and 3 go ahead; hold keeps them waiting, and after the redrive the receiver sees 1, 2, 3', async () => {
    let refuse = true;
    const held = await receiver(refusing('wamid.hold.1', () => refuse));
    const flowing = await receiver(refusing('wamid.hold.1', () => refuse));
    const running = await boot({
      sinks: [
        { name: 'held', type: 'http', url: held.url, secret: newSecret() },
        { name: 'flowing', type: 'http', url: flowing.url, secret: newSecret() },
      ],
      routes: [
        { name: 'held', sink: 'held', onDeadLetter: 'hold', retry: { maxAttempts: 3, baseMs: 5 } },
        { name: 'flowing', sink: 'flowing', retry: { maxAttempts: 3, baseMs: 5 } },
      ],
    });
    await post(
      running,
      metaMessages([
        { from: ALICE, id: 'wamid.hold.1', text: '1' },
        { from: ALICE, id: 'wamid.hold.2', text: '2' },
        { from: ALICE, id: 'wamid.hold.3', text: '3' },
        { from: BOB, id: 'wamid.hold.bob', text: 'bob' },
      ]),
    );

    // continue (the default): 1 is dead, 2 and 3 went ahead.
    await waitFor('2 and 3 delivered past the dead letter', () => texts(flowing).length === 2);
    expect(texts(flowing)).toEqual(['2', '3']);
    // hold: 1 is dead and holds Alice's conversation; 2 and 3 wait, blocked (never leased);
    // Bob's conversation on the same route is not held.
    await waitFor("Bob's message on the held route", () => texts(held, BOB).length === 1);
    const lane = await waitFor('the held lane', async () => {
      const all = (await deliveries(running, 'held')).filter((d) => d.orderingKey.endsWith(ALICE));
      return all[0]?.state === 'dead' ? all : undefined;
    });
    expect(lane.map((d) => [d.state, d.blocked, d.holdsLane ?? false])).toEqual([
      ['dead', false, true],
      ['pending', true, false],
      ['pending', true, false],
    ]);
    expect(texts(held)).toEqual([]);
    const listed = await json<{ items: Array<{ id: number; route: string; holdsLane?: boolean }> }>(`${running.url}/api/dead-letters?route=held`, {
      headers: auth,
    });
    expect(listed.items).toEqual([expect.objectContaining({ id: lane[0]!.id, holdsLane: true })]);

    // The receiver is fixed; both dead letters are redriven.
    refuse = false;
    const redriven = await json<{ redriven: number }>(`${running.url}/api/dead-letters/redrive`, { body: { all: true }, headers: auth });
    expect(redriven.redriven).toBe(2);
    await waitFor('Alice on the held route', () => texts(held).length === 3);
    await waitFor('Alice on the flowing route', () => texts(flowing).length === 3);
    expect(texts(held)).toEqual(['1', '2', '3']);
    expect(texts(flowing)).toEqual(['2', '3', '1']);
    // Never two of the conversation at once on the held route: each came after the one before was answered.
    const aliceRequests = held.requests.filter((r) => r.event.from === ALICE).map((r) => r.event.text);
    expect(aliceRequests).toEqual(['1', '1', '2', '3']);
  });

  it('dropping the dead letter releases the held conversation (API and CLI)', async () => {
    const rx = await receiver(refusing('wamid.drop.1', () => true));
    const running = await boot({
      sinks: [{ name: 'held', type: 'http', url: rx.url, secret: newSecret() }],
      routes: [{ name: 'held', sink: 'held', onDeadLetter: 'hold', retry: { maxAttempts: 2, baseMs: 5 } }],
    });
    await post(
      running,
      metaMessages([
        { from: ALICE, id: 'wamid.drop.1', text: '1' },
        { from: ALICE, id: 'wamid.drop.2', text: '2' },
        { from: ALICE, id: 'wamid.drop.3', text: '3' },
      ]),
    );
    const dead = await waitFor('the dead letter', async () => (await deliveries(running, 'held')).find((d) => d.state === 'dead'));
    expect(dead.holdsLane).toBe(true);
    expect((await deliveries(running, 'held')).filter((d) => d.blocked)).toHaveLength(2);

    // Bad input is refused and changes nothing.
    const bad = await http(`${running.url}/api/dead-letters/drop`, { body: { id: 'x' }, headers: auth });
    expect(bad.status).toBe(400);
    const both = await http(`${running.url}/api/dead-letters/drop`, { body: { id: dead.id, ids: [dead.id] }, headers: auth });
    expect(both.status).toBe(400);
    expect(JSON.parse(both.body).message).toMatch(/^body: /);
    expect((await http(`${running.url}/api/dead-letters/drop`, { body: { id: dead.id } })).status).toBe(401);
    expect((await running.store.deliveries.get(dead.id))!.droppedAt).toBeUndefined();

    // The CLI drops it; the conversation moves on at once.
    const out = sink();
    const env = { BLUETICK_URL: running.url, BLUETICK_ADMIN_TOKEN: TOKEN };
    expect(await runDeadLetters('drop', [String(dead.id)], {}, { stdout: out.stream, env })).toBe(0);
    expect(out.text()).toContain(`dropped 1 dead letter: ${dead.id}`);
    await waitFor('2 and 3 after the drop', () => texts(rx).length === 2);
    expect(texts(rx)).toEqual(['2', '3']);

    // Dropped: still dead with its attempts, no longer a dead letter, not redriven by "all".
    const after = await running.store.deliveries.get(dead.id);
    expect(after).toMatchObject({ state: 'dead', attempts: 1 });
    expect(after!.droppedAt).toEqual(expect.any(Number));
    expect(after!.holdsLane).toBeUndefined();
    expect((await json<{ items: unknown[] }>(`${running.url}/api/dead-letters`, { headers: auth })).items).toEqual([]);
    expect((await running.store.deliveries.backlog()).total.dead).toBe(0);
    expect(await json(`${running.url}/api/dead-letters/redrive`, { body: { all: true }, headers: auth })).toMatchObject({ redriven: 0 });
    // Dropping again drops nothing.
    expect(await json(`${running.url}/api/dead-letters/drop`, { body: { ids: [dead.id] }, headers: auth })).toMatchObject({ dropped: 0, ids: [] });
  });
});

describe('routes added later', () => {
  it('backfill delivers stored events from since, once; a route without it starts from now', async () => {
    const first = await boot({});
    await post(first, metaMessages([{ from: ALICE, id: 'wamid.old.0', text: 'old0' }]));
    const older = await waitFor('the first event', async () => (await first.store.events.list({}, { limit: 10 })).items[0]);
    const since = older.event.receivedAt ? Date.parse(older.event.receivedAt) + 1 : Date.now();
    await waitFor('the clock to pass since', () => Date.now() > since);
    await post(
      first,
      metaMessages([
        { from: ALICE, id: 'wamid.old.1', text: 'old1' },
        { from: ALICE, id: 'wamid.old.2', text: 'old2' },
        { from: BOB, id: 'wamid.old.3', text: 'old3' },
      ]),
    );
    await waitFor('4 events', async () => (await first.store.events.list({}, { limit: 10 })).items.length === 4);
    await first.close();

    const backfilled = await receiver(() => ({ status: 204 }));
    const fresh = await receiver(() => ({ status: 204 }));
    const routes = (): Partial<WrittenConfigInput> => ({
      sinks: [
        { name: 'backfilled', type: 'http', url: backfilled.url, secret: newSecret() },
        { name: 'fresh', type: 'http', url: fresh.url, secret: newSecret() },
      ],
      routes: [
        { name: 'backfilled', sink: 'backfilled', backfill: { since: new Date(since).toISOString() } },
        { name: 'fresh', sink: 'fresh' },
      ],
    });
    const second = await boot(routes());
    await post(second, metaMessages([{ from: ALICE, id: 'wamid.new.1', text: 'new1' }]));
    await waitFor('the backfilled route', () => backfilled.accepted.length === 4);
    await waitFor('the fresh route', () => fresh.accepted.length === 1);
    // From since on (old0 came before it), in order, then the new one.
    expect(texts(backfilled)).toEqual(['old1', 'old2', 'new1']);
    expect(texts(backfilled, BOB)).toEqual(['old3']);
    expect(fresh.accepted.map((r) => r.event.text)).toEqual(['new1']);
    await second.close();

    // A restart with the same since adds nothing.
    const third = await boot(routes());
    await post(third, metaMessages([{ from: BOB, id: 'wamid.new.2', text: 'new2' }]));
    await waitFor('the next new event', () => backfilled.accepted.length === 5);
    expect((await deliveries(third, 'backfilled')).map((d) => d.eventId)).toHaveLength(5);
    expect(backfilled.requests).toHaveLength(5);
  });

  it('refuses a backfill time without a zone and an unknown onDeadLetter, naming the key', () => {
    const { errors } = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        sinks: [{ name: 's', type: 'http', url: 'http://127.0.0.1:9/x', secret: newSecret() }],
        routes: [
          { name: 'a', sink: 's', backfill: { since: '2026-12-01 10:00' } },
          { name: 'b', sink: 's', onDeadLetter: 'pause' as 'hold' },
        ],
      },
      cwd: dir,
    });
    const paths = errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    expect(paths).toMatch(/routes\W+0\W+backfill\W+since\W*: expected an ISO-8601 time with a zone/);
    expect(paths).toMatch(/routes\W+1\W+onDeadLetter\W*: expected "continue" or "hold"/);
  });
});
