/**
 * @module dispatch/sink-http
 *
 * The HTTP sink: POSTs one event's JSON to a URL, signed per the Standard Webhooks spec,
 * and reports what happened as an {@link AttemptOutcome}. It never throws for a network
 * failure, a timeout or an error status: those are outcomes the worker records and
 * schedules from. Retrying is not done here; one `deliver()` is one attempt.
 *
 * What the receiver gets:
 * - body: the event exactly as `serializeEvent` writes it (big integers keep every digit);
 * - `webhook-id` (= event id), `webhook-timestamp` (epoch seconds), `webhook-signature`
 *   (`v1,<base64>`; several, space-separated, while secrets are rotated). Verify with any
 *   Standard Webhooks library, e.g. `new Webhook(secret).verify(body, headers)`;
 * - `idempotency-key` (= event id): a redelivered event carries the same key, so the
 *   receiver can drop what it has already processed;
 * - `webhook-replay: <n>` on an event sent again on purpose (a redrive out of dead letters or
 *   a replay), with the same `webhook-id`: the receiver should process it again rather than
 *   drop it as a duplicate. Retries of a failed attempt do not carry it;
 * - `user-agent: bluetick/<version>`, `content-type: application/json`, and the sink's
 *   own `headers`.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { ConfigError } from '../errors.js';
import type { BluetickEvent } from '../events/types.js';
import { type EventPayload, payloadFromEvent } from './payload.js';
import { type AttemptOutcome, classify, parseRetryAfter } from './retry.js';
import { Semaphore } from './semaphore.js';
import type { Sink, SinkOptions } from './sinks.js';

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

export const HTTP_SINK_DEFAULTS = Object.freeze({ timeoutMs: 10_000, concurrency: 8 });

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

/** Kept of an error response body, for the attempt record. */
const SNIPPET_CHARS = 512;
/** Read at most this much of a response; a receiver streaming more gets its connection cut. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** `bluetick/<version>` from the package manifest (two levels up from both `src/dispatch` and `dist/dispatch`). */
function defaultUserAgent(): string {
  try {
    const manifest = createRequire(import.meta.url)('../../package.json') as { name?: string; version?: string };
    if (manifest.name === 'bluetick' && typeof manifest.version === 'string') return `bluetick/${manifest.version}`;
  } catch {
    // Fall through: an odd install layout must not stop delivery.
  }
  return 'bluetick';
}

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

/** @internal */
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

/**
 * One Standard Webhooks signature: `v1,` + base64 of HMAC-SHA256 over `<id>.<seconds>.<body>`,
 * keyed with the bytes the `whsec_` secret encodes. node:crypto's native HMAC: the signing
 * of every delivery is on the thread that serves HTTP.
 */
export class Signer {
  readonly #key: Buffer;
  constructor(secret: string) {
    this.#key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  }
  sign(id: string, seconds: number, body: string): string {
    return `v1,${createHmac('sha256', this.#key).update(`${id}.${seconds}.`).update(body).digest('base64')}`;
  }
}

type ErrorInfo = { code: string; message: string; timeout: boolean };

const UNDICI_TIMEOUTS: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connecting',
  UND_ERR_HEADERS_TIMEOUT: 'waiting for the response headers',
  UND_ERR_BODY_TIMEOUT: 'reading the response body',
};

function describeError(error: unknown): ErrorInfo {
  const err = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : 'Error';
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : String(error);
  if (code in UNDICI_TIMEOUTS) return { code: 'timeout', message: `timed out ${UNDICI_TIMEOUTS[code]}`, timeout: true };
  // undici wraps socket errors; the cause carries the useful code (ECONNREFUSED, ECONNRESET, ...).
  const cause = err?.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string' && (code === 'UND_ERR_SOCKET' || code === 'TypeError')) {
    return { code: cause.code, message: typeof cause.message === 'string' ? cause.message : message, timeout: false };
  }
  return { code, message, timeout: false };
}

/** Reads the response: a short text snippet when wanted, otherwise it is discarded. */
async function consume(body: AsyncIterable<Buffer> & { dump(opts?: { limit: number }): Promise<void> }, keep: boolean) {
  if (!keep) {
    await body.dump({ limit: MAX_RESPONSE_BYTES });
    return undefined;
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (kept < SNIPPET_CHARS * 4) {
      chunks.push(chunk);
      kept += chunk.length;
    }
    if (total > MAX_RESPONSE_BYTES) break;
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text === '' ? undefined : text.slice(0, SNIPPET_CHARS);
}

/**
 * @example
 * const sink = new HttpSink({ name: 'crm', type: 'http', url: 'https://crm.example/hooks', secret: 'whsec_...' });
 * const outcome = await sink.deliver(event); // { ok: true, classification: 'success', statusCode: 204, latencyMs: 12 }
 * await sink.close();
 */
export class HttpSink implements Sink {
  readonly name: string;
  readonly type = 'http' as const;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #signers: Signer[];
  readonly #limit: Semaphore;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #now: () => number;
  #closed = false;

  /** @throws ConfigError naming the bad key. */
  constructor(config: HttpSinkConfig, options: SinkOptions = {}) {
    const issues = validateHttpSinkConfig(config);
    if (issues.length > 0) throw new ConfigError(issues);
    this.name = config.name;
    const url = new URL(config.url);
    this.#path = `${url.pathname}${url.search}`;
    this.#timeoutMs = config.timeoutMs ?? HTTP_SINK_DEFAULTS.timeoutMs;
    const concurrency = config.concurrency ?? HTTP_SINK_DEFAULTS.concurrency;
    this.#limit = new Semaphore(concurrency);
    this.#signers = (Array.isArray(config.secret) ? config.secret : [config.secret]).map((s) => new Signer(s));
    this.#now = options.now ?? Date.now;
    this.#headers = {};
    for (const [k, v] of Object.entries(config.headers ?? {})) this.#headers[k.toLowerCase()] = v;
    this.#headers['user-agent'] ??= options.userAgent ?? defaultUserAgent();
    this.#pool = new Pool(url.origin, {
      connections: concurrency,
      connectTimeout: this.#timeoutMs,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  /** Requests in flight and waiting for a slot; for metrics. */
  get load(): { inFlight: number; waiting: number } {
    return { inFlight: this.#limit.inFlight, waiting: this.#limit.waiting };
  }

  deliver(event: BluetickEvent): Promise<AttemptOutcome> {
    return this.deliverPayload(payloadFromEvent(event));
  }

  /** One attempt with the event's stored JSON text as the body (no parse, no re-serialization). */
  async deliverPayload(payload: EventPayload, info: { redelivery?: number } = {}): Promise<AttemptOutcome> {
    if (this.#closed) return closedOutcome(this.name);
    let body: string;
    try {
      body = payload.json;
    } catch (error) {
      // Deterministic: the same event would fail the same way on every retry.
      return { ok: false, classification: 'fail', latencyMs: 0, errorCode: 'serialize', error: describeError(error).message };
    }
    const release = await this.#limit.acquire();
    try {
      if (this.#closed) return closedOutcome(this.name);
      return await this.#attempt(payload.id, body, info.redelivery ?? 0);
    } finally {
      release();
    }
  }

  async #attempt(id: string, body: string, redelivery: number): Promise<AttemptOutcome> {
    const seconds = Math.floor(this.#now() / 1000);
    const headers: Record<string, string> = {
      ...this.#headers,
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(seconds),
      'webhook-signature': this.#signers.map((w) => w.sign(id, seconds, body)).join(' '),
      'idempotency-key': id,
    };
    if (redelivery > 0) headers['webhook-replay'] = String(redelivery);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no complete response within ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const res = await this.#pool.request({ path: this.#path, method: 'POST', headers, body, signal: controller.signal });
      const classification = classify({ statusCode: res.statusCode });
      const detail = await consume(res.body, classification !== 'success');
      const outcome: AttemptOutcome = { ok: classification === 'success', classification, statusCode: res.statusCode, latencyMs: latency() };
      if (classification !== 'success') {
        outcome.error = `HTTP ${res.statusCode}${res.statusText ? ` ${res.statusText}` : ''}`;
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.#now());
        if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
        if (detail !== undefined) outcome.detail = detail;
      }
      return outcome;
    } catch (error) {
      const info = describeError(error);
      const timeout = timedOut || info.timeout;
      return {
        ok: false,
        classification: 'retry',
        latencyMs: latency(),
        errorCode: timeout ? 'timeout' : info.code,
        error: timedOut ? `no complete response within ${this.#timeoutMs} ms` : info.message,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops taking deliveries and waits for those in flight (each bounded by the timeout). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }
}

function closedOutcome(name: string): AttemptOutcome {
  return { ok: false, classification: 'retry', latencyMs: 0, errorCode: 'sink-closed', error: `sink ${name} is closed` };
}
