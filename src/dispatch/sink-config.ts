/**
 * @module dispatch/sink-config
 *
 * What an HTTP or NATS sink's config says, and the checks on it. Pure (no network module):
 * the config resolver validates sinks with these before anything connects, and the sinks
 * themselves check again when built.
 */
import type { EventType } from '../events/types.js';

export interface HttpSinkConfig {
  name: string;
  type: 'http';
  /** `http:` or `https:` URL; the path and query are kept. */
  url: string;
  /**
   * Standard Webhooks secret, `whsec_<base64>`. A list signs with each (the receiver
   * accepts any one), so a secret can be rotated without a gap.
   */
  secret: string | string[];
  /** Deadline for the whole attempt (connect, headers and body), in ms. Default 10 000. */
  timeoutMs?: number;
  /** Requests in flight to this sink at most; more wait their turn. Default 8. */
  concurrency?: number;
  /** Extra request headers (an API key for the receiver's gateway, ...). */
  headers?: Record<string, string>;
}

/** Headers bluetick owns; a sink's `headers` may not set them. */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-replay',
  'webhook-timestamp',
  // Marks `bluetick doctor`'s probe requests; a delivery never carries it.
  'bluetick-probe',
  'webhook-signature',
  'idempotency-key',
  'content-type',
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
]);

/** How to make a good secret, said with every refusal of a bad one. */
const WHSEC_FORMAT =
  'expected a Standard Webhooks secret: "whsec_" followed by the base64 of at least 24 random bytes, ' +
  "e.g. whsec_ + `openssl rand -base64 32` (bluetick init writes one); give the receiver the same string";

/** Why `secret` is not a usable `whsec_` secret, or `undefined` when it is. */
export function whsecProblem(secret: unknown): string | undefined {
  if (typeof secret !== 'string') return WHSEC_FORMAT;
  if (!secret.startsWith('whsec_')) {
    return `does not start with "whsec_"; ${WHSEC_FORMAT}`;
  }
  const encoded = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) {
    return `the part after "whsec_" is not base64 (only A-Z, a-z, 0-9, "+", "/" and "=" padding); ${WHSEC_FORMAT}`;
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < 24) return `encodes ${bytes} bytes after "whsec_", too few to sign with; ${WHSEC_FORMAT}`;
  return undefined;
}

/** Problems with an HTTP sink's config, each naming its key; empty when it is sound. */
export function validateHttpSinkConfig(config: HttpSinkConfig): string[] {
  const at = `sinks.${config.name}`;
  const issues: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(config.url);
  } catch {
    issues.push(`${at}.url: not a valid URL`);
  }
  if (url !== undefined && url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.push(`${at}.url: must be http: or https:`);
  }
  if (url !== undefined && (url.username !== '' || url.password !== '')) {
    issues.push(`${at}.url: put credentials in headers, not in the URL`);
  }
  const secrets = Array.isArray(config.secret) ? config.secret : [config.secret];
  if (secrets.length === 0) issues.push(`${at}.secret: at least one secret is required`);
  secrets.forEach((secret, i) => {
    const key = Array.isArray(config.secret) ? `${at}.secret[${i}]` : `${at}.secret`;
    const problem = whsecProblem(secret);
    if (problem !== undefined) issues.push(`${key}: ${problem}`);
  });
  const { timeoutMs, concurrency } = config;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    issues.push(`${at}.timeoutMs: must be a number of ms > 0`);
  }
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    issues.push(`${at}.concurrency: must be an integer >= 1`);
  }
  for (const name of Object.keys(config.headers ?? {})) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) issues.push(`${at}.headers.${name}: set by bluetick, cannot be overridden`);
  }
  return issues;
}

export interface NatsSinkConfig {
  name: string;
  type: 'nats';
  /** `host:port` or `nats://host:port`; several for a cluster. */
  servers: string | string[];
  /** Subject to publish to; `{type}` is replaced by the event type, e.g. `whatsapp.{type}` -> `whatsapp.message.status`. */
  subject: string;
  /** The stream expected to capture the subject. When set, a publish captured by another stream is refused. */
  stream?: string;
  /** Create `stream` over the sink's subjects when it does not exist. Default false. */
  createStream?: boolean;
  /** Duplicate window of a stream created here, in ms. Default: the server's (2 minutes). */
  duplicateWindowMs?: number;
  /** Deadline for connecting and for each PubAck, in ms. Default 5 000. */
  timeoutMs?: number;
  user?: string;
  pass?: string;
  token?: string;
}

/** Replaced by the event type in a NATS subject. */
export const TYPE_PLACEHOLDER = '{type}';

/** The subject an event is published to. @internal */
export function expandSubject(template: string, type: EventType): string {
  return template.split(TYPE_PLACEHOLDER).join(type);
}

function validSubject(subject: string): boolean {
  return subject.split('.').every((token) => token !== '' && !/[\s*>]/.test(token));
}

/** Problems with a NATS sink's config, each naming its key; empty when it is sound. */
export function validateNatsSinkConfig(config: NatsSinkConfig): string[] {
  const at = `sinks.${config.name}`;
  const issues: string[] = [];
  const servers = Array.isArray(config.servers) ? config.servers : [config.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.trim() === '')) {
    issues.push(`${at}.servers: at least one server address is required`);
  }
  if (typeof config.subject !== 'string' || !validSubject(expandSubject(config.subject, 'message.received'))) {
    issues.push(`${at}.subject: must be dot-separated tokens without spaces or wildcards (${TYPE_PLACEHOLDER} allowed)`);
  }
  if (config.stream !== undefined && !/^[^\s.*>/\\]+$/.test(config.stream)) {
    issues.push(`${at}.stream: a stream name cannot contain spaces, '.', '*', '>', '/' or '\\'`);
  }
  if (config.createStream === true && config.stream === undefined) {
    issues.push(`${at}.createStream: needs stream (the name of the stream to create)`);
  }
  for (const k of ['timeoutMs', 'duplicateWindowMs'] as const) {
    const v = config[k];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) issues.push(`${at}.${k}: must be a number of ms > 0`);
  }
  return issues;
}
