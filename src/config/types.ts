/**
 * @module config/types
 *
 * The shape of the configuration bluetick runs with (what `resolveConfig` produces and
 * `startServer` takes), and of what goes into and comes out of resolving it. Types only.
 */
import type { RetentionLimits } from '../retention/policy.js';
import type { BreakerOptions } from '../dispatch/breaker.js';
import type { RouteConfig } from '../dispatch/match.js';
import type { SinkConfig } from '../dispatch/sinks.js';
import type { AcmeChallenge, LogLevel, ProviderSetting } from './schema.js';

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
  /** Free space of the data folder's filesystem under which the server and `doctor` warn; 0: off. */
  minFreeDiskBytes: number;
  limits: {
    bodyBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    authFailures: number;
    itemsPerPost: number;
  };
  journal: { maxPending: number; commitTimeoutMs: number; maxAttempts: number; rowBudgetMs: number; burstShare: number };
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
  /** Where the pipeline runs (`PostgresStoreOptions.pipelineThread`). */
  pipelineThread: 'own-thread' | 'in-process';
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
