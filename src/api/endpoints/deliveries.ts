/**
 * @module api/endpoints/deliveries
 *
 * Deliveries, dead letters, replay and sink health under `/api`:
 *
 * - `GET  /api/deliveries`               filter by `state`, `route`, `sink`, `eventId`, `orderingKey`, `origin`; paged
 * - `GET  /api/deliveries/{id}`          one delivery with every attempt
 * - `GET  /api/dead-letters`             dead deliveries (same filters but `state`)
 * - `POST /api/dead-letters/redrive`     `{ "id": 7 }`, `{ "ids": [...] }`, `{ "filter": {...} }` or `{ "all": true }`
 * - `POST /api/replay`                   `{ "route", "eventIds" | "since"/"until" | "filter", "dryRun"?, "limit"? }`
 * - `GET  /api/sinks`                    breaker state, success rate, latency and backlog per sink and handler
 * - `POST /api/sinks/{name}/probe`       ends the sink's circuit-breaker cool-down: the next delivery goes now
 *
 * They are declared on the `/api` router like every other route (`../routing.ts`), so the
 * OpenAPI document covers them. Times in answers are ISO-8601 UTC; keys that do not apply are
 * omitted. Bad input is answered 400 with `{ error, message, parameter }`, the message
 * starting with the key.
 */
import { z } from 'zod';
import type { DeliveryRuntime, SinkStatus } from '../../dispatch/runtime.js';
import { EVENT_TYPES } from '../../events/types.js';
import { DELIVERY_STATES, type Delivery, type DeliveryAttempt, type DeliveryFilter, type DeliveryState } from '../../store/deliveries.js';
import type { Store } from '../../store/store.js';
import { ApiError, notFound, type ApiRouter } from '../router.js';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  deliveryDetailSchema,
  deliveryPageSchema,
  probeResultSchema,
  redriveResultSchema,
  replayResultSchema,
  sinkStatusListSchema,
} from '../schemas.js';

export interface DeliveryEndpointsOptions {
  store: Pick<Store, 'deliveries'>;
  delivery: Pick<DeliveryRuntime, 'redrive' | 'replay' | 'sinkStatus' | 'probe' | 'pausedSinks'>;
}

const text = z.string().min(1, { error: 'expected a non-empty value' }).max(1024, { error: 'expected at most 1024 characters' });
const list = (values: readonly string[]) =>
  z.string().transform((value, ctx) => {
    const items = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
    const bad = items.find((v) => !values.includes(v));
    if (items.length === 0 || bad !== undefined) {
      const message = `${bad !== undefined ? `unknown value "${bad}"; ` : ''}expected one or more of ${values.join(', ')}`;
      ctx.issues.push({ code: 'custom', input: value, message });
      return z.NEVER;
    }
    return items;
  });
const cursor = z.string().regex(/^\d{1,15}$/, { error: 'expected the `next` value of a previous page' }).transform(Number);
const LIMIT_ERROR = `expected an integer from 1 to ${MAX_LIMIT}`;
const limit = z
  .string()
  .regex(/^\d{1,6}$/, { error: LIMIT_ERROR })
  .transform(Number)
  .pipe(z.number().int().min(1, { error: LIMIT_ERROR }).max(MAX_LIMIT, { error: LIMIT_ERROR }));

const filterFields = {
  route: text.optional(),
  sink: text.optional(),
  eventId: text.optional(),
  orderingKey: text.optional(),
  origin: z.enum(['event', 'replay'], { error: 'expected event or replay' }).optional(),
};

const deliveriesQuery = z.strictObject({
  ...filterFields,
  state: list(DELIVERY_STATES).optional(),
  after: cursor.optional(),
  limit: limit.optional(),
});
const deadLettersQuery = deliveriesQuery.omit({ state: true });
const idParams = z.strictObject({ id: z.string().regex(/^\d{1,15}$/, { error: 'expected a delivery id' }).transform(Number) });

const time = z.union([
  z.number().int().nonnegative(),
  z.string().transform((value, ctx) => {
    const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
    if (!Number.isFinite(ms)) {
      ctx.issues.push({ code: 'custom', input: value, message: 'expected an ISO-8601 time or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  }),
]);

const REDRIVE_SELECTORS = ['id', 'ids', 'filter', 'all'] as const;
const redriveBody = z
  .strictObject({
    id: z.number().int().positive().optional().meta({ description: 'One dead delivery.' }),
    ids: z.array(z.number().int().positive()).min(1).max(10_000).optional().meta({ description: 'Several dead deliveries.' }),
    filter: z.strictObject(filterFields).optional().meta({ description: 'Every dead delivery that matches.' }),
    all: z.literal(true).optional().meta({ description: 'Every dead delivery.' }),
  })
  .superRefine((body, ctx) => {
    if (REDRIVE_SELECTORS.filter((key) => body[key] !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'expected { "id" }, { "ids": [...] }, { "filter": {...} } or { "all": true }' });
    }
  })
  .meta({ description: 'Exactly one of `id`, `ids`, `filter` or `all`.' });

const replayBody = z.strictObject({
  route: text,
  eventIds: z.array(text).min(1).max(10_000).optional(),
  since: time.optional(),
  until: time.optional(),
  filter: z
    .strictObject({
      type: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
      channel: text.optional(),
      phoneNumberId: text.optional(),
      from: text.optional(),
      messageId: text.optional(),
    })
    .optional(),
  dryRun: z.boolean().optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});

const nameParams = z.strictObject({ name: z.string().min(1).max(1024).meta({ description: 'The sink name.' }) });

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A delivery as the API shows it: times as ISO-8601. */
export function deliveryView(d: Delivery): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: d.id,
    eventId: d.eventId,
    eventSeq: d.eventSeq,
    eventType: d.eventType,
    route: d.route,
    sink: d.sink,
    orderingKey: d.orderingKey,
    origin: d.origin,
    state: d.state,
    blocked: d.blocked,
    attempts: d.attempts,
    redrives: d.redrives,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
  if (d.state === 'pending') out.nextAttemptAt = iso(d.nextAttemptAt);
  if (d.leaseOwner !== undefined) out.leaseOwner = d.leaseOwner;
  if (d.leaseExpiresAt !== undefined) out.leaseExpiresAt = iso(d.leaseExpiresAt);
  if (d.lastAttemptAt !== undefined) out.lastAttemptAt = iso(d.lastAttemptAt);
  if (d.completedAt !== undefined) out.completedAt = iso(d.completedAt);
  if (d.lastStatusCode !== undefined) out.lastStatusCode = d.lastStatusCode;
  if (d.lastError !== undefined) out.lastError = d.lastError;
  if (d.holdsLane === true) out.holdsLane = true;
  if (d.droppedAt !== undefined) out.droppedAt = iso(d.droppedAt);
  return out;
}

function attemptView(a: DeliveryAttempt): Record<string, unknown> {
  const { startedAt, deliveryId: _d, ...rest } = a;
  return { ...rest, startedAt: iso(startedAt) };
}

function sinkView(s: SinkStatus): Record<string, unknown> {
  const out: Record<string, unknown> = { ...s };
  if (s.breaker !== undefined) {
    const { openedAt, nextProbeAt, ...b } = s.breaker;
    out.breaker = {
      ...b,
      ...(openedAt !== undefined ? { openedAt: iso(openedAt) } : {}),
      ...(nextProbeAt !== undefined ? { nextProbeAt: iso(nextProbeAt) } : {}),
    };
  }
  if (s.lastAttemptAt !== undefined) out.lastAttemptAt = iso(s.lastAttemptAt);
  if (s.lastSuccessAt !== undefined) out.lastSuccessAt = iso(s.lastSuccessAt);
  return out;
}

type FilterQuery = { [K in 'route' | 'sink' | 'eventId' | 'orderingKey']?: string | undefined } & { origin?: 'event' | 'replay' | undefined };

function filterOf(q: FilterQuery): DeliveryFilter {
  const f: DeliveryFilter = {};
  if (q.route !== undefined) f.route = q.route;
  if (q.sink !== undefined) f.sink = q.sink;
  if (q.eventId !== undefined) f.eventId = q.eventId;
  if (q.orderingKey !== undefined) f.orderingKey = q.orderingKey;
  if (q.origin !== undefined) f.origin = q.origin;
  return f;
}

/** Registers the routes on the `/api` router (behind its admin guard, error handler and serializer). */
export function registerDeliveryEndpoints(router: ApiRouter, options: DeliveryEndpointsOptions): void {
  const { store, delivery } = options;

  const page = async (filter: DeliveryFilter, q: { after?: number | undefined; limit?: number | undefined }) => {
    const result = await store.deliveries.list(filter, { limit: q.limit ?? DEFAULT_LIMIT, ...(q.after !== undefined ? { after: q.after } : {}) });
    return { items: result.items.map(deliveryView), ...(result.next !== undefined ? { next: String(result.next) } : {}) };
  };

  router.get(
    {
      path: '/api/deliveries',
      operationId: 'listDeliveries',
      tag: 'deliveries',
      summary: 'List deliveries',
      description: 'Deliveries of recorded events to sinks and handlers, in the order they were created.',
      query: deliveriesQuery,
      response: deliveryPageSchema,
    },
    async ({ query }) => {
      const filter = filterOf(query);
      if (query.state !== undefined) filter.state = query.state as DeliveryState[];
      return page(filter, query);
    },
  );

  router.get(
    {
      path: '/api/deliveries/{id}',
      operationId: 'getDelivery',
      tag: 'deliveries',
      summary: 'One delivery with every attempt',
      params: idParams,
      response: deliveryDetailSchema,
      notFound: true,
    },
    async ({ params }) => {
      const d = await store.deliveries.get(params.id);
      if (d === undefined) throw notFound(`no delivery ${params.id}`);
      const { attemptLog, ...rest } = d;
      return { ...deliveryView(rest), attemptLog: attemptLog.map(attemptView) };
    },
  );

  router.get(
    {
      path: '/api/dead-letters',
      operationId: 'listDeadLetters',
      tag: 'deliveries',
      summary: 'List dead deliveries',
      description: 'Deliveries that used up their attempts or were refused for good; redrive them with `POST /api/dead-letters/redrive`.',
      query: deadLettersQuery,
      response: deliveryPageSchema,
    },
    async ({ query }) => page({ ...filterOf(query), state: ['dead'], dropped: false }, query),
  );

  router.post(
    {
      path: '/api/dead-letters/redrive',
      operationId: 'redriveDeadLetters',
      tag: 'deliveries',
      summary: 'Send dead deliveries again',
      description: 'Dead deliveries become pending with a fresh attempt count. The answer says when delivery starts: now, or when a paused sink\'s circuit breaker lets it.',
      body: redriveBody,
      response: redriveResultSchema,
    },
    async ({ body }) => {
      const ids =
        body.id !== undefined
          ? await delivery.redrive({ ids: [body.id] })
          : body.ids !== undefined
            ? await delivery.redrive({ ids: body.ids })
            : body.filter !== undefined
              ? await delivery.redrive({ filter: filterOf(body.filter) })
              : await delivery.redrive({ all: true });
      // When delivery really starts: now, unless a sink's circuit breaker holds it back.
      const paused = delivery.pausedSinks().map(({ sink, breaker }) => ({
        sink,
        breaker: breaker.state,
        deliveryStartsAt: iso(breaker.nextProbeAt ?? Date.now()),
      }));
      const message =
        ids.length === 0
          ? 'nothing to redrive'
          : paused.length === 0
            ? 'delivery starts now'
            : `delivery starts now, except to ${paused.map((p) => `${p.sink} (circuit ${p.breaker}, next probe at ${p.deliveryStartsAt}; probe now with POST /api/sinks/${p.sink}/probe)`).join(', ')}`;
      return { redriven: ids.length, ids, message, ...(paused.length > 0 ? { pausedSinks: paused } : {}) };
    },
  );

  router.post(
    {
      path: '/api/replay',
      operationId: 'replay',
      tag: 'deliveries',
      summary: 'Deliver stored events to a route again',
      description: 'Select events by id, by time range or by filter; `dryRun` lists what would be sent. Replayed deliveries carry `webhook-replay: 1`.',
      body: replayBody,
      response: replayResultSchema,
    },
    async ({ body }) => {
      if (body.since !== undefined && body.until !== undefined && body.until <= body.since) throw new ApiError(400, 'until: must be after since', 'until');
      return delivery.replay({
        route: body.route,
        ...(body.eventIds !== undefined ? { eventIds: body.eventIds } : {}),
        ...(body.since !== undefined ? { since: body.since } : {}),
        ...(body.until !== undefined ? { until: body.until } : {}),
        ...(body.filter !== undefined ? { filter: Object.fromEntries(Object.entries(body.filter).filter(([, v]) => v !== undefined)) } : {}),
        ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
        ...(body.limit !== undefined ? { limit: body.limit } : {}),
      });
    },
  );

  router.get(
    {
      path: '/api/sinks',
      operationId: 'listSinks',
      tag: 'deliveries',
      summary: 'Sink health',
      description: 'Circuit-breaker state, success rate, latency and backlog per sink and handler.',
      response: sinkStatusListSchema,
    },
    async () => ({ items: (await delivery.sinkStatus()).map(sinkView) }),
  );

  router.post(
    {
      path: '/api/sinks/{name}/probe',
      operationId: 'probeSink',
      tag: 'deliveries',
      summary: "End a sink's circuit-breaker cool-down",
      description: 'The next delivery to the sink goes now, as the probe that can close the circuit.',
      params: nameParams,
      response: probeResultSchema,
      notFound: true,
    },
    async ({ params }) => {
      const result = delivery.probe(params.name);
      if (result === undefined) throw notFound(`no sink ${params.name}`);
      const { breaker, ...rest } = result;
      const message = result.probing
        ? 'circuit cool-down ended: the next delivery goes now as the probe'
        : breaker === undefined || breaker.state === 'closed'
          ? 'circuit closed: deliveries are not held back'
          : 'a probe is already under way';
      return {
        ...rest,
        message,
        ...(breaker !== undefined ? { breaker: { state: breaker.state, ...(breaker.nextProbeAt !== undefined ? { nextProbeAt: iso(breaker.nextProbeAt) } : {}) } } : {}),
      };
    },
  );
}
