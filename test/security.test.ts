/**
 * Secure defaults, over real HTTP on loopback with real SQLite files: what a proxy, a
 * tunnel, a foreign web page or a password guesser can and cannot do. Each test is one
 * finding of the security review (SECURITY.md lists them with what each default protects).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { privateFilesCheck } from '../src/doctor/checks.js';
import { findLooseModes } from '../src/private-files.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { escapeNonAscii, signMeta } from '../src/ingest/verify-meta.js';
import { createLogger, silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { createPki } from './helpers/certs.js';
import { inboundBody, statusBody } from './helpers/meta-bodies.js';

const PASSWORD = 'a-password-of-24-chars!!';
const BASIC = encodeBasicAuthorization('enablex', PASSWORD);
const APP_SECRET = 'meta-app-secret-0123456789abcdef';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (`Host` included: fetch would not let a test set it). */
function send(
  base: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; ca?: string },
): Promise<Reply> {
  const url = new URL(base);
  const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = doRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: opts.path,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: false,
        ...(opts.ca ? { ca: opts.ca, servername: 'localhost' } : {}),
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

let dir: string;
let running: ServerInternals | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-security-'));
});

afterEach(async () => {
  await running?.close();
  running = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Starts a server on `<dir>/data` (created by bluetick) from `written`. */
async function boot(written: WrittenConfigInput, opts: { logger?: ReturnType<typeof createLogger>; keepRejections?: number } = {}): Promise<ServerInternals> {
  const result = resolveConfig({ written: { ...written, server: { port: 0, dataDir: join(dir, 'data'), ...written.server } }, cwd: dir, env: {} });
  expect(result.errors).toEqual([]);
  running = await launchServer(result.config!, {
    logger: opts.logger ?? silentLogger(),
    processMetrics: false,
    pipeline: { pollMs: 20 },
    closeGraceMs: 1_000,
    ...(opts.keepRejections !== undefined ? { rejections: { keep: opts.keepRejections } } : {}),
  });
  return running;
}

const bearer = (r: ServerInternals): Record<string, string> => ({ authorization: `Bearer ${r.adminToken.token}` });

describe('no trusted network', () => {
  it('refuses a forged post that came through a proxy on a channel without credentials, and journals nothing', async () => {
    const r = await boot({});
    const body = inboundBody([{ id: 'wamid.forged', from: '15550001111', text: 'transfer everything', at: Date.now() }]);
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const value = header === 'forwarded' ? 'for=198.51.100.7' : '198.51.100.7';
      const forged = await send(r.url, { method: 'POST', path: '/webhooks/default', headers: { 'content-type': 'application/json', [header]: value }, body });
      expect(forged.status, header).toBe(403);
    }
    // A direct local post (the README's quick start) still works.
    const direct = await send(r.url, { method: 'POST', path: '/webhooks/default', headers: { 'content-type': 'application/json' }, body });
    expect(direct.status).toBe(200);
    const rows = await r.store.journal.list({}, { limit: 10 });
    expect(rows.items).toHaveLength(1);
    await r.rejections.flush();
    const rejected = await r.store.rejections.list({ limit: 10 });
    expect(rejected.items.map((x) => x.detail)).toEqual(Array(3).fill('channel has no credentials and refuses requests that came through a proxy'));
  });

  it('answers no /api request without the admin token, also when a proxy on loopback adds no forwarding header', async () => {
    const r = await boot({ channels: [{ name: 'main', basicAuth: [`enablex:${PASSWORD}`] }] });
    // What nginx `proxy_pass` without `proxy_set_header`, ssh -R or kubectl port-forward deliver: a plain loopback request.
    const events = await send(r.url, { path: '/api/events' });
    expect(events.status).toBe(401);
    expect(events.headers['www-authenticate']).toBe('Bearer realm="bluetick"');
    const redrive = await send(r.url, { method: 'POST', path: '/api/dead-letters/redrive', headers: { 'content-type': 'application/json' }, body: '{"all":true}' });
    expect(redrive.status).toBe(401);
    expect((await send(r.url, { path: '/api/events', headers: bearer(r) })).status).toBe(200);
  });
});

describe('host and origin checks', () => {
  it('refuses a foreign Host (DNS rebinding) even with the token, and a foreign Origin on a state-changing request', async () => {
    const r = await boot({ server: { publicHosts: ['hooks.example.com'] } });
    const port = r.address.port;
    const stats = (host: string) => send(r.url, { path: '/api/stats', headers: { ...bearer(r), host } });
    const rebound = await stats('attacker.example');
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).message).toMatch(/--public-host/);
    expect((await send(r.url, { path: '/', headers: { host: `attacker.example:${port}` } })).status).toBe(421);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'HOOKS.example.com', `[::1]:${port}`]) {
      expect((await stats(host)).status, host).toBe(200);
    }
    const redrive = (origin: string) =>
      send(r.url, {
        method: 'POST',
        path: '/api/dead-letters/redrive',
        headers: { ...bearer(r), origin, 'content-type': 'application/json' },
        body: '{"all":true}',
      });
    expect((await redrive('https://attacker.example')).status).toBe(403);
    expect((await redrive('null')).status).toBe(403);
    expect((await redrive('https://hooks.example.com')).status).toBe(200);
    expect((await redrive(`http://127.0.0.1:${port}`)).status).toBe(200);
    // Operational routes answer probes by address (a load balancer, an orchestrator).
    expect((await send(r.url, { path: '/healthz', headers: { host: '10.1.2.3:8080' } })).status).toBe(200);
  });

  it('sends HSTS when serving TLS', async () => {
    const pki = createPki(join(dir, 'pki'));
    const leaf = pki.leaf('localhost', { dns: ['localhost', 'hooks.bluetick.test'] });
    const r = await boot({ server: { tls: { cert: leaf.fullchain, key: leaf.key } } });
    const ca = readFileSync(pki.root, 'utf8');
    const res = await send(r.url, { path: '/api/stats', headers: bearer(r), ca });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    // The certificate's names are the server's public names without further configuration.
    expect((await send(r.url, { path: '/api/stats', headers: { ...bearer(r), host: 'hooks.bluetick.test' }, ca })).status).toBe(200);
    const foreign = await send(r.url, { path: '/api/stats', headers: { ...bearer(r), host: 'attacker.example' }, ca });
    expect(foreign.status).toBe(421);
    expect(foreign.headers['strict-transport-security']).toBe('max-age=31536000');
  });
});

describe('cheap refusals', () => {
  it('answers 429 with Retry-After after repeated 401s from one address, before looking at credentials, and keeps the record apart from the rejection log', async () => {
    const r = await boot({ channels: [{ name: 'main', basicAuth: [`enablex:${PASSWORD}`] }], server: { limits: { authFailures: 5 } } }, { keepRejections: 20 });
    const wrong = encodeBasicAuthorization('enablex', 'guess-number-one-xx');
    for (let i = 0; i < 5; i++) {
      expect((await send(r.url, { method: 'POST', path: '/webhooks/main', headers: { authorization: wrong }, body: '{}' })).status).toBe(401);
    }
    const blocked = await send(r.url, { method: 'POST', path: '/webhooks/main', headers: { authorization: BASIC }, body: '{}' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The API shares the count: the address waits there too, whatever token it sends.
    const api = await send(r.url, { path: '/api/stats', headers: bearer(r) });
    expect(api.status).toBe(429);
    expect(api.headers['retry-after']).toBeDefined();
    expect(await r.store.journal.list({}, { limit: 10 })).toMatchObject({ items: [] });

    // A flood of cheap 404s trims the rejection log (here kept to 20 rows); the failure record stays.
    for (let i = 0; i < 30; i++) await send(r.url, { method: 'POST', path: `/webhooks/nope-${i}`, body: '{}' });
    await r.rejections.flush();
    const log = await r.store.rejections.list({ limit: 100 });
    expect(log.items.every((x) => x.cause === 'unknown-channel')).toBe(true);
    const record = r.backoff.offenders();
    expect(record).toEqual([expect.objectContaining({ address: '127.0.0.1', failures: 5, totalFailures: 5, refused: 2 })]);
    expect(record[0]!.blockedUntil).toBeGreaterThan(Date.now());
  });

  it('counts failed admin tokens and wrong verify tokens, and serves the record at /api/rejections/addresses', async () => {
    const r = await boot({
      channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [APP_SECRET], verifyTokens: ['verify-token-0123456789'] } }],
      server: { limits: { authFailures: 3 } },
    });
    expect((await send(r.url, { path: '/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1' })).status).toBe(403);
    expect((await send(r.url, { path: '/api/stats', headers: { authorization: 'Bearer guess-0123456789abcdef' } })).status).toBe(401);
    const listed = await send(r.url, { path: '/api/rejections/addresses', headers: bearer(r) });
    expect(listed.status).toBe(200);
    // This request's own success cleared the running count; the total stays.
    expect(JSON.parse(listed.body).items).toEqual([expect.objectContaining({ address: '127.0.0.1', failures: 0, totalFailures: 2, refused: 0 })]);
    // Three more failures and the address waits, on ingest too.
    for (let i = 0; i < 3; i++) await send(r.url, { path: '/api/stats', headers: { authorization: 'Bearer wrong' } });
    expect((await send(r.url, { path: '/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-token-0123456789&hub.challenge=7' })).status).toBe(429);
  });

  it('behind a trusted proxy counts the forwarded address; behind an untrusted one it counts but never locks everyone out', async () => {
    const channels = [{ name: 'main', basicAuth: [`enablex:${PASSWORD}`] }];
    const wrong = encodeBasicAuthorization('enablex', 'not-the-password-xx');
    const post = (r: ServerInternals, from: string, auth: string) =>
      send(r.url, { method: 'POST', path: '/webhooks/main', headers: { authorization: auth, 'x-forwarded-for': `203.0.113.50, ${from}` }, body: '{}' });

    const trusted = await boot({ channels, server: { behindProxy: true, trustProxy: true, limits: { authFailures: 2 } } });
    for (let i = 0; i < 2; i++) expect((await post(trusted, '198.51.100.7', wrong)).status).toBe(401);
    expect((await post(trusted, '198.51.100.7', BASIC)).status).toBe(429);
    expect((await post(trusted, '198.51.100.8', BASIC)).status).toBe(200);
    expect(trusted.backoff.offenders().map((o) => o.address)).toEqual(['198.51.100.7']);
    await trusted.close();
    running = undefined;
    await rm(join(dir, 'data'), { recursive: true });

    const untrusted = await boot({ channels, server: { behindProxy: true, limits: { authFailures: 2 } } });
    for (let i = 0; i < 4; i++) expect((await post(untrusted, '198.51.100.7', wrong)).status).toBe(401);
    expect((await post(untrusted, '198.51.100.8', BASIC)).status).toBe(200);
    expect(untrusted.backoff.offenders()[0]).toMatchObject({ address: '127.0.0.1', totalFailures: 4 });
  });

  it('tries the escaped form Meta signs only up to the body limit, so a huge forged non-ASCII body costs one more bounded hash', async () => {
    const r = await boot({ channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [APP_SECRET] } }], server: { limits: { bodyBytes: 64 * 1024 } } });
    const post = (body: Buffer, signature: string) =>
      send(r.url, { method: 'POST', path: '/webhooks/meta', headers: { 'x-hub-signature-256': signature, 'content-type': 'application/json' }, body });
    // A relay decoded Meta's escapes: the signature is over the escaped form, which fits the limit.
    const small = Buffer.from(inboundBody([{ id: 'wamid.relayed', from: '15550002222', text: 'नमस्ते दुनिया', at: Date.now() }]));
    expect((await post(small, signMeta(escapeNonAscii(small)!, APP_SECRET))).status).toBe(200);
    // The same kind of body whose escaped form exceeds the limit (10 000 Devanagari letters: 30 kB raw, 60 kB escaped, over 64 KiB with the rest).
    const large = Buffer.from(inboundBody([{ id: 'wamid.large', from: '15550002222', text: 'न'.repeat(11_000), at: Date.now() }]));
    expect(large.length).toBeLessThan(64 * 1024);
    expect(escapeNonAscii(large)!.length).toBeGreaterThan(64 * 1024);
    expect((await post(large, signMeta(escapeNonAscii(large)!, APP_SECRET))).status).toBe(401);
    // Signed over its exact bytes it is taken as usual.
    expect((await post(large, signMeta(large, APP_SECRET))).status).toBe(200);
  });
});

describe('private files', () => {
  it('creates the data folder 0700 and every database file and the admin token 0600', async () => {
    const r = await boot({});
    expect((await send(r.url, { method: 'POST', path: '/webhooks/default', body: statusBody([{ id: 'wamid.m', status: 'read', to: '15550003333', at: Date.now() }]) })).status).toBe(200);
    await r.pipeline.drain();
    const data = join(dir, 'data');
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const names = (await readdir(data)).sort();
    for (const name of ['admin-token', 'bluetick.db', 'bluetick.db-wal', 'bluetick.db-shm', 'bluetick.inbox.db', 'bluetick.inbox.db-wal']) {
      expect(names).toContain(name);
    }
    for (const name of names) expect(statSync(join(data, name)).mode & 0o777, name).toBe(0o600);
  });
});

describe('doctor on file modes', () => {
  it('warns when an existing data folder or its files are readable by other users, naming them and the fix', async () => {
    const data = join(dir, 'old-data');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    writeFileSync(join(data, 'bluetick.db'), '', { mode: 0o644 });
    chmodSync(join(data, 'bluetick.db'), 0o644);
    writeFileSync(join(data, 'admin-token'), 'x\n', { mode: 0o600 });
    const check = privateFilesCheck(data, true, findLooseModes(data));
    expect(check.status).toBe('warn');
    expect(check.detail).toBe(`readable by other users: ${data} (0755), ${join(data, 'bluetick.db')} (0644)`);
    expect(check.fix).toMatch(/^chmod 700 /);
    chmodSync(data, 0o700);
    chmodSync(join(data, 'bluetick.db'), 0o600);
    expect(privateFilesCheck(data, true, findLooseModes(data)).status).toBe('pass');
  });
});

describe('redaction', () => {
  it('logs no phone number and no message text during a full API session', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination: sink });
    const r = await boot({ channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [APP_SECRET] } }] }, { logger });
    const phones = ['919876543210', '447700900123'];
    const texts = ['my account number is 12345678', 'please call me at home'];
    const body = inboundBody(phones.map((from, i) => ({ id: `wamid.in.${i}`, from, name: `Person ${i}`, text: texts[i]!, at: Date.now() })));
    expect((await send(r.url, { method: 'POST', path: '/webhooks/meta', headers: { 'x-hub-signature-256': signMeta(body, APP_SECRET) }, body })).status).toBe(200);
    await r.pipeline.drain();
    const auth = bearer(r);
    const paths = [
      `/api/contacts/${phones[0]}`,
      `/api/events?from=${phones[0]}`,
      `/api/events?from=${phones[1]}&limit=1`,
      `/api/conversations?contact=${phones[1]}`,
      `/api/messages/wamid.in.0`,
      `/api/contacts?name=${encodeURIComponent(texts[1]!)}`,
      `/api/events?from=${phones[0]}&limit=nope`,
      `/api/contacts/${phones[0]}/nothing-here`,
      '/api/stats',
    ];
    for (const path of paths) await send(r.url, { path, headers: auth });
    await send(r.url, { path: `/api/contacts/${phones[1]}` });
    await r.close();
    running = undefined;
    const log = lines.join('');
    expect(log).toMatch(/\/api\/contacts\/:/);
    for (const secret of [...phones, ...texts, 'Person 0']) expect(log, secret).not.toContain(secret);
  });
});

describe('the admin token from the command line', () => {
  it('prints a generated token once with how to read it later, and CLI commands given --data find it', async () => {
    const { BIN, cleanEnv, ensureBuilt, runBin } = await import('./helpers/dist.js');
    await ensureBuilt();
    const { spawn } = await import('node:child_process');
    const data = join(dir, 'data');
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data, '--log-level', 'warn'], { cwd: dir, env: cleanEnv() });
    let out = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*read it again with: cat \S+admin-token/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('close', () => reject(new Error(`exited before listening:\n${out}`)));
      });
      const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
      expect(out).toContain(`  ${token}\n`);
      expect(statSync(join(data, 'admin-token')).mode & 0o777).toBe(0o600);
      const found = await runBin(['templates', '--url', url, '--data', data, '--json'], { cwd: dir });
      expect(found).toMatchObject({ code: 0, stderr: '' });
      const lost = await runBin(['templates', '--url', url, '--json'], { cwd: tmpdir() });
      expect(lost.code).toBe(1);
      expect(lost.stderr).toMatch(/HTTP 401.*--data/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(existsSync(join(data, 'admin-token'))).toBe(true);
  }, 180_000);

  it('refuses to start behind a proxy without credentials, or with a short secret, naming the fix', async () => {
    const { ensureBuilt, runBin } = await import('./helpers/dist.js');
    await ensureBuilt();
    const open = await runBin(['serve', '--host', '127.0.0.1', '--port', '0', '--behind-proxy', '--data', join(dir, 'a')], { cwd: dir });
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/refusing to start[\s\S]*behind a proxy every request arrives from loopback[\s\S]*BLUETICK_BASIC_AUTH=user:password/);
    const short = await runBin(['serve', '--host', '127.0.0.1', '--port', '0', '--behind-proxy', '--data', join(dir, 'b')], {
      cwd: dir,
      env: { BLUETICK_BASIC_AUTH: 'enablex:p', BLUETICK_ADMIN_TOKEN: 'x' },
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/BLUETICK_ADMIN_TOKEN: the admin token has 1 characters; use at least 16/);
    expect(short.stderr).toMatch(/BLUETICK_BASIC_AUTH: the Basic password of "enablex" has 1 characters/);
  }, 180_000);
});
