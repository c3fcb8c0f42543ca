/**
 * @module server/api
 *
 * The fastify side of the server: `/healthz`, `/readyz`, `/metrics`, the REST API under `/api`
 * and the console, with the guards in front of them and the failed-login backoff that ingest
 * shares.
 */
import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createAccessGuard } from '../api/access.js';
import type { AdminTokenInfo } from '../api/admin-token.js';
import { buildApi } from '../api/app.js';
import { createAdminGuard } from '../api/auth.js';
import { AuthBackoff } from '../auth-backoff.js';
import type { Config } from '../config/types.js';
import type { DeliveryRuntime } from '../dispatch/runtime.js';
import type { JournalWriter } from '../journal/writer.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PipelineHandle } from '../pipeline.js';
import type { Store } from '../store/store.js';
import type { TlsMaterial } from '../tls.js';
import type { StartServerOptions } from './types.js';

/** The DNS names a certificate (chain) is for, without wildcards: names clients reach this server by. */
function certificateNames(cert: string | Buffer): string[] {
  try {
    const names = (new X509Certificate(cert).subjectAltName ?? '').split(', ');
    return names.filter((n) => n.startsWith('DNS:') && !n.startsWith('DNS:*.')).map((n) => n.slice(4).toLowerCase());
  } catch {
    return [];
  }
}

/** Failed authentications per client address, for ingest and `/api` alike. */
export function createBackoff(config: Config, logger: Logger): AuthBackoff {
  const sc = config.server;
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
  return backoff;
}

/** The parts the API reads and steers. */
export interface ServerApiParts {
  config: Config;
  opts: StartServerOptions;
  store: Store;
  journal: JournalWriter;
  pipeline: PipelineHandle;
  delivery: DeliveryRuntime;
  metrics: Metrics;
  logger: Logger;
  backoff: AuthBackoff;
  adminToken: AdminTokenInfo;
  tlsMaterial: TlsMaterial | undefined;
  /** Ends the API's live streams at shutdown, so open connections do not hold the close. */
  shutdown: AbortSignal;
}

/** Builds the fastify app (never listening) and waits until it is ready. */
export async function createServerApi(parts: ServerApiParts): Promise<FastifyInstance> {
  const { config, opts, store, journal, pipeline, delivery, metrics, logger, backoff, adminToken, tlsMaterial } = parts;
  const sc = config.server;
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
      shutdown: parts.shutdown,
      delivery: { store, delivery },
      storage: {
        dataDir: sc.dataDir,
        minFreeDiskBytes: sc.minFreeDiskBytes,
        retention: config.retention.limits,
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
  return api;
}
