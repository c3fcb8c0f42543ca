/**
 * The HTTP sink against real receivers on 127.0.0.1 (node:http): status handling,
 * timeouts, Retry-After, signatures checked with the standardwebhooks verifier, and the
 * per-sink concurrency limit.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { serializeEvent } from '../src/events/normalize.js';
import type { BluetickEvent } from '../src/events/types.js';
import { nextAttemptAt, resolveRetryPolicy } from '../src/dispatch/retry.js';
import { HttpSink, type HttpSinkConfig } from '../src/dispatch/sink-http.js';
import { createSink, type Sink } from '../src/dispatch/sinks.js';

type Received = { headers: IncomingHttpHeaders; body: string };
type Handler = (req: IncomingMessage, res: ServerResponse, received: Received, index: number) => void;

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A receiver that reads each body and hands the request to `handler`. */
async function receiver(handler: Handler): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      handler(req, res, entry, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}/hooks/whatsapp?src=bluetick`, received, close };
}

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

function sink(config: Partial<HttpSinkConfig> & { url: string }): HttpSink {
  const s = new HttpSink({ name: 'crm', type: 'http', secret: secret(), timeoutMs: 2_000, ...config });
  cleanups.push(() => s.close());
  return s;
}

let n = 0;
function event(overrides: Partial<BluetickEvent> = {}): BluetickEvent {
  n++;
  return {
    id: `evt_${n}_${randomBytes(4).toString('hex')}`,
    type: 'template.status',
    provider: 'meta',
    channel: 'sales',
    businessAccountId: '102290129340398',
    templateId: '18446744073709551617',
    templateName: 'order_update',
    language: 'en_US',
    status: 'APPROVED',
    occurredAt: '2025-06-01T12:00:00.000Z',
    receivedAt: '2025-06-01T12:00:00.123Z',
    data: { message_template_id: 18446744073709551617n, event: 'APPROVED' },
    ...overrides,
  } as BluetickEvent;
}

describe('HTTP sink', () => {
  it('posts the serialized event and reports a 2xx as success', async () => {
    const r = await receiver((_req, res) => res.writeHead(204).end());
    const e = event();
    const outcome = await sink({ url: r.url }).deliver(e);
    expect(outcome).toMatchObject({ ok: true, classification: 'success', statusCode: 204 });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
    expect(outcome.error).toBeUndefined();
    expect(r.received).toHaveLength(1);
    const [got] = r.received;
    expect(got!.body).toBe(serializeEvent(e));
    expect(got!.body).toContain('"message_template_id":18446744073709551617');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toMatch(/^bluetick\/\d+\.\d+\.\d+/);
    expect(got!.headers['idempotency-key']).toBe(e.id);
    expect(got!.headers['webhook-id']).toBe(e.id);
  });

  it('signs per Standard Webhooks so the reference verifier accepts the exact body', async () => {
    const key = secret();
    const r = await receiver((_req, res) => res.writeHead(200).end('ok'));
    const e = event();
    await sink({ url: r.url, secret: key }).deliver(e);
    const [got] = r.received;
    const headers = got!.headers as Record<string, string>;
    expect(Number(headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(() => new Webhook(key).verify(got!.body, headers)).not.toThrow();
    // A different secret, or a body altered by one byte, does not verify.
    expect(() => new Webhook(secret()).verify(got!.body, headers)).toThrow();
    expect(() => new Webhook(key).verify(got!.body.replace('APPROVED', 'REJECTED'), headers)).toThrow();
  });

  it('signs with every secret while one is rotated, so receivers on either secret verify', async () => {
    const [oldKey, newKey] = [secret(), secret()];
    const r = await receiver((_req, res) => res.writeHead(200).end());
    await sink({ url: r.url, secret: [oldKey, newKey] }).deliver(event());
    const [got] = r.received;
    const headers = got!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldKey).verify(got!.body, headers)).not.toThrow();
    expect(() => new Webhook(newKey).verify(got!.body, headers)).not.toThrow();
  });

  it('sends the configured extra headers and a user agent override', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end());
    await sink({ url: r.url, headers: { 'X-Api-Key': 'k1', 'User-Agent': 'acme-relay' } }).deliver(event());
    expect(r.received[0]!.headers['x-api-key']).toBe('k1');
    expect(r.received[0]!.headers['user-agent']).toBe('acme-relay');
  });

  it('retries a receiver that fails twice and succeeds on the third attempt with the same ids', async () => {
    const r = await receiver((_req, res, _got, i) => (i < 2 ? res.writeHead(503).end('maintenance') : res.writeHead(200).end()));
    const s = sink({ url: r.url });
    const e = event();
    const policy = resolveRetryPolicy({ maxAttempts: 5, baseMs: 10, jitter: 'none' });
    const schedule: Array<number | 'dead'> = [];
    let attempt = 0;
    let outcome;
    do {
      attempt++;
      outcome = await s.deliver(e);
      if (outcome.classification === 'retry') schedule.push(nextAttemptAt(policy, attempt, 0));
    } while (outcome.classification === 'retry');
    expect(outcome.classification).toBe('success');
    expect(attempt).toBe(3);
    expect(schedule).toEqual([10, 20]);
    expect(new Set(r.received.map((g) => g.headers['webhook-id']))).toEqual(new Set([e.id]));
    expect(new Set(r.received.map((g) => g.headers['idempotency-key']))).toEqual(new Set([e.id]));
  });

  it('reports a 5xx as retry with the status and the start of the response body', async () => {
    const r = await receiver((_req, res) => res.writeHead(500, 'Internal Server Error').end(`database down ${'x'.repeat(5000)}`));
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', statusCode: 500, error: 'HTTP 500 Internal Server Error' });
    expect(outcome.detail!.startsWith('database down')).toBe(true);
    expect(outcome.detail!.length).toBeLessThanOrEqual(512);
  });

  it('fails fast on a 400', async () => {
    const r = await receiver((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"unknown field"}'));
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'fail', statusCode: 400, detail: '{"error":"unknown field"}' });
  });

  it('reads Retry-After in seconds from a 429', async () => {
    const r = await receiver((_req, res) => res.writeHead(429, { 'retry-after': '7' }).end());
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', statusCode: 429, retryAfterMs: 7000 });
    const at = nextAttemptAt(resolveRetryPolicy(), 1, 0, { retryAfterMs: outcome.retryAfterMs, random: () => 0.99 });
    expect(at).toBe(7000);
  });

  it('reads Retry-After as an HTTP date from a 503, against the sink clock', async () => {
    const now = Date.parse('2025-06-01T12:00:00.000Z');
    const r = await receiver((_req, res) => res.writeHead(503, { 'retry-after': 'Sun, 01 Jun 2025 12:02:00 GMT' }).end());
    const s = new HttpSink({ name: 'crm', type: 'http', url: r.url, secret: secret() }, { now: () => now });
    cleanups.push(() => s.close());
    const outcome = await s.deliver(event());
    expect(outcome).toMatchObject({ classification: 'retry', statusCode: 503, retryAfterMs: 120_000 });
    // The signature timestamp follows the same clock.
    expect(r.received[0]!.headers['webhook-timestamp']).toBe(String(now / 1000));
  });

  it('times out a receiver that never answers, as a retry', async () => {
    const r = await receiver(() => {
      // Never answers.
    });
    const started = Date.now();
    const outcome = await sink({ url: r.url, timeoutMs: 300 }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', errorCode: 'timeout' });
    expect(outcome.error).toContain('300 ms');
    expect(outcome.statusCode).toBeUndefined();
    // Not before the timeout; how long after it depends on the machine, so no upper bound.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('times out a receiver that sends headers but never finishes the body', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    const outcome = await sink({ url: r.url, timeoutMs: 300 }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', errorCode: 'timeout' });
  });

  it('counts a 2xx as success even when its body never finishes before the timeout', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('accepted, more to follow');
    });
    const outcome = await sink({ url: r.url, timeoutMs: 300 }).deliver(event());
    expect(outcome).toMatchObject({ ok: true, classification: 'success', statusCode: 200 });
  });

  it('cuts a response body past 64 KiB and still reports the status', async () => {
    const big = 'y'.repeat(200 * 1024);
    const r = await receiver((req, res) => res.writeHead(req.url!.includes('fail') ? 503 : 200).end(`start ${big}`));
    const ok = await sink({ url: r.url }).deliver(event());
    expect(ok).toMatchObject({ ok: true, classification: 'success', statusCode: 200 });
    const failed = await sink({ url: r.url.replace('/hooks/', '/fail/') }).deliver(event());
    expect(failed).toMatchObject({ ok: false, classification: 'retry', statusCode: 503 });
    expect(failed.detail!.startsWith('start yyy')).toBe(true);
    expect(failed.detail!.length).toBeLessThanOrEqual(512);
  });

  it('reports a connection reset in the middle of an error body as a retry with the error', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(500, { 'content-length': '1000' });
      res.write('half of it', () => res.socket?.destroy());
    });
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry' });
    expect(outcome.statusCode).toBeUndefined();
    expect(outcome.errorCode).toBeTruthy();
  });

  it('reports a refused connection as a retry with its code', async () => {
    const r = await receiver(() => undefined);
    await r.close();
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry', errorCode: 'ECONNREFUSED' });
    expect(outcome.error).toBeTruthy();
  });

  it('reports a connection reset mid-request as a retry', async () => {
    const r = await receiver((req) => req.socket.destroy());
    const outcome = await sink({ url: r.url }).deliver(event());
    expect(outcome).toMatchObject({ ok: false, classification: 'retry' });
    expect(outcome.errorCode).toBeTruthy();
  });

  it('never has more requests in flight than the concurrency limit', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const held: ServerResponse[] = [];
    let onHeld: (() => void) | undefined;
    const r = await receiver((_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('finish', () => inFlight--);
      held.push(res);
      onHeld?.();
    });
    const s = sink({ url: r.url, concurrency: 3, timeoutMs: 10_000 });
    const heldCount = (count: number) =>
      new Promise<void>((resolve) => {
        onHeld = () => held.length >= count && resolve();
        onHeld();
      });
    const deliveries = Array.from({ length: 10 }, () => s.deliver(event()));
    await heldCount(3);
    expect(s.load).toEqual({ inFlight: 3, waiting: 7 });
    // Answer one at a time; each answer lets exactly one more request in.
    for (let answered = 0; answered < 10; answered++) {
      await heldCount(Math.min(answered + 3, 10));
      held[answered]!.writeHead(200).end();
    }
    const outcomes = await Promise.all(deliveries);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(r.received).toHaveLength(10);
    expect(maxInFlight).toBe(3);
    expect(s.load).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('answers deliveries after close with a retry outcome instead of sending', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end());
    const s = sink({ url: r.url });
    await s.close();
    expect(await s.deliver(event())).toMatchObject({ ok: false, classification: 'retry', errorCode: 'sink-closed' });
    expect(r.received).toHaveLength(0);
  });
});

describe('createSink', () => {
  it('builds an HTTP sink from its config', async () => {
    const r = await receiver((_req, res) => res.writeHead(202).end());
    const s: Sink = createSink({ name: 'crm', type: 'http', url: r.url, secret: secret() });
    cleanups.push(() => s.close());
    expect([s.name, s.type]).toEqual(['crm', 'http']);
    expect(await s.deliver(event())).toMatchObject({ ok: true, statusCode: 202 });
  });

  it('names every bad key of an HTTP sink config', () => {
    let caught: unknown;
    try {
      createSink({
        name: 'crm',
        type: 'http',
        url: 'ftp://example.com/x',
        secret: 'not-a-secret',
        timeoutMs: 0,
        concurrency: 2.5,
        headers: { 'Webhook-Signature': 'forged' },
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues).toEqual([
      'sinks.crm.url: must be http: or https:',
      expect.stringMatching(/^sinks\.crm\.secret: does not start with "whsec_"; expected a Standard Webhooks secret: "whsec_" followed by the base64 of at least 24 random bytes/),
      'sinks.crm.timeoutMs: must be a number of ms > 0',
      'sinks.crm.concurrency: must be an integer >= 1',
      'sinks.crm.headers.Webhook-Signature: set by bluetick, cannot be overridden',
    ]);
  });

  it('refuses a whsec_ secret too short to sign with', () => {
    expect(() => createSink({ name: 'crm', type: 'http', url: 'http://127.0.0.1:1/', secret: 'whsec_c2hvcnQ=' })).toThrow(
      /sinks\.crm\.secret: encodes 5 bytes after "whsec_", too few to sign with; expected a Standard Webhooks secret: "whsec_" followed by the base64 of at least 24 random bytes, e\.g\. whsec_ \+ `openssl rand -base64 32`/,
    );
  });

  it('explains the whsec_ format when the part after the prefix is not base64', () => {
    expect(() => createSink({ name: 'crm', type: 'http', url: 'http://127.0.0.1:1/', secret: 'whsec_my-secret-password-is-long!' })).toThrow(
      /sinks\.crm\.secret: the part after "whsec_" is not base64 \(only A-Z, a-z, 0-9, "\+", "\/" and "=" padding\); expected a Standard Webhooks secret/,
    );
    expect(() => createSink({ name: 'crm', type: 'http', url: 'http://127.0.0.1:1/', secret: `whsec_${randomBytes(32).toString('base64')}` })).not.toThrow();
  });

  it('refuses an unknown sink type by name', () => {
    expect(() => createSink({ name: 'q', type: 'kafka' } as never)).toThrow(/sinks\.q\.type: unknown sink type "kafka"/);
  });
});
