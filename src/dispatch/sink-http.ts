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
import { type HttpSinkConfig, validateHttpSinkConfig } from './sink-config.js';
import type { Sink, SinkOptions } from './sinks.js';

export { type HttpSinkConfig, validateHttpSinkConfig, whsecProblem } from './sink-config.js';

export const HTTP_SINK_DEFAULTS = Object.freeze({ timeoutMs: 10_000, concurrency: 8 });

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

/** The first value of a header in undici's raw `[name, value, ...]` list. */
function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

/**
 * One request, as undici's dispatch handler: the response is read here as it arrives, with
 * no promise, stream or abort signal of undici's in between (`Pool.request` builds all
 * three per request, on the thread that serves HTTP). What it reports is what reading the
 * response with `request()` gave:
 * - a 2xx: the body is discarded (at most {@link MAX_RESPONSE_BYTES}, then the connection is
 *   cut); the attempt succeeded whatever happens while the rest arrives;
 * - another status: the start of the body is kept as `detail`; an error before the body
 *   ends (other than the cut at {@link MAX_RESPONSE_BYTES}) makes it a retry with that error;
 * - no response: a retry with the error's code, `timeout` when the deadline or undici's own
 *   timeouts ended it.
 */
class Attempt {
  statusCode = 0;
  statusText = '';
  retryAfter: string | undefined;
  /** Kept of an error response. */
  chunks: Buffer[] | undefined;
  kept = 0;
  total = 0;
  /** The body passed {@link MAX_RESPONSE_BYTES} and the request was aborted here. */
  cut = false;
  /** The attempt's deadline passed. */
  expired = false;
  /** Why the request ended without a complete response (undefined: it completed, or was cut). */
  error: unknown;
  abort: ((reason: Error) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #done: (attempt: Attempt) => void;

  /** Calls `done` once the response is complete or the request failed; aborts it after `timeoutMs`. */
  constructor(timeoutMs: number, done: (attempt: Attempt) => void) {
    this.#done = done;
    this.#timer = setTimeout(() => this.#expire(), timeoutMs);
  }

  /** The deadline: aborts the request now, or as soon as it gets a connection. */
  #expire(): void {
    this.expired = true;
    this.abort?.(new Error('deadline passed'));
  }

  #finish(error: unknown): void {
    clearTimeout(this.#timer);
    this.error = error;
    this.#done(this);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abort = abort;
    if (this.expired) abort(new Error('deadline passed'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: the response follows
    this.statusCode = statusCode;
    this.statusText = statusText;
    if (statusCode > 299) {
      this.chunks = [];
      this.retryAfter = rawHeader(rawHeaders, 'retry-after');
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.total += chunk.length;
    if (this.chunks !== undefined && this.kept < SNIPPET_CHARS * 4) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
    }
    if (this.total > MAX_RESPONSE_BYTES && !this.cut) {
      this.cut = true;
      this.abort?.(new Error('response too long'));
    }
    return true;
  }

  onComplete(): void {
    this.#finish(undefined);
  }

  onError(error: Error): void {
    this.#finish(this.cut ? undefined : error);
  }

  /** The response body's start, for an error response. */
  detail(): string | undefined {
    const text = Buffer.concat(this.chunks ?? []).toString('utf8').trim();
    return text === '' ? undefined : text.slice(0, SNIPPET_CHARS);
  }
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
  /** Requests in flight at once (`sinks[].concurrency`). */
  readonly concurrency: number;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #signers: Signer[];
  readonly #limit: Semaphore;
  readonly #timeoutMs: number;
  /**
   * The sink's own headers (none of those an attempt sets: the config refuses them) and the
   * user agent, as undici's flat `[name, value, ...]` list. A list: building an object by
   * spreading these into it cost several microseconds per attempt.
   */
  readonly #headers: string[];
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
    this.concurrency = concurrency;
    this.#limit = new Semaphore(concurrency);
    this.#signers = (Array.isArray(config.secret) ? config.secret : [config.secret]).map((s) => new Signer(s));
    this.#now = options.now ?? Date.now;
    const own: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.headers ?? {})) own[k.toLowerCase()] = v;
    own['user-agent'] ??= options.userAgent ?? defaultUserAgent();
    this.#headers = Object.entries(own).flat();
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
    const release = this.#limit.tryAcquire() ?? (await this.#limit.acquire());
    try {
      if (this.#closed) return closedOutcome(this.name);
      return await this.#attempt(payload.id, body, info.redelivery ?? 0);
    } finally {
      release();
    }
  }

  async #attempt(id: string, body: string, redelivery: number): Promise<AttemptOutcome> {
    const seconds = Math.floor(this.#now() / 1000);
    const signature = this.#signers.length === 1 ? this.#signers[0]!.sign(id, seconds, body) : this.#signers.map((w) => w.sign(id, seconds, body)).join(' ');
    const headers = this.#headers.concat(
      'content-type',
      'application/json',
      'webhook-id',
      id,
      'webhook-timestamp',
      String(seconds),
      'webhook-signature',
      signature,
      'idempotency-key',
      id,
    );
    if (redelivery > 0) headers.push('webhook-replay', String(redelivery));
    const started = performance.now();
    const attempt = await new Promise<Attempt>((resolve) => {
      this.#pool.dispatch({ path: this.#path, method: 'POST', headers, body }, new Attempt(this.#timeoutMs, resolve));
    });
    const error = attempt.error;
    const latencyMs = Math.round(performance.now() - started);
    const { statusCode } = attempt;
    const classification = statusCode === 0 ? 'retry' : classify({ statusCode });
    if (statusCode !== 0 && (classification === 'success' || error === undefined)) {
      const outcome: AttemptOutcome = { ok: classification === 'success', classification, statusCode, latencyMs };
      if (classification !== 'success') {
        outcome.error = `HTTP ${statusCode}${attempt.statusText ? ` ${attempt.statusText}` : ''}`;
        const retryAfterMs = parseRetryAfter(attempt.retryAfter, this.#now());
        if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
        const detail = attempt.detail();
        if (detail !== undefined) outcome.detail = detail;
      }
      return outcome;
    }
    const info = describeError(error);
    const timeout = attempt.expired || info.timeout;
    return {
      ok: false,
      classification: 'retry',
      latencyMs,
      errorCode: timeout ? 'timeout' : info.code,
      error: attempt.expired ? `no complete response within ${this.#timeoutMs} ms` : info.message,
    };
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
