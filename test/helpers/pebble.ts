/**
 * Let's Encrypt's test CA, pebble (Debian package `pebble`), on loopback for the ACME
 * suites: one `pebble` process plus `pebble-challtestsrv` as its DNS server, answering every
 * A query with 127.0.0.1, so real names (`hooks.bluetick.test`) validate against bluetick's
 * own challenge listeners on loopback. Ports are free ones; the ACME server's own HTTPS
 * certificate is generated with openssl into a temp folder (its CA is `wfeCa`). pebble keeps
 * nothing between runs: `restart()` brings up a CA with a new root that has forgotten every
 * account, as after a real outage with data loss.
 *
 * Without the binaries the suites skip with a message, except under CI (`process.env.CI`),
 * where `.ci/run` installs the package and a missing binary is a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

function which(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export const PEBBLE = which('pebble');
export const CHALLTESTSRV = which('pebble-challtestsrv');

/** `undefined` when pebble can run here; otherwise why not. */
export function pebbleMissing(): string | undefined {
  if (PEBBLE && CHALLTESTSRV) return undefined;
  return 'pebble is not installed (apt-get install -y pebble); the ACME suites need it';
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PebbleOptions {
  /** Where pebble validates HTTP-01 (bluetick's HTTP-01 listener). */
  httpPort?: number;
  /** Where pebble validates TLS-ALPN-01 (bluetick's TLS port). */
  tlsPort?: number;
  /** Lifetime of issued certificates. Default: pebble's (5 years). */
  validitySeconds?: number;
}

export interface Pebble {
  directoryUrl: string;
  /** PEM of the CA that signed the ACME server's own HTTPS certificate. */
  wfeCa: string;
  wfeCaFile: string;
  httpPort: number;
  tlsPort: number;
  /** The root that signs issued certificates (new at each start). */
  root(): Promise<string>;
  stop(): Promise<void>;
  /** Starts again on the same ports, with a new root and no accounts. */
  restart(): Promise<void>;
  running(): boolean;
  close(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startPebble(opts: PebbleOptions = {}): Promise<Pebble> {
  const missing = pebbleMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'bluetick-pebble-'));
  const wfeKey = join(dir, 'wfe.key');
  const wfeCert = join(dir, 'wfe.crt');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', wfeKey, '-out', wfeCert, '-days', '2', '-subj', '/CN=pebble test server',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const wfeCa = await readFile(wfeCert, 'utf8');
  const [acmePort, managementPort, dnsPort, dnsManagementPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const httpPort = opts.httpPort ?? (await freePort());
  const tlsPort = opts.tlsPort ?? (await freePort());
  const configFile = join(dir, 'pebble.json');
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: wfeCert,
        privateKey: wfeKey,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds !== undefined ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      },
    }),
  );

  const logs: string[] = [];
  const keep = (child: ChildProcess, name: string): void => {
    const add = (c: Buffer): void => {
      logs.push(`${name}: ${c.toString()}`);
      if (logs.length > 200) logs.shift();
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  };

  const dns = spawn(
    CHALLTESTSRV!,
    ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagementPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  keep(dns, 'dns');

  let ca: ChildProcess | undefined;
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const launch = async (): Promise<void> => {
    const child = spawn(PEBBLE!, ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`, '-strict=false'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1' },
    });
    keep(child, 'pebble');
    ca = child;
    const until = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`pebble exited with ${child.exitCode}:\n${logs.join('')}`);
      try {
        const res = await get(directoryUrl, wfeCa);
        if (res.status === 200) return;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`pebble did not start:\n${logs.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const child = ca;
    ca = undefined;
    if (!child) return;
    child.kill('SIGTERM');
    await waitExit(child);
  };

  try {
    await launch();
  } catch (error) {
    await stop();
    dns.kill('SIGTERM');
    await waitExit(dns);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    directoryUrl,
    wfeCa,
    wfeCaFile: wfeCert,
    httpPort,
    tlsPort,
    async root() {
      const res = await get(`https://127.0.0.1:${managementPort}/roots/0`, wfeCa);
      if (res.status !== 200) throw new Error(`pebble root: HTTP ${res.status}`);
      return res.body;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    running: () => ca !== undefined && ca.exitCode === null,
    async close() {
      await stop();
      dns.kill('SIGTERM');
      await waitExit(dns);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
