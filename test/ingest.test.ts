/**
 * The ingest path end to end: real HTTP over loopback into a real SQLite file in a temp
 * folder, then the pipeline. No mocks: what a provider would see, and what the journal holds.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig, type Config } from '../src/config/resolve.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { escapeNonAscii, signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import type { JournalRow } from '../src/store/store.js';
import { statusBody } from './helpers/meta-bodies.js';

const ENABLEX_AUTH = encodeBasicAuthorization('enablex', 's3cret');
const OTHER_AUTH = encodeBasicAuthorization('second', 'pass:with:colons');
const NEW_SECRET = 'new-app-secret';
const OLD_SECRET = 'old-app-secret';
const BODY_LIMIT = 64 * 1024;

const CHANNELS: WrittenConfigInput['channels'] = [
  { name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret', { username: 'second', password: 'pass:with:colons' }] },
  { name: 'meta', provider: 'meta', meta: { appSecrets: [NEW_SECRET, OLD_SECRET], verifyTokens: ['verify-me'] } },
  { name: 'either', basicAuth: ['enablex:s3cret'], meta: { appSecrets: [NEW_SECRET] } },
];

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface SendOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Sent with chunked transfer encoding, one write per chunk. */
  chunks?: Buffer[];
  /** Declare this Content-Length and send no body: the answer must come from the headers alone. */
  declareLength?: number;
}

/** One request on a fresh connection; resolves with the answer even if the upload is cut short. */
function send(base: string, opts: SendOptions): Promise<Reply> {
  const url = new URL(opts.path, base);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      // The path goes out as written (a URL object would resolve "..").
      { hostname: url.hostname, port: url.port, path: opts.path, method: opts.method ?? 'POST', headers: opts.headers ?? {}, agent: false },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.declareLength !== undefined) {
      req.setHeader('Content-Length', String(opts.declareLength));
      req.flushHeaders();
      return;
    }
    if (opts.chunks) {
      let i = 0;
      const pump = (): void => {
        while (!answered && i < opts.chunks!.length) {
          if (!req.write(opts.chunks![i++]!)) {
            req.once('drain', pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
      return;
    }
    req.end(opts.body);
  });
}

/** A Meta body with `statuses` delivery receipts, ids `${prefix}.0` onwards, one second apart. */
function metaEnvelope(statuses: number, prefix = 'wamid.batch'): string {
  return statusBody(
    Array.from({ length: statuses }, (_, i) => ({ id: `${prefix}.${i}`, status: 'delivered', to: '16505551234', at: (1_750_000_000 + i) * 1000 })),
  );
}

const ENABLEX_TEXT = JSON.stringify({
  messages: [{ from: '919999999999', id: 'enx-msg-1', timestamp: '1750000000', type: 'text', text: { body: 'hello' } }],
  contacts: [{ profile: { name: 'Asha' }, wa_id: '919999999999' }],
  business_phone: '918888888888',
});

function buildConfig(dataDir: string, written: WrittenConfigInput = {}): Config {
  const result = resolveConfig({
    written: {
      ...written,
      server: { port: 0, dataDir, limits: { bodyBytes: BODY_LIMIT }, ...written.server },
      channels: written.channels ?? CHANNELS,
    },
    cwd: dataDir,
  });
  expect(result.errors).toEqual([]);
  return result.config!;
}

async function allJournal(running: ServerInternals): Promise<JournalRow[]> {
  const page = await running.store.journal.list({}, { limit: 1000 });
  return page.items;
}

describe('ingest over HTTP', () => {
  let dir: string;
  let running: ServerInternals;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-ingest-'));
    running = await launchServer(buildConfig(dir), {
      logger: silentLogger(),
      processMetrics: false,
      pipeline: { pollMs: 50 },
    });
  });

  afterEach(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the right Basic credentials, refuses wrong and missing ones with 401, and journals only the accepted body', async () => {
    const ok = await send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: ENABLEX_TEXT });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('{"ok":true}');

    const second = await send(running.url, { path: '/webhooks/enablex', headers: { authorization: OTHER_AUTH }, body: '{"n":2}' });
    expect(second.status).toBe(200);

    const wrong = await send(running.url, {
      path: '/webhooks/enablex',
      headers: { authorization: encodeBasicAuthorization('enablex', 'guess') },
      body: '{"wrong":true}',
    });
    const missing = await send(running.url, { path: '/webhooks/enablex', body: '{"missing":true}' });
    const wrongUser = await send(running.url, {
      path: '/webhooks/enablex',
      headers: { authorization: encodeBasicAuthorization('second', 's3cret') },
      body: '{"mixed":true}',
    });
    for (const refused of [wrong, missing, wrongUser]) {
      expect(refused.status).toBe(401);
      expect(refused.body).toBe('unauthorized\n');
      expect(refused.headers['www-authenticate']).toMatch(/^Basic realm="bluetick"/);
    }

    const rows = await allJournal(running);
    expect(rows.map((r) => r.body.toString('utf8'))).toEqual([ENABLEX_TEXT, '{"n":2}']);
    expect(rows[0]!.verifiedBy).toBe('basic');
    expect(rows[0]!.channel).toBe('enablex');
    expect(rows[0]!.headers.authorization).toBe('Basic ***');
    expect(JSON.stringify(rows[0]!.headers)).not.toContain('s3cret');
  });

  it('accepts a body signed with any configured app secret and refuses a wrong signature', async () => {
    const body = metaEnvelope(1, 'wamid.sig');
    const withNew = await send(running.url, {
      path: '/webhooks/meta',
      headers: { 'x-hub-signature-256': signMeta(body, NEW_SECRET), 'content-type': 'application/json' },
      body,
    });
    const withOld = await send(running.url, { path: '/webhooks/meta', headers: { 'x-hub-signature-256': signMeta(body, OLD_SECRET) }, body });
    const wrong = await send(running.url, { path: '/webhooks/meta', headers: { 'x-hub-signature-256': signMeta(body, 'not-ours') }, body });
    const tampered = await send(running.url, {
      path: '/webhooks/meta',
      headers: { 'x-hub-signature-256': signMeta(body, NEW_SECRET) },
      body: body.replace('delivered', 'read'),
    });
    const garbage = await send(running.url, { path: '/webhooks/meta', headers: { 'x-hub-signature-256': 'sha256=zz' }, body });
    const none = await send(running.url, { path: '/webhooks/meta', body });

    expect([withNew.status, withOld.status]).toEqual([200, 200]);
    for (const refused of [wrong, tampered, garbage, none]) {
      expect(refused.status).toBe(401);
      expect(refused.body).toBe('unauthorized\n');
      // No Basic credentials on this channel: nothing to prompt for.
      expect(refused.headers['www-authenticate']).toBeUndefined();
    }
    const rows = await allJournal(running);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.verifiedBy === 'meta-signature')).toBe(true);
    expect(rows[0]!.headers['x-hub-signature-256']).toBe(signMeta(body, NEW_SECRET));
    expect(rows[0]!.headers['content-type']).toBe('application/json');
  });

  it('verifies a body whose unicode escapes were decoded on the way, and records that it was rewritten', async () => {
    const asMetaSent = '{"object":"whatsapp_business_account","entry":[],"note":"caf\\u00e9 \\ud83d\\ude00"}';
    const rewritten = '{"object":"whatsapp_business_account","entry":[],"note":"café 😀"}';
    expect(escapeNonAscii(Buffer.from(rewritten))!.toString('latin1')).toBe(asMetaSent);

    const res = await send(running.url, {
      path: '/webhooks/meta',
      headers: { 'x-hub-signature-256': signMeta(asMetaSent, NEW_SECRET) },
      body: rewritten,
    });
    expect(res.status).toBe(200);
    const [row] = await allJournal(running);
    expect(row!.verifiedBy).toBe('meta-signature-escaped');
    expect(row!.body.equals(Buffer.from(rewritten, 'utf8'))).toBe(true);
  });

  it('takes either a valid Basic credential or a valid signature on a channel configured with both', async () => {
    const body = '{"messages":[]}';
    const basic = await send(running.url, { path: '/webhooks/either', headers: { authorization: ENABLEX_AUTH }, body });
    const signed = await send(running.url, { path: '/webhooks/either', headers: { 'x-hub-signature-256': signMeta(body, NEW_SECRET) }, body });
    const wrongBasicGoodSignature = await send(running.url, {
      path: '/webhooks/either',
      headers: { authorization: encodeBasicAuthorization('x', 'y'), 'x-hub-signature-256': signMeta(body, NEW_SECRET) },
      body,
    });
    const neither = await send(running.url, {
      path: '/webhooks/either',
      headers: { authorization: encodeBasicAuthorization('x', 'y'), 'x-hub-signature-256': signMeta(body, 'nope') },
      body,
    });
    expect([basic.status, signed.status, wrongBasicGoodSignature.status, neither.status]).toEqual([200, 200, 200, 401]);
    expect((await allJournal(running)).map((r) => r.verifiedBy)).toEqual(['basic', 'meta-signature', 'meta-signature']);
  });

  it('answers the Meta handshake with the challenge as text/plain, 403 on a wrong token, 400 without the parameters', async () => {
    const ok = await send(running.url, {
      method: 'GET',
      path: '/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('1158201444');
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);

    const wrong = await send(running.url, {
      method: 'GET',
      path: '/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444',
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body).not.toContain('1158201444');

    const missing = await send(running.url, { method: 'GET', path: '/webhooks/meta' });
    expect(missing.status).toBe(400);
    const noTokens = await send(running.url, {
      method: 'GET',
      path: '/webhooks/enablex?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1',
    });
    expect(noTokens.status).toBe(403);
    expect(await allJournal(running)).toHaveLength(0);
  });

  it('refuses a body over the limit with 413, at once when Content-Length declares it', async () => {
    const declared = await send(running.url, {
      path: '/webhooks/enablex',
      headers: { authorization: ENABLEX_AUTH },
      declareLength: 50 * 1024 * 1024,
    });
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    expect(await allJournal(running)).toHaveLength(0);
  });

  it('refuses a chunked body that streams past the limit with 413', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const res = await send(running.url, {
      path: '/webhooks/enablex',
      headers: { authorization: ENABLEX_AUTH },
      chunks: Array.from({ length: 40 }, () => chunk),
    });
    expect(res.status).toBe(413);
    // Just under the limit is fine.
    const under = await send(running.url, {
      path: '/webhooks/enablex',
      headers: { authorization: ENABLEX_AUTH },
      chunks: [Buffer.alloc(BODY_LIMIT - 10, 0x20), Buffer.from('{"a":1}')],
    });
    expect(under.status).toBe(200);
    const rows = await allJournal(running);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.body.length).toBe(BODY_LIMIT - 3);
  });

  it('answers 405 with Allow for other methods and 404 for a path no channel owns', async () => {
    const put = await send(running.url, { method: 'PUT', path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
    const unknown = await send(running.url, { path: '/webhooks/nobody', headers: { authorization: ENABLEX_AUTH }, body: '{}' });
    expect(unknown.status).toBe(404);
    const traversal = await send(running.url, { path: '/webhooks/../webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: '{}' });
    expect(traversal.status).toBe(404);
    expect(await allJournal(running)).toHaveLength(0);
  });

  it('stores the exact bytes, whatever the whitespace, escapes, byte order mark or content type', async () => {
    const bodies = [
      Buffer.from(' {\r\n\t"object" : "whatsapp_business_account" ,\n\n "entry":[ ]\t}  \r\n', 'utf8'),
      Buffer.from('{"text":"caf\\u00e9 \\u0915 \\ud83d\\ude00 \\"quoted\\" \\/slash"}', 'utf8'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":"yes","raw":"नमस्ते 😀"}', 'utf8')]),
      Buffer.from([0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // not valid UTF-8
    ];
    for (const body of bodies) {
      const res = await send(running.url, {
        path: '/webhooks/enablex',
        headers: { authorization: ENABLEX_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(200);
    }
    const rows = await allJournal(running);
    expect(rows).toHaveLength(bodies.length);
    rows.forEach((row, i) => expect(Buffer.compare(row.body, bodies[i]!)).toBe(0));
  });

  it('answers 200 to an authenticated body that is not JSON and keeps it in quarantine with its cause', async () => {
    const res = await send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: 'status=delivered&id=1' });
    expect(res.status).toBe(200);
    await running.pipeline.drain();
    const page = await running.store.journal.list({ state: ['quarantined'] }, { limit: 10 });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.body.toString()).toBe('status=delivered&id=1');
    expect(page.items[0]!.cause).toBeTruthy();
    expect((await running.store.counts()).events).toBe(0);
  });

  it('answers 503 with Retry-After while the journal cannot commit, and 200 again once it can', async () => {
    // Acked rows are written first to the inbox file (store/sqlite/thread/inbox.ts): lock that one.
    const db = new Database(join(dir, 'bluetick.inbox.db'));
    try {
      db.exec('BEGIN EXCLUSIVE');
      const blocked = await send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: '{"during":"lock"}' });
      expect(blocked.status).toBe(503);
      expect(blocked.headers['retry-after']).toBe('5');
      const ready = await send(running.url, { method: 'GET', path: '/readyz' });
      expect(ready.status).toBe(503);
      // Public: the status only; why (a store error can name database hosts) goes to the log.
      expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable' });
      db.exec('COMMIT');

      const after = await send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: '{"after":"lock"}' });
      expect(after.status).toBe(200);
      const readyAgain = await send(running.url, { method: 'GET', path: '/readyz' });
      expect(readyAgain.status).toBe(200);
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    }
    const rows = await allJournal(running);
    expect(rows.map((r) => r.body.toString())).toEqual(['{"after":"lock"}']);
    await running.rejections.flush();
    const rejections = await running.store.rejections.list({ limit: 10 });
    expect(rejections.items.map((r) => r.cause)).toContain('journal-unavailable');
  });

  it('turns a POST of 40 statuses into 40 events, and a redelivery of it into none', async () => {
    const body = metaEnvelope(40);
    const headers = { 'x-hub-signature-256': signMeta(body, NEW_SECRET) };
    expect((await send(running.url, { path: '/webhooks/meta', headers, body })).status).toBe(200);
    await running.pipeline.drain();
    let counts = await running.store.counts();
    expect(counts.events).toBe(40);
    expect(counts.eventsByType['message.status']).toBe(40);

    expect((await send(running.url, { path: '/webhooks/meta', headers, body })).status).toBe(200);
    await running.pipeline.drain();
    counts = await running.store.counts();
    expect(counts.events).toBe(40);
    expect(counts.journal.processed).toBe(1);
    expect(counts.journal.duplicate).toBe(1);

    const events = await running.store.events.list({ messageId: 'wamid.batch.39' }, { limit: 10 });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]!.duplicates).toBe(1);
    expect(events.items[0]!.event.channel).toBe('meta');
  });

  it('keeps refused requests in the rejection log with their cause, without saying why in the response', async () => {
    await send(running.url, { path: '/webhooks/enablex', body: '{}' });
    await send(running.url, { path: '/webhooks/enablex', headers: { authorization: encodeBasicAuthorization('a', 'b') }, body: '{}' });
    await send(running.url, { path: '/webhooks/meta', headers: { 'x-hub-signature-256': signMeta('{}', 'x') }, body: '{}' });
    await send(running.url, { path: '/webhooks/ghost', body: '{}' });
    await send(running.url, { method: 'DELETE', path: '/webhooks/meta' });
    await send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, declareLength: BODY_LIMIT + 1 });
    await running.rejections.flush();

    const { items } = await running.store.rejections.list({ limit: 100 });
    expect(items.map((r) => [r.channel, r.cause])).toEqual([
      ['enablex', 'unauthorized'],
      ['enablex', 'unauthorized'],
      ['meta', 'unauthorized'],
      [undefined, 'unknown-channel'],
      ['meta', 'method-not-allowed'],
      ['enablex', 'payload-too-large'],
    ]);
    expect(items[0]!.detail).toBe('no credentials');
    expect(items[1]!.detail).toBe('basic credentials did not match');
    expect(items[2]!.detail).toBe('meta signature did not match');
    expect(items[3]!.path).toBe('/webhooks/ghost');
    expect(items[0]!.remoteAddress).toBe('127.0.0.1');
    expect(items.every((r) => r.method.length > 0 && r.at > 0)).toBe(true);
  });

  it('serves /healthz, /readyz and /metrics next to the webhooks on the same port', async () => {
    const body = metaEnvelope(3, 'wamid.metrics');
    await send(running.url, { path: '/webhooks/meta', headers: { 'x-hub-signature-256': signMeta(body, NEW_SECRET) }, body });
    await send(running.url, { path: '/webhooks/enablex', body: '{}' });
    await running.pipeline.drain();

    const health = await send(running.url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });

    const ready = await send(running.url, { method: 'GET', path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });

    // /metrics takes the admin token (or the metrics token), nothing else.
    expect((await send(running.url, { method: 'GET', path: '/metrics' })).status).toBe(401);
    const metrics = await send(running.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${running.adminToken.token}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const text = metrics.body;
    expect(text).toContain('bluetick_ingest_requests_total{channel="meta",outcome="acked"} 1');
    expect(text).toContain('bluetick_ingest_requests_total{channel="enablex",outcome="unauthorized"} 1');
    expect(text).toMatch(/bluetick_ingest_ack_seconds_bucket\{le="0\.0001"\} \d+/);
    expect(text).toContain('bluetick_ingest_ack_seconds_count 1');
    expect(text).toContain('bluetick_journal_batch_size_count 1');
    expect(text).toContain('bluetick_pipeline_lag_seconds 0');
    expect(text).toContain('bluetick_rejections_total{cause="unauthorized"} 1');
    expect(text).toContain('bluetick_events_recorded_total{type="message.status"} 3');
    // The share of its thread the pipeline takes in a burst (the SQLite store's thread reports it with each batch).
    const share = /^bluetick_pipeline_burst_share (\S+)$/m.exec(text);
    expect(share).not.toBeNull();
    expect(Number(share![1])).toBeGreaterThanOrEqual(0.05);
    expect(Number(share![1])).toBeLessThanOrEqual(1);

    const missing = await send(running.url, { method: 'GET', path: '/nothing-here' });
    expect(missing.status).toBe(404);
  });
});

describe('ingest without credentials', () => {
  it('accepts unauthenticated posts on a loopback-only channel and records them as unverified', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-open-'));
    const result = resolveConfig({ written: { server: { port: 0, dataDir: dir } }, env: {}, cwd: dir });
    expect(result.warnings.join('\n')).toMatch(/UNAUTHENTICATED/);
    const running = await launchServer(result.config!, { logger: silentLogger(), processMetrics: false });
    try {
      expect(running.webhookUrls.default).toBe(`${running.url}/webhooks/default`);
      const res = await send(running.url, { path: '/webhooks/default', body: ENABLEX_TEXT });
      expect(res.status).toBe(200);
      const rows = await allJournal(running);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.verifiedBy).toBe('none');
    } finally {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('graceful close', () => {
  it('answers every request already in flight before closing the store, and refuses new connections after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-close-'));
    const running = await launchServer(buildConfig(dir), { logger: silentLogger(), processMetrics: false });
    try {
      // The barrier: close only once the server has taken all 20 requests (their headers parsed,
      // bodies and commits still to come), so each of them is in flight when close() starts.
      const IN_FLIGHT = 20;
      let arrived = 0;
      const allArrived = new Promise<void>((resolve) =>
        running.server.on('request', () => {
          if (++arrived === IN_FLIGHT) resolve();
        }),
      );
      const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) =>
        send(running.url, { path: '/webhooks/enablex', headers: { authorization: ENABLEX_AUTH }, body: `{"n":${i}}` }),
      );
      await allArrived;
      const closed = running.close();
      const answers = await Promise.allSettled(inFlight);
      await closed;
      const statuses = answers.map((a) => (a.status === 'fulfilled' ? a.value.status : 0));
      // Every request the server had taken gets its durable 200: none dropped, none 5xx.
      expect(statuses).toEqual(Array.from({ length: IN_FLIGHT }, () => 200));
      await expect(send(running.url, { path: '/webhooks/enablex', body: '{}' })).rejects.toThrow();

      const { openStore } = await import('../src/store/open.js');
      const store = await openStore({ dataDir: dir });
      const page = await store.journal.list({}, { limit: 100 });
      expect(page.items.length).toBe(IN_FLIGHT);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
