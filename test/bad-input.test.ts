/**
 * The bad-input matrix: one real server over loopback, one class of bad request per test,
 * each sent the way an attacker or a broken relay would (bare sockets where an HTTP client
 * would tidy the request up). Every test checks the answer, then that a good POST right
 * after it is still acknowledged. The last test checks that nothing was lost: the journal
 * holds exactly the bodies that were answered 200, byte for byte, and each was normalized.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import type { ServerInternals } from '../src/server.js';
import type { JournalRow } from '../src/store/store.js';
import { rawExchange, rawPost, type RawResponse, type RawResult } from './helpers/raw-http.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const AUTH = encodeBasicAuthorization('enablex', 's3cret');
const SECRET = 'bad-input-secret';
const BODY_LIMIT = 4 * 1024 * 1024;
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;

let server: TempServer;
let running: ServerInternals;
let port: number;
/** Every body answered 200, in the order sent (concurrent ones in any order). */
const acked: Buffer[] = [];
/** Bodies answered 200 that are not JSON objects: they must end up quarantined. */
let quarantineExpected = 0;
let goodSeq = 0;

function goodBody(): string {
  goodSeq++;
  return JSON.stringify({
    messages: [{ from: '919812345678', id: `ABEGkZmBI0VnAhGOOD${goodSeq}`, timestamp: '1717300000', type: 'text', text: { body: `good ${goodSeq}` } }],
    contacts: [{ profile: { name: 'Anita Rao' }, wa_id: '919812345678' }],
    business_phone: '919876500001',
  });
}

/** A well-formed, authenticated POST; it must be acknowledged whatever came before. */
async function stillServes(): Promise<void> {
  const body = goodBody();
  const res = await rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: AUTH, 'Content-Type': 'application/json' })], { responses: 1 });
  expect(res.responses[0]?.status, 'the good POST after the bad input').toBe(200);
  acked.push(Buffer.from(body));
}

function only(result: RawResult): RawResponse {
  expect(result.responses.length, `responses in ${result.raw.toString('latin1').slice(0, 300)}`).toBe(1);
  return result.responses[0]!;
}

/** Sends one authenticated body to the EnableX channel; returns the single answer. */
async function postEnablex(body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return only(await rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: AUTH, ...headers })], { responses: 1 }));
}

function ackedAs(body: string | Buffer, quarantined: boolean): void {
  acked.push(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
  if (quarantined) quarantineExpected++;
}

const META_BODY = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' }, statuses: [{ id: 'wamid.SIGNED', status: 'read', timestamp: '1717180000', recipient_id: '16315551181' }] } }] }],
});

async function postMeta(body: string, signature: string | undefined, extra: string[] = []): Promise<RawResponse> {
  const bytes = Buffer.from(body);
  const head = ['POST /webhooks/meta HTTP/1.1', 'Host: 127.0.0.1', `Content-Length: ${bytes.length}`, 'Connection: close', ...(signature === undefined ? [] : [`X-Hub-Signature-256: ${signature}`]), ...extra];
  return only(await rawExchange(port, [Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), bytes])], { responses: 1 }));
}

beforeAll(async () => {
  // Wrong credentials on purpose, many times: the backoff (security.test.ts) would turn them into 429s.
  server = await startTempServer('bluetick-bad-input-', {
    server: { limits: { bodyBytes: BODY_LIMIT, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: 5_000, authFailures: 0 } },
    channels: [
      { name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] },
      { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET], verifyTokens: ['verify-me'] } },
    ],
  });
  ({ running, port } = server);
});

afterAll(() => server?.close());

describe('bad input over real HTTP: each gets its answer and the service keeps serving', () => {
  // ---- bodies that are not what a provider sends: kept (200) and quarantined ----------------

  const quarantined: Array<[string, string | Buffer]> = [
    ['malformed JSON', '{"messages":[{"id":"x",'],
    ['a JSON array', '[{"messages":[]}]'],
    ['a JSON string', '"hello"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['an empty body', ''],
    ['a whitespace-only body', ' \r\n\t '],
    ['JSON followed by garbage', '{"messages":[]} trailing'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])],
    ['a raw control character inside a string', '{"messages":[{"text":{"body":"a\u0000b"}}]}'],
    ['JSON nested 100k levels deep (arrays)', `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
    ['JSON nested 100k levels deep (objects)', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`],
  ];
  for (const [name, body] of quarantined) {
    it(`${name}: 200, kept in quarantine`, async () => {
      const res = await postEnablex(body, { 'Content-Type': 'application/json' });
      expect(res.status).toBe(200);
      ackedAs(body, true);
      await stillServes();
    });
  }

  it('huge numbers (beyond 2^64 and 1e400): 200, normalized with every digit kept', async () => {
    const body = '{"statuses":[{"id":"gBEGhuge1","status":"read","timestamp":"1717300000","recipient_id":"919812345678","big":123456789012345678901234567890,"inf":1e400,"neg":-98765432109876543210}],"business_phone":"919876500001"}';
    expect((await postEnablex(body)).status).toBe(200);
    ackedAs(body, false);
    await running.pipeline.drain();
    const events = await running.store.events.list({ messageId: 'gBEGhuge1' }, { limit: 5 });
    expect(events.items).toHaveLength(1);
    const data = events.items[0]!.event.data as Record<string, unknown>;
    expect(String(data.big)).toBe('123456789012345678901234567890');
    expect(String(data.neg)).toBe('-98765432109876543210');
    await stillServes();
  });

  it('duplicate keys: 200, the last one wins as in JSON.parse', async () => {
    const body = '{"messages":[{"id":"ABEGdupFirst","from":"919812345678","type":"text","text":{"body":"first"}}],"messages":[{"id":"ABEGdupLast","from":"919812345678","type":"text","text":{"body":"last"}}],"business_phone":"919876500001"}';
    expect((await postEnablex(body)).status).toBe(200);
    ackedAs(body, false);
    await running.pipeline.drain();
    expect((await running.store.events.list({ messageId: 'ABEGdupLast' }, { limit: 5 })).items).toHaveLength(1);
    expect((await running.store.events.list({ messageId: 'ABEGdupFirst' }, { limit: 5 })).items).toHaveLength(0);
    await stillServes();
  });

  it('a byte order mark before the JSON: 200, normalized', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(goodBody())]);
    expect((await postEnablex(body)).status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  // ---- content types: the body is read raw whatever it claims to be ----------------------------

  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    it(`content type ${type ?? '(none)'}: 200, the bytes kept as sent`, async () => {
      const body = goodBody();
      const head = ['POST /webhooks/enablex HTTP/1.1', 'Host: x', `Authorization: ${AUTH}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', ...(type ? [`Content-Type: ${type}`] : [])];
      const res = only(await rawExchange(port, [`${head.join('\r\n')}\r\n\r\n${body}`], { responses: 1 }));
      expect(res.status).toBe(200);
      ackedAs(body, false);
      await stillServes();
    });
  }

  // ---- size ----------------------------------------------------------------------------------

  it('a 10 MB body with its Content-Length: 413 at once, the connection closed, nothing kept', async () => {
    const size = 10 * 1024 * 1024;
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: ${size}\r\n\r\n`;
    const res = await rawExchange(port, [head, Buffer.alloc(256 * 1024, 0x20)], { responses: 1 });
    expect(only(res).status).toBe(413);
    expect(only(res).headers.connection).toBe('close');
    await stillServes();
  });

  it('a 10 MB chunked body: 413 once it passes the limit, nothing kept', async () => {
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const res = await rawExchange(port, [head, ...Array.from({ length: 10 }, () => frame), '0\r\n\r\n'], { responses: 1 });
    expect(only(res).status).toBe(413);
    await stillServes();
  });

  // A client that writes its whole request before reading the answer, as many do. If the
  // server closed the socket while the body was still arriving, the client's writes would meet
  // a reset and it would never read the 413 that was already sent. The server discards the
  // rest of the body (within a budget) and closes only after, so the answer arrives intact.
  // Both stay within what the server discards after a refusal (8 MiB past the point of refusal).
  const oversized = (framing: 'chunked' | 'length', mib: number): Array<string | Buffer> => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n${framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${mib * chunk.length}`}\r\n\r\n`;
    if (framing === 'length') return [head, ...Array.from({ length: mib }, () => chunk)];
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    return [head, ...Array.from({ length: mib }, () => frame), '0\r\n\r\n'];
  };
  for (const [framing, mib] of [['chunked', 10], ['length', 6]] as const) {
    it(`a ${mib} MB ${framing === 'chunked' ? 'chunked body' : 'body with its Content-Length'} sent in full before reading: the client reads the whole 413, then the server closes`, async () => {
      const res = await rawExchange(port, oversized(framing, mib), { readAfterWriting: true, timeoutMs: 60_000 });
      expect(res.reset, 'the connection was reset').toBe(false);
      const answer = only(res);
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(answer.body).toBe('payload too large\n');
      expect(res.closed, 'the server closed the connection').toBe(true);
      await stillServes();
    });
  }

  // Refusals given from the headers alone, while the client is still sending a large body.
  const refusedBeforeBody: Array<[string, string, number]> = [
    ['wrong Basic credentials', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${encodeBasicAuthorization('enablex', 'guess')}\r\nConnection: close`, 401],
    ['an unknown channel', `POST /webhooks/nobody HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nConnection: close`, 404],
    ['a method a channel does not take', `PUT /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nConnection: close`, 405],
  ];
  for (const [name, head, status] of refusedBeforeBody) {
    for (const framing of ['chunked', 'length'] as const) {
      it(`${name} with a 3 MB ${framing === 'chunked' ? 'chunked body' : 'body'} sent in full before reading: the client reads the whole ${status}`, async () => {
        // In 48 writes of 64 KB: the server answers while most of the body is still to come.
        const chunk = Buffer.alloc(64 * 1024, 0x62);
        const frame = framing === 'chunked' ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
        const parts = [`${head}\r\n${framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${48 * chunk.length}`}\r\n\r\n`, ...Array.from({ length: 48 }, () => frame), ...(framing === 'chunked' ? ['0\r\n\r\n'] : [])];
        const res = await rawExchange(port, parts, { readAfterWriting: true, timeoutMs: 60_000 });
        expect(res.reset, 'the connection was reset').toBe(false);
        expect(only(res).status).toBe(status);
        expect(only(res).body.length).toBeGreaterThan(0);
        await stillServes();
      });
    }
  }

  // ---- Basic auth ----------------------------------------------------------------------------

  const basicRefusals: Array<[string, string | undefined]> = [
    ['missing Basic credentials', undefined],
    ['garbled Basic credentials (not base64)', 'Basic !!!$$$'],
    ['Basic credentials without a colon', `Basic ${Buffer.from('enablex').toString('base64')}`],
    ['forged Basic credentials (wrong password)', encodeBasicAuthorization('enablex', 'guess')],
    ['another scheme (Bearer)', 'Bearer s3cret'],
    ['an empty Authorization header', ''],
  ];
  for (const [name, header] of basicRefusals) {
    it(`${name}: 401 with a Basic challenge, nothing kept`, async () => {
      const head = ['POST /webhooks/enablex HTTP/1.1', 'Host: x', 'Content-Length: 2', 'Connection: close', ...(header === undefined ? [] : [`Authorization: ${header}`])];
      const res = only(await rawExchange(port, [`${head.join('\r\n')}\r\n\r\n{}`], { responses: 1 }));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="bluetick"/);
      expect(res.body).toBe('unauthorized\n');
      await stillServes();
    });
  }

  it('the right credentials with a lower-case scheme and no padding: 200', async () => {
    const body = goodBody();
    const token = Buffer.from('enablex:s3cret').toString('base64').replace(/=+$/, '');
    const res = only(await rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: `basic ${token}` })], { responses: 1 }));
    expect(res.status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  // ---- Meta signatures -----------------------------------------------------------------------

  const signatureRefusals: Array<[string, () => [string, string | undefined, string[]?]]> = [
    ['a missing signature', () => [META_BODY, undefined]],
    ['a garbled signature (not hex)', () => [META_BODY, 'sha256=zz']],
    ['a truncated signature', () => [META_BODY, signMeta(META_BODY, SECRET).slice(0, -2)]],
    ['a SHA-1 signature', () => [META_BODY, `sha1=${createHmac('sha1', SECRET).update(META_BODY).digest('hex')}`]],
    ['a forged signature (another secret)', () => [META_BODY, signMeta(META_BODY, 'not-our-secret')]],
    ['a replayed signature over an altered body', () => [META_BODY.replace('"read"', '"failed"'), signMeta(META_BODY, SECRET)]],
    ['a signature over a re-serialized body', () => [JSON.stringify(JSON.parse(META_BODY), null, 1), signMeta(META_BODY, SECRET)]],
    ['two signature headers', () => [META_BODY, signMeta(META_BODY, SECRET), [`X-Hub-Signature-256: ${signMeta(META_BODY, 'other')}`]]],
  ];
  for (const [name, make] of signatureRefusals) {
    it(`${name}: 401 without a challenge, nothing kept`, async () => {
      const [body, signature, extra] = make();
      const res = await postMeta(body, signature, extra);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBeUndefined();
      await stillServes();
    });
  }

  it('a valid signature written in upper-case hex: 200', async () => {
    const body = META_BODY.replace('wamid.SIGNED', 'wamid.SIGNED.UPPER');
    const res = await postMeta(body, `sha256=${signMeta(body, SECRET).slice(7).toUpperCase()}`);
    expect(res.status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  // ---- headers and timing --------------------------------------------------------------------

  it('a header flood (3000 headers): 431, nothing kept', async () => {
    const flood = Array.from({ length: 3000 }, (_, i) => `X-Flood-${i}: ${'v'.repeat(10)}`).join('\r\n');
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n${flood}\r\nContent-Length: 2\r\n\r\n{}`], { responses: 1 });
    expect(only(res).status).toBe(431);
    await stillServes();
  });

  it('one huge header (64 KB): 431', async () => {
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`], { responses: 1 });
    expect(only(res).status).toBe(431);
    await stillServes();
  });

  it('a huge URL (64 KB): 431', async () => {
    const res = await rawExchange(port, [`POST /webhooks/enablex?${'q'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\n\r\n{}`], { responses: 1 });
    expect(only(res).status).toBe(431);
    await stillServes();
  });

  it('slow-loris headers (a byte now and then, never finished): 408 once the header timeout passes', async () => {
    const drip = Array.from({ length: 40 }, (_, i) => [`X-Slow-${i}: y\r\n`, { pause: 100 }]).flat();
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n`, ...drip], { timeoutMs: 10_000 });
    expect(only(res).status).toBe(408);
    expect(res.closed, 'the server closed the connection').toBe(true);
    await stillServes();
  });

  it('a slow body (half sent, then silence): 408 once the request timeout passes, nothing kept', async () => {
    const body = goodBody();
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const res = await rawExchange(port, [head, body.slice(0, 20), { pause: REQUEST_TIMEOUT_MS * 3 }], { responses: 1, timeoutMs: REQUEST_TIMEOUT_MS * 4 });
    expect(only(res).status).toBe(408);
    await stillServes();
  });

  it('a body shorter than its Content-Length, then the client half-closes: 400 (incomplete request), nothing kept', async () => {
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 500\r\n\r\n`;
    const res = await rawExchange(port, [head, '{"messages":['], { end: true });
    expect(only(res).status).toBe(400);
    expect(res.closed).toBe(true);
    await stillServes();
  });

  it('a body longer than its Content-Length: the declared bytes are the body (200), the rest is a bad request (400)', async () => {
    const declared = '{"n":"short"}';
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: ${declared.length}\r\n\r\n${declared}!!garbage that is not a request!!\r\n\r\n`], { responses: 2 });
    expect(res.responses.map((r) => r.status)).toEqual([200, 400]);
    ackedAs(declared, false);
    await stillServes();
  });

  const framingErrors: Array<[string, string]> = [
    ['Content-Length with Transfer-Encoding: chunked', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`],
    ['a Content-Length that is not a number', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: abc\r\n\r\n{}`],
    ['two different Content-Lengths', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
    ['a malformed chunk size', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
    ['a transfer coding other than chunked', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: gzip\r\n\r\n{}`],
    ['a garbage request line', 'HELLO THERE\r\n\r\n'],
    ['a lower-case method', `post /webhooks/enablex HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`],
    ['a method HTTP does not know', `FROB /webhooks/enablex HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`],
    ['a NUL byte in a header value', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nX-Evil: a\u0000b\r\nContent-Length: 2\r\n\r\n{}`],
    ['a space before the header colon', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization : ${AUTH}\r\nContent-Length: 2\r\n\r\n{}`],
    ['a negative Content-Length', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: -1\r\n\r\n{}`],
    ['a Content-Length beyond 2^64', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 99999999999999999999999\r\n\r\n{}`],
    ['an HTTP/1.1 request without Host', `POST /webhooks/enablex HTTP/1.1\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\n\r\n{}`],
    ['bare LF line endings', `POST /webhooks/enablex HTTP/1.1\nHost: x\nAuthorization: ${AUTH}\nContent-Length: 2\n\n{}`],
    ['an obsolete folded header line', `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n folded: y\r\nContent-Length: 2\r\n\r\n{}`],
    ['an HTTP/2 connection preface on HTTP/1.1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ];
  for (const [name, request] of framingErrors) {
    it(`${name}: 400, the connection closed, nothing kept`, async () => {
      const res = await rawExchange(port, [request], { responses: 1 });
      expect(only(res).status).toBe(400);
      await stillServes();
    });
  }

  it('a chunked body in one-byte chunks: 200, the bytes joined exactly', async () => {
    const body = goodBody();
    const chunks = [...body].map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('');
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`], { responses: 1 });
    expect(only(res).status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  it('Expect with an unknown expectation: 417, nothing kept', async () => {
    const res = await rawExchange(port, [`POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nExpect: bananas\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`], { responses: 1 });
    expect(only(res).status).toBe(417);
    await stillServes();
  });

  it('an absolute-form request target (as proxies send it): routed like its path, 200', async () => {
    const body = goodBody();
    const res = await rawExchange(port, [rawPost(`http://127.0.0.1:${port}/webhooks/enablex`, body, { Authorization: AUTH })], { responses: 1 });
    expect(only(res).status).toBe(200);
    ackedAs(body, false);
    const traversal = await rawExchange(port, [rawPost('http://127.0.0.1/webhooks/../api', '{}', { Authorization: AUTH })], { responses: 1 });
    expect(only(traversal).status).toBe(404);
    await stillServes();
  });

  it('an Upgrade: websocket header on a POST: no upgrade, handled as the POST it is, 200', async () => {
    const body = goodBody();
    const res = await rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: AUTH, Upgrade: 'websocket', Connection: 'Upgrade' })], { responses: 1 });
    expect(only(res).status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  it('CONNECT (this is not a proxy): 405, the connection closed', async () => {
    const res = await rawExchange(port, ['CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n']);
    expect(only(res).status).toBe(405);
    expect(res.closed).toBe(true);
    await stillServes();
  });

  it('HTTP/1.0 with a Content-Length: 200, then the server closes the connection', async () => {
    const body = goodBody();
    const res = await rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: AUTH, Connection: 'x' }, 'HTTP/1.0').toString('latin1').replace('Connection: x\r\n', '')]);
    expect(only(res).status).toBe(200);
    expect(res.closed).toBe(true);
    ackedAs(body, false);
    await stillServes();
  });

  it('three pipelined POSTs in one write: three 200s, in order, all kept', async () => {
    const bodies = [goodBody(), goodBody(), goodBody()];
    const keepAlive = bodies.map((b, i) => rawPost('/webhooks/enablex', b, { Authorization: AUTH, Connection: i === 2 ? 'close' : 'keep-alive' }));
    const res = await rawExchange(port, [Buffer.concat(keepAlive)], { responses: 3 });
    expect(res.responses.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const b of bodies) ackedAs(b, false);
    await stillServes();
  });

  it('Expect: 100-continue: 100 Continue, then 200 for the body', async () => {
    const body = goodBody();
    const head = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const res = await rawExchange(port, [head, { pause: 50 }, body], { responses: 1 });
    expect(res.interim.map((r) => r.status)).toEqual([100]);
    expect(only(res).status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  // ---- routing and methods -------------------------------------------------------------------

  const notFound = [
    '/webhooks/nobody',
    '/webhooks/../api',
    '/webhooks/../webhooks/enablex',
    '/webhooks/%2e%2e/api',
    '/webhooks/%2e%2e%2fenablex',
    '/webhooks/enablex/../enablex',
    '/webhooks/enablex%00',
    '/webhooks/enablex/',
    '/webhooks//enablex',
    '/webhooks/ENABLEX',
    '/webhooks/enablex%2F',
    '/webhooks/caf%C3%A9',
  ];
  for (const path of notFound) {
    it(`an unknown or traversing channel path ${path}: 404, nothing kept`, async () => {
      const res = only(await rawExchange(port, [rawPost(path, '{}', { Authorization: AUTH })], { responses: 1 }));
      expect(res.status).toBe(404);
      await stillServes();
    });
  }

  it('a query string on a channel path: ignored, 200', async () => {
    const body = goodBody();
    const res = only(await rawExchange(port, [rawPost('/webhooks/enablex?source=relay&x=%00', body, { Authorization: AUTH })], { responses: 1 }));
    expect(res.status).toBe(200);
    ackedAs(body, false);
    await stillServes();
  });

  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
    it(`${method} on a channel: 405 with Allow: GET, POST, nothing kept`, async () => {
      const res = await rawExchange(port, [`${method} /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`], { responses: 1 });
      expect(only(res).status).toBe(405);
      expect(only(res).headers.allow).toBe('GET, POST');
      await stillServes();
    });
  }

  it('HEAD on a channel: 405 with Allow: GET, POST and no body', async () => {
    const res = await rawExchange(port, [`HEAD /webhooks/enablex HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    const text = res.raw.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 405 /);
    expect(text).toMatch(/\r\nAllow: GET, POST\r\n/);
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    await stillServes();
  });

  it('the Meta handshake without its parameters: 400; with a wrong token: 403', async () => {
    const missing = only(await rawExchange(port, ['GET /webhooks/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { responses: 1 }));
    expect(missing.status).toBe(400);
    const wrong = only(await rawExchange(port, ['GET /webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { responses: 1 }));
    expect(wrong.status).toBe(403);
    await stillServes();
  });

  // ---- concurrency ---------------------------------------------------------------------------

  it('25 identical POSTs at once: all 200, all kept, one set of events, 24 duplicates counted', async () => {
    const body = goodBody();
    const answers = await Promise.all(Array.from({ length: 25 }, () => rawExchange(port, [rawPost('/webhooks/enablex', body, { Authorization: AUTH })], { responses: 1 })));
    expect(answers.map((a) => only(a).status)).toEqual(Array(25).fill(200));
    for (let i = 0; i < 25; i++) ackedAs(body, false);
    await running.pipeline.drain();
    const events = await running.store.events.list({ messageId: `ABEGkZmBI0VnAhGOOD${goodSeq}` }, { limit: 10 });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]!.duplicates).toBe(24);
    await stillServes();
  });

  // ---- and afterwards ------------------------------------------------------------------------

  it('lost nothing: the journal holds exactly the bodies answered 200, each normalized or quarantined', async () => {
    await running.pipeline.drain();
    const rows: JournalRow[] = [];
    for (let after: number | undefined; ; ) {
      const page = await running.store.journal.list({}, { limit: 500, ...(after !== undefined ? { after } : {}) });
      rows.push(...page.items);
      if (page.next === undefined) break;
      after = page.next;
    }
    const key = (b: Buffer): string => b.toString('base64');
    expect(rows.map((r) => key(r.body)).sort()).toEqual(acked.map(key).sort());
    const counts = await running.store.counts();
    expect(counts.journal.pending).toBe(0);
    expect(counts.journal.failed).toBe(0);
    expect(counts.journal.quarantined).toBe(quarantineExpected);
    expect(rows.filter((r) => r.state === 'quarantined').every((r) => (r.cause ?? '').length > 0)).toBe(true);
  });
});
