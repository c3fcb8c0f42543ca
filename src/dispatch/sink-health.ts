/**
 * @module dispatch/sink-health
 *
 * Each sink's (and handler's) health as the API shows it: attempts by outcome since start,
 * success rate and latency over the last attempts, the last error, and its breaker.
 */
import type { BreakerSnapshot, CircuitBreaker } from './breaker.js';
import type { AttemptOutcome } from './retry.js';

/** Recent attempts kept per sink for its health figures. */
const HEALTH_WINDOW = 200;

/** One sink's health as the API shows it. */
export interface SinkHealth {
  name: string;
  type: string;
  breaker?: BreakerSnapshot;
  /** Attempts since start, by outcome. */
  attempts: { total: number; success: number; retry: number; fail: number };
  /** Over the last {@link HEALTH_WINDOW} attempts; absent before the first. */
  recent?: { attempts: number; successRate: number; latencyMs: { avg: number; p50: number; p95: number; max: number } };
  inFlight: number;
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  lastError?: string;
}

export class SinkStats {
  total = 0;
  success = 0;
  retry = 0;
  fail = 0;
  inFlight = 0;
  lastAttemptAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  private readonly latencies: number[] = [];
  private readonly oks: boolean[] = [];
  private at = 0;

  add(outcome: AttemptOutcome, now: number): void {
    this.total++;
    this[outcome.classification]++;
    this.lastAttemptAt = now;
    if (outcome.ok) this.lastSuccessAt = now;
    else this.lastError = outcome.error ?? outcome.errorCode;
    if (this.latencies.length < HEALTH_WINDOW) {
      this.latencies.push(outcome.latencyMs);
      this.oks.push(outcome.ok);
    } else {
      this.latencies[this.at] = outcome.latencyMs;
      this.oks[this.at] = outcome.ok;
      this.at = (this.at + 1) % HEALTH_WINDOW;
    }
  }

  recent(): SinkHealth['recent'] {
    const n = this.latencies.length;
    if (n === 0) return undefined;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pick = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    const ok = this.oks.filter(Boolean).length;
    return {
      attempts: n,
      successRate: ok / n,
      latencyMs: { avg: Math.round(sorted.reduce((a, b) => a + b, 0) / n), p50: pick(0.5), p95: pick(0.95), max: sorted[n - 1]! },
    };
  }
}

/** One sink's (or handler's) health from its figures and breaker. */
export function sinkHealth(t: { name: string; type: string }, s: SinkStats, breaker: CircuitBreaker | undefined): SinkHealth {
  const h: SinkHealth = {
    name: t.name,
    type: t.type,
    attempts: { total: s.total, success: s.success, retry: s.retry, fail: s.fail },
    inFlight: s.inFlight,
  };
  if (breaker) h.breaker = breaker.snapshot();
  const recent = s.recent();
  if (recent) h.recent = recent;
  if (s.lastAttemptAt !== undefined) h.lastAttemptAt = s.lastAttemptAt;
  if (s.lastSuccessAt !== undefined) h.lastSuccessAt = s.lastSuccessAt;
  if (s.lastError !== undefined) h.lastError = s.lastError;
  return h;
}
