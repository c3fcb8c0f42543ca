/**
 * @module dispatch/replay
 *
 * Replay: deliver stored events again to one route, chosen by id, by receive time, or by a
 * filter. The route's own match still applies (a replay to a route that only takes inbound
 * text sends no statuses), and what it skips is reported. With `dryRun` nothing is written:
 * the answer lists what would be sent.
 *
 * Replayed deliveries are new deliveries (`origin: 'replay'`): they keep the event id, so a
 * receiver that deduplicates by `webhook-id` drops a replay of what it already has on
 * purpose, and they join the back of their ordering lane.
 */
import { BluetickError } from '../errors.js';
import type { EventType } from '../events/types.js';
import type { Delivery } from '../store/deliveries.js';
import type { EventFilter, Store, StoredEvent } from '../store/store.js';
import { orderingKey, routeMatches, type RouteConfig } from './match.js';

export interface ReplayRequest {
  /** The route to deliver to. */
  route: string;
  /** These events (in the order given). */
  eventIds?: string[];
  /** Events received at or after this time (epoch ms). */
  since?: number;
  /** Events received before this time (epoch ms). */
  until?: number;
  filter?: { type?: EventType[]; channel?: string; phoneNumberId?: string; from?: string; messageId?: string };
  /** List what would be sent; write nothing. */
  dryRun?: boolean;
  /** At most this many events. Default 1 000, at most 10 000. */
  limit?: number;
}

export interface ReplayItem {
  eventId: string;
  seq: number;
  type: EventType;
  receivedAt: string;
  orderingKey: string;
}

export interface ReplayResult {
  route: string;
  sink: string;
  dryRun: boolean;
  /** The events that are (or would be) delivered, in order. */
  events: ReplayItem[];
  /** Ids of the deliveries created; empty on a dry run. */
  deliveries: number[];
  skipped: Array<{ eventId: string; reason: 'not-found' | 'not-matched-by-route' }>;
  /** More events matched than `limit`; replay again with `since` after the last one. */
  truncated: boolean;
}

export const REPLAY_DEFAULT_LIMIT = 1_000;
export const REPLAY_MAX_LIMIT = 10_000;

/** A replay request that cannot be served: unknown route, no selector. */
export class ReplayError extends BluetickError {
  constructor(message: string) {
    super('BT_ERR_DISPATCH_BAD_REQUEST', message);
    this.name = 'ReplayError';
  }
}

export async function replay(store: Store, routes: readonly RouteConfig[], request: ReplayRequest): Promise<ReplayResult> {
  const route = routes.find((r) => r.name === request.route);
  if (route === undefined) {
    throw new ReplayError(`no route named "${request.route}" (routes: ${routes.map((r) => r.name).join(', ') || 'none'})`);
  }
  const hasFilter = request.filter !== undefined && Object.values(request.filter).some((v) => v !== undefined);
  if (request.eventIds === undefined && request.since === undefined && request.until === undefined && !hasFilter) {
    throw new ReplayError('say which events to replay: eventIds, since/until, or a filter');
  }
  const limit = Math.min(REPLAY_MAX_LIMIT, Math.max(1, Math.floor(request.limit ?? REPLAY_DEFAULT_LIMIT)));
  const skipped: ReplayResult['skipped'] = [];
  const chosen: StoredEvent[] = [];
  let truncated = false;

  const take = (stored: StoredEvent): boolean => {
    if (!routeMatches(stored.event, route)) {
      skipped.push({ eventId: stored.event.id, reason: 'not-matched-by-route' });
      return true;
    }
    if (chosen.length >= limit) {
      truncated = true;
      return false;
    }
    chosen.push(stored);
    return true;
  };

  if (request.eventIds !== undefined) {
    for (const id of new Set(request.eventIds)) {
      const stored = await store.events.get(id);
      if (stored === undefined) skipped.push({ eventId: id, reason: 'not-found' });
      else if (!take(stored)) break;
    }
  } else {
    const filter: EventFilter = { ...request.filter };
    if (request.since !== undefined) filter.since = request.since;
    if (request.until !== undefined) filter.until = request.until;
    let after: number | undefined;
    outer: for (;;) {
      const page = await store.events.list(filter, { limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const stored of page.items) if (!take(stored)) break outer;
      if (page.next === undefined) break;
      after = page.next;
    }
  }

  const events = chosen.map((s) => ({
    eventId: s.event.id,
    seq: s.seq,
    type: s.event.type,
    receivedAt: s.event.receivedAt,
    orderingKey: orderingKey(s.event),
  }));
  const result: ReplayResult = { route: route.name, sink: route.sink, dryRun: request.dryRun === true, events, deliveries: [], skipped, truncated };
  if (result.dryRun || events.length === 0) return result;
  const { created } = await store.deliveries.enqueue(
    events.map((e) => ({ eventId: e.eventId, route: route.name, sink: route.sink })),
    Date.now(),
  );
  result.deliveries = created.map((d: Delivery) => d.id);
  return result;
}
