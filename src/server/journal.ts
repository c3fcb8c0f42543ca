/**
 * @module server/journal
 *
 * The server's metrics and its journal writer: the group commit every acked POST waits for,
 * measured, with commit failures logged at most once in a while.
 */
import { JournalWriter } from '../journal/writer.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { Config } from '../config/types.js';
import type { StartServerOptions } from './types.js';

/** The metrics registry, with the pipeline's lag read from the store. */
export function createServerMetrics(store: Store, opts: StartServerOptions): Metrics {
  const metrics = new Metrics({ processMetrics: opts.processMetrics ?? true });
  metrics.setPipelineLag(async () => {
    const oldest = await store.journal.oldestPendingAt();
    return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  });
  return metrics;
}

/** A store that held events before projections existed, or an interrupted rebuild: say how to repair it. */
export async function warnIfProjectionsIncomplete(store: Store, logger: Logger): Promise<void> {
  const projections = await store.projections.counts();
  if (projections.rebuild) {
    logger.warn({ throughSeq: projections.rebuild.throughSeq }, 'projections are incomplete; run `bluetick rebuild` to recompute them from the events');
  }
}

/** Logs at most once per `everyMs`, counting what it held back. */
function throttled(everyMs: number, log: (suppressed: number) => void): () => void {
  let last = 0;
  let suppressed = 0;
  return () => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed++;
      return;
    }
    last = now;
    log(suppressed);
    suppressed = 0;
  };
}

export function createJournal(store: Store, config: Config, opts: StartServerOptions, metrics: Metrics, logger: Logger): JournalWriter {
  const sc = config.server;
  const logCommitError = throttled(5_000, (suppressed) =>
    logger.error({ suppressed }, 'journal commit failed; ingest answers 503 until commits succeed again'),
  );
  return new JournalWriter(store, {
    maxPending: sc.journal.maxPending,
    commitTimeoutMs: sc.journal.commitTimeoutMs,
    // Commits in flight: the store's `capabilities.maxCommitsInFlight` (journal/writer.ts).
    ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    onCommit: (batchSize, ms) => {
      metrics.journalBatchSize.observe(batchSize);
      metrics.journalCommitSeconds.observe(ms / 1000);
    },
    onError: (err) => {
      logger.debug({ err }, 'journal commit failed');
      logCommitError();
    },
  });
}
