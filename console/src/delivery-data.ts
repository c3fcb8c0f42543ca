/** Sink health and delivery backlog from `GET /api/sinks`, shared by the overview and the deliveries screen. */
import { useMemo } from 'preact/hooks';
import { asPage } from './api.js';
import { isUnavailable, useApi } from './ui.js';

export interface Backlog {
  pending: number;
  blocked: number;
  inFlight: number;
  dead: number;
}

export interface SinkStatus {
  name: string;
  type: string;
  breaker?: {
    state: string;
    consecutiveFailures: number;
    openedAt?: string;
    nextProbeAt?: string;
    cooldownMs?: number;
    opens: number;
  };
  attempts: { total: number; success: number; retry: number; fail: number };
  recent?: { attempts: number; successRate: number; latencyMs: { avg: number; p50: number; p95: number; max: number } };
  inFlight: number;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  lastError?: string;
  backlog: Backlog;
}

export function sumBacklog(sinks: SinkStatus[]): Backlog {
  const total: Backlog = { pending: 0, blocked: 0, inFlight: 0, dead: 0 };
  for (const s of sinks) {
    total.pending += s.backlog?.pending ?? 0;
    total.blocked += s.backlog?.blocked ?? 0;
    total.inFlight += s.backlog?.inFlight ?? 0;
    total.dead += s.backlog?.dead ?? 0;
  }
  return total;
}

export function useSinks(pollMs?: number) {
  return useApi<unknown>('/api/sinks', pollMs !== undefined ? { pollMs } : {});
}

export function useDeliveryBacklog(pollMs: number): { data?: Backlog; unavailable: boolean } {
  const state = useSinks(pollMs);
  return useMemo(() => {
    if (isUnavailable(state.error)) return { unavailable: true };
    if (state.data === undefined) return { unavailable: false };
    return { data: sumBacklog(asPage<SinkStatus>(state.data).items), unavailable: false };
  }, [state.data, state.error]);
}
