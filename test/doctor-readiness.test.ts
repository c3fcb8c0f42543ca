/**
 * `bluetick doctor`'s verdict and its sink lines against real servers on loopback: a plain-HTTP
 * loopback server (the quick start) is ready for local testing only, never "ready for EnableX
 * and Meta"; a stopped one is ready for nothing. Every sink is checked: an HTTP receiver gets
 * one request signed like a delivery and marked as a probe, a NATS sink's stream is looked up.
 * And the probes create nothing: no event is recorded and nothing reaches a catch-all route.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctorCommand } from '../src/cli/commands/doctor.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import type { CheckResult } from '../src/doctor/checks.js';
import { runDoctor, type DoctorReport } from '../src/doctor/doctor.js';
import { freePort } from './helpers/pebble.js';
import { json, newSecret, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';
import { startTempServer, type TempServer } from './helpers/server.js';
import { describeNeeding, NATS_HOST, NATS_PORT, tcpUnreachable } from './helpers/services.js';

const BASIC = 'enablex:a-password-of-16-chars';
const AUTH = `Basic ${Buffer.from(BASIC).toString('base64')}`;

function byId(report: DoctorReport): Record<string, CheckResult> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

describe('doctor: what the host is ready for, and its sinks', () => {
  let dir: string;
  const servers: TempServer[] = [];
  const receivers: Receiver[] = [];

  /** The config file doctor reads: the server's written config, with a store folder of its own. */
  async function configFile(name: string, written: WrittenConfigInput): Promise<string> {
    const file = join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ ...written, server: { ...written.server, dataDir: join(dir, `${name}-store`) } }));
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-doctor-ready-'));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const r of receivers) await r.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('calls a plain-HTTP loopback server ready for local testing only, and a stopped one ready for nothing', async () => {
    // The quick start: the default channel, no credentials, plain HTTP on 127.0.0.1.
    const server = await startTempServer('bluetick-doctor-quick-', {});
    servers.push(server);
    const config = await configFile('quick', {});
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, stderr: process.stderr, env: {}, cwd: dir, version: 'test' };
    const code = await runDoctorCommand({ url: `http://127.0.0.1:${server.port}/webhooks/default`, config }, io);
    const text = out.join('');
    expect(text).not.toContain('Ready for EnableX and Meta');
    expect(text).toMatch(
      /\nReady for local testing only, not for EnableX or Meta \(plain HTTP, not HTTPS; a loopback address, not a public host name; Channel "default" has credentials: no credentials: anyone who knows the URL can post\)\. Providers post only to public HTTPS URLs with a CA-signed certificate\.\n$/,
    );
    expect(code).toBe(3);
    out.length = 0;
    expect(await runDoctorCommand({ url: `http://127.0.0.1:${server.port}/webhooks/default`, config, json: true }, io)).toBe(3);
    expect(JSON.parse(out.join(''))).toMatchObject({ readiness: 'local', reasons: expect.arrayContaining(['plain HTTP, not HTTPS']) });

    const closed = await freePort();
    const down = await runDoctor({ url: `http://127.0.0.1:${closed}/webhooks/default`, configFile: config, cwd: dir, env: {}, timeoutMs: 3_000 });
    expect(down.readiness).toBe('none');
    expect(down.reasons).toEqual(['Server is reachable']);
    out.length = 0;
    expect(await runDoctorCommand({ url: `http://127.0.0.1:${closed}/webhooks/default`, config }, io)).toBe(1);
    expect(out.join('')).toMatch(/\nNot ready: Server is reachable failed\. Fix the failures above\.\n$/);
  });

  it("probes every HTTP sink with a signed request marked as a probe, and the probes create no event", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const refusing = await startReceiver(() => ({ status: 401 }));
    receivers.push(refusing);
    const secret = newSecret();
    const closed = await freePort();
    const written: WrittenConfigInput = {
      channels: [{ name: 'sales', basicAuth: [BASIC] }],
      sinks: [
        { name: 'app', type: 'http', url: receiver.url, secret },
        { name: 'strict', type: 'http', url: refusing.url, secret: newSecret() },
        { name: 'gone', type: 'http', url: `http://127.0.0.1:${closed}/hooks`, secret: newSecret() },
      ],
      // A catch-all route: anything the doctor's requests turned into an event would reach `app`.
      routes: [
        { name: 'everything', sink: 'app' },
        { name: 'refused', sink: 'strict', match: { type: 'template.status' } },
      ],
    };
    const server = await startTempServer('bluetick-doctor-sinks-', written);
    servers.push(server);
    const report = await runDoctor({
      url: `http://127.0.0.1:${server.port}/webhooks/sales`,
      configFile: await configFile('sinks', written),
      cwd: dir,
      env: {},
      timeoutMs: 3_000,
    });
    const checks = byId(report);
    expect(checks['webhook.sales']).toMatchObject({ status: 'pass' });
    expect(checks['sink.app']).toMatchObject({ status: 'pass', detail: `POST ${receiver.url} (signed probe) -> 200` });
    expect(checks['sink.strict']).toMatchObject({ status: 'fail', fix: expect.stringContaining('same whsec_ secret') });
    expect(checks['sink.gone']).toMatchObject({ status: 'warn', detail: expect.stringMatching(/ECONNREFUSED.*\(no route sends to it yet\)$/) });
    expect(report.readiness).toBe('none');
    expect(report.reasons).toEqual(['Sink "strict" is reachable']);

    // The receiver saw exactly one request: the probe, signed with the sink's secret.
    expect(receiver.requests).toHaveLength(1);
    const probe = receiver.requests[0]!;
    expect(probe.headers['bluetick-probe']).toBe('1');
    expect(probe.event).toMatchObject({ type: 'bluetick.probe', sink: 'app' });
    expect(() => new Webhook(secret).verify(probe.body, probe.headers as Record<string, string>)).not.toThrow();
    expect(refusing.requests).toHaveLength(1);

    // A real notification after the doctor's: once it is delivered, every journal row before
    // it has been through the pipeline, and the doctor's made no event.
    const body = JSON.stringify({
      statuses: [{ id: 'gBEGkYiEB1VXAglK1ZEqA1YKPrU', recipient_id: '919876543210', status: 'read', timestamp: '1700000000' }],
      business_phone: '918888888888',
    });
    const answer = await fetch(`http://127.0.0.1:${server.port}/webhooks/sales`, { method: 'POST', body, headers: { authorization: AUTH } });
    expect(answer.status).toBe(200);
    await waitFor('the real event at the receiver', () => receiver.accepted.length === 2);
    expect(receiver.requests.map((r) => r.event.type)).toEqual(['bluetick.probe', 'message.status']);
    const events = await json<{ items: Array<{ event: { type: string } }> }>(`http://127.0.0.1:${server.port}/api/events`, { headers: server.auth });
    expect(events.items.map((e) => e.event.type)).toEqual(['message.status']);
  });
});

const natsMissing = await tcpUnreachable(NATS_HOST, NATS_PORT);
describeNeeding('NATS JetStream', natsMissing && `${natsMissing} (start nats-server -js)`, 'doctor: NATS sinks', () => {
  const stream = `DOCTOR_${process.pid}_${Date.now().toString(36).toUpperCase()}`;
  const subject = `doctor${process.pid}.{type}`;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-doctor-nats-'));
    const nc = await connect({ servers: `${NATS_HOST}:${NATS_PORT}` });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`doctor${process.pid}.>`] });
    await nc.close();
  });
  afterAll(async () => {
    const nc = await connect({ servers: `${NATS_HOST}:${NATS_PORT}` });
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes a sink whose stream exists, fails one whose stream does not, and publishes nothing', async () => {
    const file = join(dir, 'nats.json');
    const servers = `${NATS_HOST}:${NATS_PORT}`;
    await writeFile(
      file,
      JSON.stringify({
        server: { dataDir: join(dir, 'store') },
        sinks: [
          { name: 'bus', type: 'nats', servers, subject, stream },
          { name: 'lost', type: 'nats', servers, subject: `nowhere${process.pid}.{type}` },
          { name: 'other', type: 'nats', servers, subject, stream: 'NO_SUCH_STREAM' },
        ],
        routes: [
          { name: 'a', sink: 'bus' },
          { name: 'b', sink: 'lost' },
          { name: 'c', sink: 'other' },
        ],
      }),
    );
    const closed = await freePort();
    const checks = byId(await runDoctor({ url: `http://127.0.0.1:${closed}/`, configFile: file, cwd: dir, env: {}, timeoutMs: 3_000 }));
    expect(checks['sink.bus']).toMatchObject({ status: 'pass', detail: `JetStream stream ${stream} captures the subject` });
    expect(checks['sink.lost']).toMatchObject({ status: 'fail', detail: 'no JetStream stream captures the subject' });
    expect(checks['sink.other']).toMatchObject({ status: 'fail', detail: `the subject is captured by stream ${stream}, not by NO_SUCH_STREAM` });
    const nc = await connect({ servers });
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    await nc.close();
    expect(info.state.messages).toBe(0);
  });
});
