/**
 * @module api/routes/deliveries
 *
 * Deliveries, dead letters, replay and sink health under `/api`:
 *
 * - `GET  /api/deliveries`               filter by `state`, `route`, `sink`, `eventId`, `orderingKey`, `origin`; paged
 * - `GET  /api/deliveries/{id}`          one delivery with every attempt
 * - `GET  /api/dead-letters`             dead deliveries (same filters but `state`)
 * - `POST /api/dead-letters/redrive`     `{ "id": 7 }`, `{ "ids": [...] }`, `{ "filter": {...} }` or `{ "all": true }`
 * - `POST /api/replay`                   `{ "route", "eventIds" | "since"/"until" | "filter", "dryRun"?, "limit"? }`
 * - `GET  /api/sinks`                    breaker state, success rate, latency and backlog per sink and handler
 * - `POST /api/sinks/:name/probe`        ends the sink's circuit-breaker cool-down: the next delivery goes now
 *
 * Times in answers are ISO-8601 UTC; keys that do not apply are omitted. Bad input is
 * answered 400 with `{ error, message, parameter }`, the message starting with the key.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DeliveryRuntime, SinkStatus } from '../../dispatch/runtime.js';
import { ReplayError } from '../../dispatch/replay.js';
import { EVENT_TYPES } from '../../events/types.js';
import { DELIVERY_STATES, type Delivery, type DeliveryAttempt, type DeliveryFilter, type DeliveryState } from '../../store/deliveries.js';
import type { Store } from '../../store/store.js';

export interface DeliveryRoutesOptions {
  store: Pick<Store, 'listDeliveries' | 'getDelivery'>;
  delivery: Pick<DeliveryRuntime, 'redrive' | 'replay' | 'sinkStatus' | 'probe' | 'pausedSinks'>;
  /** An `onRequest` check run before every route here (the admin guard of `api/auth.ts`). */
  guard?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 50;

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

const redriveBody = z.union(
  [
    z.strictObject({ id: z.number().int().positive() }),
    z.strictObject({ ids: z.array(z.number().int().positive()).min(1).max(10_000) }),
    z.strictObject({ filter: z.strictObject(filterFields) }),
    z.strictObject({ all: z.literal(true) }),
  ],
  { error: 'expected { "id" }, { "ids": [...] }, { "filter": {...} } or { "all": true }' },
);

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

class BadRequest extends Error {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(`${parameter}: ${message}`);
    this.parameter = parameter;
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'query' | 'body' | 'path'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new BadRequest(issue.keys[0] ?? where, 'unknown key');
  const name = issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  throw new BadRequest(name, message);
}

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

function fail(reply: FastifyReply, status: number, message: string, parameter?: string) {
  const error = status === 400 ? 'Bad Request' : status === 404 ? 'Not Found' : 'Error';
  return reply.code(status).send({ error, message, ...(parameter !== undefined ? { parameter } : {}) });
}

/**
 * Registers the routes; mount with `prefix: '/api'`, behind the API's bearer-token check.
 *
 * @example
 * app.register(deliveryRoutes, { prefix: '/api', store, delivery });
 */
export async function deliveryRoutes(app: FastifyInstance, options: DeliveryRoutesOptions): Promise<void> {
  const { store, delivery } = options;
  if (options.guard) app.addHook('onRequest', options.guard);

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof BadRequest) return fail(reply, 400, error.message, error.parameter);
    if (error instanceof ReplayError) return fail(reply, 400, error.message);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return fail(reply, status, (error as Error).message);
    throw error;
  });

  const page = async (filter: DeliveryFilter, q: { after?: number | undefined; limit?: number | undefined }) => {
    const result = await store.listDeliveries(filter, { limit: q.limit ?? DEFAULT_LIMIT, ...(q.after !== undefined ? { after: q.after } : {}) });
    return { items: result.items.map(deliveryView), ...(result.next !== undefined ? { next: String(result.next) } : {}) };
  };

  app.get('/deliveries', async (request) => {
    const q = parse(deliveriesQuery, request.query, 'query');
    const filter = filterOf(q);
    if (q.state !== undefined) filter.state = q.state as DeliveryState[];
    return page(filter, q);
  });

  app.get('/deliveries/:id', async (request, reply) => {
    const { id } = parse(idParams, request.params, 'path');
    const d = await store.getDelivery(id);
    if (d === undefined) return fail(reply, 404, `no delivery ${id}`);
    const { attemptLog, ...rest } = d;
    return { ...deliveryView(rest), attemptLog: attemptLog.map(attemptView) };
  });

  app.get('/dead-letters', async (request) => {
    const q = parse(deadLettersQuery, request.query, 'query');
    return page({ ...filterOf(q), state: ['dead'], dropped: false }, q);
  });

  app.post('/dead-letters/redrive', async (request) => {
    const body = parse(redriveBody, request.body, 'body');
    const ids =
      'id' in body
        ? await delivery.redrive({ ids: [body.id] })
        : 'ids' in body
          ? await delivery.redrive({ ids: body.ids })
          : 'filter' in body
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
  });

  app.post('/replay', async (request) => {
    const body = parse(replayBody, request.body, 'body');
    if (body.since !== undefined && body.until !== undefined && body.until <= body.since) throw new BadRequest('until', 'must be after since');
    const result = await delivery.replay({
      route: body.route,
      ...(body.eventIds !== undefined ? { eventIds: body.eventIds } : {}),
      ...(body.since !== undefined ? { since: body.since } : {}),
      ...(body.until !== undefined ? { until: body.until } : {}),
      ...(body.filter !== undefined ? { filter: Object.fromEntries(Object.entries(body.filter).filter(([, v]) => v !== undefined)) } : {}),
      ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
      ...(body.limit !== undefined ? { limit: body.limit } : {}),
    });
    return result;
  });

  app.get('/sinks', async () => {
    const items = await delivery.sinkStatus();
    return { items: items.map(sinkView) };
  });

  app.post('/sinks/:name/probe', async (request, reply) => {
    const { name } = request.params as { name: string };
    const result = delivery.probe(name);
    if (result === undefined) return fail(reply, 404, `no sink ${name}`);
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
  });
}
