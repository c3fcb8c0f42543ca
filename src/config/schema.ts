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
});

const journal = z.strictObject({
  /** Appends waiting for a commit; beyond this new POSTs get 503 + Retry-After at once. */
  maxPending: positiveInt.default(10_000),
  /** How long an append may wait for its commit before the POST gets 503. */
  commitTimeoutMs: positiveInt.default(5_000),
});

const tls = z.strictObject({
  /** PEM certificate chain; watched and reloaded when it changes. */
  cert: nonEmpty,
  /** PEM private key; watched and reloaded when it changes. */
  key: nonEmpty,
});

const server = z.strictObject({
  host: nonEmpty.default('127.0.0.1'),
  port: port.default(8080),
  /** Where the SQLite store lives. Relative paths in the file are relative to the file. */
  dataDir: nonEmpty.default('./data'),
  tls: tls.optional(),
  /** A TLS-terminating proxy sits in front: plain HTTP on a non-loopback address is then allowed. */
  behindProxy: z.boolean({ error: 'expected true or false' }).default(false),
  limits: limits.prefault({}),
  journal: journal.prefault({}),
});

export const writtenConfigSchema = z.strictObject({
  /** Lets editors offer completion from a JSON Schema; ignored by bluetick. */
  $schema: z.string().optional(),
  server: server.prefault({}),
  /** Without channels, one channel `default` takes its credentials from the environment. */
  channels: z.array(channel, { error: 'expected a list of channels' }).optional(),
  /** Bearer token for `/api`; usually given as BLUETICK_ADMIN_TOKEN instead. */
  adminToken: nonEmpty.optional(),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    })
    .prefault({}),
});

/** The config file as written (before defaults). */
export type WrittenConfigInput = z.input<typeof writtenConfigSchema>;
/** The config file with the schema's defaults applied. */
export type WrittenConfig = z.output<typeof writtenConfigSchema>;
export type WrittenChannel = z.output<typeof channel>;
export type WrittenBasicCredential = z.output<typeof basicCredential>;

/** The defaults, as the schema produces them for an empty file. */
export function defaultWrittenConfig(): WrittenConfig {
  return writtenConfigSchema.parse({});
}
