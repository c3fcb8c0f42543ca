/**
 * @module dispatch/sinks
 *
 * Sinks are where routes send events outside the process: an HTTP endpoint or a NATS
 * JetStream subject. Each `deliver()` is exactly one attempt and resolves with its
 * {@link AttemptOutcome}; retries, dead letters and ordering belong to the worker.
 */
import { ConfigError } from '../errors.js';
import type { BluetickEvent } from '../events/types.js';
import type { EventPayload } from './payload.js';
import type { AttemptOutcome } from './retry.js';
import { type HttpSinkConfig, HttpSink } from './sink-http.js';
import { type NatsSinkConfig, NatsSink } from './sink-nats.js';

export type { HttpSinkConfig } from './sink-http.js';
export type { NatsSinkConfig } from './sink-nats.js';

/** A sink as written in the config (`sinks: [...]`), told apart by `type`. */
export type SinkConfig = HttpSinkConfig | NatsSinkConfig;
export type SinkType = SinkConfig['type'];

/** What the composition root passes to every sink. */
export interface SinkOptions {
  /** Overrides `bluetick/<version>` (HTTP). */
  userAgent?: string;
  /** Clock for signature timestamps and `Retry-After` dates; epoch ms. */
  now?: () => number;
}

export interface Sink {
  readonly name: string;
  readonly type: SinkType;
  /** Attempts it runs at once, when it limits them (`sinks[].concurrency` of an HTTP sink). */
  readonly concurrency?: number;
  /**
   * One attempt to hand the event over. Resolves with the outcome; never rejects for a
   * network failure, a timeout or a refusal by the receiver.
   */
  deliver(event: BluetickEvent): Promise<AttemptOutcome>;
  /**
   * The same with the event as the store keeps it (sinks that send JSON text skip the
   * parse), and what the worker knows of the delivery: `redelivery` >= 1 marks an event sent
   * again on purpose (see `AttemptContext.redelivery`).
   */
  deliverPayload?(payload: EventPayload, info?: { redelivery?: number; deliveryId?: number }): Promise<AttemptOutcome>;
  /** Stops taking deliveries, lets those in flight finish, and frees connections. */
  close(): Promise<void>;
}

/**
 * Builds the sink a config entry describes. Connections are opened lazily, on the first
 * delivery, so building sinks at start-up cannot fail because a receiver is down.
 *
 * @throws ConfigError naming the bad key.
 * @example
 * const sink = createSink({ name: 'crm', type: 'http', url: 'https://crm.example/hooks', secret: process.env.CRM_SECRET! });
 * const outcome = await sink.deliver(event);
 */
export function createSink(config: SinkConfig, options: SinkOptions = {}): Sink {
  switch (config.type) {
    case 'http':
      return new HttpSink(config, options);
    case 'nats':
      return new NatsSink(config);
    default: {
      const { name, type } = config as { name?: unknown; type?: unknown };
      throw new ConfigError([`sinks.${String(name)}.type: unknown sink type ${JSON.stringify(type)} (expected "http" or "nats")`]);
    }
  }
}
