/**
 * @module server/types
 *
 * What {@link startServer} takes and hands out: the options, the public handle and the
 * internal parts behind it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AcmeManager, AcmeManagerOptions } from '../acme/manager.js';
import type { AdminTokenInfo } from '../api/admin-token.js';
import type { StreamOptions } from '../api/endpoints/stream.js';
import type { AuthBackoff } from '../auth-backoff.js';
import type { ChannelConfig, Config } from '../config/types.js';
import type { DeliveryRuntime, HandlerRoute } from '../dispatch/runtime.js';
import type { JournalWriter } from '../journal/writer.js';
import type { IngestHandler, RejectionLog } from '../ingest/handler.js';
import type { StatFs } from '../disk.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PipelineHandle } from '../pipeline.js';
import type { OpenStoreOptions } from '../store/open.js';
import type { Pruner } from '../retention/pruner.js';
import type { Store } from '../store/store.js';
import type { CertificateInfo, TlsWatcher } from '../tls.js';
import type { SilenceWatch } from '../watch/watch.js';

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
  /** TLS reload tuning (tests use short values) and a hook called after each reload that took effect. */
  tlsWatch?: { debounceMs?: number; pollMs?: number; onReload?: (info: CertificateInfo) => void };
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
  /** Retention pruner: an injected clock, and `start: false` to run its passes by hand (`pruner.run()`). */
  retention?: { now?: () => number; start?: boolean };
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
  /** Runs on a thread of the store's when its capabilities say so (SQLite in a worker, PostgreSQL: the defaults). */
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
  /** Prunes by age per data class (`retention`). */
  pruner: Pruner;
}
