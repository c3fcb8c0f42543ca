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
  behindProxy: boolean;
  limits: {
    bodyBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
  };
  journal: { maxPending: number; commitTimeoutMs: number };
}

/** The resolved configuration `startServer` takes. */
export interface Config {
  server: ServerConfig;
  channels: ChannelConfig[];
  adminToken?: string;
  log: { level: LogLevel };
}

/** Flags as the CLI parsed them; absent means "not given", so lower layers apply. */
export interface CliFlags {
  host?: string;
  port?: string | number;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  behindProxy?: boolean;
  logLevel?: string;
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
  logLevel: 'BLUETICK_LOG_LEVEL',
  adminToken: 'BLUETICK_ADMIN_TOKEN',
  basicAuth: 'BLUETICK_BASIC_AUTH',
  metaAppSecret: 'BLUETICK_META_APP_SECRET',
  metaVerifyToken: 'BLUETICK_META_VERIFY_TOKEN',
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
  let logLevel: LogLevel = written.log.level;
  let adminToken = written.adminToken;

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
  const envLevel = envValue(ENV.logLevel);
  if (envLevel !== undefined) {
    if (isLogLevel(envLevel)) logLevel = envLevel;
    else invalid(ENV.logLevel, `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const envToken = envValue(ENV.adminToken);
  if (envToken !== undefined) adminToken = envToken;

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

  // ---- safety --------------------------------------------------------------------------
  const loopback = isLoopbackHost(host);
  if (!loopback && tls === undefined && !behindProxy) {
    unsafe(
      'server.host',
      `binding ${host} without TLS would expose plain HTTP; set server.tls (--tls-cert/--tls-key), ` +
        'or server.behindProxy (--behind-proxy) when a TLS-terminating proxy is in front',
    );
  }
  channels.forEach((c, i) => {
    const key = channelKey[i] ?? `channels[${i}]`;
    if (!hasCredentials(c)) {
      if (loopback) {
        warnings.push(
          `${key}: channel "${c.name}" has no credentials (basicAuth or meta.appSecrets) and accepts UNAUTHENTICATED posts; ` +
            `this is allowed only because ${host} is a loopback address`,
        );
      } else {
        unsafe(
          key,
          `channel "${c.name}" has no credentials (basicAuth or meta.appSecrets); ` +
            `unauthenticated ingest is only allowed on a loopback host, not ${host}`,
        );
      }
    } else if (c.provider === 'meta' && c.meta.appSecrets.length === 0) {
      warnings.push(
        `${key}: provider is "meta" but meta.appSecrets is empty; Meta signs its POSTs with X-Hub-Signature-256 and sends no Basic credentials`,
      );
    }
  });

  if (errors.length > 0) return { warnings, errors };

  const config: Config = {
    server: {
      host,
      port,
      dataDir,
      ...(tls ? { tls } : {}),
      behindProxy,
      limits: { ...s.limits },
      journal: { ...s.journal },
    },
    channels,
    ...(adminToken !== undefined ? { adminToken } : {}),
    log: { level: logLevel },
  };
  return { config, warnings, errors };
}
