/**
 * @module bluetick
 *
 * The library entry point: a whole bluetick server in your own process, with typed
 * handlers for the events it records.
 *
 * Handlers run after the provider got its 200, from durable deliveries: at least once
 * (after a crash or a thrown error, the same event comes again), strictly in order within a
 * conversation, conversations in parallel. Use `event.id` as the idempotency key. Throw
 * {@link NonRetriableError} to send the event to dead letters at once, or
 * {@link RetryAfterError} to be called again no earlier than it says; anything else thrown
 * is retried on the route's schedule.
 *
 * @example
 * ```ts
 * import { createBluetick, NonRetriableError } from 'bluetick';
 *
 * const app = createBluetick({ config: { channels: [{ name: 'enablex', basicAuth: ['enablex:s3cret'] }] } });
 * app.on('message.received', async (event) => {
 *   if (event.kind === 'text') await crm.note(event.id, event.from, event.text);
 * });
 * app.on(['message.status'], async (event) => statuses.upsert(event.messageId, event.status), {
 *   filter: { channel: ['enablex'] },
 * });
 * await app.start();
 * ```
 */
import { loadConfig } from './config/load.js';
import { resolveConfig } from './config/resolve.js';
import { formatIssue } from './config/resolve-values.js';
import type { CliFlags, Config } from './config/types.js';
import type { WrittenConfigInput } from './config/schema.js';
import type { RouteMatch } from './dispatch/match.js';
import type { RetryPolicyInput } from './dispatch/retry.js';
import { HANDLER_SINK_PREFIX, type HandlerRoute } from './dispatch/runtime.js';
import type { AttemptContext } from './dispatch/target.js';
import { BluetickError, ConfigError } from './errors.js';
import type { BluetickEvent, EventOfType, EventType } from './events/types.js';
import { internalsOf, startServer, type RunningServer, type StartServerOptions } from './server.js';
import type { OutboundInput } from './store/outbound.js';

/** What a handler learns about the attempt: `attempt` is 1 the first time an event comes. */
export type HandlerContext = AttemptContext;

export type Handler<E extends BluetickEvent> = (event: E, context: HandlerContext) => unknown;

/**
 * Which events of the subscribed types a handler takes: keys of a route's match (checked
 * when the event is recorded, so unmatched events create no delivery), or a predicate
 * (checked when the delivery runs; an event it refuses counts as handled).
 */
export type HandlerFilter<E extends BluetickEvent> = Omit<RouteMatch, 'type'> | ((event: E) => boolean);

export interface HandlerOptions<E extends BluetickEvent> {
  filter?: HandlerFilter<E>;
  /**
   * The handler's route name, shown in the API and kept in the store: pending deliveries
   * find their handler again after a restart by it. Default: `on-<types>` (`-2`, `-3`, ...
   * for later handlers of the same types).
   */
  name?: string;
  /** Retry policy overrides (attempts, backoff) for this handler. */
  retry?: RetryPolicyInput;
}

export interface BluetickOptions {
  /** The configuration, as `bluetick.config.json` would hold it. */
  config?: WrittenConfigInput;
  /** Or a config file to read (like `bluetick serve --config`). Ignored when `config` is given. */
  configFile?: string;
  /** `BLUETICK_*` variables override the config. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Base for relative paths. Default: `process.cwd()`. */
  cwd?: string;
  flags?: CliFlags;
  /** Passed to `startServer` (logger, store, ...). */
  server?: Omit<StartServerOptions, 'handlers'>;
}

export interface Bluetick {
  /**
   * Calls `handler` for every event of the given type(s), at least once each. Register
   * handlers before {@link Bluetick.start}.
   */
  on<T extends EventType>(type: T | readonly T[], handler: Handler<EventOfType<T>>, options?: HandlerOptions<EventOfType<T>>): Bluetick;
  /** Starts the server with the config and the handlers registered so far. */
  start(): Promise<RunningServer>;
  /** Graceful stop: in-flight requests and handler calls finish, the store closes. */
  stop(): Promise<void>;
  /** The running server, once started. */
  readonly server: RunningServer | undefined;
  /**
   * Records what your code sent (after {@link Bluetick.start}): the message id WhatsApp
   * answered with, and the template, text, `biz_opaque_callback_data` and tags its status
   * updates will not carry. Same as `POST /api/outbound`; statuses that came first are
   * matched too.
   *
   * @example
   * const { messages } = await sendTemplate(...);
   * await app.track({ messageId: messages[0].id, templateName: 'order_shipped', tags: ['order-1234'] });
   */
  track(record: OutboundInput | readonly OutboundInput[]): Promise<{ inserted: number; updated: number }>;
}

const NAME = /^[a-z0-9][a-z0-9_.+-]{0,99}$/;

class BluetickApp implements Bluetick {
  readonly #options: BluetickOptions;
  readonly #handlers: HandlerRoute[] = [];
  #server: RunningServer | undefined;
  #starting: Promise<RunningServer> | undefined;

  constructor(options: BluetickOptions) {
    this.#options = options;
  }

  get server(): RunningServer | undefined {
    return this.#server;
  }

  on<T extends EventType>(type: T | readonly T[], handler: Handler<EventOfType<T>>, options: HandlerOptions<EventOfType<T>> = {}): Bluetick {
    if (this.#starting !== undefined) throw new BluetickError('BT_ERR_CONFIG_INVALID', 'register handlers before start()');
    const types = [...new Set<EventType>(typeof type === 'string' ? [type as T] : (type as readonly T[]))];
    if (types.length === 0) throw new ConfigError(['on(): name at least one event type']);
    if (typeof handler !== 'function') throw new ConfigError(['on(): the handler must be a function']);
    const name = options.name ?? this.#defaultName(types);
    if (!NAME.test(name)) throw new ConfigError([`on(): name "${name}" must be 1-100 characters of a-z, 0-9, "_", ".", "+" or "-"`]);
    if (this.#handlers.some((h) => h.route.name === name)) throw new ConfigError([`on(): a handler named "${name}" is already registered`]);
    const filter = options.filter;
    const match: RouteMatch = { type: types, ...(typeof filter === 'object' && filter !== null ? filter : {}) };
    const predicate = typeof filter === 'function' ? filter : undefined;
    const run = handler as unknown as Handler<BluetickEvent>;
    this.#handlers.push({
      route: { name, sink: `${HANDLER_SINK_PREFIX}${name}`, match, ...(options.retry !== undefined ? { retry: options.retry } : {}) },
      handler: predicate
        ? (event, context) => ((predicate as (e: BluetickEvent) => boolean)(event) ? run(event, context) : undefined)
        : run,
    });
    return this;
  }

  #defaultName(types: readonly EventType[]): string {
    const base = `on-${[...types].sort().join('+')}`;
    let name = base;
    for (let n = 2; this.#handlers.some((h) => h.route.name === name); n++) name = `${base}-${n}`;
    return name;
  }

  start(): Promise<RunningServer> {
    this.#starting ??= (async () => {
      const config = await this.#config();
      this.#server = await startServer(config, { ...this.#options.server, handlers: this.#handlers });
      return this.#server;
    })();
    return this.#starting;
  }

  async track(record: OutboundInput | readonly OutboundInput[]): Promise<{ inserted: number; updated: number }> {
    const server = this.#server;
    if (server === undefined) throw new BluetickError('BT_ERR_CONFIG_INVALID', 'track(): start() the app first');
    const items = Array.isArray(record) ? [...(record as readonly OutboundInput[])] : [record as OutboundInput];
    for (const item of items) {
      if (typeof item?.messageId !== 'string' || item.messageId === '') throw new ConfigError(['track(): each record needs the messageId WhatsApp answered the send with']);
    }
    return internalsOf(server).store.outbound.record(items, Date.now(), 'library');
  }

  async stop(): Promise<void> {
    if (this.#starting === undefined) return;
    const server = await this.#starting.catch(() => undefined);
    await server?.close();
  }

  async #config(): Promise<Config> {
    const o = this.#options;
    const env = o.env ?? process.env;
    const cwd = o.cwd ?? process.cwd();
    if (o.config === undefined) {
      const { config } = await loadConfig({
        ...(o.configFile !== undefined ? { file: o.configFile } : {}),
        cwd,
        env,
        ...(o.flags ? { flags: o.flags } : {}),
      });
      return config;
    }
    const snapshot = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('BLUETICK_')));
    const result = resolveConfig({ written: o.config, env: snapshot, cwd, ...(o.flags ? { flags: o.flags } : {}) });
    const invalid = result.errors.filter((e) => e.code === 'BT_ERR_CONFIG_INVALID');
    if (invalid.length > 0) throw new ConfigError(invalid.map(formatIssue));
    if (result.errors.length > 0 || result.config === undefined) {
      throw new BluetickError('BT_ERR_CONFIG_UNSAFE', `refusing to start:\n  - ${result.errors.map(formatIssue).join('\n  - ')}`);
    }
    return result.config;
  }
}

/**
 * Creates an app; nothing listens until {@link Bluetick.start}.
 *
 * @example
 * const app = createBluetick({ config: { server: { port: 8080 } } });
 * app.on('message.received', (event) => console.log(event.kind, event.text));
 * await app.start();
 */
export function createBluetick(options: BluetickOptions = {}): Bluetick {
  return new BluetickApp(options);
}
