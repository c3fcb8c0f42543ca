/**
 * The NATS JetStream sink against the real server on 127.0.0.1:4222 (JetStream enabled).
 * Each run creates streams with unique names and subjects and deletes them afterwards.
 * Without a reachable server the suite is skipped with a warning, except under CI, where
 * that fails (`test/helpers/services.ts`).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { parseEventJson } from '../src/events/normalize.js';
import type { BluetickEvent } from '../src/events/types.js';
import { NatsSink, streamSubjects } from '../src/dispatch/sink-nats.js';
import { createSink } from '../src/dispatch/sinks.js';
import { describeNeeding, NATS_HOST, NATS_PORT, tcpUnreachable } from './helpers/services.js';

const NATS = '127.0.0.1:4222';

const natsMissing = await tcpUnreachable(NATS_HOST, NATS_PORT);
const MISSING = natsMissing && `${natsMissing} (start nats-server -js)`;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function event(id: string, type: 'message.received' | 'message.status' = 'message.received'): BluetickEvent {
  const base = {
    id,
    provider: 'meta',
    channel: 'sales',
    phoneNumberId: '106540352242922',
    receivedAt: '2025-06-01T12:00:00.123Z',
    data: { big: 18446744073709551617n },
  } as const;
  return type === 'message.received'
    ? { ...base, type, kind: 'text', from: '447700900123', text: 'hello' }
    : { ...base, type, status: 'read', recipientId: '447700900123' };
}

describeNeeding('NATS JetStream', MISSING, 'NATS JetStream sink', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  const sinks: NatsSink[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    for (const s of sinks) await s.close();
    for (const name of streams) await jsm.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  function track(s: NatsSink): NatsSink {
    sinks.push(s);
    return s;
  }

  /** Every message in the stream, oldest first. */
  async function readAll(stream: string, expected: number) {
    const js = jetstream(nc);
    const name = `reader_${randomBytes(3).toString('hex')}`;
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(stream, name);
    const messages = await consumer.fetch({ max_messages: expected + 5, expires: 1_000 });
    const out: Array<{ subject: string; msgId: string | undefined; type: string | undefined; event: BluetickEvent; text: string }> = [];
    for await (const m of messages) {
      out.push({
        subject: m.subject,
        msgId: m.headers?.get('Nats-Msg-Id'),
        type: m.headers?.get('bluetick-event-type'),
        event: parseEventJson(m.string()),
        text: m.string(),
      });
      m.ack();
      if (out.length === expected) break;
    }
    return out;
  }

  it('creates the stream, publishes each event to its type subject and deduplicates by event id', async () => {
    const stream = `BT_TEST_${suffix}`.toUpperCase();
    const prefix = `bttest.${suffix}`;
    streams.push(stream);
    const sink = track(new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject: `${prefix}.{type}`, stream, createStream: true }));

    const first = await sink.deliver(event('evt_1'));
    expect(first).toMatchObject({ ok: true, classification: 'success', detail: `stream ${stream} seq 1` });
    const again = await sink.deliver(event('evt_1'));
    expect(again).toMatchObject({ ok: true, classification: 'success', detail: `stream ${stream} seq 1 (duplicate)` });
    const second = await sink.deliver(event('evt_2', 'message.status'));
    expect(second).toMatchObject({ ok: true, detail: `stream ${stream} seq 2` });

    const info = await jsm.streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.>`]);
    expect(info.state.messages).toBe(2);

    const got = await readAll(stream, 2);
    expect(got.map((m) => [m.subject, m.msgId, m.type])).toEqual([
      [`${prefix}.message.received`, 'evt_1', 'message.received'],
      [`${prefix}.message.status`, 'evt_2', 'message.status'],
    ]);
    expect(got[0]!.event).toMatchObject({ id: 'evt_1', type: 'message.received', text: 'hello' });
    expect(got[0]!.text).toContain('"big":18446744073709551617');
  });

  it('publishes into an existing stream without touching its config', async () => {
    const stream = `BT_TEST_PRE_${suffix}`.toUpperCase();
    const subject = `bttest.pre.${suffix}`;
    streams.push(stream);
    await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: 60 * 1_000_000_000 });
    const sink = track(new NatsSink({ name: 'bus', type: 'nats', servers: [`nats://${NATS}`], subject, stream, createStream: true }));
    expect(await sink.deliver(event('evt_a'))).toMatchObject({ ok: true, detail: `stream ${stream} seq 1` });
    const info = await jsm.streams.info(stream);
    expect(info.config.subjects).toEqual([subject]);
    expect(info.config.duplicate_window).toBe(60 * 1_000_000_000);
  });

  it('sets the duplicate window of a stream it creates', async () => {
    const stream = `BT_TEST_WIN_${suffix}`.toUpperCase();
    streams.push(stream);
    const sink = track(
      new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject: `bttest.win.${suffix}.{type}.x`, stream, createStream: true, duplicateWindowMs: 30_000 }),
    );
    expect(await sink.deliver(event('evt_w'))).toMatchObject({ ok: true });
    const info = await jsm.streams.info(stream);
    expect(info.config.duplicate_window).toBe(30_000 * 1_000_000);
    // `{type}` in the middle of the subject: the stream lists each type's subject.
    expect(info.config.subjects).toContain(`bttest.win.${suffix}.message.received.x`);
    expect(info.config.subjects).toContain(`bttest.win.${suffix}.unknown.x`);
  });

  it('retries with a clear error when no stream captures the subject', async () => {
    const sink = track(new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject: `bttest.nostream.${suffix}.{type}`, timeoutMs: 2_000 }));
    const outcome = await sink.deliver(event('evt_x'));
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', errorCode: 'no-responders' });
    expect(outcome.error).toContain(`bttest.nostream.${suffix}.message.received`);
  });

  it('retries when the subject lands in a stream other than the configured one', async () => {
    const stream = `BT_TEST_OTHER_${suffix}`.toUpperCase();
    const subject = `bttest.other.${suffix}`;
    streams.push(stream);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    const sink = track(new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject, stream: 'SOMEWHERE_ELSE' }));
    const outcome = await sink.deliver(event('evt_o'));
    expect(outcome).toMatchObject({ ok: false, classification: 'retry' });
    expect(outcome.errorCode).toMatch(/^jetstream-\d+$/);
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
  });

  it('fails an event larger than the stream accepts', async () => {
    const stream = `BT_TEST_SMALL_${suffix}`.toUpperCase();
    const subject = `bttest.small.${suffix}`;
    streams.push(stream);
    await jsm.streams.add({ name: stream, subjects: [subject], max_msg_size: 64 });
    const sink = track(new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject }));
    expect(await sink.deliver(event('evt_big'))).toMatchObject({ ok: false, classification: 'fail', errorCode: 'jetstream-10054' });
  });

  it('answers deliveries after close with a retry outcome', async () => {
    const sink = new NatsSink({ name: 'bus', type: 'nats', servers: NATS, subject: `bttest.closed.${suffix}` });
    await sink.close();
    expect(await sink.deliver(event('evt_c'))).toMatchObject({ ok: false, classification: 'retry', errorCode: 'sink-closed' });
  });
});

describe('NATS sink without a server', () => {
  it('reports an unreachable server as a retry, and tries again on the next delivery', async () => {
    const port = await closedPort();
    const sink = new NatsSink({ name: 'bus', type: 'nats', servers: `127.0.0.1:${port}`, subject: 'bttest.down', timeoutMs: 1_000 });
    try {
      const first = await sink.deliver(event('evt_d'));
      expect(first).toMatchObject({ ok: false, classification: 'retry', errorCode: 'connection' });
      expect(first.error).toContain(`127.0.0.1:${port}`);
      expect(await sink.deliver(event('evt_d'))).toMatchObject({ classification: 'retry', errorCode: 'connection' });
    } finally {
      await sink.close();
    }
  });
});

describe('NATS sink config', () => {
  it('names every bad key', () => {
    let caught: unknown;
    try {
      createSink({ name: 'bus', type: 'nats', servers: [], subject: 'a.*.b', stream: 'has.dot', timeoutMs: -1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues).toEqual([
      'sinks.bus.servers: at least one server address is required',
      'sinks.bus.subject: must be dot-separated tokens without spaces or wildcards ({type} allowed)',
      "sinks.bus.stream: a stream name cannot contain spaces, '.', '*', '>', '/' or '\\'",
      'sinks.bus.timeoutMs: must be a number of ms > 0',
    ]);
  });

  it('needs a stream name to create one', () => {
    expect(() => createSink({ name: 'bus', type: 'nats', servers: NATS, subject: 'x', createStream: true })).toThrow(
      /sinks\.bus\.createStream: needs stream/,
    );
  });

  it('derives the subjects of a stream it creates from the subject template', () => {
    expect(streamSubjects('wa.{type}')).toEqual(['wa.>']);
    expect(streamSubjects('wa.events')).toEqual(['wa.events']);
    expect(streamSubjects('wa.{type}.v1')).toContain('wa.template.status.v1');
  });
});
