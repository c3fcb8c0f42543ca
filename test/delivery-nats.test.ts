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
import { http, metaMessages, waitFor } from './helpers/delivery.js';
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
      const { items } = await running.store.listDeliveries({ route: 'inbound', state: ['succeeded'] }, { limit: 10 });
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
    const { items } = await running.store.listDeliveries({ route: 'inbound' }, { limit: 10 });
    expect(got.map((m) => m.msgId)).toEqual(items.map((d) => d.eventId));
    const d = await running.store.getDelivery(items[0]!.id);
    expect(d!.attemptLog[0]).toMatchObject({ outcome: 'success', detail: `stream ${stream} seq 1` });
  });
});
