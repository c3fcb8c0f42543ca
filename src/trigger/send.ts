/**
 * @module trigger/send
 *
 * The IO half of `bluetick trigger`: posts a planned run to a URL over keep-alive
 * connections (undici), at a steady rate or as fast as the concurrency allows, signs each
 * body the way the provider would, and reports every answer.
 *
 * - Auth: `Authorization: Basic ...` (EnableX) and/or `X-Hub-Signature-256` over the exact
 *   bytes (Meta). A redelivery carries the same bytes, so the same signature.
 * - Rate: POST number i starts no earlier than i / rate seconds after the first; at most
 *   `concurrency` POSTs are in flight. When the target is slower than the rate, the run
 *   falls behind instead of piling up requests.
 * - Nothing is retried: an answer other than 2xx, or a network error, is reported as it
 *   is. (A provider would retry; the caller can see what it would have had to.)
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { encodeBasicAuthorization } from '../ingest/verify-basic.js';
import { signMeta } from '../ingest/verify-meta.js';
import type { PlannedPost } from './plan.js';

export interface SendOptions {
  /** Full webhook URL, e.g. `http://127.0.0.1:8080/webhooks/default`. */
  url: string;
  /** `user:password` for HTTP Basic auth. */
  basic?: string;
  /** Meta app secret: signs each body into `X-Hub-Signature-256`. */
  metaSecret?: string;
  /** POSTs per second; unlimited when absent. */
  rate?: number;
  /** POSTs in flight at most. Default 8. */
  concurrency?: number;
  /** Per-request timeout for the answer. Default 10 000 ms. */
  timeoutMs?: number;
  /** Accept any TLS certificate (self-signed test set-ups). */
  insecure?: boolean;
  userAgent?: string;
  /** Stops taking new POSTs from the plan (those in flight still finish). */
  signal?: AbortSignal;
  /** Called once per POST, in completion order. */
  onResult?: (post: PlannedPost, result: PostResult) => void;
}

export interface PostResult {
  /** HTTP status; 0 when no answer came (see `error`). */
  status: number;
  /** From just before the request to the end of the answer. */
  ms: number;
  /** The answer's body (first 200 characters). */
  response?: string;
  retryAfter?: string;
  /** Network error code or message when there is no status. */
  error?: string;
}

export interface SendSummary {
  posts: number;
  /** Notifications in fresh POSTs (redeliveries not counted again). */
  notifications: number;
  redeliveries: number;
  /** Status code (or `error`) -> POSTs. */
  byStatus: Record<string, number>;
  /** Network error code -> POSTs. */
  errors: Record<string, number>;
  /** POSTs answered 2xx. */
  ok: number;
  latencyMs: { min: number; p50: number; p90: number; p99: number; max: number; mean: number };
  elapsedMs: number;
  /** POSTs per second over the run. */
  rate: number;
}

/** The headers one body is posted with. */
export function postHeaders(body: Buffer, opts: Pick<SendOptions, 'basic' | 'metaSecret' | 'userAgent'>): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.userAgent !== undefined) headers['user-agent'] = opts.userAgent;
  if (opts.basic !== undefined) {
    const colon = opts.basic.indexOf(':');
    headers.authorization = encodeBasicAuthorization(opts.basic.slice(0, Math.max(0, colon)), opts.basic.slice(colon + 1));
  }
  if (opts.metaSecret !== undefined) headers['x-hub-signature-256'] = signMeta(body, opts.metaSecret);
  return headers;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Latency figures (ms, rounded to 0.01) of a list of samples. */
export function latencySummary(samples: readonly number[]): SendSummary['latencyMs'] {
  const sorted = Float64Array.from(samples).sort();
  const round = (x: number): number => Math.round(x * 100) / 100;
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    min: round(sorted[0] ?? 0),
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(samples.length === 0 ? 0 : sum / samples.length),
  };
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown }; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.message === 'string' ? e.message : String(error);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Posts every planned POST and resolves with the summary once all have been answered.
 *
 * @example
 * ```ts
 * const summary = await sendPosts(planPosts(plan, rng), { url, basic: 'enablex:s3cret', rate: 50 });
 * console.log(summary.byStatus); // { '200': 100 }
 * ```
 */
export async function sendPosts(posts: Iterable<PlannedPost>, opts: SendOptions): Promise<SendSummary> {
  const url = new URL(opts.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`not an http(s) URL: ${opts.url}`);
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 8));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pool = new Pool(url.origin, {
    connections: concurrency,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(opts.insecure ? { connect: { rejectUnauthorized: false } } : {}),
  });
  const path = `${url.pathname}${url.search}`;

  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let count = 0;
  let notifications = 0;
  let redeliveries = 0;
  let ok = 0;
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  const all = new Set<Promise<void>>();

  const postOne = async (post: PlannedPost): Promise<void> => {
    const headers = postHeaders(post.body, opts);
    const started = performance.now();
    let result: PostResult;
    try {
      const res = await pool.request({ path, method: 'POST', headers, body: post.body });
      const text = await res.body.text();
      const retryAfter = res.headers['retry-after'];
      result = { status: res.statusCode, ms: performance.now() - started, response: text.slice(0, 200) };
      if (typeof retryAfter === 'string') result.retryAfter = retryAfter;
    } catch (error) {
      result = { status: 0, ms: performance.now() - started, error: errorCode(error) };
    }
    latencies.push(result.ms);
    const key = result.status === 0 ? 'error' : String(result.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (result.error !== undefined) errors[result.error] = (errors[result.error] ?? 0) + 1;
    if (result.status >= 200 && result.status < 300) ok++;
    opts.onResult?.(post, result);
  };

  const started = performance.now();
  try {
    for (const post of posts) {
      if (opts.signal?.aborted) break;
      if (opts.rate !== undefined && opts.rate > 0) {
        const due = started + (count * 1000) / opts.rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
      }
      while (inFlight >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
      if (opts.signal?.aborted) break;
      count++;
      if (post.redeliveryOf === undefined) notifications += post.notifications.length;
      else redeliveries++;
      inFlight++;
      const p = postOne(post).finally(() => {
        inFlight--;
        all.delete(p);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
      all.add(p);
    }
    await Promise.all(all);
  } finally {
    await pool.close().catch(() => undefined);
  }
  const elapsedMs = performance.now() - started;
  return {
    posts: count,
    notifications,
    redeliveries,
    byStatus,
    errors,
    ok,
    latencyMs: latencySummary(latencies),
    elapsedMs: Math.round(elapsedMs),
    rate: elapsedMs > 0 ? Math.round((count * 1000 * 10) / elapsedMs) / 10 : 0,
  };
}
