/**
 * @module api/app
 *
 * The fastify application for everything that is not `/webhooks/*`: operational routes
 * now, the REST API and console later. It is built here and never listens; `server.ts`
 * owns the one HTTP server and hands these requests over, and tests can use `inject()`.
 *
 * - `GET /healthz`: 200 while the process runs (liveness).
 * - `GET /readyz`: 200 when the store can take a write and the journal writer is healthy,
 *   503 otherwise (readiness: a load balancer should stop sending webhooks here). The answer
 *   is the same for anyone (`ready` / `unavailable`); why it is unavailable (a store error
 *   may name database hosts) goes to the log only.
 * - `GET /metrics`: Prometheus text from the server's own registry, for the metrics token or
 *   the admin token (`security.metricsGuard`).
 *
 * Everything else (the API, the console) answers only to known host names
 * (`security.publicHosts`, see `auth.ts`). Served over TLS, every answer carries HSTS.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { principalOf } from './access.js';
import { createHostGuard } from './auth.js';
import { maskText } from './mask.js';
import { parseJsonText, stringifyJson } from '../events/json.js';
import { RedactingLogController } from './request-log.js';
import { consoleEndpoints, type ConsoleEndpointsOptions } from './endpoints/console.js';
import { registerRestApi, type RestApiOptions } from './rest.js';

export interface ApiDeps {
  store: Pick<Store, 'ping'>;
  /** The journal writer; only its health is read. */
  journal: { readonly healthy: boolean };
  metrics: Metrics;
  logger?: Logger;
  /** How long `/readyz` waits for the store. Default 2000 ms. */
  readyTimeoutMs?: number;
  /** Events, state, stats, deliveries, live stream and OpenAPI under `/api` (`rest.ts`). */
  rest?: RestApiOptions;
  /** The web console at `/` (`endpoints/console.ts`), served from the built assets. */
  console?: ConsoleEndpointsOptions;
  security?: {
    /** Names the API and console answer to besides loopback names. */
    publicHosts: readonly string[];
    /** Guards `/metrics` (metrics token or admin token). Absent: `/metrics` is open (tests of this module). */
    metricsGuard?: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
    /** Served over TLS: send `Strict-Transport-Security`. */
    hsts?: boolean;
  };
}

/** The answer with message text masked, when the caller's token asks for that (JSON answers only). */
async function maskedAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (principalOf(request)?.maskText !== true || typeof payload !== 'string') return payload;
  const type = reply.getHeader('content-type');
  if (typeof type !== 'string' || !type.startsWith('application/json')) return payload;
  try {
    return stringifyJson(maskText(parseJsonText(payload)));
  } catch {
    return payload;
  }
}

/** One year, subdomains left alone (they may be other services). */
export const HSTS_VALUE = 'max-age=31536000';

const OPERATIONAL_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** One route as registered with fastify: `GET /api/events/:id`. */
export interface RegisteredRoute {
  method: string;
  url: string;
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/**
 * Every route registered on an app built by {@link buildApi} (HEAD excepted), in the order
 * registered; complete once the app is ready. A test compares the `/api` ones with the
 * OpenAPI document, so a route added outside the router cannot go unnoticed.
 */
export function registeredEndpoints(app: FastifyInstance): readonly RegisteredRoute[] {
  return registered.get(app) ?? [];
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @example
 * ```ts
 * const app = buildApi({ store, journal, metrics });
 * const res = await app.inject({ url: '/readyz' });
 * ```
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Health checks and scrapes arrive every few seconds; a line each would drown the log.
    logController: new RedactingLogController({
      disableRequestLogging: (request) => OPERATIONAL_PATHS.has(request.url.split('?', 1)[0] ?? ''),
    }),
    // Behind a proxy, `request.ip` should be the client's; the server decides if that applies.
    trustProxy: false,
  }) as unknown as FastifyInstance;
  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2_000;
  const security = deps.security;
  if (security) {
    const hostGuard = createHostGuard(security.publicHosts);
    // Health checks come from load balancers and orchestrators by address: no Host check there.
    app.addHook('onRequest', async (request, reply) => {
      if (security.hsts) reply.header('Strict-Transport-Security', HSTS_VALUE);
      if (OPERATIONAL_PATHS.has(request.url.split('?', 1)[0] ?? '')) return undefined;
      return hostGuard(request, reply);
    });
  }
  let lastNotReady = 0;

  app.get('/healthz', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    let store = 'ok';
    try {
      await withTimeout(deps.store.ping(), readyTimeoutMs, 'the store');
    } catch (error) {
      store = error instanceof Error ? error.message : String(error);
    }
    const journal = deps.journal.healthy ? 'ok' : 'the latest journal commit failed';
    const ready = store === 'ok' && journal === 'ok';
    reply.code(ready ? 200 : 503);
    if (!ready && Date.now() - lastNotReady > 5_000) {
      // Probes come every few seconds: one line in a while says why.
      lastNotReady = Date.now();
      deps.logger?.warn({ store, journal }, 'not ready');
    }
    return { status: ready ? 'ready' : 'unavailable' };
  });

  const metricsOptions = security?.metricsGuard ? { onRequest: security.metricsGuard } : {};
  app.get('/metrics', metricsOptions, async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    reply.type(deps.metrics.contentType);
    return deps.metrics.text();
  });

  // Viewers whose token masks message text get every `/api` answer masked (`mask.ts`).
  app.addHook('onSend', maskedAnswer);

  if (deps.rest) registerRestApi(app, { ...deps.rest, metrics: deps.metrics, ...(deps.logger ? { logger: deps.logger } : {}) });
  if (deps.console) void app.register(consoleEndpoints, deps.console);

  return app;
}
