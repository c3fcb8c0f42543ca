/**
 * @module config/resolve
 *
 * Pure: (written config, environment snapshot, command-line flags) -> the config bluetick
 * runs with, plus warnings and errors. No file or environment access happens here; `load.ts`
 * does the reading, so every rule below can be tested with plain objects.
 *
 * Precedence, lowest first: schema defaults < config file < environment < flags.
 *
 * Errors name the key that is wrong (`channels[1].meta.appSecrets: expected a non-empty list`,
 * `BLUETICK_PORT: ...`, `--port: ...`). Two kinds exist: `BT_ERR_CONFIG_INVALID` (the value is
 * malformed) and `BT_ERR_CONFIG_UNSAFE` (well-formed, but it would expose plain HTTP or
 * unauthenticated ingest on a reachable address).
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import type { BreakerOptions } from '../dispatch/breaker.js';
import type { RouteConfig } from '../dispatch/match.js';
import { resolveRetryPolicy } from '../dispatch/retry.js';
import { validateHttpSinkConfig, validateNatsSinkConfig } from '../dispatch/sink-config.js';
import type { SinkConfig } from '../dispatch/sinks.js';
import { ConfigError } from '../errors.js';
import { parsePostgresUrl } from '../store/postgres/url.js';
import { unknownEnvWarnings } from './env-names.js';
import { retentionLimits, type RetentionLimits } from '../retention/policy.js';
import {
  CHANNEL_NAME_PATTERN,
  DEFAULT_CHANNEL_NAME,
  LOG_LEVELS,
  WEBHOOK_PATH_PREFIX,
  writtenConfigSchema,
  type LogLevel,
  type ProviderSetting,
  type WrittenBasicCredential,
  type WrittenConfig,
  ACME_CHALLENGES,
  LETS_ENCRYPT_DIRECTORY,
  acmeDirectoryUrl,
  acmeDomain,
  acmeEmail,
  type AcmeChallenge,
  type WrittenAcme,
} from './schema.js';

export interface BasicCredential {
  username: string;
  password: string;
}

export interface ChannelConfig {
  name: string;
  /** Exact request path, e.g. `/webhooks/default`. */
  path: string;
  provider: ProviderSetting;
  /** Empty when the channel takes no Basic credentials. */
  basicAuth: BasicCredential[];
  meta: {
    /** Empty when POSTs are not checked for a Meta signature. */
    appSecrets: string[];
    /** Empty when the subscription handshake is not answered. */
    verifyTokens: string[];
  };
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Absolute. */
  dataDir: string;
  /** Absolute paths when set. */
  tls?: { cert: string; key: string };
  /** Certificates obtained and renewed from an ACME CA; excludes `tls` and `behindProxy`. */
  acme?: AcmeConfig;
  behindProxy: boolean;
  /** With `behindProxy`: the last `X-Forwarded-For` entry is the client's address. */
  trustProxy: boolean;
  /**
   * Names the API and console answer to besides loopback names: `server.publicHosts`, the
   * ACME domains, and `host` unless it is a wildcard. Lower-case, without port or brackets.
   */
  publicHosts: string[];
  /** True when only this machine can reach the server: a loopback host and no proxy in front. */
  loopbackOnly: boolean;
  limits: {
    bodyBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    authFailures: number;
    itemsPerPost: number;
  };
  journal: { maxPending: number; commitTimeoutMs: number; maxAttempts: number; rowBudgetMs: number };
}

/** A sink from the config: what `createSink` takes, plus its circuit breaker settings. */
export type SinkSettings = SinkConfig & { breaker?: Partial<Omit<BreakerOptions, 'onTransition'>> };

/** When a channel or phone number counts as silent (`watch.silence`). */
export interface SilenceWatchSettings {
  enabled: boolean;
  multiple: number;
  minimumGapMs: number;
  minMessages: number;
}

/** Age limits per data class (`retention`), ms; `null`: kept for ever. */
export interface RetentionSettings {
  limits: RetentionLimits;
  /** How often the pruner runs, ms. */
  intervalMs: number;
}

/** How the delivery worker runs. */
export interface DeliverySettings {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
}

export interface AcmeConfig {
  /** Lower-case, unique; the first is served to clients that send no SNI name. */
  domains: string[];
  email?: string;
  directoryUrl: string;
  challenge: AcmeChallenge;
  httpPort: number;
  /** Fraction of the lifetime left when renewal starts, e.g. 1/3. */
  renewWhenRemaining: number;
}

/** The resolved configuration `startServer` takes. */
export interface Config {
  server: ServerConfig;
  channels: ChannelConfig[];
  /** Empty when nothing is delivered. */
  sinks: SinkSettings[];
  /** Each with its full retry policy; every `sink` names one of `sinks`. */
  routes: RouteConfig[];
  delivery: DeliverySettings;
  /** Retention per data class (src/retention/). */
  retention: RetentionSettings;
  /** Silence watch (`watch.silence`, src/watch/). */
  watch: { silence: SilenceWatchSettings };
  /** Present when the store is PostgreSQL; absent: the SQLite file in `server.dataDir`. */
  store?: StoreConfig;
  /** Absent: `startServer` generates one and keeps it in `<dataDir>/admin-token`. */
  adminToken?: string;
  /** Where `adminToken` came from: `adminToken` (the config file) or `BLUETICK_ADMIN_TOKEN`; the start banner says it. */
  adminTokenSource?: string;
  /** A token that reads `/metrics` only. */
  metricsToken?: string;
  log: { level: LogLevel };
  /** A name per business phone number (id or display number), for the console. */
  labels?: Record<string, string>;
}

/** The PostgreSQL store several processes share. */
export interface StoreConfig {
  /** A `postgres://` URL (may carry a password: do not log it; see `store/postgres/url.ts`). */
  url: string;
  /** Where the URL came from: `store.url`, `BLUETICK_DATABASE_URL` or `--store` (said at start). */
  source?: string;
  journalLeaseMs: number;
}

/** Flags as the CLI parsed them; absent means "not given", so lower layers apply. */
export interface CliFlags {
  host?: string;
  port?: string | number;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  behindProxy?: boolean;
  trustProxy?: boolean;
  /** `--public-host`, repeatable; each may also be a comma-separated list. */
  publicHosts?: string[];
  logLevel?: string;
  /** `--store`: a `postgres://` URL. */
  store?: string;
  /** `--acme-domain`, repeatable; each may also be a comma-separated list. */
  acmeDomains?: string[];
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeChallenge?: string;
  acmeHttpPort?: string | number;
}

/** The environment, read once by `load.ts`. */
export type EnvSnapshot = Readonly<Record<string, string | undefined>>;

export interface ConfigIssue {
  code: 'BT_ERR_CONFIG_INVALID' | 'BT_ERR_CONFIG_UNSAFE';
  /** The key, variable or flag at fault, e.g. `channels[1].meta.appSecrets`, `BLUETICK_PORT`, `--port`. */
  path: string;
  message: string;
}

export interface ResolveInput {
  /** The parsed config file, or `undefined` when there is none. */
  written?: unknown;
  env?: EnvSnapshot;
  flags?: CliFlags;
  /** Base for relative paths from flags and environment. */
  cwd: string;
  /** Base for relative paths written in the config file (its directory). Defaults to `cwd`. */
  configDir?: string;
}

export interface ResolveResult {
  /** Present when there are no errors. */
  config?: Config;
  warnings: string[];
  errors: ConfigIssue[];
}

/** Environment variables bluetick reads. */
export const ENV = {
  host: 'BLUETICK_HOST',
  port: 'BLUETICK_PORT',
  dataDir: 'BLUETICK_DATA_DIR',
  tlsCert: 'BLUETICK_TLS_CERT',
  tlsKey: 'BLUETICK_TLS_KEY',
  behindProxy: 'BLUETICK_BEHIND_PROXY',
  trustProxy: 'BLUETICK_TRUST_PROXY',
  publicHosts: 'BLUETICK_PUBLIC_HOSTS',
  logLevel: 'BLUETICK_LOG_LEVEL',
  acmeDomains: 'BLUETICK_ACME_DOMAINS',
  acmeEmail: 'BLUETICK_ACME_EMAIL',
  acmeDirectory: 'BLUETICK_ACME_DIRECTORY',
  adminToken: 'BLUETICK_ADMIN_TOKEN',
  metricsToken: 'BLUETICK_METRICS_TOKEN',
  basicAuth: 'BLUETICK_BASIC_AUTH',
  metaAppSecret: 'BLUETICK_META_APP_SECRET',
  metaVerifyToken: 'BLUETICK_META_VERIFY_TOKEN',
  /** Selects the PostgreSQL store (`store.url`). */
  bluetickDatabaseUrl: 'BLUETICK_DATABASE_URL',
  /**
   * The usual name on hosting platforms, often set for another program: never followed,
   * only warned about (copy it into BLUETICK_DATABASE_URL to use it).
   */
  databaseUrl: 'DATABASE_URL',
} as const;

/** `a.b[1].c` from a zod issue path. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** `path: message`, the one-line form used in error output. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}`;
}

/**
 * True for addresses only this machine can reach. `localhost` counts; `0.0.0.0` and `::`
 * (every interface) do not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Secrets shorter than this are refused outside loopback-only set-ups (see SECURITY.md). */
export const MIN_SECRET_LENGTH = 16;

/** True when the channel checks POSTs at all. */
export function hasCredentials(channel: ChannelConfig): boolean {
  return channel.basicAuth.length > 0 || channel.meta.appSecrets.length > 0;
}

function zodIssueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return issue.keys.length === 1 ? `unknown key ${keys}` : `unknown keys ${keys}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

function splitBasic(credential: WrittenBasicCredential): BasicCredential {
  if (typeof credential !== 'string') return { username: credential.username, password: credential.password };
  const colon = credential.indexOf(':');
  return { username: credential.slice(0, colon), password: credential.slice(colon + 1) };
}

const WEBHOOK_PATH = /^\/webhooks(\/[A-Za-z0-9._~-]+)+$/;

function checkWebhookPath(path: string): string | undefined {
  if (!WEBHOOK_PATH.test(path)) {
    return `expected a path under ${WEBHOOK_PATH_PREFIX} made of letters, digits, ".", "_", "~" or "-" (no query, no trailing "/")`;
  }
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'a path cannot contain "." or ".." segments';
  }
  return undefined;
}

function parsePort(raw: string | number): number | undefined {
  const text = String(raw).trim();
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65_535 ? port : undefined;
}

function parseBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === 'off' || v === '') return false;
  return undefined;
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Resolve the configuration. Never throws; look at `errors`.
 *
 * @example
 * ```ts
 * const { config, warnings, errors } = resolveConfig({
 *   written: undefined,
 *   env: { BLUETICK_BASIC_AUTH: 'enablex:s3cret' },
 *   flags: { port: '9000' },
 *   cwd: process.cwd(),
 * });
 * ```
 */
export function resolveConfig(input: ResolveInput): ResolveResult {
  const env = input.env ?? {};
  const flags = input.flags ?? {};
  const cwd = input.cwd;
  const configDir = input.configDir ?? cwd;
  const errors: ConfigIssue[] = [];
  const warnings: string[] = [];
  const invalid = (path: string, message: string): void => {
    errors.push({ code: 'BT_ERR_CONFIG_INVALID', path, message });
  };
  const unsafe = (path: string, message: string): void => {
    errors.push({ code: 'BT_ERR_CONFIG_UNSAFE', path, message });
  };

  const parsed = writtenConfigSchema.safeParse(input.written ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) invalid(formatKeyPath(issue.path), zodIssueMessage(issue));
    return { warnings, errors };
  }
  const written: WrittenConfig = parsed.data;
  const fromFile = (p: string): string => (isAbsolute(p) ? p : resolvePath(configDir, p));
  const fromCwd = (p: string): string => (isAbsolute(p) ? p : resolvePath(cwd, p));

  // ---- server: file, then environment, then flags -------------------------------------
  const s = written.server;
  let host = s.host;
  let port = s.port;
  let dataDir = fromFile(s.dataDir);
  let tlsCert = s.tls ? fromFile(s.tls.cert) : undefined;
  let tlsKey = s.tls ? fromFile(s.tls.key) : undefined;
  let tlsCertSource = 'server.tls.cert';
  let tlsKeySource = 'server.tls.key';
  let behindProxy = s.behindProxy;
  let trustProxy = s.trustProxy;
  let publicHosts = s.publicHosts ?? [];
  let publicHostsKey = 'server.publicHosts';
  let logLevel: LogLevel = written.log.level;
  let adminToken = written.adminToken;
  let adminTokenKey = 'adminToken';
  let metricsToken = written.metricsToken;
  let metricsTokenKey = 'metricsToken';

  const envValue = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };

  const envHost = envValue(ENV.host);
  if (envHost !== undefined) host = envHost.trim();
  const envPort = envValue(ENV.port);
  if (envPort !== undefined) {
    const p = parsePort(envPort);
    if (p === undefined) invalid(ENV.port, 'expected an integer 0..65535');
    else port = p;
  }
  const envData = envValue(ENV.dataDir);
  if (envData !== undefined) dataDir = fromCwd(envData);
  const envCert = envValue(ENV.tlsCert);
  if (envCert !== undefined) [tlsCert, tlsCertSource] = [fromCwd(envCert), ENV.tlsCert];
  const envKey = envValue(ENV.tlsKey);
  if (envKey !== undefined) [tlsKey, tlsKeySource] = [fromCwd(envKey), ENV.tlsKey];
  const envProxy = env[ENV.behindProxy];
  if (envProxy !== undefined) {
    const b = parseBool(envProxy);
    if (b === undefined) invalid(ENV.behindProxy, 'expected true or false');
    else behindProxy = b;
  }
  const envTrust = env[ENV.trustProxy];
  if (envTrust !== undefined) {
    const b = parseBool(envTrust);
    if (b === undefined) invalid(ENV.trustProxy, 'expected true or false');
    else trustProxy = b;
  }
  const envPublic = envValue(ENV.publicHosts);
  if (envPublic !== undefined) [publicHosts, publicHostsKey] = [envPublic.split(','), ENV.publicHosts];
  const envLevel = envValue(ENV.logLevel);
  if (envLevel !== undefined) {
    if (isLogLevel(envLevel)) logLevel = envLevel;
    else invalid(ENV.logLevel, `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const envToken = envValue(ENV.adminToken);
  if (envToken !== undefined) [adminToken, adminTokenKey] = [envToken, ENV.adminToken];
  const envMetrics = envValue(ENV.metricsToken);
  if (envMetrics !== undefined) [metricsToken, metricsTokenKey] = [envMetrics, ENV.metricsToken];

  if (flags.host !== undefined) {
    if (flags.host.trim() === '') invalid('--host', 'expected a host name or address');
    else host = flags.host.trim();
  }
  if (flags.port !== undefined) {
    const p = parsePort(flags.port);
    if (p === undefined) invalid('--port', 'expected an integer 0..65535');
    else port = p;
  }
  if (flags.dataDir !== undefined) {
    if (flags.dataDir.trim() === '') invalid('--data', 'expected a directory');
    else dataDir = fromCwd(flags.dataDir);
  }
  if (flags.tlsCert !== undefined) [tlsCert, tlsCertSource] = [fromCwd(flags.tlsCert), '--tls-cert'];
  if (flags.tlsKey !== undefined) [tlsKey, tlsKeySource] = [fromCwd(flags.tlsKey), '--tls-key'];
  if (flags.behindProxy !== undefined) behindProxy = flags.behindProxy;
  if (flags.trustProxy !== undefined) trustProxy = flags.trustProxy;
  if (flags.publicHosts !== undefined && flags.publicHosts.length > 0) [publicHosts, publicHostsKey] = [flags.publicHosts, '--public-host'];
  if (flags.logLevel !== undefined) {
    if (isLogLevel(flags.logLevel)) logLevel = flags.logLevel;
    else invalid('--log-level', `expected one of ${LOG_LEVELS.join(', ')}`);
  }

  let tls: ServerConfig['tls'];
  if (tlsCert !== undefined && tlsKey === undefined) {
    invalid(tlsCertSource === '--tls-cert' ? '--tls-key' : 'server.tls.key', `required when ${tlsCertSource} is set`);
  } else if (tlsKey !== undefined && tlsCert === undefined) {
    invalid(tlsKeySource === '--tls-key' ? '--tls-cert' : 'server.tls.cert', `required when ${tlsKeySource} is set`);
  } else if (tlsCert !== undefined && tlsKey !== undefined) {
    tls = { cert: tlsCert, key: tlsKey };
  }
  const acme = resolveAcme(s.acme, envValue, flags, invalid);
  if (acme !== undefined) {
    if (tls !== undefined) invalid('server.acme', 'cannot be combined with server.tls (--tls-cert/--tls-key): use ACME or your own certificate');
    if (behindProxy) invalid('server.acme', 'cannot be combined with server.behindProxy: the TLS proxy in front needs the certificate, not bluetick');
    if (acme.challenge === 'http-01' && port !== 0 && acme.httpPort === port) {
      invalid('server.acme.httpPort', `the HTTP-01 port must differ from server.port (${port})`);
    }
  }

  // ---- channels ------------------------------------------------------------------------
  const channels: ChannelConfig[] = [];
  /** Where to point a user at when a channel has a problem. */
  const channelKey: string[] = [];
  const credentialVars = [ENV.basicAuth, ENV.metaAppSecret, ENV.metaVerifyToken].filter((n) => envValue(n) !== undefined);

  if (written.channels !== undefined) {
    if (credentialVars.length > 0) {
      warnings.push(
        `${credentialVars.join(', ')} ${credentialVars.length === 1 ? 'is' : 'are'} ignored: the config file declares channels, each with its own credentials`,
      );
    }
    written.channels.forEach((c, i) => {
      const path = c.path ?? `${WEBHOOK_PATH_PREFIX}${c.name}`;
      if (c.path !== undefined) {
        const problem = checkWebhookPath(c.path);
        if (problem) invalid(`channels[${i}].path`, problem);
      }
      channels.push({
        name: c.name,
        path,
        provider: c.provider,
        basicAuth: (c.basicAuth ?? []).map(splitBasic),
        meta: { appSecrets: c.meta?.appSecrets ?? [], verifyTokens: c.meta?.verifyTokens ?? [] },
      });
      channelKey.push(`channels[${i}]`);
    });
  } else {
    const basicAuth: BasicCredential[] = [];
    const rawBasic = envValue(ENV.basicAuth);
    if (rawBasic !== undefined) {
      const colon = rawBasic.indexOf(':');
      if (colon <= 0 || colon === rawBasic.length - 1) invalid(ENV.basicAuth, 'expected "user:password"');
      else basicAuth.push({ username: rawBasic.slice(0, colon), password: rawBasic.slice(colon + 1) });
    }
    const appSecrets = (envValue(ENV.metaAppSecret) ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const verifyToken = envValue(ENV.metaVerifyToken);
    channels.push({
      name: DEFAULT_CHANNEL_NAME,
      path: `${WEBHOOK_PATH_PREFIX}${DEFAULT_CHANNEL_NAME}`,
      provider: 'auto',
      basicAuth,
      meta: { appSecrets, verifyTokens: verifyToken === undefined ? [] : [verifyToken] },
    });
    channelKey.push(`channels[0] ("${DEFAULT_CHANNEL_NAME}", credentials from ${ENV.basicAuth} / ${ENV.metaAppSecret})`);
  }

  const names = new Map<string, number>();
  const paths = new Map<string, number>();
  channels.forEach((c, i) => {
    const seenName = names.get(c.name);
    if (seenName !== undefined) invalid(`channels[${i}].name`, `"${c.name}" is already used by channels[${seenName}]`);
    else names.set(c.name, i);
    const seenPath = paths.get(c.path);
    if (seenPath !== undefined) invalid(`channels[${i}].path`, `"${c.path}" is already used by channels[${seenPath}]`);
    else paths.set(c.path, i);
    if (!CHANNEL_NAME_PATTERN.test(c.name)) invalid(`channels[${i}].name`, 'invalid channel name');
  });

  if (s.limits.headersTimeoutMs > s.limits.requestTimeoutMs) {
    invalid('server.limits.headersTimeoutMs', `must not exceed server.limits.requestTimeoutMs (${s.limits.requestTimeoutMs})`);
  }

  const hostNames = resolvePublicHosts(publicHosts, publicHostsKey, invalid);
  if (trustProxy && !behindProxy) invalid('server.trustProxy', 'only applies with server.behindProxy (--behind-proxy)');

  // ---- safety --------------------------------------------------------------------------
  const loopback = isLoopbackHost(host);
  // Behind a proxy, tunnel or port-forward every request arrives from loopback: only a
  // loopback bind with nothing in front is reachable from this machine alone.
  const loopbackOnly = loopback && !behindProxy;
  if (!loopback && tls === undefined && acme === undefined && !behindProxy) {
    unsafe(
      'server.host',
      `binding ${host} without TLS would expose plain HTTP; set server.tls (--tls-cert/--tls-key) or server.acme (--acme-domain), ` +
        'or server.behindProxy (--behind-proxy) when a TLS-terminating proxy is in front',
    );
  }
  channels.forEach((c, i) => {
    const key = channelKey[i] ?? `channels[${i}]`;
    if (!hasCredentials(c)) {
      if (loopbackOnly) {
        warnings.push(
          `${key}: channel "${c.name}" has no credentials (basicAuth or meta.appSecrets) and accepts UNAUTHENTICATED posts; ` +
            `this is allowed only because ${host} is a loopback address with no proxy in front`,
        );
      } else {
        unsafe(
          key,
          `channel "${c.name}" has no credentials (basicAuth or meta.appSecrets); ` +
            (behindProxy
              ? 'behind a proxy every request arrives from loopback, so unauthenticated ingest is refused: '
              : `unauthenticated ingest is only allowed on a loopback host, not ${host}: `) +
            `set ${ENV.basicAuth}=user:password or ${ENV.metaAppSecret} (or basicAuth / meta.appSecrets per channel in the config file)`,
        );
      }
    } else if (c.provider === 'meta' && c.meta.appSecrets.length === 0) {
      warnings.push(
        `${key}: provider is "meta" but meta.appSecrets is empty; Meta signs its POSTs with X-Hub-Signature-256 and sends no Basic credentials`,
      );
    }
  });

  // ---- secrets long enough to resist guessing -------------------------------------------
  const shortSecret = (path: string, what: string, length: number): void => {
    const why = `${what} has ${length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. \`openssl rand -hex 16\`)`;
    if (loopbackOnly) warnings.push(`${path}: ${why}; allowed only because the server is reachable from this machine alone`);
    else unsafe(path, `${why}: a short secret can be guessed by anyone who can reach ${behindProxy ? 'the proxy' : host}`);
  };
  if (adminToken !== undefined && adminToken.length < MIN_SECRET_LENGTH) shortSecret(adminTokenKey, 'the admin token', adminToken.length);
  if (metricsToken !== undefined && metricsToken.length < MIN_SECRET_LENGTH) shortSecret(metricsTokenKey, 'the metrics token', metricsToken.length);
  channels.forEach((c, i) => {
    c.basicAuth.forEach((credential, j) => {
      if (credential.password.length < MIN_SECRET_LENGTH) {
        const path = written.channels !== undefined ? `channels[${i}].basicAuth[${j}]` : ENV.basicAuth;
        shortSecret(path, `the Basic password of "${credential.username}"`, credential.password.length);
      }
    });
  });

  const { sinks, routes } = resolveDelivery(written, invalid);
  sinks.forEach((sink, i) => {
    if (sink.type !== 'http') return;
    let target: URL;
    try {
      target = new URL(sink.url);
    } catch {
      return; // reported by the sink's own checks
    }
    if (target.protocol === 'http:' && !isLoopbackHost(target.hostname)) {
      warnings.push(
        `sinks[${i}].url: events (message text, phone numbers) go to ${target.host} over plain http; use https unless that network is private`,
      );
    }
  });
  const store = resolveStore(written, env, flags, invalid, warnings);
  warnings.push(...unknownEnvWarnings(env, Object.values(ENV)));

  if (errors.length > 0) return { warnings, errors };

  const config: Config = {
    server: {
      host,
      port,
      dataDir,
      ...(tls ? { tls } : {}),
      ...(acme ? { acme } : {}),
      behindProxy,
      trustProxy,
      publicHosts: [...new Set([...hostNames, ...(acme?.domains ?? []), ...(isNamedHost(host) ? [host.toLowerCase().replace(/^\[|\]$/g, '')] : [])])],
      loopbackOnly,
      limits: { ...s.limits },
      journal: { ...s.journal },
    },
    channels,
    sinks,
    routes,
    delivery: { ...written.delivery },
    retention: { limits: retentionLimits(written.retention), intervalMs: written.retention.intervalMs },
    watch: { silence: { ...written.watch.silence } },
    ...(store ? { store } : {}),
    ...(adminToken !== undefined ? { adminToken, adminTokenSource: adminTokenKey } : {}),
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    log: { level: logLevel },
    ...(Object.keys(written.labels).length > 0 ? { labels: { ...written.labels } } : {}),
  };
  return { config, warnings, errors };
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;

/** A host that names this server for clients: not a wildcard address, not loopback. */
function isNamedHost(host: string): boolean {
  const h = host.toLowerCase();
  return h !== '0.0.0.0' && h !== '::' && h !== '[::]' && !isLoopbackHost(h);
}

/** `publicHosts` as names without port, lower-case; IPv6 literals without brackets. */
function resolvePublicHosts(values: readonly string[], key: string, invalid: (path: string, message: string) => void): string[] {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const value = raw.trim().toLowerCase();
    if (value === '') continue;
    const v6 = /^\[?([0-9a-f:.]+)\]?$/.exec(value);
    if (value.includes(':') && v6) out.push(v6[1]!);
    else if (HOST_NAME.test(value)) out.push(value.replace(/\.$/, ''));
    else invalid(key, `"${raw.trim()}" is not a host name (no scheme, port or path: e.g. hooks.example.com)`);
  }
  return out;
}

/**
 * Sinks and routes: unique names, each route naming a configured sink, each sink's own
 * checks (URL, secret, subject, ...) and each route's retry policy, errors naming the key.
 */
function resolveDelivery(
  written: WrittenConfig,
  invalid: (path: string, message: string) => void,
): { sinks: SinkSettings[]; routes: RouteConfig[] } {
  const sinks: SinkSettings[] = [];
  const sinkIndex = new Map<string, number>();
  (written.sinks ?? []).forEach((s, i) => {
    const seen = sinkIndex.get(s.name);
    if (seen !== undefined) invalid(`sinks[${i}].name`, `"${s.name}" is already used by sinks[${seen}]`);
    else sinkIndex.set(s.name, i);
    const { breaker, ...rest } = s;
    const settings = { ...rest, ...(breaker !== undefined ? { breaker } : {}) } as SinkSettings;
    // The sinks' own checks name keys as `sinks.<name>.<key>`; point at the list entry instead.
    const issues =
      s.type === 'http'
        ? validateHttpSinkConfig(settings as SinkConfig & { type: 'http' })
        : validateNatsSinkConfig(settings as SinkConfig & { type: 'nats' });
    const prefix = `sinks.${s.name}`;
    for (const issue of issues) {
      const colon = issue.indexOf(': ');
      const key = issue.slice(0, colon);
      invalid(key.startsWith(prefix) ? `sinks[${i}]${key.slice(prefix.length)}` : key, issue.slice(colon + 2));
    }
    sinks.push(settings);
  });

  const routes: RouteConfig[] = [];
  const routeIndex = new Map<string, number>();
  (written.routes ?? []).forEach((r, i) => {
    const seen = routeIndex.get(r.name);
    if (seen !== undefined) invalid(`routes[${i}].name`, `"${r.name}" is already used by routes[${seen}]`);
    else routeIndex.set(r.name, i);
    if (!sinkIndex.has(r.sink)) {
      const known = [...sinkIndex.keys()];
      invalid(`routes[${i}].sink`, `no sink named "${r.sink}" (${known.length > 0 ? `configured: ${known.join(', ')}` : 'no sinks are configured'})`);
    }
    let retry;
    try {
      retry = resolveRetryPolicy(r.retry ?? {}, `routes[${i}].retry`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) {
        const colon = issue.indexOf(': ');
        invalid(issue.slice(0, colon), issue.slice(colon + 2));
      }
    }
    const match = r.match === undefined ? undefined : Object.fromEntries(Object.entries(r.match).filter(([, v]) => v !== undefined));
    routes.push({
      name: r.name,
      sink: r.sink,
      ...(match !== undefined ? { match } : {}),
      ...(retry !== undefined ? { retry } : {}),
      ...(r.onDeadLetter !== undefined ? { onDeadLetter: r.onDeadLetter } : {}),
      ...(r.backfill !== undefined ? { backfill: r.backfill } : {}),
    });
  });
  return { sinks, routes };
}

/**
 * ACME settings: the file's `server.acme`, then the environment, then flags. Flags or
 * variables alone are enough (`--acme-domain` turns ACME on with every other default).
 */
function resolveAcme(
  written: WrittenAcme | undefined,
  envValue: (name: string) => string | undefined,
  flags: CliFlags,
  invalid: (path: string, message: string) => void,
): AcmeConfig | undefined {
  const list = (values: readonly string[]): string[] =>
    values.flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
  let domains = written?.domains.map((d) => d.toLowerCase());
  let domainsKey = 'server.acme.domains';
  let email = written?.email;
  let directoryUrl = written?.directoryUrl;
  let challenge: AcmeChallenge | undefined = written?.challenge;
  let httpPort = written?.httpPort;

  const envDomains = envValue(ENV.acmeDomains);
  if (envDomains !== undefined) [domains, domainsKey] = [list([envDomains]), ENV.acmeDomains];
  if (flags.acmeDomains !== undefined && flags.acmeDomains.length > 0) [domains, domainsKey] = [list(flags.acmeDomains), '--acme-domain'];
  const setEmail = (v: string): void => void (email = v);
  const setDirectory = (v: string): void => void (directoryUrl = v);
  // Lowest precedence first: a flag overrides its variable.
  const given: Array<[string, string | undefined, z.ZodType<string>, (v: string) => void]> = [
    [ENV.acmeEmail, envValue(ENV.acmeEmail), acmeEmail, setEmail],
    ['--acme-email', flags.acmeEmail, acmeEmail, setEmail],
    [ENV.acmeDirectory, envValue(ENV.acmeDirectory), acmeDirectoryUrl, setDirectory],
    ['--acme-directory', flags.acmeDirectory, acmeDirectoryUrl, setDirectory],
  ];
  for (const [key, raw, schema, set] of given) {
    if (raw === undefined) continue;
    const parsed = schema.safeParse(raw.trim());
    if (parsed.success) set(parsed.data);
    else invalid(key, parsed.error.issues[0]?.message ?? 'invalid value');
  }
  if (flags.acmeChallenge !== undefined) {
    if ((ACME_CHALLENGES as readonly string[]).includes(flags.acmeChallenge)) challenge = flags.acmeChallenge as AcmeChallenge;
    else invalid('--acme-challenge', 'expected "http-01" or "tls-alpn-01"');
  }
  if (flags.acmeHttpPort !== undefined) {
    const p = parsePort(flags.acmeHttpPort);
    if (p === undefined) invalid('--acme-http-port', 'expected an integer 0..65535');
    else httpPort = p;
  }

  if (domains === undefined || domains.length === 0) {
    const orphan = given.filter(([, raw]) => raw !== undefined).map(([key]) => key);
    if (flags.acmeChallenge !== undefined) orphan.push('--acme-challenge');
    if (flags.acmeHttpPort !== undefined) orphan.push('--acme-http-port');
    if (orphan.length > 0) invalid('--acme-domain', `required when ${orphan.join(', ')} ${orphan.length === 1 ? 'is' : 'are'} set`);
    else if (domains !== undefined) invalid(domainsKey, 'expected at least one domain name');
    return undefined;
  }
  const seen = new Set<string>();
  for (const domain of domains) {
    if (!acmeDomain.safeParse(domain).success) invalid(domainsKey, `"${domain}" is not a DNS name a CA can issue for (no scheme, port, path, wildcard or IP address)`);
    else if (seen.has(domain)) invalid(domainsKey, `"${domain}" is listed twice`);
    seen.add(domain);
  }
  return {
    domains,
    ...(email !== undefined ? { email } : {}),
    directoryUrl: directoryUrl ?? LETS_ENCRYPT_DIRECTORY,
    challenge: challenge ?? 'http-01',
    httpPort: httpPort ?? 80,
    renewWhenRemaining: written?.renewWhenRemaining ?? 1 / 3,
  };
}

/**
 * The store URL: `store.url` in the file < BLUETICK_DATABASE_URL < `--store`. Only PostgreSQL
 * URLs. A bare DATABASE_URL is never followed (it is often meant for another program); it
 * only earns a warning that says how to opt in.
 */
function resolveStore(
  written: WrittenConfig,
  env: EnvSnapshot,
  flags: CliFlags,
  invalid: (path: string, message: string) => void,
  warnings: string[],
): StoreConfig | undefined {
  let url = written.store.url;
  let source = 'store.url';
  const fromEnv = env[ENV.bluetickDatabaseUrl]?.trim();
  if (fromEnv) [url, source] = [fromEnv, ENV.bluetickDatabaseUrl];
  if (flags.store !== undefined) [url, source] = [flags.store.trim(), '--store'];
  const bare = env[ENV.databaseUrl]?.trim();
  if (bare && bare !== url) {
    warnings.push(
      `${ENV.databaseUrl} is set but ignored: bluetick reads only ${ENV.bluetickDatabaseUrl} (or --store, or store.url), ` +
        `so a database meant for another program is never taken over. To use it: export ${ENV.bluetickDatabaseUrl}="$${ENV.databaseUrl}"`,
    );
  }
  if (url === undefined) return undefined;
  try {
    parsePostgresUrl(url);
  } catch (error) {
    invalid(source, error instanceof Error ? error.message : String(error));
    return undefined;
  }
  return { url, source, journalLeaseMs: written.store.journalLeaseMs };
}
