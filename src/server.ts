/**
 * @module server
 *
 * The composition root: one resolved config in, one running receiver out.
 *
 *   store (SQLite or PostgreSQL, migrated) -> JournalWriter (group commit) -> Pipeline (after the ack)
 *   one node:http / https server:  /webhooks/*  -> ingest handler (lean, benchmarked)
 *                                  everything else -> fastify (health, readiness, metrics, later /api)
 *
 * Shutdown order matters: stop accepting, let in-flight acks finish (their rows are being
 * committed), flush the journal, stop the pipeline after its current batch, then close the
 * store. Rows acked but not yet normalized stay `pending` and the next start picks them up.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AcmeManager, AcmeManagerOptions } from './acme/manager.js';
import { buildApi } from './api/app.js';
import type { StreamOptions } from './api/routes/stream.js';
import { resolveAdminToken, type AdminTokenInfo } from './api/admin-token.js';
import { createAccessGuard } from './api/access.js';
import { createAdminGuard } from './api/auth.js';
import { AuthBackoff } from './auth-backoff.js';
import { SearchIndexer } from './search/indexer.js';
import type { ChannelConfig, Config } from './config/resolve.js';
import { hasCredentials } from './config/resolve.js';
import { DeliveryRuntime, type HandlerRoute } from './dispatch/runtime.js';
import { BluetickError } from './errors.js';
import type { Provider } from './events/types.js';
import { JournalWriter } from './journal/writer.js';
import { IngestHandler, RejectionLog, isIngestUrl, originForm } from './ingest/routes.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { diskSpace, LowDiskWatch, type StatFs } from './disk.js';
import { Pipeline, type PipelineHandle } from './pipeline.js';
import { openStore, type OpenStoreOptions } from './store/open.js';
import type { PostgresStoreOptions } from './store/postgres/postgres-store.js';
import type { RejectionInput, Store } from './store/store.js';
import { SilenceWatch } from './watch/watch.js';
import { TlsWatcher, describeCertificate, loadTlsMaterial, type CertificateInfo } from './tls.js';

/** How often the server looks at the data folder's free space, ms. */
const DISK_CHECK_MS = 60_000;

export interface StartServerOptions {
  /** Defaults to a pino logger at `config.log.level`. */
  logger?: Logger;
  /** Use this store instead of opening the one in `config.server.dataDir`; it is then NOT closed by `close()`. */
  store?: Store;
  /** Passed to `openStore` (file name, busy timeout, checkpoint settings). */
  storeOptions?: Omit<OpenStoreOptions, 'dataDir'>;
  /** Pipeline tuning; `start: false` leaves it stopped (call `pipeline.drain()` yourself). */
  pipeline?: { batchSize?: number; pollMs?: number; start?: boolean };
  /** Largest journal group commit. Default 256. */
  maxBatch?: number;
  /** Process metrics (CPU, memory, event loop) in `/metrics`. Default true. */
  processMetrics?: boolean;
  /** How long `close()` waits for in-flight requests before cutting connections. Default 10 000 ms. */
  closeGraceMs?: number;
  /** TLS reload tuning (tests use short values). */
  tlsWatch?: { debounceMs?: number; pollMs?: number };
  /** ACME tuning when `config.server.acme` is set (tests: a test CA's root, short backoff). */
  acme?: Pick<AcmeManagerOptions, 'directoryCa' | 'retry' | 'poll' | 'requestTimeoutMs' | 'peekTimeoutMs' | 'now'>;
  /** Live stream (`/api/stream`) tuning: poll and heartbeat intervals. */
  stream?: StreamOptions;
  /** Rejection log tuning: how many refused requests are kept (default 10 000). */
  rejections?: { keep?: number };
  /** Library handlers (see `createBluetick`), delivered like routes to sinks. */
  handlers?: readonly HandlerRoute[];
  /** `start: false` leaves the delivery worker stopped; `graceMs` bounds attempts in flight at close. */
  delivery?: { start?: boolean; graceMs?: number };
  /** The web console's built assets. Default `dist/console` in the package; `false` serves no console. */
  console?: { dir?: string } | false;
  /** Silence watch: an injected clock, and `start: false` to run its rounds by hand (`watch.tick()`). */
  watch?: { now?: () => number; start?: boolean };
  /** Reads the data folder's free space (`fs.statfs`); tests inject a full disk. */
  statfs?: StatFs;
}

/** One channel's public endpoint, as printed at start. */
export interface WebhookEndpoint {
  channel: string;
  url: string;
  provider: ChannelConfig['provider'];
  /** What a POST to this URL must carry, in words. */
  credentials: string[];
}

/** The server's metrics: what `GET /metrics` serves. */
export interface ServerMetrics {
  /** The Prometheus text format's content type. */
  readonly contentType: string;
  /** Every metric in the Prometheus text format. */
  text(): Promise<string>;
}

/**
 * A running bluetick server, as {@link startServer} and `createBluetick().start()` hand it out:
 * where it listens, what providers post to, the admin token, its metrics, and how to stop it.
 */
export interface RunningServer {
  /** Base URL, e.g. `https://127.0.0.1:8443` (with ACME, the first domain). */
  readonly url: string;
  /** The bound address and port (port 0 in the config picks a free one). */
  readonly address: AddressInfo;
  /** Channel name -> full webhook URL. */
  readonly webhookUrls: Readonly<Record<string, string>>;
  /** Each channel's webhook URL, provider and what a POST must carry. */
  readonly webhooks: readonly WebhookEndpoint[];
  /** The admin token `/api` and the console take, and where it came from (configured, generated, kept). */
  readonly adminToken: AdminTokenInfo;
  /** The server's metrics, as `GET /metrics` serves them. */
  readonly metrics: ServerMetrics;
  /** Graceful: stop accepting, finish in-flight acks, flush the journal, stop the pipeline, close the store. */
  close(): Promise<void>;
}

/**
 * Everything a running server is made of, for the CLI, the tests and the benchmarks. Not part
 * of the library API: its shape changes with the implementation.
 * @internal
 */
export interface ServerInternals extends RunningServer {
  address: AddressInfo;
  server: Server;
  config: Config;
  store: Store;
  journal: JournalWriter;
  /** Runs in the store's thread when the store is a worker-thread SQLite store (the default). */
  pipeline: PipelineHandle;
  /** Sinks, handlers and the delivery worker. */
  delivery: DeliveryRuntime;
  metrics: Metrics;
  api: FastifyInstance;
  ingest: IngestHandler;
  rejections: RejectionLog;
  tls?: { watcher: TlsWatcher; certificate: CertificateInfo };
  /** Failed authentications per client address, and the backoff they lead to. */
  backoff: AuthBackoff;
  /** Certificates from ACME, when `config.server.acme` is set. */
  acme?: AcmeManager;
  /** The silence watch (`watch.silence`), unless disabled. */
  watch?: SilenceWatch;
}

const internals = new WeakMap<RunningServer, ServerInternals>();

/**
 * The parts behind a handle from {@link startServer}.
 * @internal
 */
export function internalsOf(running: RunningServer): ServerInternals {
  const found = internals.get(running);
  if (found === undefined) throw new TypeError('not a handle returned by startServer');
  return found;
}

/** The public handle of a running server: a new object, so the internals stay out of reach. */
function handleOf(running: ServerInternals): RunningServer {
  const { metrics } = running;
  const handle: RunningServer = Object.freeze({
    url: running.url,
    address: running.address,
    webhookUrls: running.webhookUrls,
    webhooks: running.webhooks,
    adminToken: running.adminToken,
    metrics: Object.freeze({ contentType: metrics.contentType, text: () => metrics.text() }),
    close: () => running.close(),
  });
  internals.set(handle, running);
  return handle;
}

/** What a POST to this channel must carry, in words (no secrets). */
export function describeCredentials(channel: ChannelConfig): string[] {
  const out: string[] = [];
  const basic = channel.basicAuth;
  if (basic.length > 0) {
    const users = [...new Set(basic.map((c) => `"${c.username}"`))].join(', ');
    out.push(`HTTP Basic auth as ${users}${basic.length > 1 ? ` (${basic.length} credentials)` : ''}`);
  }
  const secrets = channel.meta.appSecrets.length;
  if (secrets > 0) out.push(`Meta X-Hub-Signature-256 with ${secrets === 1 ? 'the app secret' : `one of ${secrets} app secrets`}`);
  if (!hasCredentials(channel)) out.push('NOTHING: unauthenticated POSTs are accepted (direct loopback clients only)');
  if (channel.meta.verifyTokens.length > 0) out.push('GET handshake answered for the configured verify token');
  return out;
}

/** The DNS names a certificate (chain) is for, without wildcards: names clients reach this server by. */
function certificateNames(cert: string | Buffer): string[] {
  try {
    const names = (new X509Certificate(cert).subjectAltName ?? '').split(', ');
    return names.filter((n) => n.startsWith('DNS:') && !n.startsWith('DNS:*.')).map((n) => n.slice(4).toLowerCase());
  } catch {
    return [];
  }
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
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

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.removeListener('listening', onListening);
      reject(
        new BluetickError('BT_ERR_CONFIG_INVALID', `cannot listen on ${formatHost(host)}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host });
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** The PostgreSQL store's settings: the config's, then the caller's; background errors go to the log. */
function postgresOptions(config: Config, given: StartServerOptions['storeOptions'], logger: Logger): PostgresStoreOptions {
  let last = 0;
  return {
    journalLeaseMs: config.store?.journalLeaseMs ?? 30_000,
    onError: (err) => {
      // Lost connections are retried by the store; say so once in a while, not per retry.
      if (Date.now() - last < 5_000) return;
      last = Date.now();
      logger.warn({ err }, 'PostgreSQL store: background connection error (retrying)');
    },
    ...given?.postgres,
  };
}

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
  // By default the SQLite connection (and the pipeline) get a thread of their own, so this
  // event loop only serves HTTP: it never waits on an fsync and never normalizes.
  const store =
    opts.store ??
    (await openStore({
      thread: 'worker',
      onError: (err) => logger.error({ err }, 'SQLite store: error off the request path (checkpoint or store thread)'),
      ...opts.storeOptions,
      dataDir: sc.dataDir,
      ...(config.store ? { url: config.store.url, postgres: postgresOptions(config, opts.storeOptions, logger) } : {}),
    }));
  const cleanup: Array<() => Promise<void> | void> = [];
  if (ownStore) cleanup.push(() => store.close());

  try {
    const metrics = new Metrics({ processMetrics: opts.processMetrics ?? true });
    metrics.setPipelineLag(async () => {
      const oldest = await store.journal.oldestPendingAt();
      return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
    });
    // Free space of the data folder: a gauge read at each scrape, and a warning logged once
    // each time it falls under `server.minFreeDiskBytes` (readiness does not depend on it: a
    // nearly full disk still takes writes, and the operator is told early).
    const readDisk = () => diskSpace(sc.dataDir, opts.statfs);
    metrics.setDiskFree(async () => (await readDisk()).freeBytes);
    const lowDisk = new LowDiskWatch(sc.minFreeDiskBytes);
    const checkDisk = (): void => {
      readDisk().then(
        (disk) => {
          const crossed = lowDisk.observe(disk.freeBytes);
          const facts = { dataDir: sc.dataDir, freeBytes: disk.freeBytes, minFreeDiskBytes: sc.minFreeDiskBytes };
          if (crossed === 'low') logger.warn(facts, 'free disk space of the data folder is below server.minFreeDiskBytes; see `bluetick status` for what the store holds');
          else if (crossed === 'recovered') logger.info(facts, 'free disk space of the data folder is above server.minFreeDiskBytes again');
        },
        (err: unknown) => logger.debug({ err }, 'could not read the free disk space of the data folder'),
      );
    };
    if (sc.minFreeDiskBytes > 0) {
      checkDisk();
      const diskTimer = setInterval(checkDisk, DISK_CHECK_MS).unref();
      cleanup.push(() => clearInterval(diskTimer));
    }

    // A store that held events before projections existed, or an interrupted rebuild.
    const projections = await store.projections.counts();
    if (projections.rebuild) {
      logger.warn({ throughSeq: projections.rebuild.throughSeq }, 'projections are incomplete; run `bluetick rebuild` to recompute them from the events');
    }

    const logCommitError = throttled(5_000, (suppressed) =>
      logger.error({ suppressed }, 'journal commit failed; ingest answers 503 until commits succeed again'),
    );
    const journal = new JournalWriter(store, {
      maxPending: sc.journal.maxPending,
      commitTimeoutMs: sc.journal.commitTimeoutMs,
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
    cleanup.unshift(() => journal.close());

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
    // Where the pipeline runs is the store's to say (SQLite on its own thread runs it there).
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
    });
    cleanup.unshift(() => pipeline.stop());
    // Other processes sharing the database commit journal rows too (PostgreSQL): wake for them.
    const unsubscribeJournal = store.subscribe?.('journal', () => pipeline.wake());
    if (unsubscribeJournal) cleanup.unshift(unsubscribeJournal);

    // Routes reach the store before the pipeline records anything, so every new event gets its deliveries.
    const delivery = await DeliveryRuntime.create({ config, store, handlers: opts.handlers ?? [], metrics, logger });
    cleanup.unshift(() => delivery.close(0));
    pipeline.on('batch', (info) => {
      if (info.inserted > 0) delivery.wake();
    });
    const unsubscribeDeliveries = store.subscribe?.('deliveries', () => delivery.wake());
    if (unsubscribeDeliveries) cleanup.unshift(unsubscribeDeliveries);

    // Search follows the events table after the pipeline has recorded them (`search/indexer.ts`).
    const searchIndexer = new SearchIndexer(store, (err) => logger.warn({ err }, 'search indexing failed; it is tried again shortly'));
    cleanup.unshift(() => searchIndexer.close());
    pipeline.on('batch', (info) => {
      if (info.inserted > 0) searchIndexer.wake();
    });
    const unsubscribeSearch = store.subscribe?.('events', () => searchIndexer.wake());
    if (unsubscribeSearch) cleanup.unshift(unsubscribeSearch);
    // bluetick's own `channel.silent` / `channel.resumed`, journaled like a POST (src/watch/).
    const watch = config.watch.silence.enabled
      ? new SilenceWatch({
          store,
          settings: config.watch.silence,
          append: async (row) => {
            await journal.append(row);
            pipeline.wake();
          },
          ...(opts.watch?.now ? { now: opts.watch.now } : {}),
          onError: (err) => logger.warn({ err }, 'silence watch: round failed; trying again at the next'),
        })
      : undefined;
    if (watch) {
      pipeline.on('batch', (info) => {
        if (info.inserted > 0) watch.wake();
      });
      cleanup.unshift(() => watch.close());
    }

    const rejections = new RejectionLog(store, { metrics, logger, ...(opts.rejections?.keep !== undefined ? { keep: opts.rejections.keep } : {}) });
    cleanup.unshift(() => rejections.close());

    // Ends the API's live streams at shutdown, so open connections do not hold the close.
    const apiShutdown = new AbortController();
    cleanup.unshift(() => apiShutdown.abort());

    // Behind a proxy that is not trusted to name the client, every request shares the proxy's
    // address: a backoff would lock the provider out along with an attacker, so it only counts.
    const backoffCounts = sc.behindProxy && !sc.trustProxy;
    const backoff = new AuthBackoff({ failures: backoffCounts ? 0 : sc.limits.authFailures });
    if (backoffCounts && sc.limits.authFailures > 0) {
      logger.warn(
        'behind a proxy without server.trustProxy every client shares the proxy address, so failed logins are counted but not slowed down; ' +
          'set --trust-proxy when the proxy sets X-Forwarded-For',
      );
    }
    const guardOptions = { token: adminToken.token, backoff, trustProxy: sc.trustProxy };
    // Tokens and roles (`api/access.ts`): the admin token, or a stored token whose role allows the call.
    const guard = createAccessGuard({
      adminToken: adminToken.token,
      store,
      backoff,
      trustProxy: sc.trustProxy,
      onError: (err) => logger.warn({ err }, 'audit log write failed'),
    });
    const api = buildApi({
      store,
      journal,
      metrics,
      logger,
      security: {
        // The certificate's own names are public names too (`server.publicHosts` adds others).
        publicHosts: [...sc.publicHosts, ...(tlsMaterial ? certificateNames(tlsMaterial.cert) : [])],
        metricsGuard: createAdminGuard({ ...guardOptions, alsoAccept: [config.metricsToken] }),
        hsts: sc.tls !== undefined || sc.acme !== undefined,
      },
      rest: {
        store,
        ...(config.labels ? { labels: config.labels } : {}),
        deadLetters: delivery,
        adminToken: adminToken.token,
        guard,
        backoff,
        notify: (listener) => {
          pipeline.on('batch', listener);
          // Events recorded by other processes sharing the database (PostgreSQL).
          const unsubscribe = store.subscribe?.('events', listener);
          return () => {
            pipeline.off('batch', listener);
            unsubscribe?.();
          };
        },
        shutdown: apiShutdown.signal,
        delivery: { store, delivery },
        storage: {
          dataDir: sc.dataDir,
          minFreeDiskBytes: sc.minFreeDiskBytes,
          ...(opts.statfs ? { statfs: opts.statfs } : {}),
          // The SQLite files are shown with their sizes; PostgreSQL keeps none here.
          ...(store.dialect === 'sqlite' && typeof (store as { file?: unknown }).file === 'string'
            ? { dbFile: (store as unknown as { file: string }).file }
            : {}),
        },
        ...(opts.stream ? { stream: opts.stream } : {}),
      },
      ...(opts.console === false ? {} : { console: opts.console ?? {} }),
    });
    await api.ready();
    cleanup.unshift(() => api.close());

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

    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.url !== undefined && req.url.charCodeAt(0) !== 0x2f /* / */) req.url = originForm(req.url);
      if (isIngestUrl(req.url)) ingest.handle(req, res);
      else api.routing(req, res);
    };
    const httpOptions = {
      requestTimeout: sc.limits.requestTimeoutMs,
      headersTimeout: sc.limits.headersTimeoutMs,
      keepAliveTimeout: sc.limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above; its 30 s default would blunt them.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(sc.limits.headersTimeoutMs / 4))),
    };
    // ACME: stored certificates serve from the first handshake; orders run in the background (src/acme/).
    const acme = sc.acme
      ? await (await import('./acme/manager.js')).AcmeManager.create({
          ...opts.acme,
          config: sc.acme,
          dataDir: sc.dataDir,
          host: sc.host,
          logger,
          registry: metrics.registry,
        })
      : undefined;
    const tlsOptions = tlsMaterial ?? acme?.serverOptions();
    const httpsServer = tlsOptions ? createHttpsServer({ ...httpOptions, ...tlsOptions }, listener) : undefined;
    // An https.Server is an http.Server on top of TLS; one type keeps the rest of this simple.
    const server: Server = httpsServer ? (httpsServer as unknown as Server) : createHttpServer(httpOptions, listener);
    server.keepAliveTimeout = sc.limits.keepAliveTimeoutMs;
    server.maxConnections = sc.limits.maxConnections;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, rejections));
    // Without a listener Node drops CONNECT requests without a word; this is no proxy.
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    if (httpsServer) {
      server.on('tlsClientError', (err: Error) => logger.debug({ err }, 'TLS handshake failed'));
    }

    const address = await listen(server, sc.port, sc.host);
    cleanup.unshift(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    if (acme && httpsServer) {
      cleanup.unshift(() => acme.close());
      await acme.start(httpsServer, address.port);
    }

    let tls: ServerInternals['tls'];
    if (httpsServer && tlsMaterial && sc.tls) {
      const watcher = new TlsWatcher(httpsServer, sc.tls, tlsMaterial, {
        logger,
        ...(opts.tlsWatch?.debounceMs !== undefined ? { debounceMs: opts.tlsWatch.debounceMs } : {}),
        ...(opts.tlsWatch?.pollMs !== undefined ? { pollMs: opts.tlsWatch.pollMs } : {}),
      });
      tls = { watcher, certificate: describeCertificate(tlsMaterial.cert) };
    }

    if (opts.pipeline?.start !== false) pipeline.start();
    if (opts.delivery?.start !== false) delivery.start();
    if (watch && opts.watch?.start !== false) watch.start();

    // With ACME the public name is the first domain, as providers will post to it.
    const url = sc.acme
      ? `https://${sc.acme.domains[0]}${address.port === 443 ? '' : `:${address.port}`}`
      : `${tlsMaterial ? 'https' : 'http'}://${formatHost(sc.host)}:${address.port}`;
    const webhooks: WebhookEndpoint[] = config.channels.map((c) => ({
      channel: c.name,
      url: `${url}${c.path}`,
      provider: c.provider,
      credentials: describeCredentials(c),
    }));
    const webhookUrls = Object.fromEntries(webhooks.map((w) => [w.channel, w.url]));
    for (const c of config.channels) {
      if (!hasCredentials(c)) {
        logger.warn({ channel: c.name, path: c.path }, 'channel accepts UNAUTHENTICATED posts (direct loopback clients only)');
      }
    }
    logger.info({ url, channels: webhooks.map((w) => ({ channel: w.channel, url: w.url })) }, 'bluetick is listening');

    const graceMs = opts.closeGraceMs ?? 10_000;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        // Some steps wait on handles that are unref'd on purpose (the store's checkpoint
        // worker); hold the event loop open until every step has finished.
        const hold = setInterval(() => undefined, 1_000);
        try {
          await shutdown();
        } finally {
          clearInterval(hold);
        }
      })();
      return closing;
    };
    const shutdown = async (): Promise<void> => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      apiShutdown.abort();
      server.closeIdleConnections();
      // In-flight acks finish (their rows are committing); their answers say Connection: close.
      const drained = await Promise.race([ingest.drain().then(() => true), delay(graceMs).then(() => false)]);
      if (!drained) logger.warn({ inFlight: ingest.inFlight }, 'in-flight requests did not finish in time');
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      await Promise.race([closed, delay(drained ? Math.min(graceMs, 2_000) : 0)]);
      clearInterval(sweep);
      server.closeAllConnections();
      await closed;
      tls?.watcher.close();
      await acme?.close();
      await watch?.close();
      await journal.close();
      await pipeline.stop();
      await delivery.close(opts.delivery?.graceMs ?? graceMs);
      await rejections.close();
      await api.close();
      if (ownStore) await store.close();
      logger.info('bluetick stopped');
    };

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
      close,
    };
  } catch (error) {
    for (const step of cleanup) {
      try {
        await step();
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
    throw error;
  }
}

const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** The response Node has attached to a connection: the one being answered now. */
type AttachedResponse = ServerResponse & { req?: IncomingMessage };

/** Connections whose bad request has been (or is about to be) answered; Node may report the same one again. */
const answeredClientErrors = new WeakSet<Duplex>();

/**
 * Replaces Node's default `clientError` answer so slow or malformed requests also land in
 * the rejection log. A reset by the client is not worth recording.
 *
 * A connection can carry a complete request whose answer is still on its way (waiting for
 * its journal commit) when the bytes after it turn out to be malformed (a pipelined
 * request, a body longer than its Content-Length). That request is answered first: an
 * error written now would take its place, so a POST that was committed would read as
 * refused. Only then is the bad request answered and the connection closed.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex, rejections: RejectionLog): void {
  if (answeredClientErrors.has(socket)) return;
  answeredClientErrors.add(socket);
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  if (!socket.writable) {
    // Already closing after an earlier answer: let that answer flush.
    if (!socket.writableEnded) socket.destroy();
    return;
  }
  const attached = (socket as { _httpMessage?: AttachedResponse | null })._httpMessage;
  if (attached && !attached.writableFinished) {
    // Written in full and flushing, or complete and waiting for its commit: it will finish soon.
    if (attached.writableEnded || (!attached.headersSent && attached.req?.complete === true)) {
      let waited = false;
      const next = (): void => {
        if (waited) return;
        waited = true;
        // Node attaches the next pipelined response (if any) before this runs.
        answeredClientErrors.delete(socket);
        onClientError(err, socket, rejections);
      };
      attached.once('finish', next);
      attached.once('close', next);
      return;
    }
    // An answer streaming without end (server-sent events): cut it, as Node does.
    if (attached.headersSent) {
      socket.destroy();
      return;
    }
  }
  const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const rejection: RejectionInput = {
    at: Date.now(),
    cause: timeout ? 'request-timeout' : 'bad-request',
    method: '-',
    path: '-',
    detail: code || err.message,
  };
  const remote = (socket as Socket).remoteAddress;
  if (remote !== undefined) rejection.remoteAddress = remote;
  rejections.add(rejection);
  const status = CLIENT_ERROR_ANSWERS[code] ?? '400 Bad Request';
  try {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}
