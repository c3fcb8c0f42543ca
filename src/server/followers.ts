/**
 * @module server/followers
 *
 * What follows the pipeline's recorded events: the delivery runtime (sinks, handlers, the
 * worker), the search indexer, and the silence watch. Each is woken by pipeline batches and
 * by other processes sharing the database.
 */
import { formatRetentionDuration } from '../retention/policy.js';
import { Pruner } from '../retention/pruner.js';
import type { Config } from '../config/types.js';
import { DeliveryRuntime } from '../dispatch/runtime.js';
import type { JournalWriter } from '../journal/writer.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PipelineHandle } from '../pipeline.js';
import { SearchIndexer } from '../search/indexer.js';
import type { Store } from '../store/store.js';
import { SilenceWatch } from '../watch/watch.js';
import type { StartupCleanup } from './cleanup.js';
import type { StartServerOptions } from './types.js';

/** What each follower needs from the parts built before it. */
export interface FollowerParts {
  config: Config;
  opts: StartServerOptions;
  store: Store;
  pipeline: PipelineHandle;
  metrics: Metrics;
  logger: Logger;
  cleanup: StartupCleanup;
}

export async function createDelivery(parts: FollowerParts): Promise<DeliveryRuntime> {
  const { config, opts, store, pipeline, metrics, logger, cleanup } = parts;
  // Routes reach the store before the pipeline records anything, so every new event gets its deliveries.
  const delivery = await DeliveryRuntime.create({ config, store, handlers: opts.handlers ?? [], metrics, logger });
  cleanup.defer(() => delivery.close(0));
  pipeline.on('batch', (info) => {
    if (info.inserted > 0) delivery.wake();
  });
  const unsubscribeDeliveries = store.subscribe?.('deliveries', () => delivery.wake());
  if (unsubscribeDeliveries) cleanup.defer(unsubscribeDeliveries);
  return delivery;
}

/** Search follows the events table after the pipeline has recorded them (`search/indexer.ts`). */
export function createSearchIndexer(parts: FollowerParts): SearchIndexer {
  const { store, pipeline, logger, cleanup } = parts;
  const searchIndexer = new SearchIndexer(store, (err) => logger.warn({ err }, 'search indexing failed; it is tried again shortly'));
  cleanup.defer(() => searchIndexer.close());
  pipeline.on('batch', (info) => {
    if (info.inserted > 0) searchIndexer.wake();
  });
  const unsubscribeSearch = store.subscribe?.('events', () => searchIndexer.wake());
  if (unsubscribeSearch) cleanup.defer(unsubscribeSearch);
  return searchIndexer;
}

/** bluetick's own `channel.silent` / `channel.resumed`, journaled like a POST (src/watch/); none when disabled. */
export function createSilenceWatch(parts: FollowerParts, journal: JournalWriter): SilenceWatch | undefined {
  const { config, opts, store, pipeline, logger, cleanup } = parts;
  if (!config.watch.silence.enabled) return undefined;
  const watch = new SilenceWatch({
    store,
    settings: config.watch.silence,
    append: async (row) => {
      await journal.append(row);
      pipeline.wake();
    },
    ...(opts.watch?.now ? { now: opts.watch.now } : {}),
    onError: (err) => logger.warn({ err }, 'silence watch: round failed; trying again at the next'),
  });
  pipeline.on('batch', (info) => {
    if (info.inserted > 0) watch.wake();
  });
  cleanup.defer(() => watch.close());
  return watch;
}

/** Old data goes in small batches in the background (src/retention/); started by the caller. */
export function createPruner(parts: FollowerParts): Pruner {
  const { config, opts, store, metrics, logger, cleanup } = parts;
  const pruner = new Pruner({
    store,
    limits: config.retention.limits,
    intervalMs: config.retention.intervalMs,
    ...(opts.retention?.now ? { now: opts.retention.now } : {}),
    onBatch: (cls, action, count) => metrics.pruned.inc({ class: cls, action }, count),
    onError: (err) => logger.warn({ err }, 'retention: pruning failed; trying again at the next interval'),
  });
  logger.info(
    { retention: Object.fromEntries(Object.entries(config.retention.limits).map(([rule, ms]) => [rule, formatRetentionDuration(ms)])) },
    'retention: data older than these limits is pruned in the background (`none`: kept)',
  );
  cleanup.defer(() => pruner.close());
  return pruner;
}
