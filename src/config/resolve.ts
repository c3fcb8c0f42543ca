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
import { retentionLimits } from '../retention/policy.js';
import { checkCredentials } from './credentials.js';
import { ENV, unknownEnvWarnings } from './env-names.js';
import { isLoopbackHost, isNamedHost, resolvePublicHosts } from './hosts.js';
import { resolveChannels } from './resolve-channels.js';
import { plainHttpSinkWarnings, resolveDelivery } from './resolve-delivery.js';
import { resolveStore } from './resolve-store.js';
import { checkAcmeFits, resolveAcme, resolveTlsFiles } from './resolve-tls.js';
import { formatKeyPath, isLogLevel, parseBool, parsePort, zodIssueMessage } from './resolve-values.js';
import { LOG_LEVELS, writtenConfigSchema, type LogLevel, type WrittenConfig } from './schema.js';
import type { Config, ConfigIssue, ResolveInput, ResolveResult } from './types.js';

// What callers have always imported from here; each lives in the module that owns it.
export type {
  AcmeConfig,
  BasicCredential,
  ChannelConfig,
  CliFlags,
  Config,
  ConfigIssue,
  DeliverySettings,
  RetentionSettings,
  EnvSnapshot,
  ResolveInput,
  ResolveResult,
  ServerConfig,
  SilenceWatchSettings,
  SinkSettings,
  StoreConfig,
} from './types.js';
export { ENV } from './env-names.js';
export { MIN_SECRET_LENGTH, hasCredentials } from './credentials.js';
export { isLoopbackHost } from './hosts.js';
export { formatIssue, formatKeyPath } from './resolve-values.js';

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

  const tls = resolveTlsFiles({ path: tlsCert, source: tlsCertSource }, { path: tlsKey, source: tlsKeySource }, invalid);
  const acme = resolveAcme(s.acme, envValue, flags, invalid);
  if (acme !== undefined) checkAcmeFits(acme, { tls, behindProxy, port }, invalid);

  // ---- channels ------------------------------------------------------------------------
  const { channels, channelKeys } = resolveChannels(written, envValue, invalid, warnings);

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
  checkCredentials(
    {
      channels,
      channelKeys,
      channelsFromFile: written.channels !== undefined,
      secrets: [
        { key: adminTokenKey, what: 'the admin token', value: adminToken },
        { key: metricsTokenKey, what: 'the metrics token', value: metricsToken },
      ],
      host,
      behindProxy,
      loopbackOnly,
    },
    unsafe,
    warnings,
  );

  const { sinks, routes } = resolveDelivery(written, invalid);
  warnings.push(...plainHttpSinkWarnings(sinks));
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
      minFreeDiskBytes: s.minFreeDiskBytes,
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
