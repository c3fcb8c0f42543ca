/**
 * @module config/schema
 *
 * The written configuration: the shape of `bluetick.config.json`, checked with zod. This is
 * the only place defaults live; `resolve.ts` layers environment variables and command-line
 * flags on top of what this schema produces and checks what only makes sense as a whole
 * (TLS pairs, safe binding, unique channel paths).
 *
 * Every object is strict, so a misspelt key is an error that names it instead of a setting
 * that silently does nothing.
 *
 * @example
 * ```json
 * {
 *   "server": { "host": "0.0.0.0", "port": 8443, "tls": { "cert": "cert.pem", "key": "key.pem" } },
 *   "channels": [
 *     { "name": "enablex", "provider": "enablex", "basicAuth": ["enablex:s3cret"] },
 *     { "name": "meta", "provider": "meta",
 *       "meta": { "appSecrets": ["new-secret", "old-secret"], "verifyTokens": ["handshake-token"] } }
 *   ]
 * }
 * ```
 */
import { z } from 'zod';
import { EVENT_TYPE_PATTERNS, type EventTypePattern } from '../dispatch/match.js';
import { EVENT_TYPES } from '../events/types.js';
import { DEFAULT_RETENTION, DURATION_PATTERN } from '../retention/policy.js';

/** Channel names end up in URLs and file-system-adjacent places, so they are kept boring. */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Every channel path lives under this prefix; the ingest handler sees these paths first. */
export const WEBHOOK_PATH_PREFIX = '/webhooks/';

/** The name of the channel used when no config file declares any. */
export const DEFAULT_CHANNEL_NAME = 'default';

/** The file `loadConfig` looks for in the working directory when no `--config` is given. */
export const DEFAULT_CONFIG_FILE = 'bluetick.config.json';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const PROVIDER_SETTINGS = ['auto', 'meta', 'enablex'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];

const nonEmpty = z.string().min(1, { error: 'expected a non-empty string' });

/**
 * One Basic credential, written either as `"user:pass"` or as `{ "username", "password" }`.
 * The string form splits at the first colon (RFC 7617 forbids a colon in the user-id).
 */
const basicCredential = z.union(
  [
    z.string().regex(/^[^:]+:.+$/, { error: 'expected "user:password"' }),
    z.strictObject({
      username: nonEmpty.refine((value) => !value.includes(':'), { error: 'a username cannot contain ":"' }),
      password: nonEmpty,
    }),
  ],
  { error: 'expected "user:password" or { "username", "password" }' },
);

const secretList = z
  .array(nonEmpty, { error: 'expected a list of strings' })
  .min(1, { error: 'expected a non-empty list' });

const metaSettings = z.strictObject({
  /** App secrets that may have signed `X-Hub-Signature-256`; more than one while rotating. */
  appSecrets: secretList.optional(),
  /** Tokens accepted in the `GET ?hub.verify_token=` subscription handshake. */
  verifyTokens: secretList.optional(),
});

const channel = z.strictObject({
  name: z.string().regex(CHANNEL_NAME_PATTERN, {
    error: 'expected 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit',
  }),
  /** Defaults to `/webhooks/<name>`. */
  path: z.string().optional(),
  /** `auto` detects the body shape; `meta` / `enablex` pin it. */
  provider: z.enum(PROVIDER_SETTINGS, { error: 'expected "auto", "meta" or "enablex"' }).default('auto'),
  basicAuth: z
    .array(basicCredential, { error: 'expected a list of credentials' })
    .min(1, { error: 'expected a non-empty list' })
    .optional(),
  meta: metaSettings.optional(),
});

const port = z
  .number({ error: 'expected a number' })
  .int({ error: 'expected an integer' })
  .min(0, { error: 'expected 0..65535' })
  .max(65_535, { error: 'expected 0..65535' });

const positiveInt = z
  .number({ error: 'expected a number' })
  .int({ error: 'expected an integer' })
  .positive({ error: 'expected a positive integer' });

const limits = z.strictObject({
  /** Largest accepted body; bigger ones get 413. Meta documents up to about 3 MB per POST. */
  bodyBytes: positiveInt.default(4 * 1024 * 1024),
  /** Time a client has to send the request headers (slowloris guard). */
  headersTimeoutMs: positiveInt.default(10_000),
  /** Time a client has to send the whole request, body included. */
  requestTimeoutMs: positiveInt.default(30_000),
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs: positiveInt.default(65_000),
  /** Open connections beyond this are refused. */
  maxConnections: positiveInt.default(4096),
  /**
   * Failed authentications (401, or a wrong verify token) one client address may have before
   * it must wait: its requests then get 429 with `Retry-After`, the wait doubling with each
   * further failure up to 5 minutes. 0 turns the backoff off. See SECURITY.md for what
   * "address" means behind a proxy.
   */
  authFailures: z.number({ error: 'expected a number' }).int({ error: 'expected an integer' }).min(0, { error: 'expected >= 0' }).default(10),
  /**
   * Items (statuses, messages, changes) one POST may carry. A journaled body with more is
   * quarantined with its cause instead of normalized: it is kept, not processed.
   */
  itemsPerPost: positiveInt.default(50_000),
});

const journal = z.strictObject({
  /** Appends waiting for a commit; beyond this new POSTs get 503 + Retry-After at once. */
  maxPending: positiveInt.default(10_000),
  /** How long an append may wait for its commit before the POST gets 503. */
  commitTimeoutMs: positiveInt.default(5_000),
  /**
   * Times the pipeline may take a row without finishing it (the process stopped mid-batch)
   * before the row settles as `failed`, so one poison row cannot stop the pipeline forever.
   */
  maxAttempts: positiveInt.default(3),
  /**
   * Time the pipeline's normalization of one row may take. A row over it counts as a failed
   * try (measured after the fact: normalization is synchronous and cannot be cut short).
   */
  rowBudgetMs: positiveInt.default(5_000),
  /**
   * SQLite: the share of the store thread the pipeline falls back to while notifications
   * arrive faster than it can record them and the HTTP thread needs the CPU (it takes more
   * while the HTTP thread has room). Low keeps acks fast and lets the backlog wait for the
   * burst to end; 1 records at full speed alongside the acks.
   */
  burstShare: z
    .number({ error: 'expected a number' })
    .gt(0, { error: 'expected a number above 0' })
    .max(1, { error: 'expected a number up to 1' })
    .default(0.05),
});

const tls = z.strictObject({
  /** PEM certificate chain; watched and reloaded when it changes. */
  cert: nonEmpty,
  /** PEM private key; watched and reloaded when it changes. */
  key: nonEmpty,
});

/** Let's Encrypt's production directory, the default ACME server. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const ACME_CHALLENGES = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallenge = (typeof ACME_CHALLENGES)[number];

/** A DNS name a public CA can issue for: no scheme, port, path, wildcard or IP address. */
export const ACME_DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
export const acmeDomain = z.string().regex(ACME_DOMAIN_PATTERN, {
  error: 'expected a DNS name such as hooks.example.com (no scheme, port, path, wildcard or IP address)',
});
export const acmeEmail = z.email({ error: 'expected an e-mail address' });
export const acmeDirectoryUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of an ACME directory' });

/** Certificates from an ACME CA (Let's Encrypt by default), obtained and renewed by bluetick (`src/acme/`). */
const acme = z.strictObject({
  /** One certificate per name, chosen by SNI; the first is also served to clients that send no name. */
  domains: z.array(acmeDomain, { error: 'expected a list of domain names' }).min(1, { error: 'expected a non-empty list' }),
  /** Contact address of the ACME account (optional). */
  email: acmeEmail.optional(),
  directoryUrl: acmeDirectoryUrl.default(LETS_ENCRYPT_DIRECTORY),
  /** `http-01` answers on `httpPort` (80 for a public CA); `tls-alpn-01` answers on the TLS port itself. */
  challenge: z.enum(ACME_CHALLENGES, { error: 'expected "http-01" or "tls-alpn-01"' }).default('http-01'),
  /** Plain HTTP listener for HTTP-01 (it also redirects GET to HTTPS and refuses everything else). */
  httpPort: port.default(80),
  /** Renew when this fraction of the certificate's lifetime is left. */
  renewWhenRemaining: z
    .number({ error: 'expected a number' })
    .gt(0, { error: 'expected a fraction between 0 and 1' })
    .lt(1, { error: 'expected a fraction between 0 and 1' })
    .default(1 / 3),
});

const server = z.strictObject({
  host: nonEmpty.default('127.0.0.1'),
  port: port.default(8080),
  /** Where the SQLite store lives. Relative paths in the file are relative to the file. */
  dataDir: nonEmpty.default('./data'),
  tls: tls.optional(),
  acme: acme.optional(),
  /**
   * A TLS-terminating proxy sits in front: plain HTTP on a non-loopback address is then
   * allowed. Every request then arrives from the proxy's address, so none counts as local.
   */
  behindProxy: z.boolean({ error: 'expected true or false' }).default(false),
  /**
   * With `behindProxy`: the proxy sets or appends `X-Forwarded-For`, so its last entry is the
   * client's address (used for the failed-login backoff). Leave false unless the proxy does.
   */
  trustProxy: z.boolean({ error: 'expected true or false' }).default(false),
  /**
   * Host names the API and console answer to besides loopback names (and the ACME domains):
   * the names browsers and the CLI use to reach this server. Anything else in `Host` or
   * `Origin` is refused (DNS rebinding).
   */
  publicHosts: z.array(nonEmpty, { error: 'expected a list of host names' }).optional(),
  /**
   * Free space on the data folder's filesystem below which the server logs a warning (once
   * each time it falls under) and `bluetick doctor` warns. 0 turns both off. Default 1 GiB.
   */
  minFreeDiskBytes: z
    .number({ error: 'expected a number' })
    .int({ error: 'expected an integer' })
    .min(0, { error: 'expected >= 0' })
    .default(1024 * 1024 * 1024),
  limits: limits.prefault({}),
  journal: journal.prefault({}),
});

// ---- delivery: sinks, routes, worker -----------------------------------------------

/** Sink and route names appear in URLs, metrics labels and the store. */
export const SINK_NAME_PATTERN = CHANNEL_NAME_PATTERN;
const nameOf = (what: string) =>
  z.string().regex(SINK_NAME_PATTERN, {
    error: `expected a ${what} name of 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit`,
  });
const nonNegativeInt = z.number({ error: 'expected a number' }).int({ error: 'expected an integer' }).min(0, { error: 'expected >= 0' });
/** One string or a list of them; always a list once parsed. */
const oneOrMany = z
  .union([nonEmpty, z.array(nonEmpty, { error: 'expected a string or a list of strings' }).min(1, { error: 'expected a non-empty list' })], {
    error: 'expected a string or a list of strings',
  })
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** One string or a list of them, kept as written (sinks accept both). */
const stringOrList = z.union(
  [nonEmpty, z.array(nonEmpty, { error: 'expected a string or a list of strings' }).min(1, { error: 'expected a non-empty list' })],
  { error: 'expected a string or a list of strings' },
);

/** Circuit breaker of one sink; see `dispatch/breaker.ts` for the defaults. */
const breakerSettings = z.strictObject({
  failureThreshold: positiveInt.optional(),
  cooldownMs: nonNegativeInt.optional(),
  maxCooldownMs: nonNegativeInt.optional(),
  probeTimeoutMs: nonNegativeInt.optional(),
});

const httpSink = z.strictObject({
  name: nameOf('sink'),
  type: z.literal('http'),
  url: nonEmpty,
  /** `whsec_...` Standard Webhooks secret(s); several while rotating. */
  secret: stringOrList,
  timeoutMs: positiveInt.optional(),
  concurrency: positiveInt.optional(),
  headers: z.record(z.string(), z.string({ error: 'expected a string' })).optional(),
  breaker: breakerSettings.optional(),
});

const natsSink = z.strictObject({
  name: nameOf('sink'),
  type: z.literal('nats'),
  servers: stringOrList,
  subject: nonEmpty,
  stream: nonEmpty.optional(),
  createStream: z.boolean({ error: 'expected true or false' }).optional(),
  duplicateWindowMs: positiveInt.optional(),
  timeoutMs: positiveInt.optional(),
  user: nonEmpty.optional(),
  pass: nonEmpty.optional(),
  token: nonEmpty.optional(),
  breaker: breakerSettings.optional(),
});

const sink = z.discriminatedUnion('type', [httpSink, natsSink], { error: 'expected "type": "http" or "nats"' });

/** Event types by name, `family.*` (e.g. `account.*`) or `*`; `message.standby` and `history.sync` are only taken by their names. */
const EVENT_TYPE_NAMES = EVENT_TYPE_PATTERNS as readonly [EventTypePattern, ...EventTypePattern[]];

const routeMatch = z.strictObject({
  type: z
    .union([z.enum(EVENT_TYPE_NAMES), z.array(z.enum(EVENT_TYPE_NAMES))], {
      error: `expected event types (${EVENT_TYPES.join(', ')}), a family such as "account.*", or "*"`,
    })
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional(),
  channel: oneOrMany.optional(),
  phoneNumberId: oneOrMany.optional(),
  kind: oneOrMany.optional(),
});

/** Overrides of the default retry policy (`dispatch/retry.ts`); checked as a whole by `resolveRetryPolicy`. */
const retryPolicy = z.strictObject({
  maxAttempts: positiveInt.optional(),
  baseMs: nonNegativeInt.optional(),
  capMs: nonNegativeInt.optional(),
  jitter: z.enum(['full', 'none'], { error: 'expected "full" or "none"' }).optional(),
  maxRetryAfterMs: nonNegativeInt.optional(),
});

/** `since`: an ISO-8601 time with a zone (`2026-12-01T00:00:00Z`), kept as epoch ms. */
const routeBackfill = z.strictObject({
  since: z
    .string({ error: 'expected an ISO-8601 time such as "2026-12-01T00:00:00Z"' })
    .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v)), {
      message: 'expected an ISO-8601 time with a zone, such as "2026-12-01T00:00:00Z"',
    })
    .transform((v) => Date.parse(v)),
});

const route = z.strictObject({
  name: nameOf('route'),
  /** The name of a sink in `sinks`. */
  sink: nonEmpty,
  /** Absent: every event. */
  match: routeMatch.optional(),
  retry: retryPolicy.optional(),
  /**
   * What a dead letter does to the rest of its conversation (its lane) on this route:
   * `continue` (default) lets later events go ahead; `hold` keeps them waiting until the
   * dead letter is redriven (it then goes first) or dropped.
   */
  onDeadLetter: z.enum(['continue', 'hold'], { error: 'expected "continue" or "hold"' }).optional(),
  /** Deliver events stored before the route existed, from `since` on; without it a route starts from now. */
  backfill: routeBackfill.optional(),
});

const delivery = z.strictObject({
  /** Deliveries in flight at once, over all sinks (each sink also has its own limit). */
  concurrency: positiveInt.default(64),
  /** How long a worker holds a delivery before another may take it over; renewed while it runs. */
  leaseMs: positiveInt.default(30_000),
  /** How often an idle worker looks for due deliveries. */
  pollMs: positiveInt.default(250),
});

/** `watch.silence`: bluetick's own `channel.silent` / `channel.resumed` events (src/watch/). */
const silenceWatch = z.strictObject({
  /** Off: no silence events. */
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  /** Silent after this many times the usual gap between inbound messages without one. */
  multiple: z.number({ error: 'expected a number' }).min(1.5, { error: 'expected at least 1.5' }).max(1000, { error: 'expected at most 1000' }).default(10),
  /** Never silent before this long without an inbound message, however short the usual gap. */
  minimumGapMs: positiveInt.default(900_000),
  /** Inbound messages a channel or number must have had (in the last day) before its usual gap counts. */
  minMessages: z.number({ error: 'expected a number' }).int({ error: 'expected an integer' }).min(2, { error: 'expected at least 2' }).max(10_000).default(10),
});

/** An age limit: `30d`, `12h`, `45m`, or `none` (kept for ever). */
const retentionLimit = (fallback: string) =>
  z
    .string({ error: 'expected a duration such as "30d", "12h", "45m", or "none"' })
    .regex(DURATION_PATTERN, { error: 'expected a duration such as "30d", "12h", "45m", or "none"' })
    .default(fallback);

/** How long each class of stored data is kept (src/retention/); the pruner removes or redacts what is older. */
const retention = z.strictObject({
  /** Raw bodies in the journal, once the pipeline settled them. */
  rawBodies: retentionLimit(DEFAULT_RETENTION.rawBodies),
  /** Message content (text, captions, media ids, Flow replies, locations, contact cards) in events, projections and search. */
  messageContent: retentionLimit(DEFAULT_RETENTION.messageContent),
  /** `message.status` and `message.reaction` events. */
  statuses: retentionLimit(DEFAULT_RETENTION.statuses),
  /** Template, account and phone-number events. */
  accountEvents: retentionLimit(DEFAULT_RETENTION.accountEvents),
  /** Succeeded deliveries and their attempts (dead letters are kept). */
  deliveries: retentionLimit(DEFAULT_RETENTION.deliveries),
  /** The rejection log. */
  rejections: retentionLimit(DEFAULT_RETENTION.rejections),
  /** How often the pruner runs, ms. */
  intervalMs: positiveInt.default(300_000),
});

export const writtenConfigSchema = z.strictObject({
  /** Lets editors offer completion from a JSON Schema; ignored by bluetick. */
  $schema: z.string().optional(),
  server: server.prefault({}),
  /** Without channels, one channel `default` takes its credentials from the environment. */
  channels: z.array(channel, { error: 'expected a list of channels' }).optional(),
  /** Where events are delivered: HTTP endpoints (signed) and NATS JetStream subjects. */
  sinks: z.array(sink, { error: 'expected a list of sinks' }).optional(),
  /** Which events go to which sink, with what retry policy. */
  routes: z.array(route, { error: 'expected a list of routes' }).optional(),
  delivery: delivery.prefault({}),
  /** How long each class of stored data is kept. */
  retention: retention.prefault({}),
  /** What bluetick watches for itself and reports as events. */
  watch: z.strictObject({ silence: silenceWatch.prefault({}) }).prefault({}),
  /**
   * The PostgreSQL store shared by several bluetick processes (usually given as BLUETICK_DATABASE_URL
   * or --store instead). Without `url`, the SQLite file in `server.dataDir` is used.
   */
  store: z
    .strictObject({
      /** `postgres://user:pass@host:5432/db?schema=name`. */
      url: nonEmpty.optional(),
      /** How long a process holds journal rows it normalizes before another may take them over. */
      journalLeaseMs: positiveInt.default(30_000),
      /**
       * Where `bluetick serve` normalizes and records: `own-thread` (a worker thread with its own
       * connections, so the HTTP thread only verifies, journals and acks) or `in-process` (on
       * the HTTP thread, three connections fewer per process).
       */
      pipelineThread: z
        .enum(['own-thread', 'in-process'], { error: 'expected one of own-thread, in-process' })
        .default('own-thread'),
    })
    .prefault({}),
  /**
   * Bearer token for `/api` and the console; usually given as BLUETICK_ADMIN_TOKEN instead.
   * Without one, a random token is generated at the first start and kept in
   * `<dataDir>/admin-token` (mode 0600). At least 16 characters outside loopback-only set-ups.
   */
  adminToken: nonEmpty.optional(),
  /**
   * Bearer token that reads `/metrics` only (give it to Prometheus); usually given as
   * BLUETICK_METRICS_TOKEN. `/metrics` also takes the admin token, and answers nothing else.
   */
  metricsToken: nonEmpty.optional(),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    })
    .prefault({}),
  /**
   * A name per business phone number, shown by the console: `{"<phone_number_id>": "Sales India"}`
   * (the display number also works as the key, for providers that give no id).
   */
  labels: z
    .record(
      z.string().regex(/^\+?\d{1,30}$/, { error: 'expected a phone-number id or display number (digits) as the key' }),
      z.string().trim().min(1, { error: 'expected a non-empty label' }).max(80, { error: 'expected a label of at most 80 characters' }),
      { error: 'expected an object of phone-number id or display number (digits) -> label' },
    )
    .default({}),
});

/** The config file as written (before defaults). */
export type WrittenConfigInput = z.input<typeof writtenConfigSchema>;
/** The config file with the schema's defaults applied. */
export type WrittenConfig = z.output<typeof writtenConfigSchema>;
export type WrittenChannel = z.output<typeof channel>;
export type WrittenBasicCredential = z.output<typeof basicCredential>;
export type WrittenAcme = z.output<typeof acme>;
export type WrittenSink = z.output<typeof sink>;
export type WrittenRoute = z.output<typeof route>;

/** The defaults, as the schema produces them for an empty file. */
export function defaultWrittenConfig(): WrittenConfig {
  return writtenConfigSchema.parse({});
}
