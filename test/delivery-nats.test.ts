/**
 * NATS JetStream delivery end to end: webhooks posted to a real server, routed by type to a
 * JetStream sink on the real server at 127.0.0.1:4222, read back from the stream in order.
 * Skipped, with a warning, when no NATS server is reachable there, except under CI, where that
 * fails (`test/helpers/services.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { parseEventJson } from '../src/events/normalize.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { http, json, metaMessages, waitFor } from './helpers/delivery.js';
import { describeNeeding, NATS_HOST, NATS_PORT, tcpUnreachable } from './helpers/services.js';

const NATS = '127.0.0.1:4222';

const natsMissing = await tcpUnreachable(NATS_HOST, NATS_PORT);
const MISSING = natsMissing && `${natsMissing} (start nats-server -js)`;

describeNeeding('NATS JetStream', MISSING, 'delivery to NATS JetStream', () => {
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const stream = `BT_DELIVERY_${suffix}`.toUpperCase();
  const prefix = `btdelivery.${suffix}`;
  let dir: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let running: ServerInternals;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-nats-'));
    nc = await connect({ servers: NATS });
    jsm = await jetstreamManager(nc);
    const { config, errors } = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        channels: [{ name: 'main' }],
        sinks: [{ name: 'bus', type: 'nats', servers: NATS, subject: `${prefix}.{type}`, stream, createStream: true }],
        routes: [{ name: 'inbound', sink: 'bus', match: { type: ['message.received'] }, retry: { baseMs: 20 } }],
        delivery: { pollMs: 20 },
      },
      cwd: dir,
    });
    expect(errors).toEqual([]);
    running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 } });
  });

  afterAll(async () => {
    await running?.close();
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes each routed event once, in order, with the event id as message id', async () => {
    const body = metaMessages(Array.from({ length: 5 }, (_, i) => ({ from: '447700900777', id: `wamid.nats.${i}`, text: `n${i}` })));
    const res = await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    // The same POST again: the events are duplicates, so nothing more is published.
    await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });

    await waitFor('5 succeeded deliveries', async () => {
      const { items } = await running.store.deliveries.list({ route: 'inbound', state: ['succeeded'] }, { limit: 10 });
      return items.length === 5;
    });
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(5);

    const js = jetstream(nc);
    await jsm.consumers.add(stream, { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(stream, 'reader');
    const batch = await consumer.fetch({ max_messages: 5, expires: 2_000 });
    const got: Array<{ subject: string; msgId: string | undefined; text: string | undefined }> = [];
    for await (const m of batch) {
      const event = parseEventJson(m.string());
      got.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), text: event.type === 'message.received' ? event.text : undefined });
      m.ack();
      if (got.length === 5) break;
    }
    expect(got.map((m) => m.text)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(got.every((m) => m.subject === `${prefix}.message.received`)).toBe(true);
    const { items } = await running.store.deliveries.list({ route: 'inbound' }, { limit: 10 });
    expect(got.map((m) => m.msgId)).toEqual(items.map((d) => d.eventId));
    const d = await running.store.deliveries.get(items[0]!.id);
    expect(d!.attemptLog[0]).toMatchObject({ outcome: 'success', detail: `stream ${stream} seq 1` });
  });

  it('marks a replayed event with bluetick-replay under a msg id of its own, so JetStream keeps it', async () => {
    const body = metaMessages([{ from: '447700900778', id: 'wamid.nats.replay', text: 'again' }]);
    expect((await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const first = await waitFor('the first delivery', async () => {
      const { items } = await running.store.deliveries.list({ route: 'inbound', state: ['succeeded'] }, { limit: 100 });
      return items.find((d) => d.orderingKey.endsWith('447700900778'));
    });
    const before = (await jsm.streams.info(stream)).state.messages;

    // Replayed through the API, within the stream's duplicate window.
    const auth = { authorization: `Bearer ${running.adminToken.token}` };
    const replayed = await json<{ deliveries: number[] }>(`${running.url}/api/replay`, {
      body: { route: 'inbound', eventIds: [first.eventId] },
      headers: auth,
    });
    expect(replayed.deliveries).toHaveLength(1);
    await waitFor('the replayed delivery', async () => (await running.store.deliveries.get(replayed.deliveries[0]!))?.state === 'succeeded');
    // Stored again, not dropped as a duplicate of the original.
    expect((await jsm.streams.info(stream)).state.messages).toBe(before + 1);
    const d = await running.store.deliveries.get(replayed.deliveries[0]!);
    expect(d!.attemptLog[0]!.detail).not.toContain('duplicate');

    const js = jetstream(nc);
    await jsm.consumers.add(stream, { durable_name: 'replays', ack_policy: AckPolicy.Explicit, filter_subject: `${prefix}.message.received` });
    const consumer = await js.consumers.get(stream, 'replays');
    const batch = await consumer.fetch({ max_messages: before + 1, expires: 2_000 });
    const got: Array<{ msgId?: string; replay?: string; eventId?: string; id: string }> = [];
    for await (const m of batch) {
      const event = parseEventJson(m.string());
      if (event.id === first.eventId) {
        got.push({
          id: event.id,
          ...(m.headers?.get('Nats-Msg-Id') ? { msgId: m.headers.get('Nats-Msg-Id') } : {}),
          ...(m.headers?.has('bluetick-replay') ? { replay: m.headers.get('bluetick-replay') } : {}),
          ...(m.headers?.has('bluetick-event-id') ? { eventId: m.headers.get('bluetick-event-id') } : {}),
        });
      }
      m.ack();
      if (got.length === 2) break;
    }
    expect(got).toEqual([
      { id: first.eventId, msgId: first.eventId },
      { id: first.eventId, msgId: `${first.eventId}:replay:${replayed.deliveries[0]}.1`, replay: '1', eventId: first.eventId },
    ]);
  });
});
