/**
 * Automatic HTTPS against a real ACME server: pebble, Let's Encrypt's test CA, on loopback
 * (`test/helpers/pebble.ts`). pebble validates for real: HTTP-01 against bluetick's
 * challenge listener, TLS-ALPN-01 against bluetick's TLS port, every name resolving to
 * 127.0.0.1 through pebble's DNS test server. Clients trust pebble's root, fetched from its
 * management endpoint, and connect with the domain as SNI.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcmeManager, CertificateEvent, FailureEvent } from '../src/acme/manager.js';
import { caFolderName } from '../src/acme/storage.js';
import { resolveConfig, type Config } from '../src/config/resolve.js';
import { runDoctor } from '../src/doctor/doctor.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals, type StartServerOptions } from '../src/server.js';
import { freePort, pebbleMissing, startPebble, type Pebble } from './helpers/pebble.js';
import { describeNeeding } from './helpers/services.js';

const missing = pebbleMissing();
const withPebble = (name: string, body: () => void): void => describeNeeding('pebble', missing, name, body);

const AUTH = encodeBasicAuthorization('enablex', 's3cret');

function acmeConfig(opts: {
  dataDir: string;
  port: number;
  domains: string[];
  directoryUrl: string;
  challenge?: 'http-01' | 'tls-alpn-01';
  httpPort?: number;
  renewWhenRemaining?: number;
}): Config {
  const { config, errors } = resolveConfig({
    written: {
      server: {
        host: '127.0.0.1',
        port: opts.port,
        dataDir: opts.dataDir,
        acme: {
          domains: opts.domains,
          email: 'ops@bluetick.test',
          directoryUrl: opts.directoryUrl,
          challenge: opts.challenge ?? 'http-01',
          httpPort: opts.httpPort ?? 0,
          ...(opts.renewWhenRemaining !== undefined ? { renewWhenRemaining: opts.renewWhenRemaining } : {}),
        },
      },
      channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] }],
    },
    cwd: opts.dataDir,
  });
  expect(errors).toEqual([]);
  return config!;
}

function serverOptions(pebble: Pick<Pebble, 'wfeCa'> | undefined, extra: StartServerOptions['acme'] = {}): StartServerOptions {
  return {
    logger: silentLogger(),
    processMetrics: false,
    acme: { ...(pebble ? { directoryCa: pebble.wfeCa } : {}), poll: { minMs: 100, maxMs: 500, attempts: 40 }, requestTimeoutMs: 5_000, ...extra },
  };
}

interface Seen {
  fingerprint: string;
  dnsNames: string;
  authorized: boolean;
  error?: string;
  protocol: string | null;
}

/** A fresh TLS connection: the certificate the server picks for `servername`. */
function handshake(port: number, servername: string | undefined, ca?: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(servername ? { servername } : {}),
      ...(ca ? { ca } : {}),
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const error = socket.authorizationError;
      resolve({
        fingerprint: peer.fingerprint256,
        dnsNames: peer.subjectaltname ?? '',
        authorized: socket.authorized,
        ...(error ? { error: String(error) } : {}),
        protocol: socket.getProtocol(),
      });
      socket.end();
    });
    socket.once('error', reject);
  });
}

function post(port: number, servername: string, ca: string, agent?: Agent): Promise<{ status: number; fingerprint: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername,
        path: '/webhooks/enablex',
        method: 'POST',
        ca,
        ...(agent ? { agent } : { agent: false }),
        headers: { host: servername, authorization: AUTH, 'content-type': 'application/json' },
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end('{"statuses":[],"business_phone":"918888888888"}');
  });
}

function plain(port: number, method: string, path: string, host: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function next<K extends 'certificate' | 'failure'>(
  acme: AcmeManager,
  event: K,
  filter: (e: K extends 'certificate' ? CertificateEvent : FailureEvent) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<K extends 'certificate' ? CertificateEvent : FailureEvent> {
  type E = K extends 'certificate' ? CertificateEvent : FailureEvent;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      acme.off(event, listener as never);
      reject(new Error(`no ${event} event within ${timeoutMs} ms (status: ${JSON.stringify(acme.status())})`));
    }, timeoutMs);
    const listener = (e: E): void => {
      if (!filter(e)) return;
      clearTimeout(timer);
      acme.off(event, listener as never);
      resolve(e);
    };
    acme.on(event, listener as never);
  });
}

async function metricValue(running: ServerInternals, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await running.metrics.text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

withPebble('ACME with pebble: issuance, SNI, challenges, restart', () => {
  let pebble: Pebble;
  let root: string;
  let dir: string;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing} (CI is set: .ci/run installs it)`);
    pebble = await startPebble();
    root = await pebble.root();
    dir = await mkdtemp(join(tmpdir(), 'bluetick-acme-'));
  });

  afterAll(async () => {
    await pebble?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('obtains one certificate per domain over HTTP-01, serves each by SNI, stores them 0600, and counts it', async () => {
    const dataDir = join(dir, 'two-domains');
    const config = acmeConfig({
      dataDir,
      port: 0,
      domains: ['hooks.bluetick.test', 'meta.bluetick.test'],
      directoryUrl: pebble.directoryUrl,
      httpPort: pebble.httpPort,
    });
    const running = await launchServer(config, serverOptions(pebble));
    try {
      const acme = running.acme!;
      expect(running.url).toBe(`https://hooks.bluetick.test:${running.address.port}`);
      await acme.whenReady();
      const port = running.address.port;

      const a = await handshake(port, 'hooks.bluetick.test', root);
      const b = await handshake(port, 'meta.bluetick.test', root);
      expect(a).toMatchObject({ authorized: true, dnsNames: 'DNS:hooks.bluetick.test' });
      expect(b).toMatchObject({ authorized: true, dnsNames: 'DNS:meta.bluetick.test' });
      expect(a.fingerprint).not.toBe(b.fingerprint);
      expect(['TLSv1.2', 'TLSv1.3']).toContain(a.protocol);
      // No SNI (an IP address URL): the first domain's certificate.
      expect((await handshake(port, undefined)).fingerprint).toBe(a.fingerprint);

      expect((await post(port, 'hooks.bluetick.test', root)).status).toBe(200);

      // Stored with owner-only permissions, one folder per CA.
      const account = acme.storage.accountKeyPath;
      expect(await mode(account)).toBe(0o600);
      expect(await mode(acme.storage.accountPath)).toBe(0o600);
      expect(await mode(join(dataDir, 'acme'))).toBe(0o700);
      expect(await mode(acme.storage.root)).toBe(0o700);
      for (const domain of ['hooks.bluetick.test', 'meta.bluetick.test']) {
        const paths = acme.storage.certificatePaths(domain);
        expect(await mode(paths.cert)).toBe(0o600);
        expect(await mode(paths.key)).toBe(0o600);
        expect(await mode(paths.dir)).toBe(0o700);
        const leaf = new X509Certificate(await readFile(paths.cert));
        expect(leaf.subjectAltName).toBe(`DNS:${domain}`);
      }
      const stored = JSON.parse(await readFile(acme.storage.accountPath, 'utf8')) as { url: string; email: string };
      expect(stored.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
      expect(stored.email).toBe('ops@bluetick.test');

      // Metrics: an expiry gauge per domain, issuance counted by outcome.
      const status = acme.status();
      for (const s of status) {
        expect(s.state).toBe('valid');
        expect(await metricValue(running, 'bluetick_tls_certificate_expiry_timestamp_seconds', { domain: s.domain })).toBe(s.notAfter!.getTime() / 1000);
        expect(await metricValue(running, 'bluetick_acme_orders_total', { domain: s.domain, kind: 'issue', outcome: 'success' })).toBe(1);
        expect(await metricValue(running, 'bluetick_acme_orders_total', { domain: s.domain, kind: 'issue', outcome: 'failure' })).toBe(0);
      }

      // The HTTP-01 listener takes no webhook: GET redirects to HTTPS, anything else is refused.
      const httpPort = acme.httpChallengeAddress!.port;
      expect(await plain(httpPort, 'GET', '/healthz', 'hooks.bluetick.test')).toEqual({
        status: 301,
        location: `https://hooks.bluetick.test:${port}/healthz`,
      });
      expect((await plain(httpPort, 'POST', '/webhooks/enablex', 'hooks.bluetick.test')).status).toBe(403);
      expect((await plain(httpPort, 'GET', '/.well-known/acme-challenge/unknown', 'hooks.bluetick.test')).status).toBe(404);
    } finally {
      await running.close();
    }
  });

  it('restarts from the stored account and certificate without ordering, and renews with the same account', async () => {
    const dataDir = join(dir, 'two-domains');
    const before = JSON.parse(await readFile(join(dataDir, 'acme', caFolderName(pebble.directoryUrl), 'account.json'), 'utf8')) as { url: string };
    const config = acmeConfig({ dataDir, port: 0, domains: ['hooks.bluetick.test', 'meta.bluetick.test'], directoryUrl: pebble.directoryUrl, httpPort: pebble.httpPort });
    const running = await launchServer(config, serverOptions(pebble));
    try {
      const acme = running.acme!;
      // Serving at once, from disk: no waiting for the CA.
      expect(acme.ready).toBe(true);
      const port = running.address.port;
      const served = await handshake(port, 'hooks.bluetick.test', root);
      expect(served.authorized).toBe(true);
      expect(served.fingerprint).toBe(acme.status()[0]!.fingerprint256);
      // Nothing ordered, and nothing due: the next attempt is more than a day away (checked below).
      expect(acme.stats.orders).toBe(0);
      expect(await metricValue(running, 'bluetick_acme_orders_total', { domain: 'hooks.bluetick.test', kind: 'renew', outcome: 'success' })).toBe(0);
      expect(acme.status().every((s) => s.state === 'valid' && s.nextAttemptAt !== undefined && s.nextAttemptAt.getTime() > Date.now() + 86_400_000)).toBe(true);

      // A renewal now uses the stored account: no new registration.
      expect(await acme.renewNow('hooks.bluetick.test')).toBe(true);
      expect(acme.stats.accountRegistrations).toBe(0);
      const after = JSON.parse(await readFile(acme.storage.accountPath, 'utf8')) as { url: string };
      expect(after.url).toBe(before.url);
      const renewed = await handshake(port, 'hooks.bluetick.test', root);
      expect(renewed.authorized).toBe(true);
      expect(renewed.fingerprint).not.toBe(served.fingerprint);
    } finally {
      await running.close();
    }
  });

  it('answers TLS-ALPN-01 on the TLS port itself', async () => {
    const config = acmeConfig({
      dataDir: join(dir, 'alpn'),
      port: pebble.tlsPort,
      domains: ['alpn.bluetick.test'],
      directoryUrl: pebble.directoryUrl,
      challenge: 'tls-alpn-01',
    });
    const running = await launchServer(config, serverOptions(pebble));
    try {
      await running.acme!.whenReady();
      expect(running.acme!.httpChallengeAddress).toBeUndefined();
      const seen = await handshake(pebble.tlsPort, 'alpn.bluetick.test', root);
      expect(seen).toMatchObject({ authorized: true, dnsNames: 'DNS:alpn.bluetick.test' });
      expect((await post(pebble.tlsPort, 'alpn.bluetick.test', root)).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it('doctor passes against the ACME host (pebble root trusted with --ca)', async () => {
    const dataDir = join(dir, 'two-domains');
    const config = acmeConfig({ dataDir, port: 0, domains: ['hooks.bluetick.test', 'meta.bluetick.test'], directoryUrl: pebble.directoryUrl, httpPort: pebble.httpPort });
    const running = await launchServer(config, serverOptions(pebble));
    try {
      const rootFile = join(dir, 'pebble-root.pem');
      await writeFile(rootFile, root);
      const configFile = join(dir, 'doctor.config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          server: { host: '127.0.0.1', port: running.address.port, dataDir, acme: { domains: ['hooks.bluetick.test'], directoryUrl: pebble.directoryUrl, httpPort: running.acme!.httpChallengeAddress!.port } },
          channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] }],
        }),
      );
      const report = await runDoctor({ configFile, cwd: dir, env: {}, caFiles: [rootFile], resolve: ['hooks.bluetick.test:127.0.0.1'] });
      const failed = report.checks.filter((c) => c.status === 'fail');
      expect(failed).toEqual([]);
      const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
      expect(byId['tls.ca-signed']?.status).toBe('pass');
      expect(byId['tls.chain']?.detail).toContain('Pebble Intermediate');
      expect(byId['tls.hostname']?.status).toBe('pass');
      expect(byId['webhook.enablex']?.status).toBe('pass');
      // The HTTP-01 listener answers plain HTTP with a redirect or a refusal only.
      expect(byId['http.plain']).toMatchObject({ status: 'pass' });
      expect(byId['http.plain']?.detail).toMatch(/answers plain HTTP with 403/);
    } finally {
      await running.close();
    }
  });
});

withPebble('ACME with pebble: short-lived certificates', () => {
  let pebble: Pebble;
  let dir: string;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing} (CI is set: .ci/run installs it)`);
    // 30-second certificates, renewed when 90 % of the lifetime is left: about 3 s after issuance.
    pebble = await startPebble({ validitySeconds: 30 });
    dir = await mkdtemp(join(tmpdir(), 'bluetick-acme-short-'));
  });

  afterAll(async () => {
    await pebble?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renews by itself and swaps the certificate in: an open keep-alive connection keeps working, new connections get the new one', async () => {
    const config = acmeConfig({
      dataDir: join(dir, 'renew'),
      port: 0,
      domains: ['renew.bluetick.test'],
      directoryUrl: pebble.directoryUrl,
      httpPort: pebble.httpPort,
      renewWhenRemaining: 0.9,
    });
    const running = await launchServer(config, serverOptions(pebble));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const acme = running.acme!;
      const issued = await next(acme, 'certificate', (e) => e.kind === 'issue');
      const root = await pebble.root();
      const port = running.address.port;
      const first = await post(port, 'renew.bluetick.test', root, agent);
      expect(first).toMatchObject({ status: 200, fingerprint: issued.fingerprint256, reused: false });
      expect(issued.renewAt.getTime() - issued.notBefore.getTime()).toBeLessThan(10_000);

      const renewed = await next(acme, 'certificate', (e) => e.kind === 'renew');
      expect(renewed.fingerprint256).not.toBe(issued.fingerprint256);

      // The same connection, still on the old certificate, still answered.
      const again = await post(port, 'renew.bluetick.test', root, agent);
      expect(again).toMatchObject({ status: 200, fingerprint: issued.fingerprint256, reused: true });
      // A new connection gets a renewed certificate, valid for the same root.
      const fresh = await handshake(port, 'renew.bluetick.test', root);
      expect(fresh.authorized).toBe(true);
      expect(fresh.fingerprint).not.toBe(issued.fingerprint256);
      expect(await metricValue(running, 'bluetick_acme_orders_total', { domain: 'renew.bluetick.test', kind: 'renew', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    } finally {
      agent.destroy();
      await running.close();
    }
  });

  it('keeps serving the old certificate while the CA is down, retries with backoff, and renews once it is back', async () => {
    const config = acmeConfig({
      dataDir: join(dir, 'outage'),
      port: 0,
      domains: ['outage.bluetick.test'],
      directoryUrl: pebble.directoryUrl,
      httpPort: pebble.httpPort,
      renewWhenRemaining: 0.9,
    });
    const running = await launchServer(config, serverOptions(pebble, { retry: { minMs: 200, maxMs: 1_000 }, requestTimeoutMs: 2_000 }));
    try {
      const acme = running.acme!;
      const issued = await next(acme, 'certificate', (e) => e.kind === 'issue');
      const oldRoot = await pebble.root();
      const accountBefore = JSON.parse(await readFile(acme.storage.accountPath, 'utf8')) as { url: string };
      const port = running.address.port;

      await pebble.stop();
      const firstFailure = await next(acme, 'failure', (e) => e.kind === 'renew');
      const firstWait = firstFailure.retryAt.getTime() - Date.now();
      const secondFailure = await next(acme, 'failure', (e) => e.kind === 'renew');
      const secondWait = secondFailure.retryAt.getTime() - Date.now();
      expect(secondFailure.failures).toBe(firstFailure.failures + 1);
      // Exponential backoff: 200 ms then 400 ms (±20 % jitter), capped at 1 s.
      expect(firstWait).toBeLessThanOrEqual(240);
      expect(secondWait).toBeGreaterThan(firstWait);
      expect(secondWait).toBeLessThanOrEqual(480);
      expect(acme.status()[0]!.failures).toBeGreaterThanOrEqual(2);
      expect(acme.status()[0]!.lastError).toBeTruthy();
      expect(await metricValue(running, 'bluetick_acme_orders_total', { domain: 'outage.bluetick.test', kind: 'renew', outcome: 'failure' })).toBeGreaterThanOrEqual(2);

      // Still serving the certificate it has, still valid for clients.
      const during = await handshake(port, 'outage.bluetick.test', oldRoot);
      expect(during).toMatchObject({ fingerprint: issued.fingerprint256, authorized: true });
      expect((await post(port, 'outage.bluetick.test', oldRoot)).status).toBe(200);

      // The CA comes back (with a new root and no memory of the account): renewal succeeds.
      await pebble.restart();
      const renewed = await next(acme, 'certificate', (e) => e.kind === 'renew');
      const newRoot = await pebble.root();
      const after = await handshake(port, 'outage.bluetick.test', newRoot);
      expect(after).toMatchObject({ fingerprint: renewed.fingerprint256, authorized: true });
      expect(acme.status()[0]!.failures).toBe(0);
      // The restarted CA forgot the account: it was registered again with the same key.
      const accountAfter = JSON.parse(await readFile(acme.storage.accountPath, 'utf8')) as { url: string };
      expect(accountAfter.url).not.toBe(accountBefore.url);
      expect(acme.stats.accountRegistrations).toBe(2);
    } finally {
      await running.close();
    }
  });
});

describe('ACME without a reachable CA', () => {
  it('starts at once, serves nothing for the name yet, and retries in the background', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-acme-down-'));
    const deadPort = await freePort();
    const config = acmeConfig({ dataDir: join(dir, 'data'), port: 0, domains: ['down.bluetick.test'], directoryUrl: `https://127.0.0.1:${deadPort}/dir` });
    const running = await launchServer(config, serverOptions(undefined, { retry: { minMs: 50, maxMs: 200 } }));
    try {
      const acme = running.acme!;
      expect(acme.ready).toBe(false);
      await next(acme, 'failure');
      const failure = await next(acme, 'failure');
      expect(failure.kind).toBe('issue');
      expect(failure.failures).toBeGreaterThanOrEqual(2);
      const [status] = acme.status();
      expect(status).toMatchObject({ domain: 'down.bluetick.test', state: 'missing' });
      expect(status!.lastError).toMatch(/ECONNREFUSED/);
      // No certificate to serve yet: the handshake fails rather than presenting a stand-in.
      await expect(handshake(running.address.port, 'down.bluetick.test')).rejects.toThrow();
    } finally {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
