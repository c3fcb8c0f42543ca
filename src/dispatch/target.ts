/**
 * @module dispatch/target
 *
 * What the delivery worker delivers to: a configured sink or a library handler, each one
 * attempt at a time with the context of that attempt.
 */
import { performance } from 'node:perf_hooks';
import type { BluetickEvent } from '../events/types.js';
import type { EventPayload } from './payload.js';
import { type AttemptOutcome, handlerOutcome } from './retry.js';

/** What a handler or sink learns about the attempt it runs. */
export interface AttemptContext {
  deliveryId: number;
  route: string;
  /** 1 for the first attempt (after a redrive, counting starts again). */
  attempt: number;
  orderingKey: string;
  /**
   * 0 for the event's first delivery to this route; n >= 1 when it is sent again on purpose:
   * the number of redrives out of dead letters, plus one for a delivery created by a replay.
   * Retries of an attempt do not count (they are the same delivery).
   */
  redelivery: number;
}

/** Something the worker can deliver to: a configured sink or a library handler. */
export interface DeliveryTarget {
  /** The sink name deliveries carry: a configured sink, or `handler:<route>`. */
  readonly name: string;
  readonly type: string;
  /**
   * Attempts the target takes at once, if it has a limit of its own; the worker starts no
   * more than that, so its other slots stay free for other targets.
   */
  readonly concurrency?: number;
  /** One attempt; resolves with its outcome and never rejects for an expected failure. */
  deliver(payload: EventPayload, context: AttemptContext): Promise<AttemptOutcome>;
}

/** A library handler as the worker runs it; its outcome follows `handlerOutcome`. */
export function handlerTarget(
  name: string,
  handler: (event: BluetickEvent, context: AttemptContext) => unknown,
): DeliveryTarget {
  return {
    name,
    type: 'handler',
    async deliver(payload, context) {
      const started = performance.now();
      try {
        await handler(payload.event(), context);
        return handlerOutcome(Math.round(performance.now() - started));
      } catch (error) {
        return handlerOutcome(Math.round(performance.now() - started), { error });
      }
    },
  };
}
