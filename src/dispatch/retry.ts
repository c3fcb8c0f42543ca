/**
 * @module dispatch/retry
 *
 * Retry policy as data, and the pure functions that apply it: how an attempt's outcome
 * is classified, when the next attempt runs, and how a `Retry-After` header is read.
 * No IO and no hidden clock: `now` and `random` are passed in, so a schedule is
 * reproducible in tests.
 */
import { ConfigError } from '../errors.js';
import { NonRetriableError, RetryAfterError } from './control.js';

/** What to do after an attempt. */
export type Classification = 'success' | 'retry' | 'fail';

/** The result of one delivery attempt; recorded for every attempt, never thrown. */
export interface AttemptOutcome {
  /** True exactly when `classification` is `success`. */
  ok: boolean;
  classification: Classification;
  /** Wall time of the attempt, in ms. */
  latencyMs: number;
  /** The HTTP status, when a response arrived. */
  statusCode?: number;
  /** Why the attempt did not succeed, in words. */
  error?: string;
  /** A stable short code for the failure: `timeout`, `ECONNREFUSED`, `UND_ERR_SOCKET`, `no-responders`, ... */
  errorCode?: string;
  /** How long the receiver asked us to wait (from `Retry-After` or a `RetryAfterError`), in ms. */
  retryAfterMs?: number;
  /** A short, sink-specific note: the start of an error response body, or the JetStream ack. */
  detail?: string;
}

/**
 * A bounded exponential backoff. The ceiling before retry `n` (n = 1 after the first
 * failed attempt) is `min(capMs, baseMs * 2^(n-1))`; with `jitter: 'full'` the actual delay
 * is uniform in `[0, ceiling)`, which spreads a burst of failed deliveries instead of
 * retrying them in lock step against a receiver that is just coming back.
 */
export interface RetryPolicy {
  /** Attempts in total, the first one included. After the last one the delivery is dead. */
  maxAttempts: number;
  /** The first backoff ceiling, in ms. */
  baseMs: number;
  /** No backoff ceiling exceeds this, in ms. */
  capMs: number;
  /** `full`: uniform in [0, ceiling). `none`: exactly the ceiling (a fixed, predictable schedule). */
  jitter: 'full' | 'none';
  /**
   * A receiver's `Retry-After` is honoured (the next attempt is never earlier) up to this
   * many ms. A longer request is cut to it, because later events of the same conversation
   * wait behind this delivery.
   */
  maxRetryAfterMs: number;
}

/** Per-route overrides as written in the config; missing keys take {@link DEFAULT_RETRY_POLICY}. */
export type RetryPolicyInput = Partial<RetryPolicy>;

/**
 * 8 attempts, 1 s base, doubling, full jitter: the retries' ceilings are 1, 2, 4, ... 64 s,
 * about two minutes in the worst case. That covers blips and deploys; longer outages are
 * the circuit breaker's job, which pauses the sink without spending attempts. The 1 h cap
 * only bites when a route raises `maxAttempts` (from the 13th attempt on).
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 8,
  baseMs: 1_000,
  capMs: 3_600_000,
  jitter: 'full',
  maxRetryAfterMs: 3_600_000,
});

/**
 * The full policy for a route: defaults filled in, values checked.
 * @throws ConfigError naming the bad key (under `path`).
 */
export function resolveRetryPolicy(input: RetryPolicyInput = {}, path = 'retry'): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const [k, v] of Object.entries(input)) {
    if (v !== undefined) (policy as unknown as Record<string, unknown>)[k] = v;
  }
  const issues: string[] = [];
  const known = new Set(Object.keys(DEFAULT_RETRY_POLICY));
  for (const k of Object.keys(input)) if (!known.has(k)) issues.push(`${path}.${k}: unknown key`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    issues.push(`${path}.maxAttempts: must be an integer >= 1`);
  }
  for (const k of ['baseMs', 'capMs', 'maxRetryAfterMs'] as const) {
    if (typeof policy[k] !== 'number' || !Number.isFinite(policy[k]) || policy[k] < 0) {
      issues.push(`${path}.${k}: must be a finite number of ms >= 0`);
    }
  }
  if (issues.length === 0 && policy.capMs < policy.baseMs) issues.push(`${path}.capMs: must be >= baseMs`);
  if (policy.jitter !== 'full' && policy.jitter !== 'none') issues.push(`${path}.jitter: must be 'full' or 'none'`);
  if (issues.length > 0) throw new ConfigError(issues);
  return policy;
}

/** What an attempt produced, as far as classification cares. */
export interface ClassifyInput {
  /** The HTTP status, when a response arrived. */
  statusCode?: number;
  /** A network error, a timeout, or whatever a handler threw. */
  error?: unknown;
}

/**
 * 2xx succeeds; 408, 429 and 5xx retry; any other 4xx fails fast (a resend of the same
 * request cannot fix it); 1xx and 3xx retry (undici follows no redirects, and a moved
 * receiver is better kept waiting than dropped). Without a status: a
 * {@link NonRetriableError} fails, any other error retries (network errors, timeouts,
 * {@link RetryAfterError}), and no error at all is a success (a handler that returned).
 */
export function classify(outcome: ClassifyInput): Classification {
  const status = outcome.statusCode;
  if (status !== undefined) {
    if (status >= 200 && status < 300) return 'success';
    if (status === 408 || status === 429) return 'retry';
    if (status >= 400 && status < 500) return 'fail';
    return 'retry';
  }
  if (outcome.error === undefined) return 'success';
  if (outcome.error instanceof NonRetriableError) return 'fail';
  return 'retry';
}

/**
 * The backoff ceiling before retry `retry` (1-based): `min(capMs, baseMs * 2^(retry-1))`.
 * Never decreases as `retry` grows.
 */
export function backoffCeilingMs(policy: RetryPolicy, retry: number): number {
  const exponent = Math.min(Math.max(retry - 1, 0), 1023);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

export interface NextAttemptOptions {
  /** The receiver's requested wait, in ms (from {@link parseRetryAfter} or a `RetryAfterError`). */
  retryAfterMs?: number;
  /** Uniform in [0, 1); defaults to `Math.random`. Inject it for a reproducible schedule. */
  random?: () => number;
}

/**
 * When to run the next attempt, as epoch ms, or `'dead'` when `attempt` (the 1-based
 * number of the attempt that just failed) was the last one allowed.
 *
 * The delay is the jittered backoff, raised to `retryAfterMs` when the receiver asked for
 * longer (never earlier than it asked, up to `maxRetryAfterMs`).
 *
 * @example
 * nextAttemptAt(resolveRetryPolicy(), 1, now, { random: () => 0.5 }); // now + 500
 * nextAttemptAt(resolveRetryPolicy(), 1, now, { retryAfterMs: 30_000 }); // now + 30000
 * nextAttemptAt(resolveRetryPolicy({ maxAttempts: 3 }), 3, now); // 'dead'
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempt: number,
  now: number,
  options: NextAttemptOptions = {},
): number | 'dead' {
  if (attempt >= policy.maxAttempts) return 'dead';
  const ceiling = backoffCeilingMs(policy, attempt);
  let delay: number;
  if (policy.jitter === 'full') {
    const r = (options.random ?? Math.random)();
    // A misbehaving generator must not push the delay outside [0, ceiling).
    const u = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
    delay = Math.min(Math.floor(u * ceiling), Math.max(ceiling - 1, 0));
  } else {
    delay = ceiling;
  }
  const asked = options.retryAfterMs;
  if (asked !== undefined && Number.isFinite(asked) && asked > 0) {
    delay = Math.max(delay, Math.min(Math.ceil(asked), policy.maxRetryAfterMs));
  }
  return now + delay;
}

const DELAY_SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * Returns the wait in ms from `now` (0 for a date in the past), or `undefined` when the
 * header is absent or unreadable.
 *
 * @example
 * parseRetryAfter('120', now); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')); // 60000
 */
export function parseRetryAfter(header: string | readonly string[] | null | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = DELAY_SECONDS.exec(value);
  if (seconds !== null) return Math.ceil(Number(seconds[1]) * 1000);
  // An HTTP-date always names a weekday or month; this keeps Date.parse's leniency from
  // reading junk like "5 minutes" as a date.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : 'a non-Error value was thrown';
}

/**
 * The outcome of running a library handler: returned -> success; threw
 * {@link NonRetriableError} -> fail; threw {@link RetryAfterError} -> retry no earlier
 * than it asked; threw anything else -> retry on schedule.
 *
 * @example
 * const started = Date.now();
 * try { await handler(event); return handlerOutcome(Date.now() - started); }
 * catch (error) { return handlerOutcome(Date.now() - started, { error }); }
 */
export function handlerOutcome(latencyMs: number, thrown?: { error: unknown }): AttemptOutcome {
  if (thrown === undefined) return { ok: true, classification: 'success', latencyMs };
  const { error } = thrown;
  const classification = error instanceof NonRetriableError ? 'fail' : 'retry';
  const outcome: AttemptOutcome = { ok: false, classification, latencyMs, error: describe(error) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') outcome.errorCode = code;
  if (error instanceof RetryAfterError) outcome.retryAfterMs = error.retryAfterMs;
  return outcome;
}
