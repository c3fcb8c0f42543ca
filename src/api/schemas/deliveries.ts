/**
 * @module api/schemas/deliveries
 *
 * Answers about delivery: deliveries and their attempts, redrive and replay results, sink status and probes.
 */
import { z } from 'zod';
import { component, iso, pageOf } from './base.js';

const deliveryFields = {
  id: z.number().int(),
  eventId: z.string(),
  eventSeq: z.number().int(),
  eventType: z.string(),
  route: z.string(),
  sink: z.string(),
  orderingKey: z.string().meta({ description: 'The lane within the route: deliveries of one lane go in order.' }),
  origin: z.enum(['event', 'replay']),
  state: z.string().meta({ description: 'pending, in_flight, succeeded or dead.' }),
  blocked: z.boolean().meta({ description: 'Pending, waiting for an earlier delivery of the same lane.' }),
  attempts: z.number().int().meta({ description: 'Attempts since it was created or last redriven.' }),
  redrives: z.number().int(),
  createdAt: iso(),
  updatedAt: iso(),
  nextAttemptAt: iso().optional().meta({ description: 'While pending: when it may run next.' }),
  leaseOwner: z.string().optional(),
  leaseExpiresAt: iso().optional(),
  lastAttemptAt: iso().optional(),
  completedAt: iso().optional(),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
  holdsLane: z.literal(true).optional().meta({ description: 'Dead, and holding its lane (a route with `onDeadLetter: "hold"`): later deliveries of the lane wait.' }),
  droppedAt: iso().optional().meta({ description: 'When an operator dropped it as a dead letter (`POST /api/dead-letters/drop`).' }),
};

export const deliverySchema = component('Delivery', z.object(deliveryFields), 'One event on its way to one sink of one route.');

export const deliveryAttemptSchema = component(
  'DeliveryAttempt',
  z.object({
    id: z.number().int(),
    startedAt: iso(),
    latencyMs: z.number(),
    outcome: z.enum(['success', 'retry', 'fail']),
    statusCode: z.number().int().optional(),
    errorCode: z.string().optional(),
    error: z.string().optional(),
    detail: z.string().optional(),
    retryAfterMs: z.number().optional(),
    owner: z.string().meta({ description: 'The worker that made it.' }),
  }),
);

export const deliveryDetailSchema = component(
  'DeliveryDetail',
  z.object({ ...deliveryFields, attemptLog: z.array(deliveryAttemptSchema).meta({ description: 'Every attempt, oldest first.' }) }),
);

export const deliveryPageSchema = pageOf('DeliveryPage', deliverySchema);

export const redriveResultSchema = component(
  'RedriveResult',
  z.object({
    redriven: z.number().int(),
    ids: z.array(z.number().int()),
    message: z.string().meta({ description: 'When delivery starts, in words.' }),
    pausedSinks: z
      .array(z.object({ sink: z.string(), breaker: z.string(), deliveryStartsAt: iso() }))
      .optional()
      .meta({ description: 'Sinks whose circuit breaker holds the redriven deliveries back, and until when.' }),
  }),
);

export const replayResultSchema = component(
  'ReplayResult',
  z.object({
    route: z.string(),
    sink: z.string(),
    dryRun: z.boolean(),
    events: z
      .array(z.object({ eventId: z.string(), seq: z.number().int(), type: z.string(), receivedAt: iso(), orderingKey: z.string() }))
      .meta({ description: 'The events that are (or, on a dry run, would be) delivered, in order.' }),
    deliveries: z.array(z.number().int()).meta({ description: 'Ids of the deliveries created; empty on a dry run.' }),
    skipped: z.array(z.object({ eventId: z.string(), reason: z.enum(['not-found', 'not-matched-by-route']) })),
    truncated: z.boolean().meta({ description: 'More events matched than `limit`; replay again with `since` after the last one.' }),
  }),
);

const breakerSchema = z.object({
  state: z.enum(['closed', 'open', 'half-open']),
  consecutiveFailures: z.number().int().optional(),
  openedAt: iso().optional(),
  nextProbeAt: iso().optional(),
  cooldownMs: z.number().optional(),
  opens: z.number().int().optional(),
});

export const sinkStatusSchema = component(
  'SinkStatus',
  z.object({
    name: z.string(),
    type: z.string(),
    breaker: breakerSchema.optional(),
    attempts: z.object({ total: z.number().int(), success: z.number().int(), retry: z.number().int(), fail: z.number().int() }),
    recent: z
      .object({
        attempts: z.number().int(),
        successRate: z.number(),
        latencyMs: z.object({ avg: z.number(), p50: z.number(), p95: z.number(), max: z.number() }),
      })
      .optional(),
    inFlight: z.number().int(),
    lastAttemptAt: iso().optional(),
    lastSuccessAt: iso().optional(),
    lastError: z.string().optional(),
    backlog: z.object({ pending: z.number().int(), blocked: z.number().int(), inFlight: z.number().int(), dead: z.number().int() }),
  }),
  "One sink's circuit breaker, recent success rate and latency, and its backlog in the store.",
);

export const sinkStatusListSchema = component('SinkStatusList', z.object({ items: z.array(sinkStatusSchema) }));

export const probeResultSchema = component(
  'ProbeResult',
  z.object({
    sink: z.string(),
    probing: z.boolean().meta({ description: 'The cool-down ended: the next delivery goes now as the probe.' }),
    message: z.string(),
    breaker: z.object({ state: z.enum(['closed', 'open', 'half-open']), nextProbeAt: iso().optional() }).optional(),
  }),
);
