/**
 * @module doctor/doctor
 *
 * `bluetick doctor`: is this host ready for EnableX (or Meta)? It reads the configuration,
 * talks to the running server like a provider would, looks at the local store, and returns
 * a checklist: one verdict per line, and for each failure what to do.
 *
 * What it sends: TLS handshakes; `GET /healthz` and `GET /readyz` (no credentials); one test
 * notification per channel, an empty batch (`{"statuses":[],...}` for EnableX, an empty
 * `whatsapp_business_account` envelope for Meta) with the configured credentials. An empty
 * batch is journaled like any post and yields no event. Credentials are only sent over a TLS
 * connection that verified (or plain HTTP on loopback); otherwise that line is skipped.
 * Finally a plain-HTTP POST without credentials to port 80 (or the ACME HTTP-01 port) of
 * the same host checks that no webhook is taken unencrypted. Every sink of the config is
 * checked too (`sinks.ts`): a signed probe request to each HTTP sink, a stream lookup for
 * each NATS sink. Test requests carry `bluetick-probe: 1`; none of them creates an event.
 *
 * The verdict says which of two things the host is ready for (`checks.ts` `readiness`):
 * local testing (plain HTTP, loopback, a self-signed certificate will do), or EnableX and
 * Meta (public HTTPS with a CA-signed certificate, and nothing failed).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { AcmeStorage } from '../acme/storage.js';
import { loadConfig } from '../config/load.js';
import { DEFAULT_CHANNEL_NAME } from '../config/schema.js';
import { isLoopbackHost, type ChannelConfig, type Config } from '../config/resolve.js';
import { ExitError } from '../errors.js';
import { encodeBasicAuthorization } from '../ingest/verify-basic.js';
import { signMeta } from '../ingest/verify-meta.js';
import { diskSpace, type DiskSpace, type StatFs } from '../disk.js';
import { findLooseModes } from '../private-files.js';
import {
  certificateChecks,
  clockCheck,
  credentialsCheck,
  diskSpaceCheck,
  plainHttpCheck,
  privateFilesCheck,
  readiness,
  type Readiness,
  tlsVersionCheck,
  webhookCheck,
  type CheckResult,
  type Verdict,
} from './checks.js';
import { sendRequest, targetFor, tlsHandshake, type HandshakeResult, type Target } from './probe.js';
import { PROBE_HEADER, sinkChecks } from './sinks.js';

export interface DoctorOptions {
  /** The webhook URL (or just the origin) providers post to; derived from the config when absent. */
  url?: string;
  /** Config file; `bluetick.config.json` in `cwd` when it exists. */
  configFile?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** PEM files whose certificates are trusted as extra roots (a test CA). */
  caFiles?: string[];
  /** `host:address` pairs: connect to `address` for `host` (like curl's --resolve, without the port). */
  resolve?: string[];
  /** Port for the plain-HTTP probe. Default: the ACME HTTP-01 port when configured, else 80. */
  httpPort?: number;
  /** Per network step. Default 5000 ms. */
  timeoutMs?: number;
  now?: () => number;
  /** `User-Agent` of the test requests. */
  userAgent?: string;
  /** Reads the data folder's free space (`fs.statfs`); tests inject a full disk. */
  statfs?: StatFs;
}

export interface DoctorReport {
  url?: string;
  /** No check failed. */
  ok: boolean;
  /** What the host is ready for: EnableX and Meta, local testing only, or nothing yet. */
  readiness: Readiness;
  /** Why it is not ready for more (empty for `providers`). */
  reasons: string[];
  /** Certificates were also checked against `--ca` roots, which providers do not trust. */
  extraTrust?: boolean;
  summary: Record<Verdict, number>;
  checks: CheckResult[];
}

const TEST_BODY = {
  enablex: '{"statuses":[],"business_phone":"000000000000"}',
  meta: '{"object":"whatsapp_business_account","entry":[]}',
};

/** Errors that mean the TCP connection itself failed. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const NFS_MAGIC = 0x6969;
const FS_NAMES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  [TMPFS_MAGIC]: 'tmpfs',
  [RAMFS_MAGIC]: 'ramfs',
  [NFS_MAGIC]: 'nfs',
};

/** Splits a PEM bundle into its certificates. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parseResolve(entries: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of entries ?? []) {
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) throw new ExitError(2, `--resolve ${entry}: expected HOST:ADDRESS, e.g. hooks.example.com:203.0.113.7`);
    out.set(entry.slice(0, colon).toLowerCase(), entry.slice(colon + 1).replace(/^\[|\]$/g, ''));
  }
  return out;
}

/** The URL providers would use, from the config alone. */
function urlFromConfig(config: Config): { url: URL; publicName: boolean } {
  const sc = config.server;
  if (sc.acme) {
    return { url: new URL(`https://${sc.acme.domains[0]}${sc.port === 443 ? '' : `:${sc.port}`}/`), publicName: true };
  }
  const host = sc.host === '0.0.0.0' ? '127.0.0.1' : sc.host === '::' ? '::1' : sc.host;
  const formatted = host.includes(':') ? `[${host}]` : host;
  return { url: new URL(`${sc.tls ? 'https' : 'http'}://${formatted}:${sc.port}/`), publicName: false };
}

function describeSent(channel: ChannelConfig): string {
  if (channel.basicAuth.length > 0) return `Basic auth as "${channel.basicAuth[0]!.username}"`;
  if (channel.meta.appSecrets.length > 0) return 'a Meta signature';
  return 'no credentials';
}

function testRequest(channel: ChannelConfig, userAgent: string): { headers: Record<string, string>; body: string } {
  const meta = channel.provider === 'meta' || (channel.basicAuth.length === 0 && channel.meta.appSecrets.length > 0);
  const body = meta ? TEST_BODY.meta : TEST_BODY.enablex;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent, [PROBE_HEADER]: '1' };
  const basic = channel.basicAuth[0];
  if (basic) headers.authorization = encodeBasicAuthorization(basic.username, basic.password);
  else if (channel.meta.appSecrets[0] !== undefined) headers['x-hub-signature-256'] = signMeta(body, channel.meta.appSecrets[0]);
  return { headers, body };
}

async function storeChecks(dataDir: string): Promise<CheckResult[]> {
  const { DEFAULT_DB_FILE } = await import('../store/open.js');
  const file = join(dataDir, DEFAULT_DB_FILE);
  const writableTitle = 'Store is writable';
  const durableTitle = 'Journal is durable';
  const out: CheckResult[] = [];
  let settings: { journalMode: string; synchronous: number } | undefined;
  if (existsSync(file)) {
    try {
      const { SqliteStore } = await import('../store/sqlite/sqlite-store.js');
      const store = new SqliteStore(file, { busyTimeoutMs: 2_000, checkpointIntervalMs: 0 });
      try {
        await store.ping();
        settings = store.settings();
      } finally {
        await store.close();
      }
      out.push({ id: 'store.writable', title: writableTitle, status: 'pass', detail: `${file} takes writes` });
    } catch (error) {
      out.push({
        id: 'store.writable',
        title: writableTitle,
        status: 'fail',
        detail: `${file}: ${(error as Error).message}`,
        fix: 'check the file and folder permissions for the user bluetick runs as, free disk space, and that no other program holds a write lock on the database',
      });
    }
  } else {
    let dir = dataDir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      const probe = await mkdtemp(join(dir, '.bluetick-doctor-'));
      await writeFile(join(probe, 'probe'), 'ok');
      await rm(probe, { recursive: true, force: true });
      out.push({
        id: 'store.writable',
        title: writableTitle,
        status: 'pass',
        detail: `${dir === dataDir ? dataDir : `${dir} (parent of ${dataDir})`} takes writes; the store is created there at the first start`,
      });
    } catch (error) {
      out.push({
        id: 'store.writable',
        title: writableTitle,
        status: 'fail',
        detail: `cannot write in ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        fix: `create ${dataDir} and give the user bluetick runs as write access to it, or choose another folder with --data`,
      });
    }
  }

  let fsType: number | undefined;
  try {
    let dir = dataDir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    fsType = (await statfs(dir)).type;
  } catch {
    fsType = undefined;
  }
  const fsName = fsType === undefined ? 'unknown file system' : (FS_NAMES[fsType] ?? `file system 0x${fsType.toString(16)}`);
  if (fsType === TMPFS_MAGIC || fsType === RAMFS_MAGIC) {
    out.push({
      id: 'store.durable',
      title: durableTitle,
      status: 'fail',
      detail: `${dataDir} is on ${fsName}, which lives in memory: every acknowledged notification is lost at reboot`,
      fix: 'put the data folder on a disk (--data /var/lib/bluetick)',
    });
  } else if (settings && (settings.journalMode !== 'wal' || settings.synchronous < 2)) {
    out.push({
      id: 'store.durable',
      title: durableTitle,
      status: 'fail',
      detail: `journal_mode=${settings.journalMode}, synchronous=${settings.synchronous} (expected wal and 2 = FULL)`,
      fix: 'open the store with bluetick itself; something changed its settings',
    });
  } else if (fsType === NFS_MAGIC) {
    out.push({
      id: 'store.durable',
      title: durableTitle,
      status: 'warn',
      detail: `${dataDir} is on NFS; SQLite's locking and fsync are not reliable there`,
      fix: 'use a local disk for the data folder, or the PostgreSQL store',
    });
  } else {
    out.push({
      id: 'store.durable',
      title: durableTitle,
      status: 'pass',
      detail: `${settings ? `journal_mode=${settings.journalMode}, synchronous=FULL` : 'WAL with synchronous=FULL once created'}, on ${fsName}`,
    });
  }
  return out;
}

/** The certificate bluetick would serve, read from the configured files (when the server is not reachable). */
async function configuredCertificate(config: Config): Promise<{ chain: X509Certificate[]; file: string } | undefined> {
  const sc = config.server;
  let file: string | undefined;
  if (sc.tls) file = sc.tls.cert;
  else if (sc.acme) file = new AcmeStorage(sc.dataDir, sc.acme.directoryUrl).certificatePaths(sc.acme.domains[0]!).cert;
  if (file === undefined || !existsSync(file)) return undefined;
  try {
    const chain = splitPem(await readFile(file, 'utf8')).map((pem) => new X509Certificate(pem));
    return chain.length > 0 ? { chain, file } : undefined;
  } catch {
    return undefined;
  }
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const userAgent = opts.userAgent ?? 'bluetick-doctor';
  const checks: CheckResult[] = [];
  const resolveMap = parseResolve(opts.resolve);

  // ---- configuration --------------------------------------------------------------------
  let config: Config | undefined;
  let configFile: string | undefined;
  try {
    const loaded = await loadConfig({ ...(opts.configFile !== undefined ? { file: opts.configFile } : {}), cwd: opts.cwd, env: opts.env });
    config = loaded.config;
    configFile = loaded.file;
    const where = configFile ?? 'no config file; defaults and BLUETICK_* variables';
    checks.push(
      loaded.warnings.length > 0
        ? { id: 'config', title: 'Configuration is valid', status: 'warn', detail: `${where}: ${loaded.warnings.join('; ')}`, fix: 'address the warning, unless it is intended (a loopback test host, say)' }
        : { id: 'config', title: 'Configuration is valid', status: 'pass', detail: where },
    );
  } catch (error) {
    checks.push({
      id: 'config',
      title: 'Configuration is valid',
      status: 'fail',
      detail: (error as Error).message.replace(/\n\s*/g, ' '),
      fix: '`bluetick serve` refuses to start with this configuration; fix the keys named above',
    });
  }

  // ---- which URL --------------------------------------------------------------------------
  let url: URL;
  let publicName: boolean;
  if (opts.url !== undefined) {
    try {
      url = new URL(opts.url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('expected http(s)');
    } catch {
      checks.push({ id: 'url', title: 'Webhook URL', status: 'fail', detail: `--url ${opts.url} is not an http(s) URL`, fix: 'pass the URL entered in the provider portal, e.g. https://hooks.example.com/webhooks/default' });
      return report(undefined, checks, false, false);
    }
    publicName = true;
  } else if (config) {
    ({ url, publicName } = urlFromConfig(config));
  } else {
    checks.push({ id: 'url', title: 'Webhook URL', status: 'fail', detail: 'no --url and no usable configuration', fix: 'pass --url https://<your-host>/webhooks/<channel>' });
    return report(undefined, checks, false, false);
  }
  const publicHost = !isLoopbackHost(url.hostname);
  const hostForCertificate = publicName ? url.hostname.replace(/^\[|\]$/g, '') : undefined;

  // Channels to post to: the one the URL names, or every configured channel.
  const configured = config?.channels ?? [];
  const pathGiven = url.pathname !== '/' && url.pathname !== '';
  const channels: Array<{ channel: ChannelConfig; key: string; path: string }> = [];
  if (pathGiven) {
    const index = configured.findIndex((c) => c.path === url.pathname);
    if (index >= 0) channels.push({ channel: configured[index]!, key: `channels[${index}]`, path: url.pathname });
    else {
      const name = url.pathname.split('/').filter(Boolean).at(-1) ?? DEFAULT_CHANNEL_NAME;
      channels.push({
        channel: { name, path: url.pathname, provider: 'auto', basicAuth: [], meta: { appSecrets: [], verifyTokens: [] } },
        key: `(no configured channel has the path ${url.pathname})`,
        path: url.pathname,
      });
    }
  } else {
    configured.forEach((c, i) => channels.push({ channel: c, key: `channels[${i}]`, path: c.path }));
  }

  // ---- trust --------------------------------------------------------------------------
  const extraCa: string[] = [];
  for (const file of opts.caFiles ?? []) {
    try {
      const pems = splitPem(await readFile(file, 'utf8'));
      if (pems.length === 0) throw new Error('no PEM certificate in it');
      extraCa.push(...pems);
    } catch (error) {
      checks.push({ id: 'ca', title: 'Extra CA file', status: 'fail', detail: `--ca ${file}: ${(error as Error).message}`, fix: 'pass a PEM file with the CA certificate' });
    }
  }
  const caList = [...rootCertificates, ...extraCa];
  const trusted = caList.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });

  // ---- TLS ---------------------------------------------------------------------------
  const target: Target = targetFor(url, resolveMap);
  const mode = config?.server.acme ? 'acme' : config?.server.tls ? 'files' : 'unknown';
  let tlsVerified = false;
  let tlsError: string | undefined;
  let reachable = false;
  if (url.protocol === 'https:') {
    const [h12, h13] = await Promise.all([
      tlsHandshake(target, { ca: caList, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', timeoutMs }),
      tlsHandshake(target, { ca: caList, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', timeoutMs }),
    ]);
    const main: HandshakeResult = h13.ok ? h13 : h12;
    const where = `${target.connectHost}:${target.port}${target.servername && target.servername !== target.connectHost ? ` (as ${target.servername})` : ''}`;
    if (main.ok) {
      reachable = true;
      checks.push({ id: 'reach', title: 'Server is reachable', status: 'pass', detail: `TLS handshake with ${where}` });
      checks.push(tlsVersionCheck({ 'TLSv1.2': verdictOf(h12), 'TLSv1.3': verdictOf(h13) }));
      const certChecks = certificateChecks({ chain: main.chain, trusted, host: hostForCertificate, now: now(), source: 'sent by the server', mode });
      checks.push(...certChecks);
      const hostnameOk = certChecks.find((c) => c.id === 'tls.hostname')?.status !== 'fail';
      // Node's verification covers the chain, the trust and the dates; the name is checked above.
      tlsVerified = main.authorized && hostnameOk;
      if (!main.authorized) tlsError = main.authorizationError;
      else if (!hostnameOk) tlsError = 'wrong host name';
    } else {
      const network = NETWORK_ERRORS.has(main.code ?? '');
      if (network) {
        checks.push({
          id: 'reach',
          title: 'Server is reachable',
          status: 'fail',
          detail: `cannot connect to ${where}: ${main.error}`,
          fix:
            main.code === 'ECONNREFUSED'
              ? 'nothing listens there: start `bluetick serve`, or check --url / the port'
              : 'check DNS (or pass --resolve host:address), the firewall, and the port',
        });
        checks.push({ id: 'tls.version', title: 'TLS 1.2 or newer is offered', status: 'skip', detail: 'server not reachable' });
      } else {
        // Connected, but no TLS 1.2/1.3 handshake: a protocol problem, not a network one.
        checks.push({ id: 'reach', title: 'Server is reachable', status: 'pass', detail: `TCP connection to ${where}` });
        checks.push(tlsVersionCheck({ 'TLSv1.2': verdictOf(h12), 'TLSv1.3': verdictOf(h13) }));
      }
      const fromFile = config ? await configuredCertificate(config) : undefined;
      checks.push(
        ...certificateChecks({
          chain: fromFile?.chain ?? [],
          trusted,
          host: hostForCertificate,
          now: now(),
          source: fromFile ? `in ${fromFile.file} (the server was not reachable)` : '',
          mode,
        }),
      );
    }
  }

  // ---- health, readiness, clock ---------------------------------------------------------
  const health = await sendRequest(target, { method: 'GET', path: '/healthz', ca: caList, insecure: true, timeoutMs, headers: { 'user-agent': userAgent } });
  if (url.protocol === 'http:') {
    reachable = health.status !== undefined;
    checks.push(
      reachable
        ? { id: 'reach', title: 'Server is reachable', status: 'pass', detail: `HTTP answer from ${target.connectHost}:${target.port}` }
        : {
            id: 'reach',
            title: 'Server is reachable',
            status: 'fail',
            detail: `no answer from ${target.connectHost}:${target.port}: ${health.error ?? 'unknown error'}`,
            fix: 'start `bluetick serve`, or check --url / the port',
          },
    );
    tlsVerified = true;
  }
  let dateHeader = typeof health.headers?.date === 'string' ? health.headers.date : undefined;
  if (reachable) {
    const ready = await sendRequest(target, { method: 'GET', path: '/readyz', ca: caList, insecure: true, timeoutMs, headers: { 'user-agent': userAgent } });
    if (ready.status === 200) checks.push({ id: 'server.ready', title: 'Server is ready (store takes writes)', status: 'pass', detail: 'GET /readyz -> 200' });
    else if (ready.status === 503) {
      checks.push({
        id: 'server.ready',
        title: 'Server is ready (store takes writes)',
        status: 'fail',
        detail: `GET /readyz -> 503: ${ready.body?.trim().slice(0, 200) ?? ''}`,
        fix: 'the server cannot write its journal: check its disk, the store file permissions and its log',
      });
    } else {
      checks.push({
        id: 'server.ready',
        title: 'Server is ready (store takes writes)',
        status: 'skip',
        detail: `GET /readyz -> ${ready.status ?? ready.error}; not answered by bluetick (a proxy may not forward it)`,
      });
    }
  }

  // ---- test notifications -------------------------------------------------------------
  if (channels.length === 0) {
    checks.push({ id: 'webhook', title: 'Webhook answers a test notification', status: 'skip', detail: 'no channel configured and no channel path in --url' });
  }
  for (const { channel, path } of channels) {
    const shown = `${url.origin}${path}`;
    const id = `webhook.${channel.name}`;
    const title = `Webhook "${channel.name}" answers a test notification`;
    if (!reachable) {
      checks.push({ id, title, status: 'skip', detail: 'server not reachable' });
      continue;
    }
    const plainOnPublic = url.protocol === 'http:' && publicHost;
    if (!tlsVerified || plainOnPublic) {
      checks.push({
        id,
        title,
        status: 'skip',
        detail: plainOnPublic
          ? 'not sent: credentials are not sent over plain HTTP to a public host'
          : `not sent: the certificate does not verify${tlsError ? ` (${tlsError})` : ''}, and credentials are only sent over verified TLS; fix the certificate lines (for a test CA, pass --ca)`,
      });
      continue;
    }
    const { headers, body } = testRequest(channel, userAgent);
    const answer = await sendRequest(target, { method: 'POST', path, headers, body, ca: caList, timeoutMs });
    if (typeof answer.headers?.date === 'string') dateHeader = answer.headers.date;
    checks.push(webhookCheck(channel.name, shown, answer, describeSent(channel)));
  }

  checks.push(clockCheck(now(), dateHeader, 'the server'));

  // ---- credentials per channel ----------------------------------------------------------
  if (config) {
    config.channels.forEach((c, i) => checks.push(credentialsCheck(c, `channels[${i}]`)));
  } else {
    checks.push({ id: 'credentials', title: 'Channels have credentials', status: 'skip', detail: 'no usable configuration' });
  }

  // ---- local store --------------------------------------------------------------------
  if (config) {
    checks.push(...(await storeChecks(config.server.dataDir)));
    const dataDir = config.server.dataDir;
    checks.push(privateFilesCheck(dataDir, existsSync(dataDir), findLooseModes(dataDir)));
    let space: DiskSpace | undefined;
    try {
      let dir = dataDir;
      while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
      space = await diskSpace(dir, opts.statfs);
    } catch {
      space = undefined;
    }
    checks.push(diskSpaceCheck(dataDir, space, config.server.minFreeDiskBytes));
  }

  // ---- plain HTTP -----------------------------------------------------------------------
  const sc = config?.server;
  const proxyBinding = sc && sc.behindProxy && !isLoopbackHost(sc.host) ? `${sc.host}:${sc.port}` : undefined;
  let probe: { port: number; status?: number; error?: string } | undefined;
  if (url.protocol === 'https:') {
    const port = opts.httpPort ?? (sc?.acme?.challenge === 'http-01' ? sc.acme.httpPort : 80);
    const plainTarget = { ...target, port };
    const probePath = channels[0]?.path ?? '/webhooks/default';
    const seen = await sendRequest(plainTarget, {
      method: 'POST',
      path: probePath,
      plain: true,
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: '{}',
      timeoutMs: Math.min(timeoutMs, 3_000),
    });
    probe = { port, ...(seen.status !== undefined ? { status: seen.status } : {}), ...(seen.error !== undefined ? { error: seen.error } : {}) };
  }
  checks.push(plainHttpCheck({ url, publicHost, ...(probe ? { probe } : {}), ...(proxyBinding ? { proxyBinding } : {}) }));

  // ---- sinks ----------------------------------------------------------------------------
  if (config && config.sinks.length > 0) {
    checks.push(...(await sinkChecks(config, { ca: caList, resolve: resolveMap, timeoutMs, userAgent, now })));
  }

  const done = report(url.toString(), checks, url.protocol === 'https:', publicHost);
  return extraCa.length > 0 ? { ...done, extraTrust: true } : done;

  function verdictOf(h: HandshakeResult): { ok: boolean; detail: string } {
    return h.ok ? { ok: true, detail: h.protocol } : { ok: false, detail: h.code ?? h.error };
  }
}

function report(url: string | undefined, checks: CheckResult[], https: boolean, publicHost: boolean): DoctorReport {
  const summary: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  const verdict = readiness(checks, { https, publicHost });
  return { ...(url !== undefined ? { url } : {}), ok: summary.fail === 0, readiness: verdict.level, reasons: verdict.reasons, summary, checks };
}

/** The last line: what the host is ready for, and why not for more. */
export function verdictLine(r: DoctorReport): string {
  if (r.readiness === 'providers') {
    return `Ready for EnableX and Meta: public HTTPS with a CA-signed certificate${r.extraTrust ? ' (trusted here through --ca as well as the public roots; providers trust public CAs only)' : ''}.`;
  }
  if (r.readiness === 'local') {
    return (
      `Ready for local testing only, not for EnableX or Meta (${r.reasons.join('; ')}). ` +
      'Providers post only to public HTTPS URLs with a CA-signed certificate.'
    );
  }
  return `Not ready: ${r.reasons.join('; ')} failed. Fix the failures above.`;
}

const LABEL: Record<Verdict, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** The checklist as text: one line per check, the fix indented under each failure or warning. */
export function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`bluetick doctor${r.url ? `: ${r.url}` : ''}`);
  lines.push('');
  const width = Math.max(...r.checks.map((c) => c.title.length));
  for (const c of r.checks) {
    lines.push(`  ${LABEL[c.status]}  ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix && (c.status === 'fail' || c.status === 'warn')) lines.push(`        ${''.padEnd(width)}  fix: ${c.fix}`);
  }
  lines.push('');
  const { pass, warn, fail, skip } = r.summary;
  lines.push(`${pass} passed, ${fail} failed, ${warn} warning${warn === 1 ? '' : 's'}, ${skip} skipped.`);
  lines.push(verdictLine(r));
  return `${lines.join('\n')}\n`;
}
