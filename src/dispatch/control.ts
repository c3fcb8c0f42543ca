/**
 * @module dispatch/control
 *
 * Errors a handler throws to steer its own retries. Anything else a handler throws is
 * retried on the route's schedule; these two change that.
 */
import { BluetickError } from '../errors.js';

/**
 * Thrown by a handler when retrying cannot help (the event is invalid for this system,
 * the customer is unknown, ...): the delivery goes straight to dead letters, where it can
 * still be redriven once the cause is fixed.
 *
 * @example
 * bluetick.on('message.received', async (event) => {
 *   if (!(await crm.knows(event.from))) throw new NonRetriableError(`unknown contact`);
 * });
 */
export class NonRetriableError extends BluetickError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('BT_ERR_DISPATCH_NON_RETRIABLE', message, options);
    this.name = 'NonRetriableError';
  }
}

/**
 * Thrown by a handler to retry no earlier than `retryAfterMs` from now (a downstream rate
 * limit, a lock held elsewhere). The attempt still counts towards the route's
 * `maxAttempts`; the wait is capped by its `maxRetryAfterMs`.
 *
 * @example
 * bluetick.on('message.status', async (event) => {
 *   if (rateLimited) throw new RetryAfterError(30_000, 'crm rate limit');
 * });
 */
export class RetryAfterError extends BluetickError {
  /** The requested wait in ms; never negative. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message?: string, options?: { cause?: unknown }) {
    super('BT_ERR_DISPATCH_RETRY_AFTER', message, options);
    this.name = 'RetryAfterError';
    this.retryAfterMs = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.ceil(retryAfterMs) : 0;
  }
}
