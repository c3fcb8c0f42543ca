/**
 * @module server/pipeline
 *
 * The pipeline as the server runs it: where the store's capabilities say (in the store's
 * own thread for SQLite in a worker, on a thread of its own for PostgreSQL, on this thread
 * otherwise); its batches counted in the metrics, and woken by journal commits of other
 * processes sharing the database.
 */
import type { Config } from '../config/types.js';
import type { Provider } from '../events/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { Pipeline, type PipelineHandle } from '../pipeline.js';
import type { Store } from '../store/store.js';
import type { StartupCleanup } from './cleanup.js';
import type { StartServerOptions } from './types.js';

export function createServerPipeline(
  store: Store,
  config: Config,
  opts: StartServerOptions,
  metrics: Metrics,
  logger: Logger,
  cleanup: StartupCleanup,
): PipelineHandle {
  const sc = config.server;
  const providers = new Map<string, Provider | undefined>(
    config.channels.map((c) => [c.name, c.provider === 'auto' ? undefined : c.provider]),
  );
  const pipelineTuning = {
    maxItems: sc.limits.itemsPerPost,
    maxAttempts: sc.journal.maxAttempts,
    rowBudgetMs: sc.journal.rowBudgetMs,
    ...(opts.pipeline?.batchSize !== undefined ? { batchSize: opts.pipeline.batchSize } : {}),
    ...(opts.pipeline?.pollMs !== undefined ? { pollMs: opts.pipeline.pollMs } : {}),
  };
  const pipeline: PipelineHandle =
    store.capabilities.pipelineThread === 'own-thread' && store.createPipeline
      ? store.createPipeline({ providers: Object.fromEntries(providers), logger, ...pipelineTuning })
      : new Pipeline(store, { providerFor: (channel) => providers.get(channel), logger, ...pipelineTuning });
  pipeline.on('batch', (info) => {
    if (info.duplicates > 0) metrics.duplicateEvents.inc(info.duplicates);
    for (const type in info.types) metrics.eventsRecorded.inc({ type }, info.types[type]);
    if (info.failed > 0) metrics.pipelineRows.inc({ outcome: 'failed' }, info.failed);
    if (info.quarantined > 0) metrics.pipelineRows.inc({ outcome: 'quarantined' }, info.quarantined);
    if (info.retried > 0) metrics.pipelineRows.inc({ outcome: 'retried' }, info.retried);
    if (info.burstShare !== undefined) metrics.pipelineBurstShare.set(info.burstShare);
  });
  cleanup.defer(() => pipeline.stop());
  // Other processes sharing the database commit journal rows too (PostgreSQL): wake for them.
  const unsubscribeJournal = store.subscribe?.('journal', () => pipeline.wake());
  if (unsubscribeJournal) cleanup.defer(unsubscribeJournal);
  return pipeline;
}
