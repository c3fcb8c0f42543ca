/**
 * @module server
 *
 * The composition root: one resolved config in, one running receiver out.
 *
 *   store (SQLite, migrated) -> JournalWriter (group commit) -> Pipeline (after the ack)
 *   one node:http / https server:  /webhooks/*  -> ingest handler (lean, benchmarked)
 *                                  everything else -> fastify (health, readiness, metrics, later /api)
 *
 * Shutdown order matters: stop accepting, let in-flight acks finish (their rows are being
 * committed), flush the journal, stop the pipeline after its current batch, then close the
 * store. Rows acked but not yet normalized stay `pending` and the next start picks them up.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/app.js';
import type { ChannelConfig, Config } from './config/resolve.js';
import { hasCredentials } from './config/resolve.js';
import { BluetickError } from './errors.js';
import type { Provider } from './events/types.js';
import { JournalWriter } from './ingest/journal-writer.js';
import { IngestHandler, RejectionLog, isIngestUrl } from './ingest/routes.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { openStore, type OpenStoreOptions } from './store/open.js';
import type { RejectionInput, Store } from './store/store.js';
import { TlsWatcher, describeCertificate, loadTlsMaterial, type CertificateInfo } from './tls.js';

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
}

/** One channel's public endpoint, as printed at start. */
export interface WebhookEndpoint {
  channel: string;
  url: string;
  provider: ChannelConfig['provider'];
  /** What a POST to this URL must carry, in words. */
  credentials: string[];
}

export interface RunningServer {
  /** Base URL, e.g. `https://127.0.0.1:8443`. */
  url: string;
  /** Channel name -> full webhook URL. */
  webhookUrls: Record<string, string>;
  webhooks: WebhookEndpoint[];
  address: AddressInfo;
  server: Server;
  config: Config;
  store: Store;
  journal: JournalWriter;
  pipeline: Pipeline;
  metrics: Metrics;
  api: FastifyInstance;
  ingest: IngestHandler;
  rejections: RejectionLog;
  tls?: { watcher: TlsWatcher; certificate: CertificateInfo };
  /** Graceful: stop accepting, finish in-flight acks, flush the journal, stop the pipeline, close the store. */
  close(): Promise<void>;
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
  if (!hasCredentials(channel)) out.push('NOTHING: unauthenticated POSTs are accepted (loopback only)');
  if (channel.meta.verifyTokens.length > 0) out.push('GET handshake answered for the configured verify token');
  return out;
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
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const { server: sc } = config;

  // Refuse a broken certificate before touching the store.
  const tlsMaterial = sc.tls ? loadTlsMaterial(sc.tls) : undefined;

  const ownStore = opts.store === undefined;
  const store = opts.store ?? (await openStore({ ...opts.storeOptions, dataDir: sc.dataDir }));
  const cleanup: Array<() => Promise<void> | void> = [];
  if (ownStore) cleanup.push(() => store.close());

  try {
    const metrics = new Metrics({ processMetrics: opts.processMetrics ?? true });
    metrics.setPipelineLag(async () => {
      const counts = await store.counts();
      return counts.oldestPendingReceivedAt === undefined ? 0 : Math.max(0, (Date.now() - counts.oldestPendingReceivedAt) / 1000);
    });

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
    const pipeline = new Pipeline(store, {
      providerFor: (channel) => providers.get(channel),
      logger,
      ...(opts.pipeline?.batchSize !== undefined ? { batchSize: opts.pipeline.batchSize } : {}),
      ...(opts.pipeline?.pollMs !== undefined ? { pollMs: opts.pipeline.pollMs } : {}),
    });
    pipeline.on('batch', (info) => {
      if (info.duplicates > 0) metrics.duplicateEvents.inc(info.duplicates);
    });
    pipeline.on('recorded', (stored) => metrics.eventsRecorded.inc({ type: stored.event.type }));
    cleanup.unshift(() => pipeline.stop());

    const rejections = new RejectionLog(store, { metrics, logger });
    cleanup.unshift(() => rejections.close());

    const api = buildApi({ store, journal, metrics, logger });
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
      logger,
    });

    const listener = (req: IncomingMessage, res: ServerResponse): void => {
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
    const httpsServer = tlsMaterial ? createHttpsServer({ ...httpOptions, ...tlsMaterial }, listener) : undefined;
    // An https.Server is an http.Server on top of TLS; one type keeps the rest of this simple.
    const server: Server = httpsServer ? (httpsServer as unknown as Server) : createHttpServer(httpOptions, listener);
    server.keepAliveTimeout = sc.limits.keepAliveTimeoutMs;
    server.maxConnections = sc.limits.maxConnections;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, rejections));
    if (tlsMaterial) {
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

    let tls: RunningServer['tls'];
    if (httpsServer && tlsMaterial && sc.tls) {
      const watcher = new TlsWatcher(httpsServer, sc.tls, tlsMaterial, {
        logger,
        ...(opts.tlsWatch?.debounceMs !== undefined ? { debounceMs: opts.tlsWatch.debounceMs } : {}),
        ...(opts.tlsWatch?.pollMs !== undefined ? { pollMs: opts.tlsWatch.pollMs } : {}),
      });
      tls = { watcher, certificate: describeCertificate(tlsMaterial.cert) };
    }

    if (opts.pipeline?.start !== false) pipeline.start();

    const url = `${tlsMaterial ? 'https' : 'http'}://${formatHost(sc.host)}:${address.port}`;
    const webhooks: WebhookEndpoint[] = config.channels.map((c) => ({
      channel: c.name,
      url: `${url}${c.path}`,
      provider: c.provider,
      credentials: describeCredentials(c),
    }));
    const webhookUrls = Object.fromEntries(webhooks.map((w) => [w.channel, w.url]));
    for (const c of config.channels) {
      if (!hasCredentials(c)) {
        logger.warn({ channel: c.name, path: c.path }, 'channel accepts UNAUTHENTICATED posts (loopback only)');
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
      await journal.close();
      await pipeline.stop();
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
      metrics,
      api,
      ingest,
      rejections,
      ...(tls ? { tls } : {}),
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

/**
 * Replaces Node's default `clientError` answer so slow or malformed requests also land in
 * the rejection log. A reset by the client is not worth recording.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex, rejections: RejectionLog): void {
  const code = err.code ?? '';
  const inProgress = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable || inProgress?.headersSent) {
    socket.destroy();
    return;
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
