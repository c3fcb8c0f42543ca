/**
 * @module api/endpoints/stats
 *
 * `GET /api/stats`: counts per event type, message status and template status, ack latency
 * percentiles from the ingest histogram, and pipeline lag.
 */
import type { Histogram } from 'prom-client';
import type { RestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { statsSchema } from '../schemas.js';
import { isoOf } from '../views.js';

interface Bucket {
  /** Upper bound, seconds (Infinity for +Inf). */
  le: number;
  /** Cumulative count. */
  count: number;
}

/**
 * The `q` quantile of a cumulative histogram, interpolated linearly inside its bucket (as
 * Prometheus' `histogram_quantile` does). `undefined` when the histogram is empty. A quantile
 * that falls in the +Inf bucket is reported as the highest finite bound.
 */
export function histogramQuantile(buckets: readonly Bucket[], q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerBound;
      const inBucket = b.count - lowerCount;
      return inBucket === 0 ? b.le : lowerBound + (b.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = Number.isFinite(b.le) ? b.le : lowerBound;
    lowerCount = b.count;
  }
  return lowerBound;
}

async function bucketsOf(histogram: Histogram): Promise<Bucket[]> {
  const metric = await histogram.get();
  const out: Bucket[] = [];
  for (const v of metric.values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels.le;
    out.push({ le: le === '+Inf' ? Infinity : Number(le), count: v.value });
  }
  return out;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export function registerStatsEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/stats',
      operationId: 'getStats',
      tag: 'stats',
      summary: 'Counts, ack latency and pipeline lag',
      response: statsSchema,
    },
    async () => {
      const [counts, projections, buckets] = await Promise.all([
        ctx.store.counts(),
        ctx.store.projections.counts(),
        bucketsOf(ctx.metrics.ackSeconds),
      ]);
      const now = ctx.now();
      const ackCount = buckets.find((b) => !Number.isFinite(b.le))?.count ?? 0;
      const ackLatency: { count: number; p50Ms?: number; p90Ms?: number; p99Ms?: number } = { count: ackCount };
      for (const [key, q] of [['p50Ms', 0.5], ['p90Ms', 0.9], ['p99Ms', 0.99]] as const) {
        const seconds = histogramQuantile(buckets, q);
        if (seconds !== undefined) ackLatency[key] = round(seconds * 1000);
      }
      const oldest = counts.oldestPendingReceivedAt;
      return {
        at: isoOf(now),
        events: { total: counts.events, byType: counts.eventsByType },
        journal: counts.journal,
        rejections: counts.rejections,
        messages: projections.messages,
        conversations: projections.conversations,
        contacts: projections.contacts,
        templates: projections.templates,
        reactions: projections.reactions,
        ackLatency,
        pipeline: {
          pending: counts.journal.pending,
          lagSeconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
          ...(oldest !== undefined ? { oldestPendingAt: isoOf(oldest) } : {}),
        },
        projections: projections.rebuild
          ? { complete: false, rebuildThroughSeq: projections.rebuild.throughSeq }
          : { complete: true },
      };
    },
  );
}
