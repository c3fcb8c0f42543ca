/**
 * @module adapters/core
 *
 * What every framework adapter shares: the webhook handler itself, written once against a
 * small request view (method, query, a header getter, a way to read the exact body bytes)
 * and answering with a small response value. The framework files (`express.ts`,
 * `fastify.ts`, `hono.ts`, `node.ts`) only translate their request and response to these.
 *
 * A POST is authenticated with the same checks `bluetick serve` runs (`ingest/verify-basic`,
 * `ingest/verify-meta` over the exact bytes), then
 * - without a store: normalized (`events/normalize`) and handed to the handlers, oldest item
 *   first; the 200 goes out after they resolve. A handler that throws gets the provider a
 *   500, so it sends the body again; events already handled are remembered (the most recent
 *   {@link RECENT_EVENT_IDS}) and not handed over twice.
 * - with a store: journaled before the 200 exactly as `serve` does (`adapters/durable`); the
 *   handlers run afterwards from durable deliveries, at least once, in order per conversation.
 *
 * Meta's GET handshake is answered from `meta.verifyTokens` (`ingest/challenge`).
 */
import { BluetickError, ConfigError } from '../errors.js';
import { normalize } from '../events/normalize.js';
import { EVENT_TYPES, type BluetickEvent, type EventOfType, type EventType } from '../events/types.js';
import { answerChallenge } from '../ingest/challenge.js';
import { createBasicVerifier, type BasicVerifier } from '../ingest/verify-basic.js';
import { createMetaVerifier, type MetaVerifier } from '../ingest/verify-meta.js';
import type { VerifiedBy } from '../store/store.js';
import type { DurableIngest } from './durable.js';

/** Options every adapter's `createWebhookHandler` takes. */
export interface WebhookHandlerOptions {
  /** `user:password` pairs EnableX may send as HTTP Basic auth (any one passes). */
  basicAuth?: string[];
  /** Meta Cloud API: app secrets that sign bodies (rotation: any one passes) and the handshake's verify tokens. */
  meta?: { appSecrets: string[]; verifyTokens?: string[] };
  /**
   * Durable mode: a SQLite file path or a `postgres://` URL. Each POST is journaled before the
   * 200, and handlers run from durable deliveries (at least once). Without it, the 200 goes
   * out after the handlers resolve, and nothing survives a crash of your process.
   */
  store?: string;
  /** Called for every event, after the typed handlers of {@link WebhookHandler.on}. */
  onEvent?: (event: BluetickEvent) => void | Promise<void>;
  /** The channel name events carry. Default `default`. */
  channel?: string;
  /** Largest body accepted, in bytes. Default 4 MiB. */
  bodyLimit?: number;
  /**
   * Called when a handler throws in the in-memory mode (the provider gets a 500 and sends the
   * body again). Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

/** The request, as the core needs it. */
export interface AdapterRequest {
  method: string;
  /** The query string, with or without `?`. */
  query: string;
  header(name: string): string | undefined;
  /** The exact bytes; rejects with `BT_ERR_ADAPTER_BODY_CONSUMED` when they are gone. */
  body(limit: number): Promise<Buffer>;
  remoteAddress?: string;
}

export interface AdapterResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A handler for events of one or more types. */
export type EventHandler<E extends BluetickEvent> = (event: E) => unknown;

/** What every adapter's handler offers besides its framework-specific entry point. */
export interface WebhookHandler {
  /** Calls `handler` for every event of the given type(s). Register before the first request. */
  on<T extends EventType>(type: T | readonly T[], handler: EventHandler<EventOfType<T>>): this;
  /** Durable mode: opens the store now (otherwise at the first request). */
  ready(): Promise<void>;
  /** Durable mode: finishes in-flight work and closes the store. */
  close(): Promise<void>;
}

/** How many handled event ids the in-memory mode remembers to skip redeliveries. */
export const RECENT_EVENT_IDS = 10_000;

const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

interface Subscription {
  types: ReadonlySet<EventType>;
  handler: EventHandler<BluetickEvent>;
}

function text(status: number, body: string, headers: Record<string, string> = {}): AdapterResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}

function parseCredentials(pairs: readonly string[]): Array<{ username: string; password: string }> {
  return pairs.map((pair, i) => {
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new ConfigError([`basicAuth[${i}]: expected "user:password"`]);
    return { username: pair.slice(0, colon), password: pair.slice(colon + 1) };
  });
}

/** The shared handler behind every adapter. */
export class WebhookCore {
  readonly options: WebhookHandlerOptions;
  readonly bodyLimit: number;
  readonly #channel: string;
  readonly #basic: BasicVerifier | undefined;
  readonly #meta: MetaVerifier | undefined;
  readonly #subscriptions: Subscription[] = [];
  /** Insertion-ordered: the oldest id is dropped first. */
  readonly #recent = new Set<string>();
  #durable: Promise<DurableIngest> | undefined;

  constructor(options: WebhookHandlerOptions) {
    this.options = options;
    this.bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    this.#channel = options.channel ?? 'default';
    const basic = options.basicAuth ?? [];
    const secrets = options.meta?.appSecrets ?? [];
    if (basic.length === 0 && secrets.length === 0) {
      throw new BluetickError('BT_ERR_CONFIG_UNSAFE', 'createWebhookHandler: give basicAuth or meta.appSecrets; an unauthenticated webhook is refused');
    }
    this.#basic = basic.length > 0 ? createBasicVerifier(parseCredentials(basic)) : undefined;
    this.#meta = secrets.length > 0 ? createMetaVerifier(secrets) : undefined;
  }

  on<T extends EventType>(type: T | readonly T[], handler: EventHandler<EventOfType<T>>): void {
    const types = typeof type === 'string' ? [type as EventType] : [...(type as readonly EventType[])];
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (types.length === 0 || unknown.length > 0) throw new ConfigError([`on(): unknown event type ${unknown.join(', ') || '(none)'}`]);
    if (typeof handler !== 'function') throw new ConfigError(['on(): the handler must be a function']);
    if (this.#durable !== undefined) throw new BluetickError('BT_ERR_CONFIG_INVALID', 'on(): register handlers before the first request or ready()');
    this.#subscriptions.push({ types: new Set(types), handler: handler as EventHandler<BluetickEvent> });
  }

  /** Runs every handler the event is for, then `onEvent`. */
  async dispatch(event: BluetickEvent): Promise<void> {
    for (const s of this.#subscriptions) if (s.types.has(event.type)) await s.handler(event);
    await this.options.onEvent?.(event);
  }

  ready(): Promise<DurableIngest> | undefined {
    if (this.options.store === undefined) return undefined;
    this.#durable ??= import('./durable.js').then(({ openDurableIngest }) =>
      openDurableIngest({ store: this.options.store!, channel: this.#channel, run: (event) => this.dispatch(event) }),
    );
    return this.#durable;
  }

  async close(): Promise<void> {
    const durable = this.#durable;
    if (durable) await (await durable).close();
  }

  /** One request -> one answer. Throws `BT_ERR_ADAPTER_BODY_CONSUMED` when the exact bytes are gone. */
  async handle(req: AdapterRequest): Promise<AdapterResponse> {
    const method = req.method.toUpperCase();
    if (method === 'GET') return this.#handshake(req.query);
    if (method !== 'POST') return text(405, 'method not allowed', { allow: 'GET, POST' });

    const authorization = req.header('authorization');
    const basicOk = this.#basic !== undefined && this.#basic(authorization);
    let body: Buffer;
    try {
      body = await req.body(this.bodyLimit);
    } catch (error) {
      if (error instanceof BluetickError && error.code === 'BT_ERR_INGEST_TOO_LARGE') return text(413, error.message, { connection: 'close' });
      throw error;
    }
    const verifiedBy: VerifiedBy | undefined = basicOk ? 'basic' : this.#meta?.(body, req.header('x-hub-signature-256'));
    if (verifiedBy === undefined) {
      return text(401, 'unauthorized', this.#basic !== undefined ? { 'www-authenticate': 'Basic realm="bluetick", charset="UTF-8"' } : {});
    }

    const durable = this.ready();
    if (durable !== undefined) {
      try {
        await (await durable).append(req, body, verifiedBy);
      } catch (error) {
        // A full queue, a locked or unreachable database: the provider tries again later.
        if (error instanceof BluetickError && error.status === 503) return text(503, error.message, { 'retry-after': '1' });
        throw error;
      }
      return text(200, 'ok');
    }
    return this.#handleNow(body);
  }

  #handshake(query: string): AdapterResponse {
    const answer = answerChallenge(query, this.options.meta?.verifyTokens ?? []);
    return answer.status === 200 ? text(200, answer.challenge) : text(answer.status, answer.detail);
  }

  async #handleNow(body: Buffer): Promise<AdapterResponse> {
    const result = normalize(body, { channel: this.#channel, receivedAt: Date.now() });
    if (!result.ok) return text(400, `the body cannot become events: ${result.cause}`);
    for (const event of result.events) {
      if (this.#recent.has(event.id)) continue;
      // A throw here answers 500: the provider sends the body again, and what was handled
      // already is skipped then.
      await this.dispatch(event);
      this.#remember(event.id);
    }
    return text(200, 'ok');
  }

  #remember(id: string): void {
    this.#recent.add(id);
    if (this.#recent.size > RECENT_EVENT_IDS) this.#recent.delete(this.#recent.values().next().value!);
  }
}

/** Adds `on`, `ready` and `close` to a framework entry point. */
export function withHandlerMethods<F extends object>(entry: F, core: WebhookCore): F & WebhookHandler {
  const target = entry as F & WebhookHandler;
  Object.defineProperties(target, {
    on: {
      value(this: WebhookHandler, type: EventType | readonly EventType[], handler: EventHandler<BluetickEvent>) {
        core.on(type, handler);
        return target;
      },
    },
    ready: { value: async () => void (await core.ready()) },
    close: { value: () => core.close() },
  });
  return target;
}

/** The error body every adapter answers with when it throws `BT_ERR_ADAPTER_BODY_CONSUMED` itself. */
export function errorResponse(error: BluetickError): AdapterResponse {
  return {
    status: error.status ?? 500,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: error.code, message: error.message }),
  };
}

/** The error every adapter raises when the body was read by something before it. */
export function bodyConsumed(detail: string): BluetickError {
  return new BluetickError('BT_ERR_ADAPTER_BODY_CONSUMED', `${detail}: ${ERROR_HINT}`);
}

const ERROR_HINT =
  'bluetick needs the exact bytes of the webhook body to check its signature; mount the webhook handler before the body parser, or keep the raw body (docs/reference/adapters.md)';

/**
 * The answer when handling failed: the documented error as JSON for a `BluetickError`, a
 * plain 500 for a handler's own error (reported through `onError`).
 */
export function failureResponse(core: WebhookCore, error: unknown): AdapterResponse {
  if (error instanceof BluetickError) return errorResponse(error);
  (core.options.onError ?? ((e: unknown) => console.error('bluetick: a webhook handler failed; the provider will send the body again', e)))(error);
  return text(500, 'the handler failed; send again later');
}
