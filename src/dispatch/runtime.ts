/**
 * @module dispatch/runtime
 *
 * Delivery as the server runs it: the configured sinks and the library's handlers become
 * worker targets, every route (config and handler) is handed to the store so recording an
 * event creates its deliveries, and one {@link DeliveryWorker} runs them. The API reads sink
 * health, redrives dead letters and replays events through this object.
 */
import { ConfigError } from '../errors.js';
import type { BluetickEvent } from '../events/types.js';
import type { AttemptTally, Metrics } from '../metrics.js';
import { BREAKER_STATE_VALUES } from '../metrics.js';
import type { Config } from '../config/types.js';
import type { RedriveSelector } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import type { RouteConfig } from './match.js';
import { type ReplayRequest, type ReplayResult, replay } from './replay.js';
import { createSink, type Sink, type SinkConfig } from './sinks.js';
import type { SinkHealth } from './sink-health.js';
import { type AttemptContext, type DeliveryTarget, handlerTarget } from './target.js';
import { DeliveryWorker, type WorkerLogger } from './worker.js';

/** A library handler with the route it receives events through. */
export interface HandlerRoute {
  /** `sink` must be `handler:<name>`. */
  route: RouteConfig;
  handler: (event: BluetickEvent, context: AttemptContext) => unknown;
}

export const HANDLER_SINK_PREFIX = 'handler:';

export interface DeliveryRuntimeOptions {
  config: Pick<Config, 'sinks' | 'routes' | 'delivery'>;
  store: Store;
  handlers?: readonly HandlerRoute[];
  metrics?: Metrics;
  logger?: WorkerLogger;
  /** Epoch ms clock and jitter source (tests). */
  now?: () => number;
  random?: () => number;
}

export interface SinkStatus extends SinkHealth {
  /** Deliveries waiting in the store for this sink (all processes). */
  backlog: { pending: number; blocked: number; inFlight: number; dead: number };
}

export class DeliveryRuntime {
  readonly worker: DeliveryWorker;
  /** Config routes, then handler routes. */
  readonly routes: readonly RouteConfig[];
  private readonly store: Store;
  private readonly sinks: Sink[];
  private started = false;
  private closed = false;

  private constructor(store: Store, routes: RouteConfig[], sinks: Sink[], worker: DeliveryWorker) {
    this.store = store;
    this.routes = routes;
    this.sinks = sinks;
    this.worker = worker;
  }

  /**
   * Builds the sinks and the worker and hands every route to the store. Nothing is sent
   * until {@link DeliveryRuntime.start}.
   * @throws ConfigError when a handler route's name is taken or its sink is malformed.
   */
  static async create(options: DeliveryRuntimeOptions): Promise<DeliveryRuntime> {
    const { config, store, metrics } = options;
    const handlers = options.handlers ?? [];
    const issues: string[] = [];
    const names = new Set(config.routes.map((r) => r.name));
    for (const h of handlers) {
      if (names.has(h.route.name)) issues.push(`handler route "${h.route.name}": the name is already used by another route`);
      names.add(h.route.name);
      const sink = `${HANDLER_SINK_PREFIX}${h.route.name}`;
      if (h.route.sink !== sink) issues.push(`handler route "${h.route.name}": sink must be ${sink}`);
    }
    if (issues.length > 0) throw new ConfigError(issues);

    const sinks = config.sinks.map(({ breaker: _breaker, ...sink }) => createSink(sink as SinkConfig));
    const targets: DeliveryTarget[] = [
      ...sinks.map(
        (sink): DeliveryTarget => ({
          name: sink.name,
          type: sink.type,
          ...(sink.concurrency !== undefined ? { concurrency: sink.concurrency } : {}),
          deliver:
            sink.deliverPayload !== undefined
              ? (payload, context) => sink.deliverPayload!(payload, { redelivery: context.redelivery, deliveryId: context.deliveryId })
              : (payload) => sink.deliver(payload.event()),
        }),
      ),
      ...handlers.map((h) => handlerTarget(h.route.sink, h.handler)),
    ];
    const breakers = Object.fromEntries(config.sinks.map((s) => [s.name, s.breaker ?? {}]));
    const routes = [...config.routes, ...handlers.map((h) => h.route)];
    const m = metrics?.delivery;
    // Per sink, looked up once: its attempt counts and its latency histogram's child.
    const perSink = new Map<string, { tally: AttemptTally; seconds: { observe(value: number): void } }>();
    for (const s of config.sinks) m?.breakerState.set({ sink: s.name }, 0);
    const worker = new DeliveryWorker({
      store,
      routes,
      targets,
      breakers,
      concurrency: config.delivery.concurrency,
      leaseMs: config.delivery.leaseMs,
      pollMs: config.delivery.pollMs,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
      ...(m !== undefined
        ? {
            observer: {
              attempt: ({ sink, route, outcome, next }) => {
                let s = perSink.get(sink);
                if (s === undefined) perSink.set(sink, (s = { tally: m.attemptTally(sink), seconds: m.attemptSeconds.labels({ sink }) }));
                s.tally[outcome.classification]++;
                s.seconds.observe(outcome.latencyMs / 1000);
                if (next === 'succeeded' || next === 'dead') m.finishedTally(route)[next]++;
              },
              breaker: (sink, _from, to) => {
                m.breakerState.set({ sink }, BREAKER_STATE_VALUES[to]);
                if (to === 'open') m.breakerOpens.inc({ sink });
              },
              inFlight: (count) => m.inFlight.set(count),
            },
          }
        : {}),
    });
    m?.setBacklog(async () => {
      const { total } = await store.deliveries.backlog();
      return { pending: total.pending, blocked: total.blocked, in_flight: total.inFlight, dead: total.dead };
    });
    await store.deliveries.setRoutes(
      routes.map((r) => ({
        name: r.name,
        sink: r.sink,
        ...(r.match !== undefined ? { match: r.match } : {}),
        ...(r.onDeadLetter !== undefined ? { onDeadLetter: r.onDeadLetter } : {}),
        ...(r.backfill !== undefined ? { backfillSince: r.backfill.since } : {}),
      })),
    );
    return new DeliveryRuntime(store, routes, sinks, worker);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.worker.start();
  }

  /** Events were recorded, or deliveries were redriven or replayed: look for due work now. */
  wake(): void {
    this.worker.wake();
  }

  /** Breaker, recent success rate and latency of every sink and handler, with its backlog. */
  async sinkStatus(): Promise<SinkStatus[]> {
    const { bySink } = await this.store.deliveries.backlog();
    return this.worker.health().map((h) => ({ ...h, backlog: bySink[h.name] ?? { pending: 0, blocked: 0, inFlight: 0, dead: 0 } }));
  }

  /** Puts dead letters back to pending. Returns the ids redriven. */
  async redrive(selector: RedriveSelector): Promise<number[]> {
    const ids = await this.store.deliveries.redrive(selector, Date.now());
    if (ids.length > 0) this.wake();
    return ids;
  }

  /**
   * Drops dead letters (they stay dead, off the dead-letter list); a conversation one of
   * them held moves on. Returns the ids dropped.
   */
  async drop(ids: number[]): Promise<number[]> {
    const dropped = await this.store.deliveries.dropDeadLetters(ids, Date.now());
    if (dropped.length > 0) this.wake();
    return dropped;
  }

  /**
   * Sinks whose circuit breaker holds their deliveries back, with the time the next probe
   * may go (what a redrive answer says about when delivery really starts).
   */
  pausedSinks(): ReturnType<DeliveryWorker['pausedSinks']> {
    return this.worker.pausedSinks();
  }

  /**
   * Ends a sink's breaker cool-down: its next delivery goes now, as the probe. Undefined for
   * a name that is not a sink of this process.
   */
  probe(sink: string): { sink: string; probing: boolean; breaker?: SinkHealth['breaker'] } | undefined {
    if (!this.sinks.some((s) => s.name === sink)) return undefined;
    const result = this.worker.probeSink(sink);
    return result === undefined ? { sink, probing: false } : { sink, ...result };
  }

  /** Re-delivers stored events to one route (or lists what would be sent, with `dryRun`). */
  async replay(request: ReplayRequest): Promise<ReplayResult> {
    const result = await replay(this.store, this.routes, request);
    if (!result.dryRun && result.deliveries.length > 0) this.wake();
    return result;
  }

  /** Stops the worker (in-flight attempts finish within `graceMs`), then closes the sinks. */
  async close(graceMs?: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.stop(graceMs);
    await Promise.allSettled(this.sinks.map((s) => s.close()));
  }
}
