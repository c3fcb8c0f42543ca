/**
 * @module dispatch/sink-nats
 *
 * The NATS JetStream sink: publishes one event's JSON to a subject and waits for the
 * stream's PubAck, so a success means the event is stored in JetStream, not merely sent.
 *
 * The message id (`Nats-Msg-Id`) is the event id. JetStream drops a second publish of
 * the same id within the stream's duplicate window (2 minutes unless configured), so an
 * attempt re-run after a crash does not store the event twice; the ack says `duplicate`
 * and the attempt still counts as a success.
 *
 * An event sent again on purpose (a redrive out of dead letters, or a replay) carries
 * `bluetick-replay: <n>` and `bluetick-event-id: <event id>`, and is published under a
 * message id of its own (`<event id>:replay:<delivery id>.<n>`): under the event id itself
 * JetStream would drop it as a duplicate of the original within the window. Retries of
 * that redelivery keep its message id, so they still deduplicate among themselves.
 *
 * Every failure is an outcome, never a rejection: a server that is down, a subject no
 * stream captures ("no responders"), a PubAck that does not come in time all retry; a
 * message larger than the stream accepts fails (dead letters, redrive once the limit is
 * raised).
 */
import { performance } from 'node:perf_hooks';
import { jetstream, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, jetstreamManager } from '@nats-io/jetstream';
import { connect, errors, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '../errors.js';
import { serializeEvent } from '../events/normalize.js';
import { type BluetickEvent, type EventType, EVENT_TYPES } from '../events/types.js';
import type { EventPayload } from './payload.js';
import type { AttemptOutcome } from './retry.js';
import type { Sink } from './sinks.js';

export interface NatsSinkConfig {
  name: string;
  type: 'nats';
  /** `host:port` or `nats://host:port`; several for a cluster. */
  servers: string | string[];
  /** Subject to publish to; `{type}` is replaced by the event type, e.g. `whatsapp.{type}` -> `whatsapp.message.status`. */
  subject: string;
  /** The stream expected to capture the subject. When set, a publish captured by another stream is refused. */
  stream?: string;
  /** Create `stream` over the sink's subjects when it does not exist. Default false. */
  createStream?: boolean;
  /** Duplicate window of a stream created here, in ms. Default: the server's (2 minutes). */
  duplicateWindowMs?: number;
  /** Deadline for connecting and for each PubAck, in ms. Default 5 000. */
  timeoutMs?: number;
  user?: string;
  pass?: string;
  token?: string;
}

export const NATS_SINK_DEFAULTS = Object.freeze({ timeoutMs: 5_000 });

const TYPE_PLACEHOLDER = '{type}';

/** The header that marks an event sent again on purpose, with how many times. */
export const NATS_REPLAY_HEADER = 'bluetick-replay';

/**
 * The JetStream message id of one delivery: the event id the first time, a distinct id for a
 * redelivery (`redelivery` >= 1), stable across that redelivery's retries. @internal
 */
export function natsMessageId(eventId: string, info: { redelivery?: number; deliveryId?: number } = {}): string {
  const n = info.redelivery ?? 0;
  if (n <= 0) return eventId;
  return `${eventId}:replay:${info.deliveryId ?? 0}.${n}`;
}
/** JetStream API error code: the message is larger than the stream's `max_msg_size`. */
const MESSAGE_TOO_LARGE = 10054;

/** The subject an event is published to. @internal */
export function expandSubject(template: string, type: EventType): string {
  return template.split(TYPE_PLACEHOLDER).join(type);
}

/** The subjects a stream created by the sink captures. @internal */
export function streamSubjects(template: string): string[] {
  const parts = template.split(TYPE_PLACEHOLDER);
  if (parts.length === 1) return [template];
  // `prefix.{type}`: one wildcard covers today's types and any added later.
  if (parts.length === 2 && parts[1] === '' && parts[0]!.endsWith('.')) return [`${parts[0]}>`];
  return [...new Set(EVENT_TYPES.map((t) => expandSubject(template, t)))];
}

function validSubject(subject: string): boolean {
  return subject.split('.').every((token) => token !== '' && !/[\s*>]/.test(token));
}

/** @internal */
export function validateNatsSinkConfig(config: NatsSinkConfig): string[] {
  const at = `sinks.${config.name}`;
  const issues: string[] = [];
  const servers = Array.isArray(config.servers) ? config.servers : [config.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.trim() === '')) {
    issues.push(`${at}.servers: at least one server address is required`);
  }
  if (typeof config.subject !== 'string' || !validSubject(expandSubject(config.subject, 'message.received'))) {
    issues.push(`${at}.subject: must be dot-separated tokens without spaces or wildcards (${TYPE_PLACEHOLDER} allowed)`);
  }
  if (config.stream !== undefined && !/^[^\s.*>/\\]+$/.test(config.stream)) {
    issues.push(`${at}.stream: a stream name cannot contain spaces, '.', '*', '>', '/' or '\\'`);
  }
  if (config.createStream === true && config.stream === undefined) {
    issues.push(`${at}.createStream: needs stream (the name of the stream to create)`);
  }
  for (const k of ['timeoutMs', 'duplicateWindowMs'] as const) {
    const v = config[k];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) issues.push(`${at}.${k}: must be a number of ms > 0`);
  }
  return issues;
}

type Connected = { nc: NatsConnection; js: JetStreamClient };

/** The client does not export this class from its public entry point; its name is stable. */
function isJetStreamNotEnabled(error: unknown): boolean {
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}

function failure(classification: 'retry' | 'fail', latencyMs: number, errorCode: string, error: string): AttemptOutcome {
  return { ok: false, classification, latencyMs, errorCode, error };
}

/**
 * @example
 * const sink = new NatsSink({ name: 'bus', type: 'nats', servers: '127.0.0.1:4222', subject: 'whatsapp.{type}', stream: 'WHATSAPP', createStream: true });
 * await sink.deliver(event); // { ok: true, classification: 'success', detail: 'stream WHATSAPP seq 42', ... }
 */
export class NatsSink implements Sink {
  readonly name: string;
  readonly type = 'nats' as const;
  readonly #config: NatsSinkConfig;
  readonly #timeoutMs: number;
  #connecting: Promise<Connected> | undefined;
  #closed = false;

  /** @throws ConfigError naming the bad key. */
  constructor(config: NatsSinkConfig) {
    const issues = validateNatsSinkConfig(config);
    if (issues.length > 0) throw new ConfigError(issues);
    this.name = config.name;
    this.#config = config;
    this.#timeoutMs = config.timeoutMs ?? NATS_SINK_DEFAULTS.timeoutMs;
  }

  deliver(event: BluetickEvent): Promise<AttemptOutcome> {
    return this.#publish(event, {});
  }

  /** The same, marking a redelivery (`redelivery` >= 1) as such; see the module comment. */
  deliverPayload(payload: EventPayload, info: { redelivery?: number; deliveryId?: number } = {}): Promise<AttemptOutcome> {
    let event: BluetickEvent;
    try {
      event = payload.event();
    } catch (error) {
      return Promise.resolve(failure('fail', 0, 'parse', error instanceof Error ? error.message : String(error)));
    }
    return this.#publish(event, info);
  }

  async #publish(event: BluetickEvent, info: { redelivery?: number; deliveryId?: number }): Promise<AttemptOutcome> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    if (this.#closed) return failure('retry', 0, 'sink-closed', `sink ${this.name} is closed`);
    let body: string;
    try {
      body = serializeEvent(event);
    } catch (error) {
      return failure('fail', 0, 'serialize', error instanceof Error ? error.message : String(error));
    }
    const subject = expandSubject(this.#config.subject, event.type);
    let connected: Connected;
    try {
      connected = await this.#connect();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return failure('retry', latency(), 'connection', `cannot reach NATS (${this.#servers().join(', ')}): ${message}`);
    }
    try {
      const h = natsHeaders();
      h.set('content-type', 'application/json');
      h.set('bluetick-event-type', event.type);
      const redelivery = info.redelivery ?? 0;
      if (redelivery > 0) {
        h.set(NATS_REPLAY_HEADER, String(redelivery));
        h.set('bluetick-event-id', event.id);
      }
      const ack = await connected.js.publish(subject, body, {
        msgID: natsMessageId(event.id, info),
        timeout: this.#timeoutMs,
        headers: h,
        ...(this.#config.stream !== undefined ? { expect: { streamName: this.#config.stream } } : {}),
      });
      return {
        ok: true,
        classification: 'success',
        latencyMs: latency(),
        detail: `stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ' (duplicate)' : ''}`,
      };
    } catch (error) {
      return this.#failed(error, subject, latency());
    }
  }

  #failed(error: unknown, subject: string, latencyMs: number): AttemptOutcome {
    const cause = (error as { cause?: unknown } | null)?.cause;
    // The client reports "no responders" to a publish as "jetstream is not enabled"; name the real cause.
    if (
      (isJetStreamNotEnabled(error) && cause instanceof errors.RequestError && cause.isNoResponders()) ||
      error instanceof errors.NoRespondersError ||
      (error instanceof errors.RequestError && error.isNoResponders())
    ) {
      return failure('retry', latencyMs, 'no-responders', `no JetStream stream captures subject "${subject}" (no responders)`);
    }
    if (isJetStreamNotEnabled(error)) {
      return failure('retry', latencyMs, 'jetstream-not-enabled', 'JetStream is not enabled on the server');
    }
    if (error instanceof errors.TimeoutError) {
      return failure('retry', latencyMs, 'timeout', `no PubAck within ${this.#timeoutMs} ms`);
    }
    if (error instanceof JetStreamApiError) {
      const classification = error.code === MESSAGE_TOO_LARGE ? 'fail' : 'retry';
      return failure(classification, latencyMs, `jetstream-${error.code}`, error.message);
    }
    if (error instanceof errors.ClosedConnectionError || error instanceof errors.ConnectionError) {
      this.#connecting = undefined;
      return failure('retry', latencyMs, 'connection', error.message);
    }
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof Error ? error.name : 'Error';
    return failure('retry', latencyMs, code, message);
  }

  #servers(): string[] {
    return Array.isArray(this.#config.servers) ? this.#config.servers : [this.#config.servers];
  }

  /** Connects once and reuses the connection; a failed attempt is forgotten so the next delivery tries again. */
  #connect(): Promise<Connected> {
    if (this.#connecting === undefined) {
      const attempt = this.#open();
      this.#connecting = attempt;
      attempt.catch(() => {
        if (this.#connecting === attempt) this.#connecting = undefined;
      });
    }
    return this.#connecting;
  }

  async #open(): Promise<Connected> {
    const { user, pass, token } = this.#config;
    const nc = await connect({
      servers: this.#servers(),
      name: `bluetick sink ${this.name}`,
      timeout: this.#timeoutMs,
      // Keep reconnecting: while the server is away, publishes time out and are retried later.
      maxReconnectAttempts: -1,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    try {
      if (this.#config.createStream === true && this.#config.stream !== undefined) await this.#ensureStream(nc, this.#config.stream);
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
    // The connection ended for good (closed by the server, or by close()): connect again next time.
    void nc.closed().then(() => {
      if (!this.#closed) this.#connecting = undefined;
    });
    return { nc, js: jetstream(nc, { timeout: this.#timeoutMs }) };
  }

  async #ensureStream(nc: NatsConnection, name: string): Promise<void> {
    const jsm = await jetstreamManager(nc, { timeout: this.#timeoutMs });
    try {
      await jsm.streams.info(name);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    }
    const windowMs = this.#config.duplicateWindowMs;
    await jsm.streams.add({
      name,
      subjects: streamSubjects(this.#config.subject),
      ...(windowMs !== undefined ? { duplicate_window: Math.round(windowMs * 1_000_000) } : {}),
    });
  }

  /** Flushes what is in flight and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = this.#connecting;
    this.#connecting = undefined;
    if (pending === undefined) return;
    const connected = await pending.catch(() => undefined);
    if (connected === undefined || connected.nc.isClosed()) return;
    // Drain flushes what is in flight; while the server is away it could wait for ever, so it is bounded.
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs);
    });
    await Promise.race([connected.nc.drain().catch(() => undefined), bounded]);
    clearTimeout(timer);
    if (!connected.nc.isClosed()) await connected.nc.close().catch(() => undefined);
  }
}
