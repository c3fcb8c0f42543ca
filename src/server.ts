/**
 * @module server
 *
 * The composition root: one resolved config in, one running receiver out.
 *
 *   store (SQLite or PostgreSQL, migrated) -> JournalWriter (group commit) -> Pipeline (after the ack)
 *   one node:http / https server:  /webhooks/*  -> ingest handler (lean, benchmarked)
 *                                  everything else -> fastify (health, readiness, metrics, /api, the console)
 *
 * This file only composes: each step is a function in `server/` (store, journal, pipeline,
 * followers, api, http, certificates, endpoints), and `server/shutdown.ts` holds the close order.
 * A start that fails half-way undoes what it opened, newest first (`server/cleanup.ts`).
 */
import { resolveAdminToken } from './api/admin-token.js';
import type { Config } from './config/types.js';
import { RejectionLog, IngestHandler } from './ingest/handler.js';
import { createLogger } from './log.js';
import { createBackoff, createServerApi } from './server/api.js';
import { createAcme, watchCertificateFiles } from './server/certificates.js';
import { StartupCleanup } from './server/cleanup.js';
import { announceEndpoints } from './server/endpoints.js';
import { createDelivery, createPruner, createSearchIndexer, createSilenceWatch, type FollowerParts } from './server/followers.js';
import { handleOf } from './server/handle.js';
import { closeAtOnce, createServerSocket, listen } from './server/http.js';
import { createJournal, createServerMetrics, warnIfProjectionsIncomplete } from './server/journal.js';
import { createServerPipeline } from './server/pipeline.js';
import { watchDiskSpace } from './server/disk.js';
import { gracefulClose, type BackgroundTask } from './server/shutdown.js';
import { openServerStore } from './server/store.js';
import type { RunningServer, ServerInternals, StartServerOptions } from './server/types.js';
import { loadTlsMaterial } from './tls.js';

export type { RunningServer, ServerInternals, ServerMetrics, StartServerOptions, WebhookEndpoint } from './server/types.js';
export { internalsOf } from './server/handle.js';
export { describeCredentials } from './config/credentials.js';

/**
 * Starts the receiver.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig();
 * const running = await startServer(config);
 * console.log(running.webhookUrls.default);
 * process.once('SIGTERM', () => void running.close());
 * ```
 */
export async function startServer(config: Config, opts: StartServerOptions = {}): Promise<RunningServer> {
  return handleOf(await launchServer(config, opts));
}

/**
 * Starts the receiver and hands back all its parts (the CLI, tests and benchmarks).
 * @internal
 */
export async function launchServer(config: Config, opts: StartServerOptions = {}): Promise<ServerInternals> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const { server: sc } = config;

  // Refuse a broken certificate before touching the store.
  const tlsMaterial = sc.tls ? loadTlsMaterial(sc.tls) : undefined;
  // The API never answers without a token: configured, or generated once and kept (0600).
  const adminToken = resolveAdminToken(config.adminToken, sc.dataDir);

  const ownStore = opts.store === undefined;
  const store = opts.store ?? (await openServerStore(config, opts.storeOptions, logger));
  const cleanup = new StartupCleanup();
  if (ownStore) cleanup.defer(() => store.close());
  try {
    const metrics = createServerMetrics(store, opts);
    const background: BackgroundTask[] = [];
    const diskWatch = watchDiskSpace(config, opts, metrics, logger);
    background.push(diskWatch);
    cleanup.defer(() => diskWatch.stop());
    await warnIfProjectionsIncomplete(store, logger);
    const journal = createJournal(store, config, opts, metrics, logger);
    cleanup.defer(() => journal.close());
    const pipeline = createServerPipeline(store, config, opts, metrics, logger, cleanup);

    const followers: FollowerParts = { config, opts, store, pipeline, metrics, logger, cleanup };
    const delivery = await createDelivery(followers);
    createSearchIndexer(followers);
    const watch = createSilenceWatch(followers, journal);
    const pruner = createPruner(followers);
    background.push({ stop: () => pruner.close() });

    const rejections = new RejectionLog(store, { metrics, logger, ...(opts.rejections?.keep !== undefined ? { keep: opts.rejections.keep } : {}) });
    cleanup.defer(() => rejections.close());
    // Ends the API's live streams at shutdown, so open connections do not hold the close.
    const apiShutdown = new AbortController();
    cleanup.defer(() => apiShutdown.abort());

    const backoff = createBackoff(config, logger);
    const api = await createServerApi({
      config,
      opts,
      store,
      journal,
      pipeline,
      delivery,
      metrics,
      logger,
      backoff,
      adminToken,
      tlsMaterial,
      shutdown: apiShutdown.signal,
    });
    cleanup.defer(() => api.close());

    const ingest = new IngestHandler({
      channels: config.channels,
      journal,
      bodyLimit: sc.limits.bodyBytes,
      metrics,
      rejections,
      onAcked: () => pipeline.wake(),
      behindProxy: sc.behindProxy,
      trustProxy: sc.trustProxy,
      backoff,
      logger,
    });

    const acme = await createAcme(config, opts, metrics, logger);
    const tlsOptions = tlsMaterial ?? acme?.serverOptions();
    const { server, httpsServer } = createServerSocket({ config, ingest, api, rejections, logger, tlsOptions });
    const address = await listen(server, sc.port, sc.host);
    cleanup.defer(() => closeAtOnce(server));
    if (acme && httpsServer) {
      cleanup.defer(() => acme.close());
      await acme.start(httpsServer, address.port);
    }
    const tls = watchCertificateFiles(httpsServer, config, tlsMaterial, opts, logger);

    if (opts.pipeline?.start !== false) pipeline.start();
    if (opts.delivery?.start !== false) delivery.start();
    if (watch && opts.watch?.start !== false) watch.start();
    if (opts.retention?.start !== false) pruner.start();

    const { url, webhooks, webhookUrls } = announceEndpoints(config, address, tlsMaterial !== undefined, logger);

    const graceMs = opts.closeGraceMs ?? 10_000;
    const close = gracefulClose({
      server,
      apiShutdown,
      ingest,
      tls,
      acme,
      watch,
      journal,
      pipeline,
      delivery,
      rejections,
      api,
      background,
      ownStore: ownStore ? store : undefined,
      logger,
      graceMs,
      deliveryGraceMs: opts.delivery?.graceMs ?? graceMs,
    });

    return {
      url,
      webhookUrls,
      webhooks,
      address,
      server,
      config,
      store,
      journal,
      pipeline,
      delivery,
      metrics,
      api,
      ingest,
      rejections,
      adminToken,
      backoff,
      ...(tls ? { tls } : {}),
      ...(acme ? { acme } : {}),
      ...(watch ? { watch } : {}),
      pruner,
      close,
    };
  } catch (error) {
    await cleanup.unwind();
    throw error;
  }
}
