/**
 * @module cli/commands/serve
 *
 * `bluetick serve`: load the config, start the receiver, print where providers should post
 * and what they must send, and shut down gracefully on SIGINT / SIGTERM (a second signal
 * exits at once).
 */
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { CliFlags, Config } from '../../config/types.js';
import { hasCredentials } from '../../config/credentials.js';
import { isLoopbackHost } from '../../config/hosts.js';
import type { RouteConfig } from '../../dispatch/match.js';
import { createLogger } from '../../log.js';
import { DEFAULT_DB_FILE } from '../../store/open.js';
import { parsePostgresUrl } from '../../store/postgres/url.js';
import { launchServer, type ServerInternals } from '../../server.js';

export interface ServeCommandOptions {
  config?: string;
  port?: string;
  host?: string;
  data?: string;
  tlsCert?: string;
  tlsKey?: string;
  behindProxy?: boolean;
  trustProxy?: boolean;
  publicHost?: string[];
  logLevel?: string;
  store?: string;
  acmeDomain?: string[];
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeChallenge?: string;
  acmeHttpPort?: string;
}

export interface ServeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Receives SIGINT / SIGTERM; `process` in the CLI. */
  signals: NodeJS.EventEmitter;
  /** Called on a second signal while shutting down; `process.exit` in the CLI. */
  exit: (code: number) => void;
}

/** Where events are kept, and which setting chose it: said loudly, so a stray variable cannot move the store unseen. */
export function storeLine(config: Config): string {
  if (config.store) {
    return `STORE: PostgreSQL ${parsePostgresUrl(config.store.url).display} (from ${config.store.source ?? 'store.url'})`;
  }
  return `STORE: SQLite ${join(config.server.dataDir, DEFAULT_DB_FILE)} (the default; BLUETICK_DATABASE_URL or --store selects PostgreSQL)`;
}

/** One route in words: what it takes, where it sends it. */
export function describeRoute(route: RouteConfig): string {
  const m = route.match ?? {};
  const parts: string[] = [];
  if (m.type && m.type.length > 0) parts.push(m.type.join(', '));
  if (m.channel && m.channel.length > 0) parts.push(`channel ${m.channel.join(', ')}`);
  if (m.phoneNumberId && m.phoneNumberId.length > 0) parts.push(`phone number id ${m.phoneNumberId.join(', ')}`);
  if (m.kind && m.kind.length > 0) parts.push(`kind ${m.kind.join(', ')}`);
  return `${parts.length > 0 ? parts.join('; ') : 'every event'} -> ${route.sink}`;
}

/** The sinks and routes the config declares, or what it means that there are none. */
function deliveryLines(config: Config): string[] {
  if (config.sinks.length === 0 && config.routes.length === 0) {
    return ['delivery: no sinks or routes configured; events are stored and served on /api, and sent nowhere (docs/configuration.md#sinks)'];
  }
  const lines: string[] = ['sinks (where events are delivered):'];
  const sinkWidth = Math.max(...config.sinks.map((s) => s.name.length));
  for (const s of config.sinks) {
    const where =
      s.type === 'http'
        ? `http  ${s.url}`
        : `nats  ${[s.servers].flat().join(', ')} subject ${s.subject}${s.stream ? ` (stream ${s.stream})` : ''}`;
    const used = config.routes.some((r) => r.sink === s.name) ? '' : '  (no route sends to it)';
    lines.push(`  ${s.name.padEnd(sinkWidth)}  ${where}${used}`);
  }
  if (config.routes.length === 0) {
    lines.push('routes: none; no event is delivered until a route names a sink');
  } else {
    lines.push('routes (which events go where):');
    const routeWidth = Math.max(...config.routes.map((r) => r.name.length));
    for (const r of config.routes) lines.push(`  ${r.name.padEnd(routeWidth)}  ${describeRoute(r)}`);
  }
  return lines;
}

/** The lines printed once the server listens; `configFile`: the file the config was read from. */
export function banner(running: ServerInternals, configFile?: string): string {
  const { config } = running;
  const lines: string[] = [];
  lines.push(`bluetick is listening on ${running.url}`);
  lines.push(`  ${storeLine(config)}`);
  lines.push(`  data folder: ${config.server.dataDir}`);
  const acme = config.server.acme;
  if (acme && running.acme) {
    const how = acme.challenge === 'http-01' ? `HTTP-01 on port ${acme.httpPort}` : 'TLS-ALPN-01 on this port';
    lines.push(`  certificates: ACME from ${acme.directoryUrl} (${how})`);
    const width = Math.max(...acme.domains.map((d) => d.length));
    for (const s of running.acme.status()) {
      const state =
        s.state === 'missing'
          ? 'being obtained; TLS handshakes for this name fail until it arrives (usually seconds)'
          : `${s.state === 'expired' ? 'EXPIRED, renewing' : 'serving'} the stored certificate, valid until ${s.notAfter?.toISOString()}, renews from ${s.renewAt?.toISOString()}`;
      lines.push(`    ${s.domain.padEnd(width)}  ${state}`);
    }
  }
  lines.push('');
  lines.push('webhook URLs (POST notifications here):');
  const width = Math.max(...running.webhooks.map((w) => w.channel.length));
  for (const w of running.webhooks) {
    lines.push(`  ${w.channel.padEnd(width)}  ${w.url}  (provider: ${w.provider})`);
    lines.push(`  ${''.padEnd(width)}  expects: ${w.credentials.join('; ')}`);
  }
  lines.push('');
  lines.push(...deliveryLines(config));
  lines.push('');
  lines.push(`console: ${running.url}/   (sign in with the admin token below)`);
  lines.push(`api:     ${running.url}/api   (header "Authorization: Bearer <admin token>"; OpenAPI at ${running.url}/api/openapi.json)`);
  lines.push(`health: ${running.url}/healthz   readiness: ${running.url}/readyz   metrics: ${running.url}/metrics (admin or metrics token)`);
  lines.push('');
  const token = running.adminToken;
  if (token.source === 'generated') {
    lines.push(`admin token (for /api, the console at ${running.url}/ and the CLI), generated now and shown only this once:`);
    lines.push(`  ${token.token}`);
    lines.push(`  read it again with: cat ${token.file}   (mode 0600; CLI commands given --data read it there)`);
  } else if (token.source === 'file') {
    lines.push(`admin token: kept in ${token.file}; to sign in, paste what \`cat ${token.file}\` prints`);
  } else {
    const where =
      config.adminTokenSource === 'BLUETICK_ADMIN_TOKEN'
        ? 'the value of BLUETICK_ADMIN_TOKEN'
        : `"adminToken" in ${configFile ?? 'the config file'}`;
    lines.push(`admin token: the configured one; sign in with ${where}`);
  }
  const open = config.channels.filter((c) => !hasCredentials(c));
  if (open.length > 0) {
    lines.push('');
    lines.push('!!! WARNING !!!');
    for (const c of open) {
      lines.push(`!!! channel "${c.name}" has NO credentials and accepts UNAUTHENTICATED posts.`);
    }
    lines.push('!!! Only direct loopback clients may post; anything that came through a proxy is refused.');
    lines.push('!!! Set BLUETICK_BASIC_AUTH=user:pass and/or BLUETICK_META_APP_SECRET, or configure channels in a config file.');
  }
  if (!config.server.tls && !config.server.acme && isLoopbackHost(config.server.host) && !config.server.behindProxy) {
    lines.push('');
    lines.push(
      'note: EnableX and Meta only post to public HTTPS URLs with a CA-signed certificate. Put a TLS proxy in front ' +
        '(then bind with --host and --behind-proxy), or serve HTTPS directly with --acme-domain (automatic certificates) or --tls-cert and --tls-key.',
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function runServe(opts: ServeCommandOptions, io: ServeIo): Promise<number> {
  const flags: CliFlags = {};
  if (opts.host !== undefined) flags.host = opts.host;
  if (opts.port !== undefined) flags.port = opts.port;
  if (opts.data !== undefined) flags.dataDir = opts.data;
  if (opts.tlsCert !== undefined) flags.tlsCert = opts.tlsCert;
  if (opts.tlsKey !== undefined) flags.tlsKey = opts.tlsKey;
  if (opts.behindProxy !== undefined) flags.behindProxy = opts.behindProxy;
  if (opts.trustProxy !== undefined) flags.trustProxy = opts.trustProxy;
  if (opts.publicHost !== undefined) flags.publicHosts = opts.publicHost;
  if (opts.logLevel !== undefined) flags.logLevel = opts.logLevel;
  if (opts.store !== undefined) flags.store = opts.store;
  if (opts.acmeDomain !== undefined) flags.acmeDomains = opts.acmeDomain;
  if (opts.acmeEmail !== undefined) flags.acmeEmail = opts.acmeEmail;
  if (opts.acmeDirectory !== undefined) flags.acmeDirectory = opts.acmeDirectory;
  if (opts.acmeChallenge !== undefined) flags.acmeChallenge = opts.acmeChallenge;
  if (opts.acmeHttpPort !== undefined) flags.acmeHttpPort = opts.acmeHttpPort;

  const { config, warnings, file } = await loadConfig({
    ...(opts.config !== undefined ? { file: opts.config } : {}),
    cwd: io.cwd,
    env: io.env,
    flags,
  });
  for (const warning of warnings) io.stderr.write(`bluetick: warning: ${warning}\n`);

  const logger = createLogger({ level: config.log.level });
  const running = await launchServer(config, { logger });
  io.stdout.write(banner(running, file));

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        io.stderr.write(`bluetick: ${signal} again, exiting now\n`);
        io.exit(130);
        return;
      }
      stopping = true;
      io.stderr.write(`bluetick: ${signal} received, shutting down (finishing in-flight requests)\n`);
      running.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        resolve();
      });
    };
    io.signals.on('SIGINT', onSignal);
    io.signals.on('SIGTERM', onSignal);
  });
  return 0;
}
