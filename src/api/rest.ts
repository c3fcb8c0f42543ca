/**
 * @module api/rest
 *
 * The REST API under `/api` (docs/reference/api.md), registered on the fastify app as one encapsulated
 * plugin: its guard, serializer and error handler apply to its routes only.
 *
 * - Guard: `Authorization: Bearer <adminToken>` on every request (`auth.ts`).
 * - JSON written with exact big integers (template ids beyond 2^53 stay digit for digit).
 * - Errors: `{ error, message, parameter? }`; 400 names the bad parameter.
 * - Endpoints: `endpoints/*.ts`, one module per resource, each declared on the router (`router.ts`); the OpenAPI document at `/api/openapi.json` is generated from them.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { BluetickError } from '../errors.js';
import { stringifyJson } from '../events/json.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { packageVersion } from '../version.js';
import type { AuthBackoff } from '../auth-backoff.js';
import { createAdminGuard } from './auth.js';
import type { RestContext } from './context.js';
import { registerAccessEndpoints } from './endpoints/access.js';
import { registerConfigSchemaEndpoint } from './endpoints/config-schema.js';
import { registerContactEndpoints } from './endpoints/contacts.js';
import { registerDeliveryEndpoints, type DeliveryEndpointsOptions } from './endpoints/deliveries.js';
import { type DeadLetterControls, registerDeadLetterEndpoints } from './endpoints/dead-letters.js';
import { registerConversationEndpoints } from './endpoints/conversations.js';
import { registerEventEndpoints } from './endpoints/events.js';
import { registerMessageEndpoints } from './endpoints/messages.js';
import { registerOpenApiEndpoint } from './endpoints/openapi.js';
import { registerOutboundEndpoints } from './endpoints/outbound.js';
import { registerRejectionEndpoints } from './endpoints/rejections.js';
import { registerSearchEndpoints } from './endpoints/search.js';
import { registerStatsEndpoints } from './endpoints/stats.js';
import { registerStorageEndpoints, type StorageEndpointOptions } from './endpoints/storage.js';
import { registerActivityEndpoints, registerLabelEndpoints } from './endpoints/activity.js';
import { registerStreamEndpoints, type StreamOptions } from './endpoints/stream.js';
import { registerTemplateEndpoints } from './endpoints/templates.js';
import { registerConsentEndpoints } from './endpoints/consent.js';
import { registerHealthEndpoints } from './endpoints/health.js';
import { ApiError, ApiRouter } from './router.js';

export interface RestApiOptions {
  store: Store;
  /** Bearer token every request must carry. */
  adminToken?: string | undefined;
  /** The guard to use instead of one made from `adminToken` (the server shares one with its backoff). */
  guard?: ReturnType<typeof createAdminGuard>;
  /** The failed-authentication record served at `/api/rejections/addresses`. */
  backoff?: AuthBackoff;
  /**
   * Subscribes to "events may have been recorded" (the pipeline's `batch` notification);
   * returns an unsubscribe function. Live streams then answer at once instead of at the
   * next poll.
   */
  notify?: (listener: () => void) => () => void;
  /** Aborted when the server shuts down: open live streams end so the server can close. */
  shutdown?: AbortSignal;
  stream?: StreamOptions;
  /** Clock for the customer-service window (tests). Default `Date.now`. */
  now?: () => number;
  /** Deliveries, dead letters, replay and sink health (`endpoints/deliveries.ts`). */
  delivery?: DeliveryEndpointsOptions;
  /** Dead-letter controls (`POST /api/dead-letters/drop`); absent: those routes are not served. */
  deadLetters?: DeadLetterControls;
  /** The configured name per business phone number (`labels`), served by `GET /api/labels`. */
  labels?: Readonly<Record<string, string>>;
  /** The data folder and its files for `GET /api/storage` (`endpoints/storage.ts`). */
  storage?: StorageEndpointOptions;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** Registers every `/api` route on `app`. */
export function registerRestApi(app: FastifyInstance, opts: RestApiOptions & { metrics: Metrics; logger?: Logger }): void {
  app.register(async (api) => {
    api.addHook('onRequest', opts.guard ?? createAdminGuard({ token: opts.adminToken }));
    api.addHook('onSend', async (_request, reply, payload) => {
      reply.header('Cache-Control', 'no-store');
      return payload;
    });
    api.setReplySerializer((payload) => stringifyJson(payload));
    api.setErrorHandler((error: FastifyError | BluetickError, request, reply) => {
      if (error instanceof ApiError) {
        reply.code(error.statusCode);
        return {
          error: REASONS[error.statusCode] ?? 'Error',
          code: error.code,
          message: error.message,
          ...(error.parameter !== undefined ? { parameter: error.parameter } : {}),
        };
      }
      // A refusal from the code below the routes (an unknown replay route, ...): its status and message.
      if (error instanceof BluetickError && error.status !== undefined && error.status < 500) {
        reply.code(error.status);
        return { error: REASONS[error.status] ?? 'Error', code: error.code, message: error.message };
      }
      const given = (error as FastifyError).statusCode;
      const status = typeof given === 'number' && given >= 400 && given < 500 ? given : 500;
      if (status === 500) request.log.error({ err: error }, 'API request failed');
      reply.code(status);
      // fastify's own refusals (a body that is not JSON, ...) are bad requests too.
      const code = status === 400 ? { code: 'BT_ERR_API_BAD_REQUEST' } : {};
      return { error: REASONS[status] ?? 'Error', ...code, message: status === 500 ? 'internal error; see the server log' : error.message };
    });

    const ctx: RestContext = { store: opts.store, metrics: opts.metrics, now: opts.now ?? Date.now, ...(opts.backoff ? { backoff: opts.backoff } : {}) };
    if (opts.labels) ctx.labels = opts.labels;
    const router = new ApiRouter(api as unknown as FastifyInstance);
    registerEventEndpoints(router, ctx);
    registerStreamEndpoints(router, {
      store: opts.store,
      ...(opts.notify ? { notify: opts.notify } : {}),
      ...(opts.shutdown ? { shutdown: opts.shutdown } : {}),
      ...(opts.stream ? { options: opts.stream } : {}),
      onError: (err) => opts.logger?.warn({ err }, 'live stream ended by a store error'),
    });
    registerMessageEndpoints(router, ctx);
    registerConversationEndpoints(router, ctx);
    registerContactEndpoints(router, ctx);
    registerTemplateEndpoints(router, ctx);
    // Account state: consent and health.
    registerConsentEndpoints(router, ctx);
    registerHealthEndpoints(router, ctx);
    registerRejectionEndpoints(router, ctx);
    registerStatsEndpoints(router, ctx);
    registerStorageEndpoints(router, ctx, opts.storage);
    registerActivityEndpoints(router, ctx);
    registerLabelEndpoints(router, ctx);
    if (opts.delivery) registerDeliveryEndpoints(router, opts.delivery);
    registerAccessEndpoints(router, ctx);
    registerOutboundEndpoints(router, ctx);
    registerSearchEndpoints(router, ctx);
    if (opts.deadLetters) registerDeadLetterEndpoints(router, opts.deadLetters);
    registerConfigSchemaEndpoint(router);
    registerOpenApiEndpoint(router, {
      title: 'bluetick API',
      version: packageVersion(),
      description:
        'WhatsApp notification state: events, message status timelines, conversations and the 24-hour window, contacts, templates, and a live stream. ' +
        'Lists take `after` and `limit` and answer `{ items, next }`; pass `next` as `after` to read on.',
    });
  });
}
