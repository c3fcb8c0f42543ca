/**
 * Generated requests against a real server: whatever the method, target,
 * headers, framing and body, every request gets an answer from a small defined set, the
 * service keeps serving, and every body acknowledged with 200 is in the journal.
 */
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import type { ServerInternals } from '../src/server.js';
import { rawExchange, rawPost } from './helpers/raw-http.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const AUTH = encodeBasicAuthorization('enablex', 's3cret');
const SECRET = 'fuzz-secret';
// 415: fastify's answer to a body on an operational route with a content type it does not parse.
const ALLOWED = new Set([200, 400, 401, 403, 404, 405, 408, 413, 415, 417, 431]);
// BLUETICK_PROPERTY_RUNS raises the number of generated requests (give it a longer --testTimeout);
// all of them run, or the test fails.
const RUNS = Number(process.env.BLUETICK_PROPERTY_RUNS ?? 150);

let server: TempServer;
let running: ServerInternals;
let port: number;
const acked: Buffer[] = [];

beforeAll(async () => {
  server = await startTempServer('bluetick-http-fuzz-', {
    // Wrong credentials on purpose, many times: the backoff (security.test.ts) would turn them into 429s.
    server: { limits: { bodyBytes: 4096, headersTimeoutMs: 2_000, requestTimeoutMs: 4_000, authFailures: 0 } },
    channels: [
      { name: 'enablex', basicAuth: ['enablex:s3cret'] },
      { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET], verifyTokens: ['tok'] } },
    ],
  });
  ({ running, port } = server);
});

afterAll(() => server?.close());

const token = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'), minLength: 1, maxLength: 12 });
const segment = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.~%2eEfF/?#=&;:@+$,\'()'), maxLength: 16 });
const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'), maxLength: 40 });

// Weighted so that a good share of requests get past routing and authentication.
const method = fc.oneof(
  { arbitrary: fc.constant('POST'), weight: 6 },
  { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'HEAD'), weight: 2 },
  { arbitrary: token.map((t) => t.toUpperCase()), weight: 1 },
  { arbitrary: token, weight: 1 },
);

const target = fc.oneof(
  { arbitrary: fc.constantFrom('/webhooks/enablex', '/webhooks/meta', '/webhooks/enablex?x=1', `http://127.0.0.1/webhooks/meta`), weight: 6 },
  { arbitrary: fc.constantFrom('/webhooks/meta?hub.mode=subscribe&hub.verify_token=tok&hub.challenge=42', '/healthz', '/readyz', '/metrics', '/', '*'), weight: 1 },
  { arbitrary: segment.map((s) => `/webhooks/${s}`), weight: 1 },
  { arbitrary: segment.map((s) => `/${s}`), weight: 1 },
  { arbitrary: segment.map((s) => `http://127.0.0.1/webhooks/${s}`), weight: 1 },
);

const headerValue = fc.oneof(printable, fc.constantFrom('\u0000', 'a\u007fb', 'é', '\t', ''));
const headers = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom('Content-Type', 'User-Agent', 'Accept', 'X-Forwarded-For', 'Authorization', 'X-Hub-Signature-256', 'Expect', 'Cookie'), token), headerValue),
  { maxLength: 6 },
);

const body = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.constant(Buffer.alloc(5000, 0x61)),
  fc.constant(Buffer.alloc(0)),
);

const auth = fc.constantFrom('right', 'right', 'right', 'none', 'basic', 'signature', 'forged');
const framing = fc.constantFrom('length', 'length', 'chunked', 'none');

interface Generated {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  auth: string;
  framing: string;
}

function render(g: Generated): Buffer {
  const lines = [`${g.method} ${g.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of g.headers) lines.push(`${name}: ${value}`);
  const right = g.auth === 'right' ? (g.target.includes('meta') ? 'signature' : 'basic') : g.auth;
  if (right === 'basic') lines.push(`Authorization: ${AUTH}`);
  if (right === 'signature') lines.push(`X-Hub-Signature-256: ${signMeta(g.body, SECRET)}`);
  if (right === 'forged') lines.push(`X-Hub-Signature-256: ${signMeta(g.body, 'forged')}`);
  let payload = g.body;
  if (g.framing === 'length') lines.push(`Content-Length: ${g.body.length}`);
  else if (g.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    payload = Buffer.concat([g.body.length > 0 ? Buffer.from(`${g.body.length.toString(16)}\r\n`) : Buffer.alloc(0), g.body, Buffer.from(g.body.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n')]);
  } else payload = Buffer.alloc(0);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), payload]);
}

describe('generated HTTP requests', () => {
  it('each gets an answer from the defined set, and every 200 for a webhook POST is a journaled body', async () => {
    const seen = new Map<number, number>();
    const check = fc.assert(
      fc.asyncProperty(fc.record({ method, target, headers, body, auth, framing }), async (g) => {
        const res = await rawExchange(port, [render(g)], { timeoutMs: 6_000 });
        const line = /^HTTP\/1\.1 (\d{3})/.exec(res.raw.toString('latin1').replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''));
        expect(line, `no answer to ${JSON.stringify(render(g).toString('latin1').slice(0, 200))}`).not.toBeNull();
        const status = Number(line![1]);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        expect(ALLOWED.has(status), `status ${status} for ${JSON.stringify(render(g).toString('latin1').slice(0, 200))}`).toBe(true);
        if (status === 200 && res.responses[0]?.body === '{"ok":true}') acked.push(g.framing === 'none' ? Buffer.alloc(0) : g.body);
      }),
      { numRuns: RUNS },
    );
    // A counterexample can hold a body of kilobytes; keep the report readable.
    await check.catch((error: Error) => {
      throw new Error(error.message.replace(/Buffer\.from\(\[[\d,]{400,}\]\)/g, 'Buffer(...)').slice(0, 4000));
    });
    // The generators reach past the front door: some requests were acknowledged, some refused.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].filter((s) => s >= 400).length).toBeGreaterThan(2);

    const good = '{"messages":[],"business_phone":"919876500001"}';
    const after = await rawExchange(port, [rawPost('/webhooks/enablex', good, { Authorization: AUTH })], { responses: 1 });
    expect(after.responses[0]?.status).toBe(200);
    acked.push(Buffer.from(good));

    await running.pipeline.drain();
    const page = await running.store.journal.list({}, { limit: 10_000 });
    const journaled = new Map<string, number>();
    for (const row of page.items) journaled.set(row.body.toString('base64'), (journaled.get(row.body.toString('base64')) ?? 0) + 1);
    for (const b of acked) {
      const key = b.toString('base64');
      expect(journaled.get(key) ?? 0, 'an acknowledged body is in the journal').toBeGreaterThan(0);
      journaled.set(key, journaled.get(key)! - 1);
    }
    expect((await running.store.counts()).journal.failed).toBe(0);
  });
});
