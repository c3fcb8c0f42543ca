/**
 * `bluetick doctor` against real servers on loopback, with certificates from a throw-away
 * PKI made by openssl (`test/helpers/certs.ts`): every check passing, then each failing for
 * the reason a provider would refuse the host. Names are real (`hooks.bluetick.test`),
 * dialled at 127.0.0.1 with `--resolve`; the test root is trusted with `--ca`.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { statfsSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctorCommand } from '../src/cli/commands/doctor.js';
import { resolveConfig } from '../src/config/resolve.js';
import type { CheckResult } from '../src/doctor/checks.js';
import { runDoctor, type DoctorOptions, type DoctorReport } from '../src/doctor/doctor.js';
import type { StatFs } from '../src/disk.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { createPki, type Leaf, type TestPki } from './helpers/certs.js';
import { freePort } from './helpers/pebble.js';

const HOST = 'hooks.bluetick.test';
const DAY = 86_400_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A temp folder on a real disk (the durability check fails on tmpfs, on purpose). */
async function diskTemp(prefix: string): Promise<string> {
  const TMPFS = 0x01021994;
  let base = tmpdir();
  if (statfsSync(base).type === TMPFS) {
    base = join(ROOT, 'test', '.tmp');
    await mkdir(base, { recursive: true });
  }
  return mkdtemp(join(base, prefix));
}

function byId(report: DoctorReport): Record<string, CheckResult> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

const CHANNELS = [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret-long-enough-16'] }];

/** An injected `statfs` for the data folder: 4 KiB blocks, a 100 GiB disk with `freeBytes` free. */
const disk = (freeBytes: number): StatFs => async () => ({ bsize: 4096, blocks: (100 * 1024 ** 3) / 4096, bfree: freeBytes / 4096, bavail: freeBytes / 4096 });

describe('bluetick doctor', () => {
  let dir: string;
  let pki: TestPki;
  let good: Leaf;
  let closedPort: number;
  const servers: ServerInternals[] = [];

  async function serve(leaf: Leaf | undefined, opts: { chain?: 'full' | 'leaf'; behindProxy?: boolean } = {}): Promise<ServerInternals> {
    const dataDir = await mkdtemp(join(dir, 'data-'));
    const { config, errors } = resolveConfig({
      written: {
        server: {
          port: 0,
          dataDir,
          ...(leaf ? { tls: { cert: opts.chain === 'leaf' ? leaf.cert : leaf.fullchain, key: leaf.key } } : {}),
          ...(opts.behindProxy ? { behindProxy: true } : {}),
        },
        channels: CHANNELS,
      },
      cwd: dir,
    });
    expect(errors).toEqual([]);
    const running = await launchServer(config!, { logger: silentLogger(), processMetrics: false });
    servers.push(running);
    return running;
  }

  /** One server with the good certificate, shared by the tests that only vary the doctor's side. */
  let goodServer: Promise<ServerInternals> | undefined;
  const shared = (): Promise<ServerInternals> => (goodServer ??= serve(good));

  async function configFile(name: string, written: unknown): Promise<string> {
    const file = join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(written));
    return file;
  }

  async function doctor(running: ServerInternals | { port: number; scheme: string }, extra: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
    const port = 'address' in running ? running.address.port : running.port;
    const scheme = 'address' in running ? (running.url.startsWith('https') ? 'https' : 'http') : running.scheme;
    const config = extra.configFile ?? (await configFile('doctor-default', { server: { dataDir: join(dir, 'doctor-store') }, channels: CHANNELS }));
    return runDoctor({
      url: `${scheme}://${HOST}:${port}/webhooks/enablex`,
      configFile: config,
      cwd: dir,
      env: {},
      caFiles: [pki.root],
      resolve: [`${HOST}:127.0.0.1`, 'other.bluetick.test:127.0.0.1'],
      httpPort: closedPort,
      timeoutMs: 3_000,
      // Plenty of room unless a test says otherwise, whatever the disk this runs on has.
      statfs: disk(50 * 1024 ** 3),
      ...extra,
    });
  }

  beforeAll(async () => {
    dir = await diskTemp('bluetick-doctor-');
    pki = createPki(join(dir, 'pki'));
    good = pki.leaf('good', { dns: [HOST] });
    closedPort = await freePort();
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes every line for a CA-signed, complete, matching, long-lived certificate and the right credentials', async () => {
    const running = await shared();
    const report = await doctor(running);
    const checks = byId(report);
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
    for (const id of [
      'config', 'reach', 'tls.version', 'tls.ca-signed', 'tls.chain', 'tls.hostname', 'tls.expiry', 'server.ready',
      'webhook.enablex', 'clock', 'credentials.enablex', 'store.writable', 'store.durable', 'http.plain',
    ]) {
      expect(checks[id]?.status, id).toBe('pass');
    }
    expect(checks['tls.chain']!.detail).toBe(`CN=${HOST} -> CN=Doctor Test Intermediate -> CN=Doctor Test Root`);
    expect(checks['tls.version']!.detail).toBe('offers TLSv1.3 and TLSv1.2');
    expect(checks['webhook.enablex']!.detail).toContain('Basic auth as "enablex"');
    expect(checks['http.plain']!.detail).toContain(`nothing takes plain HTTP on port ${closedPort}`);

    // The CLI: text by default, JSON with --json, exit code 0.
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, stderr: process.stderr, env: {}, cwd: dir, version: 'test' };
    const cliArgs = {
      url: `https://${HOST}:${running.address.port}/webhooks/enablex`,
      config: join(dir, 'doctor-default.json'),
      ca: [pki.root],
      resolve: [`${HOST}:127.0.0.1`],
      httpPort: String(closedPort),
    };
    expect(await runDoctorCommand(cliArgs, io)).toBe(0);
    expect(out.join('')).toMatch(/PASS {2}Certificate is CA-signed/);
    expect(out.join('')).toMatch(
      /passed, 0 failed, .*\nReady for EnableX and Meta: public HTTPS with a CA-signed certificate \(trusted here through --ca as well as the public roots; providers trust public CAs only\)\.\n$/,
    );
    out.length = 0;
    expect(await runDoctorCommand({ ...cliArgs, json: true }, io)).toBe(0);
    const json = JSON.parse(out.join('')) as DoctorReport;
    expect(json.ok).toBe(true);
    expect(json.summary.fail).toBe(0);
    expect(json.checks.find((c) => c.id === 'tls.hostname')).toMatchObject({ status: 'pass' });
  });

  it('fails a self-signed certificate, and sends no credentials to it: ready for local testing only', async () => {
    const running = await serve(pki.selfSigned('self', [HOST]));
    const report = await doctor(running);
    const checks = byId(report);
    expect(report.ok).toBe(false);
    expect(report.readiness).toBe('local');
    expect(report.reasons[0]).toMatch(/^no CA-signed certificate \(the certificate sent by the server is self-signed/);
    expect(checks['tls.ca-signed']).toMatchObject({ status: 'fail' });
    expect(checks['tls.ca-signed']!.detail).toContain('self-signed');
    expect(checks['tls.ca-signed']!.fix).toContain('--acme-domain');
    expect(checks['webhook.enablex']).toMatchObject({ status: 'skip' });
    expect(checks['webhook.enablex']!.detail).toContain('does not verify');

    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, stderr: process.stderr, env: {}, cwd: dir, version: 'test' };
    expect(
      await runDoctorCommand(
        { url: `https://${HOST}:${running.address.port}/webhooks/enablex`, ca: [pki.root], resolve: [`${HOST}:127.0.0.1`], httpPort: String(closedPort), config: join(dir, 'doctor-default.json') },
        io,
      ),
    ).toBe(3);
    expect(out.join('')).toMatch(/\nReady for local testing only, not for EnableX or Meta \(no CA-signed certificate \(.*self-signed.*\)\)\. Providers post only to public HTTPS URLs with a CA-signed certificate\.\n$/);
  });

  it('fails an expired certificate and one expiring within 14 days', async () => {
    const now = Date.now();
    const expired = await serve(pki.leaf('expired', { dns: [HOST], notBefore: now - 100 * DAY, notAfter: now - 10 * DAY }));
    const expiredChecks = byId(await doctor(expired));
    expect(expiredChecks['tls.expiry']).toMatchObject({ status: 'fail' });
    expect(expiredChecks['tls.expiry']!.detail).toMatch(/^expired on .* \((9|10) days ago\)$/);
    expect(expiredChecks['tls.expiry']!.fix).toMatch(/renew/);
    expect(expiredChecks['webhook.enablex']!.status).toBe('skip');

    const soon = await serve(pki.leaf('soon', { dns: [HOST], notAfter: now + 5 * DAY }));
    const soonReport = await doctor(soon);
    const soonChecks = byId(soonReport);
    expect(soonChecks['tls.expiry']).toMatchObject({ status: 'fail' });
    expect(soonChecks['tls.expiry']!.detail).toMatch(/in (4|5) days \(less than 14\)/);
    // Still valid today, so the test notification goes through.
    expect(soonChecks['webhook.enablex']!.status).toBe('pass');
    expect(soonReport.ok).toBe(false);
  });

  it('fails a certificate for another host name', async () => {
    const running = await shared();
    const report = await doctor(running, { url: `https://other.bluetick.test:${running.address.port}/webhooks/enablex` });
    const checks = byId(report);
    expect(checks['tls.hostname']).toMatchObject({ status: 'fail', detail: `the certificate names ${HOST}, not other.bluetick.test` });
    expect(checks['tls.hostname']!.fix).toContain('--acme-domain other.bluetick.test');
    expect(checks['tls.ca-signed']!.status).toBe('pass');
    expect(checks['webhook.enablex']!.status).toBe('skip');
  });

  it('fails an incomplete chain (leaf without its intermediate), and a CA that is not trusted', async () => {
    const leafOnly = await serve(good, { chain: 'leaf' });
    const incomplete = byId(await doctor(leafOnly));
    expect(incomplete['tls.chain']).toMatchObject({ status: 'fail' });
    expect(incomplete['tls.chain']!.detail).toContain('the issuer CN=Doctor Test Intermediate of CN=hooks.bluetick.test is missing');
    expect(incomplete['tls.chain']!.fix).toContain('fullchain.pem');
    expect(incomplete['tls.ca-signed']!.status).toBe('warn');

    const untrusted = byId(await doctor(await shared(), { caFiles: [] }));
    expect(untrusted['tls.ca-signed']).toMatchObject({ status: 'fail' });
    expect(untrusted['tls.ca-signed']!.detail).toContain('under the root CN=Doctor Test Root, which is not a trusted CA here');
    expect(untrusted['tls.chain']!.status).toBe('pass');
  });

  it('fails wrong credentials with a 401 and says which ones to align', async () => {
    const running = await shared();
    const wrong = await configFile('wrong-credentials', { server: { dataDir: join(dir, 'doctor-store') }, channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:not-the-password'] }] });
    const report = await doctor(running, { configFile: wrong });
    const check = byId(report)['webhook.enablex']!;
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/-> 401/);
    expect(check.fix).toContain('credentials in this configuration differ');
    expect(report.ok).toBe(false);
  });

  it('checks each channel has the credentials its provider sends', async () => {
    const running = await shared();
    const file = await configFile('credentials', {
      server: { dataDir: join(dir, 'doctor-store') },
      channels: [
        { name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret-long-enough-16'] },
        { name: 'meta-no-token', provider: 'meta', meta: { appSecrets: ['app-secret'] } },
        { name: 'enablex-meta-only', provider: 'enablex', meta: { appSecrets: ['app-secret'], verifyTokens: ['t'] } },
        { name: 'auto-secret', meta: { appSecrets: ['app-secret'] } },
        { name: 'meta-ok', provider: 'meta', meta: { appSecrets: ['app-secret'], verifyTokens: ['t'] } },
      ],
    });
    const checks = byId(await doctor(running, { configFile: file }));
    expect(checks['credentials.enablex']).toMatchObject({ status: 'pass', detail: 'Basic auth (1)' });
    expect(checks['credentials.meta-no-token']).toMatchObject({ status: 'fail' });
    expect(checks['credentials.meta-no-token']!.detail).toContain("no verify token (Meta's subscription handshake fails)");
    expect(checks['credentials.meta-no-token']!.fix).toContain('BLUETICK_META_VERIFY_TOKEN');
    expect(checks['credentials.enablex-meta-only']).toMatchObject({ status: 'fail' });
    expect(checks['credentials.enablex-meta-only']!.fix).toContain('EnableX portal');
    expect(checks['credentials.auto-secret']).toMatchObject({ status: 'warn' });
    expect(checks['credentials.meta-ok']).toMatchObject({ status: 'pass' });

    // A channel with no credentials at all: a configuration only allowed on loopback.
    const open = await configFile('open', { server: { dataDir: join(dir, 'doctor-store') }, channels: [{ name: 'open' }] });
    const openChecks = byId(await doctor(running, { configFile: open, url: `https://${HOST}:${running.address.port}/` }));
    expect(openChecks['credentials.open']).toMatchObject({ status: 'fail', detail: 'no credentials: anyone who knows the URL can post' });
  });

  it('fails a store it cannot write and a journal on a memory file system', async () => {
    const running = await shared();
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const notWritable = await configFile('store-enotdir', { server: { dataDir: join(blocker, 'data') }, channels: CHANNELS });
    const a = byId(await doctor(running, { configFile: notWritable }));
    expect(a['store.writable']).toMatchObject({ status: 'fail' });
    expect(a['store.writable']!.detail).toMatch(/ENOTDIR|EEXIST/);

    // The server's own store (after a POST): opened through bluetick's store, WAL + FULL.
    const own = byId(await doctor(running, { configFile: await configFile('own-store', { server: { dataDir: running.config.server.dataDir }, channels: CHANNELS }) }));
    expect(own['store.writable']).toMatchObject({ status: 'pass' });
    expect(own['store.durable']!.detail).toMatch(/^journal_mode=wal, synchronous=FULL, on /);

    const shm = '/dev/shm';
    if (existsSync(shm) && statfsSync(shm).type === 0x01021994) {
      const memory = await mkdtemp(join(shm, 'bluetick-doctor-'));
      try {
        const b = byId(await doctor(running, { configFile: await configFile('store-tmpfs', { server: { dataDir: memory }, channels: CHANNELS }) }));
        expect(b['store.durable']).toMatchObject({ status: 'fail' });
        expect(b['store.durable']!.detail).toContain('tmpfs');
      } finally {
        await rm(memory, { recursive: true, force: true });
      }
    }
  });

  it('warns, without failing, when the disk of the data folder has less free space than server.minFreeDiskBytes', async () => {
    const running = await shared();
    const low = await doctor(running, { statfs: disk(512 * 1024 ** 2) });
    const check = byId(low)['disk.free']!;
    expect(check.status).toBe('warn');
    expect(check.detail).toContain('0.50 GiB free of 100 GiB (0.5%)');
    expect(check.detail).toContain('under server.minFreeDiskBytes (1.00 GiB)');
    expect(check.fix).toContain('bluetick status');
    // A warning: nothing failed, and the readiness for providers is unchanged.
    expect(low.ok).toBe(true);
    expect(low.readiness).toBe('providers');

    const roomy = byId(await doctor(running, { statfs: disk(2 * 1024 ** 3) }))['disk.free']!;
    expect(roomy.status).toBe('pass');

    // The threshold is the config's; 0 turns the check off.
    const strict = await configFile('disk-strict', { server: { dataDir: join(dir, 'doctor-store'), minFreeDiskBytes: 4 * 1024 ** 3 }, channels: CHANNELS });
    expect(byId(await doctor(running, { configFile: strict, statfs: disk(2 * 1024 ** 3) }))['disk.free']!.status).toBe('warn');
    const off = await configFile('disk-off', { server: { dataDir: join(dir, 'doctor-store'), minFreeDiskBytes: 0 }, channels: CHANNELS });
    expect(byId(await doctor(running, { configFile: off, statfs: disk(0) }))['disk.free']!.status).toBe('skip');
  });

  it('fails a server clock far from this one (from its Date header)', async () => {
    const skewed: HttpServer = createHttpServer((_req, res) => {
      res.sendDate = false;
      res.setHeader('date', new Date(Date.now() - 3_600_000).toUTCString());
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((r) => skewed.listen(0, '127.0.0.1', r));
    try {
      const port = (skewed.address() as AddressInfo).port;
      const report = await runDoctor({ url: `http://127.0.0.1:${port}/webhooks/enablex`, cwd: dir, env: {}, configFile: await configFile('clock', { channels: CHANNELS }), timeoutMs: 3_000 });
      const clock = byId(report)['clock']!;
      expect(clock.status).toBe('fail');
      expect(clock.detail).toMatch(/^this machine is 3[56]\d\d\.\d s ahead of the server/);
      expect(clock.fix).toContain('chrony');
    } finally {
      await new Promise<void>((r) => skewed.close(() => r()));
    }
  });

  it('fails plain HTTP on a public name, and a plain-HTTP port that takes webhooks', async () => {
    const plainServer = await serve(undefined);
    const port = plainServer.address.port;
    const report = await doctor({ port, scheme: 'http' });
    const plain = byId(report)['http.plain']!;
    expect(plain.status).toBe('fail');
    expect(plain.detail).toContain('plain HTTP on a public name');
    // No credentials go over plain HTTP to a public name.
    expect(byId(report)['webhook.enablex']!.status).toBe('skip');

    // Loopback plain HTTP (local testing) is not public.
    const local = byId(await runDoctor({ url: `http://127.0.0.1:${port}/webhooks/enablex`, cwd: dir, env: {}, configFile: join(dir, 'doctor-default.json'), timeoutMs: 3_000 }));
    expect(local['http.plain']!.status).toBe('pass');
    expect(local['webhook.enablex']!.status).toBe('pass');

    // HTTPS is fine, but the same host also takes webhooks over plain HTTP on another port.
    const secure = await shared();
    const both = byId(await doctor(secure, { httpPort: port }));
    expect(both['http.plain']).toMatchObject({ status: 'fail' });
    expect(both['http.plain']!.detail).toBe(`port ${port} takes webhook requests over plain HTTP (POST /webhooks/enablex -> 401)`);
  });

  it('fails a server that offers nothing newer than TLS 1.1', async () => {
    const old = createTlsServer({
      cert: readFileSync(good.fullchain),
      key: readFileSync(good.key),
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    old.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    try {
      const port = (old.address() as AddressInfo).port;
      const checks = byId(await doctor({ port, scheme: 'https' }));
      expect(checks['reach']!.status).toBe('pass');
      expect(checks['tls.version']).toMatchObject({ status: 'fail' });
      expect(checks['tls.version']!.detail).toMatch(/^no handshake with TLS 1\.2 \(.+\) or TLS 1\.3 \(.+\)$/);
    } finally {
      await new Promise<void>((r) => old.close(() => r()));
    }
  });

  it('checks the configured certificate files when the server is not running', async () => {
    const file = await configFile('offline', { server: { port: closedPort, dataDir: join(dir, 'doctor-store'), tls: { cert: good.cert, key: good.key } }, channels: CHANNELS });
    const report = await runDoctor({ configFile: file, cwd: dir, env: {}, caFiles: [pki.root], timeoutMs: 2_000 });
    const checks = byId(report);
    expect(report.url).toBe(`https://127.0.0.1:${closedPort}/`);
    expect(checks['reach']).toMatchObject({ status: 'fail' });
    expect(checks['reach']!.fix).toContain('start `bluetick serve`');
    expect(checks['tls.expiry']).toMatchObject({ status: 'pass' });
    expect(checks['tls.chain']!.status).toBe('fail');
    expect(checks['tls.chain']!.detail).toContain(`in ${good.cert} (the server was not reachable)`);
    expect(checks['tls.hostname']!.status).toBe('skip');
  });
});
