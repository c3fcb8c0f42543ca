/**
 * @module api/endpoints/activity
 *
 * `GET /api/activity`: the last hour (or fewer minutes) of per-minute counts read from the
 * store: events by type (`message.received`, `message.status`, ...), acked POSTs that produced them, and
 * their successful deliveries. The console's overview charts draw from it, so they are full at
 * the first load. Every minute of the window is present, zeros included.
 *
 * `GET /api/labels`: the configured name per business phone number (`labels`), which the
 * console puts beside the number in conversation titles.
 */
import { z } from 'zod';
import type { ActivityCounts } from '../../store/store.js';
import type { RestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { component } from '../schemas.js';
import { isoOf } from '../views.js';

const MINUTE_MS = 60_000;
const MAX_MINUTES = 60;

const minutesParam = z
  .string()
  .regex(/^\d{1,2}$/, { error: `expected an integer from 1 to ${MAX_MINUTES}` })
  .transform(Number)
  .pipe(z.number().int().min(1, { error: `expected an integer from 1 to ${MAX_MINUTES}` }).max(MAX_MINUTES, { error: `expected an integer from 1 to ${MAX_MINUTES}` }))
  .optional()
  .meta({ description: `How many minutes back, ending with the current one (1 to ${MAX_MINUTES}; default ${MAX_MINUTES}).` });

const minuteSchema = z.strictObject({
  at: z.string().meta({ format: 'date-time', description: "The minute's start." }),
  events: z.number().int().meta({ description: 'Events received in the minute.' }),
  byType: z.record(z.string(), z.number().int()).meta({ description: 'Those events by type; types with none are left out.' }),
  acks: z.number().int().meta({ description: 'Acked POSTs (journal rows) those events came from.' }),
  delivered: z.number().int().meta({ description: 'Successful deliveries of those events, so far.' }),
});

export const activitySchema = component(
  'Activity',
  z.strictObject({
    at: z.string().meta({ format: 'date-time' }),
    from: z.string().meta({ format: 'date-time', description: 'Start of the first minute.' }),
    minutes: z.array(minuteSchema),
  }),
);

type Minute = z.output<typeof minuteSchema>;

/** Every minute from `from` to `now`, filled from the store's grouped rows. */
export function minutesOf(counts: ActivityCounts, from: number, now: number): Minute[] {
  const byStart = new Map<number, Minute>();
  const out: Minute[] = [];
  for (let t = from; t <= now; t += MINUTE_MS) {
    const minute: Minute = { at: isoOf(t), events: 0, byType: {}, acks: 0, delivered: 0 };
    byStart.set(t, minute);
    out.push(minute);
  }
  for (const row of counts.events) {
    const minute = byStart.get(row.minute);
    if (minute === undefined) continue;
    minute.events += row.count;
    minute.delivered += row.delivered;
    minute.byType[row.type] = (minute.byType[row.type] ?? 0) + row.count;
  }
  for (const row of counts.acks) {
    const minute = byStart.get(row.minute);
    if (minute !== undefined) minute.acks += row.count;
  }
  return out;
}

export function registerActivityEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/activity',
      operationId: 'getActivity',
      tag: 'stats',
      summary: 'Per-minute counts of events, acks and deliveries over the last hour',
      description:
        'Read from the events table with one range over its received-time index per count, grouped by minute; recording an event does no extra work for it. An event is counted in the minute it was received; its deliveries are counted with it.',
      query: z.object({ minutes: minutesParam }),
      response: activitySchema,
    },
    async ({ query }) => {
      const now = ctx.now();
      const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
      const from = current - ((query.minutes ?? MAX_MINUTES) - 1) * MINUTE_MS;
      const counts = await ctx.store.events.activity(from);
      return { at: isoOf(now), from: isoOf(from), minutes: minutesOf(counts, from, current) };
    },
  );
}

export const labelsSchema = component(
  'Labels',
  z.strictObject({
    labels: z.record(z.string(), z.string()).meta({ description: 'Phone-number id (or display number) -> the name set in the config.' }),
  }),
);

export function registerLabelEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/labels',
      operationId: 'getLabels',
      tag: 'stats',
      summary: 'The name set per business phone number in the config',
      response: labelsSchema,
    },
    async () => ({ labels: { ...(ctx.labels ?? {}) } }),
  );
}
