/**
 * @module api/context
 *
 * What the `/api` route modules share: the store, the metrics, and the clock.
 */
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';

export interface RestContext {
  store: Store;
  metrics: Metrics;
  /** Epoch ms; the customer-service window is judged against it. */
  now: () => number;
}

/** `after` / `limit` from a parsed query, as a store page request. */
export function pageRequest(query: { after?: number | undefined; limit?: number | undefined }, defaultLimit: number) {
  return query.after === undefined ? { limit: query.limit ?? defaultLimit } : { after: query.after, limit: query.limit ?? defaultLimit };
}
