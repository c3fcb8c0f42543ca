/**
 * @module api/context
 *
 * What the `/api` route modules share: the store, the metrics, the clock, and the
 * failed-authentication record.
 */
import type { AuthBackoff } from '../auth-backoff.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';

export interface RestContext {
  store: Store;
  metrics: Metrics;
  /** Epoch ms; the customer-service window is judged against it. */
  now: () => number;
  /** Failed authentications per address (`/api/rejections/addresses`). */
  backoff?: AuthBackoff;
  /** The configured name per business phone number (`labels`; `/api/labels`). */
  labels?: Readonly<Record<string, string>>;
}

/** `after` / `limit` from a parsed query, as a store page request. */
export function pageRequest(query: { after?: number | undefined; limit?: number | undefined }, defaultLimit: number) {
  return query.after === undefined ? { limit: query.limit ?? defaultLimit } : { after: query.after, limit: query.limit ?? defaultLimit };
}
