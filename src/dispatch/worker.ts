/**
 * @module dispatch/worker
 *
 * The delivery worker: the shell around the pure dispatch rules. It leases due deliveries
 * from the store, runs each through its sink or library handler, and records every
 * attempt with what follows from the route's retry policy:
 *
 * ```
 * lease (runnable, due, sink not paused) -> breaker permit? -- no --> release (no attempt spent)
 *                                              | yes
 *                                   sink.deliver / handler(event)
 *                                              |
 *            success -> succeeded   fail -> dead   retry -> nextAttemptAt(policy) | dead after the last
 * ```
 *
 * - Order: the store hands out at most one delivery per (route, ordering key) lane, and the
 *   next one only after this one succeeded or went dead; lanes run in parallel up to
 *   `concurrency` (and each HTTP sink's own limit).
 * - At least once: leases are renewed while attempts run. A worker that dies stops renewing;
 *   its deliveries are leased again once the lease expires.
 * - Circuit breaker per sink: while open, its deliveries are not leased (they wait, nothing
 *   is dropped and no attempt is spent); once the cool-down passes, one probe is leased.
 * - Batches: one store call at a time records every outcome collected since the last one
 *   and leases the next deliveries, in one transaction (`settleDeliveries`); outcomes that
 *   finish while it runs go with the next. Under load each round trip carries many
 *   deliveries, when idle each carries one, like the journal's group commit. Events come
 *   as the store keeps them (JSON text), parsed only for targets that need the object.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeasedEntry, NextStep, OutcomeEntry, SettleRequest } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import { type BreakerOptions, type BreakerSnapshot, type BreakerState, CircuitBreaker } from './breaker.js';
import type { RouteConfig } from './match.js';
import { payloadFromJson } from './payload.js';
import { type AttemptOutcome, type RetryPolicy, DEFAULT_RETRY_POLICY, handlerOutcome, nextAttemptAt, resolveRetryPolicy } from './retry.js';
import { type SinkHealth, SinkStats, sinkHealth } from './sink-health.js';
import type { AttemptContext, DeliveryTarget } from './target.js';

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the worker reports as it goes (metrics). */
export interface WorkerObserver {
  attempt?(info: { sink: string; route: string; outcome: AttemptOutcome; next: NextStep['state'] }): void;
  breaker?(sink: string, from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot): void;
  inFlight?(count: number): void;
}

export interface DeliveryWorkerOptions {
  store: Pick<Store, 'deliveries'>;
  /** Routes with their retry policies; a delivery of a route not listed uses the default policy. */
  routes: readonly RouteConfig[];
  targets: readonly DeliveryTarget[];
  /** Breaker settings per sink name; sinks listed here get a breaker (handlers usually not). */
  breakers?: Readonly<Record<string, Partial<Omit<BreakerOptions, 'onTransition'>>>>;
  /** Deliveries in flight at once. Default 64. */
  concurrency?: number;
  /** Lease length; renewed every third of it while attempts run. Default 30 000 ms. */
  leaseMs?: number;
  /** How often to look for due work when idle. Default 250 ms. */
  pollMs?: number;
  /** Unique per worker; default `<host>:<pid>:<random>`. */
  owner?: string;
  logger?: WorkerLogger;
  observer?: WorkerObserver;
  /** Epoch ms clock (leases, schedules, breakers). */
  now?: () => number;
  /** Uniform in [0, 1) for backoff jitter. */
  random?: () => number;
}

/**
 * Leases held per slot of `concurrency`: deliveries leased ahead wait in the worker for a
 * slot. While the store is busy (the pipeline records a backlog between two of our round
 * trips), each round trip then brings the next several batches, not one. Lanes stay in
 * order: a lane's next delivery is not runnable before this one's outcome is recorded.
 * A round trip waits for the pipeline's batch in progress (50 ms or so while we call), so
 * this caps deliveries while the pipeline catches up: in the delivery bench, with 4 per slot
 * 37-42% of the events had reached the sink when the pipeline had recorded the last one,
 * with 8 69-73%, with 16 88-90% (but the pipeline finished later, and the last delivery no
 * sooner). The cost is memory: each lease held carries its event, 512 of them at the
 * default concurrency.
 */
const LEASES_PER_SLOT = 8;

/**
 * Leases held per attempt a sink takes at once (its `concurrency`), within the worker's whole
 * allowance: a slow sink with a backlog then cannot take every lease while another sink's
 * deliveries wait. Sixteen, so a sink with 32 connections (the delivery bench's) may still
 * hold all of {@link LEASES_PER_SLOT}'s allowance at the default concurrency of 64.
 */
const LEASES_PER_SINK_ATTEMPT = 16;

/** A unique lease owner for this process. */
export function workerOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

type RunState = 'stopped' | 'running' | 'stopping';

/**
 * @example
 * const worker = new DeliveryWorker({ store, routes: config.routes, targets: [createSink(cfg)] });
 * worker.start();
 * pipeline.on('batch', () => worker.wake());
 * // ...
 * await worker.stop();
 */
export class DeliveryWorker {
  readonly owner: string;
  private readonly store: Pick<Store, 'deliveries'>;
  private readonly targets = new Map<string, DeliveryTarget>();
  private readonly policies = new Map<string, RetryPolicy>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly stats = new Map<string, SinkStats>();
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly logger: WorkerLogger | undefined;
  private readonly observer: WorkerObserver | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  private state: RunState = 'stopped';
  private readonly running = new Map<number, Promise<void>>();
  /** Leased ahead, waiting for a slot: per sink, oldest first. */
  private readonly waiting = new Map<string, LeasedEntry[]>();
  /** How many wait, over every sink. */
  private waitingCount = 0;
  /** Attempts running, per sink. */
  private readonly runningBy = new Map<string, number>();
  /** Leases to give back (no attempt made), sent together once per turn. */
  private releases: number[] = [];
  /** Outcomes waiting for the next store round trip. */
  private records: OutcomeEntry[] = [];
  /** Store round trips in a row that failed to record outcomes. */
  private recordFailures = 0;
  private flushing: Promise<void> | undefined;
  private pumpQueued = false;
  /** A store round trip (record + lease) is in progress. */
  private leasing = false;
  /** A pump was asked for while a round trip was in progress. */
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Earliest retry this worker scheduled, so it wakes for it instead of waiting for a poll. */
  private nextLocalDue = Infinity;
  private consecutiveStoreFailures = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: DeliveryWorkerOptions) {
    this.store = options.store;
    this.owner = options.owner ?? workerOwner();
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 64));
    this.leaseMs = Math.max(100, options.leaseMs ?? 30_000);
    this.pollMs = Math.max(1, options.pollMs ?? 250);
    this.logger = options.logger;
    this.observer = options.observer;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    for (const target of options.targets) {
      this.targets.set(target.name, target);
      this.stats.set(target.name, new SinkStats());
    }
    for (const route of options.routes) this.policies.set(route.name, resolveRetryPolicy(route.retry ?? {}, `routes.${route.name}.retry`));
    for (const [sink, settings] of Object.entries(options.breakers ?? {})) {
      if (!this.targets.has(sink)) continue;
      const breaker = new CircuitBreaker(
        {
          ...settings,
          onTransition: (from, to, snapshot) => {
            this.logger?.[to === 'open' ? 'warn' : 'info']({ sink, from, to, nextProbeAt: snapshot.nextProbeAt }, `sink ${sink}: circuit ${to}`);
            this.observer?.breaker?.(sink, from, to, snapshot);
            if (to !== 'closed') this.wakeAt(this.now() + breaker.waitMs());
          },
        },
        this.now,
      );
      this.breakers.set(sink, breaker);
    }
  }

  /** Starts leasing; due deliveries (including those left by a crash, once their lease expired) run at once. */
  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'running';
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
    this.schedulePump(0);
  }

  /** New deliveries may be due (events were just recorded, a redrive or replay happened). */
  wake(): void {
    if (this.state === 'running') this.schedulePump(0);
  }

  /** Deliveries in flight in this worker now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Most deliveries this worker holds leased at once (running and waiting for a slot). */
  private get capacity(): number {
    return this.concurrency * LEASES_PER_SLOT;
  }

  /** Attempts a sink takes at once (its `concurrency`); unbounded for a target that sets none. */
  private sinkConcurrency(sink: string): number {
    return this.targets.get(sink)?.concurrency ?? Infinity;
  }

  /** Most deliveries of one sink this worker holds at once (see {@link LEASES_PER_SINK_ATTEMPT}). */
  private sinkCapacity(sink: string): number {
    return Math.min(this.capacity, this.sinkConcurrency(sink) * LEASES_PER_SINK_ATTEMPT);
  }

  /** Deliveries of `sink` held: running or waiting. */
  private heldOf(sink: string): number {
    return (this.runningBy.get(sink) ?? 0) + (this.waiting.get(sink)?.length ?? 0);
  }

  /** Leases taken by a round trip join the waiting ones. */
  private hold(leased: LeasedEntry[]): void {
    for (const entry of leased) {
      let queue = this.waiting.get(entry[3]);
      if (queue === undefined) this.waiting.set(entry[3], (queue = []));
      queue.push(entry);
    }
    this.waitingCount += leased.length;
  }

  /** Every waiting lease, no longer held. */
  private takeWaiting(): LeasedEntry[] {
    const taken = [...this.waiting.values()].flat();
    this.waiting.clear();
    this.waitingCount = 0;
    return taken;
  }

  /**
   * Stops leasing, lets attempts in flight finish for up to `graceMs`, records their outcomes,
   * and gives back the leases of any still running (they will run again: at least once).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.renewTimer);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    const unstarted = this.takeWaiting().map((l) => l[0]);
    if (unstarted.length > 0) await this.store.deliveries.release(unstarted, this.owner, this.now()).catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.running.values()]), grace]);
    clearTimeout(timer);
    await this.flush();
    // Leased by a round trip that was under way when stop() began.
    const left = [...this.running.keys(), ...this.takeWaiting().map((l) => l[0])];
    if (left.length > 0) {
      this.logger?.warn({ deliveries: left.length }, 'delivery attempts still running at stop; their deliveries will run again');
      await this.store.deliveries.release(left, this.owner, this.now()).catch(() => undefined);
    }
    this.state = 'stopped';
    this.observer?.inFlight?.(this.running.size);
    this.resolveIdle();
  }

  /**
   * Resolves when nothing is in flight and a lease finds nothing due now (for tests and
   * benchmarks). Retries scheduled for later do not count as due.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.wake();
    });
  }

  /** Breaker state and recent figures per sink and handler. */
  health(): SinkHealth[] {
    return [...this.targets.values()].map((t) => sinkHealth(t, this.stats.get(t.name)!, this.breakers.get(t.name)));
  }

  /**
   * Ends a sink's breaker cool-down now: its next delivery is the probe that closes the
   * breaker (or opens it again). Returns the breaker as it is afterwards, whether a probe was
   * started by this call, or undefined for a sink without a breaker.
   */
  probeSink(sink: string): { probing: boolean; breaker: BreakerSnapshot } | undefined {
    const breaker = this.breakers.get(sink);
    if (!breaker) return undefined;
    const probing = breaker.probeNow();
    if (probing) this.wake();
    return { probing, breaker: breaker.snapshot() };
  }

  /** Breaker snapshots of the sinks whose breaker is not closed (deliveries to them wait). */
  pausedSinks(): Array<{ sink: string; breaker: BreakerSnapshot }> {
    const out: Array<{ sink: string; breaker: BreakerSnapshot }> = [];
    for (const [sink, breaker] of this.breakers) if (breaker.state !== 'closed') out.push({ sink, breaker: breaker.snapshot() });
    return out;
  }

  /** Closes a sink's breaker now (an operator saw it recover). Returns false for an unknown sink. */
  resetBreaker(sink: string): boolean {
    const breaker = this.breakers.get(sink);
    if (!breaker) return false;
    breaker.reset();
    this.wake();
    return true;
  }

  // ---- the loop --------------------------------------------------------------------------

  private schedulePump(delayMs: number): void {
    if (this.state !== 'running') return;
    const at = this.now() + Math.max(0, delayMs);
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.pump();
    }, Math.max(0, delayMs));
    if (delayMs > 0) this.timer.unref();
  }

  private wakeAt(at: number): void {
    if (Number.isFinite(at)) this.schedulePump(Math.max(0, at - this.now()));
  }

  /** Runs a pump on the next turn of the event loop (attempts finished: record them, lease more). */
  private queuePump(): void {
    if (this.pumpQueued || this.state !== 'running') return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.state !== 'running') return;
    // Once per pump, not per attempt: a gauge read at scrape time needs no finer steps.
    this.observer?.inFlight?.(this.running.size);
    if (this.leasing) {
      this.again = true;
      return;
    }
    const held = this.running.size + this.waitingCount;
    const free = this.capacity - held;
    // Lease in batches: with nothing to record, wait for a handful of free places; a round
    // trip that records outcomes anyway takes whatever is free.
    const batch = held === 0 || free >= Math.max(1, Math.floor(this.concurrency / 2));
    const limit = free > 0 && (batch || this.records.length > 0) ? free : 0;
    if (limit === 0 && this.records.length === 0) return;
    this.leasing = true;
    this.again = false;
    let leased = 0;
    let failed = false;
    try {
      leased = await this.settleAndRun(limit);
      this.consecutiveStoreFailures = 0;
    } catch (error) {
      failed = true;
      this.consecutiveStoreFailures++;
      this.logger?.error({ err: error, failures: this.consecutiveStoreFailures }, 'recording or leasing deliveries failed; will retry');
    } finally {
      this.leasing = false;
    }
    if (this.state !== 'running') return;
    if (failed) {
      this.schedulePump(Math.min(2_000, this.pollMs * Math.min(20, this.consecutiveStoreFailures)));
      return;
    }
    if (this.again || this.records.length > 0 || (limit > 0 && leased >= limit)) {
      this.queuePump();
      return;
    }
    // Nothing more due now: sleep until the next poll, a local retry, a breaker probe, or a wake().
    if (limit === 0) return; // only recorded; a later completion or timer looks for work
    if (this.running.size === 0 && this.waitingCount === 0 && this.records.length === 0 && !this.flushing) this.resolveIdle();
    let wait = this.pollMs;
    const now = this.now();
    if (this.nextLocalDue <= now) this.nextLocalDue = Infinity;
    if (Number.isFinite(this.nextLocalDue)) wait = Math.min(wait, this.nextLocalDue - now);
    for (const breaker of this.breakers.values()) {
      if (breaker.state !== 'closed') wait = Math.min(wait, Math.max(1, breaker.waitMs()));
    }
    this.schedulePump(Math.max(1, wait));
  }

  /**
   * One store round trip: the outcomes collected so far, then up to `free` deliveries for
   * the sinks whose breaker is closed (one transaction); then one probe for each sink due
   * for one. Returns how many were leased.
   */
  private async settleAndRun(free: number): Promise<number> {
    const open: string[] = [];
    const room: number[] = [];
    const probes: string[] = [];
    for (const name of this.targets.keys()) {
      const breaker = this.breakers.get(name);
      if (breaker === undefined || breaker.state === 'closed') {
        const left = this.sinkCapacity(name) - this.heldOf(name);
        if (left > 0) {
          open.push(name);
          room.push(left);
        }
      } else if (breaker.waitMs() === 0) probes.push(name);
    }
    const now = this.now();
    const lease = (limit: number, sinks: string[], sinkLimits?: number[]): SettleRequest['lease'] => ({
      leaseMs: this.leaseMs,
      limit,
      sinks,
      ...(sinkLimits ? { sinkLimits } : {}),
    });
    const records = this.records;
    this.records = [];
    let total = 0;
    if (records.length > 0 || (free > 0 && open.length > 0)) {
      let result;
      try {
        result = await this.store.deliveries.settle({
          owner: this.owner,
          now,
          outcomes: records,
          ...(free > 0 && open.length > 0 ? { lease: lease(free, open, room) } : {}),
        });
        this.recordFailures = 0;
      } catch (error) {
        this.keepRecords(records);
        throw error;
      }
      this.logStale(result.stale);
      this.hold(result.leased);
      total += result.leased.length;
    }
    for (const sink of probes) {
      if (total >= free) break;
      const { leased } = await this.store.deliveries.settle({ owner: this.owner, now, outcomes: [], lease: lease(1, [sink]) });
      this.hold(leased);
      total += leased.length;
    }
    this.startWaiting();
    return total;
  }

  /**
   * Starts leased deliveries while slots are free: taking the sinks in turn, each sink's
   * oldest, as long as the sink runs fewer attempts than it takes at once. A slot therefore
   * never waits on a busy sink while another sink has work. (A lane never has two deliveries
   * leased, and a lane belongs to one sink, so no lane's order changes.)
   */
  private startWaiting(): void {
    if (this.state !== 'running') return;
    while (this.running.size < this.concurrency && this.waitingCount > 0) {
      let started = false;
      for (const [sink, queue] of this.waiting) {
        if (this.running.size >= this.concurrency) break;
        if (queue.length === 0 || (this.runningBy.get(sink) ?? 0) >= this.sinkConcurrency(sink)) continue;
        this.waitingCount--;
        this.launch(queue.shift()!);
        started = true;
      }
      if (!started) return;
    }
  }

  /** Gives a lease back without an attempt; the ids of one turn go in one store call. */
  private release(id: number): void {
    this.releases.push(id);
    if (this.releases.length > 1) return;
    setImmediate(() => {
      const ids = this.releases;
      this.releases = [];
      this.store.deliveries.release(ids, this.owner, this.now()).then(
        () => this.wake(),
        (error: unknown) => this.logger?.warn({ err: error, deliveries: ids.length }, 'giving leases back failed; they run again once they expire'),
      );
    });
  }

  /** Outcomes the store did not take go with the next round trip, for a while: their leases run out meanwhile. */
  private keepRecords(records: OutcomeEntry[]): void {
    if (records.length === 0) return;
    if (++this.recordFailures > 20) {
      this.logger?.error({ records: records.length }, 'giving up recording delivery attempts; their deliveries will run again once the leases expire');
      return;
    }
    this.records = records.concat(this.records);
  }

  private logStale(stale: number[]): void {
    if (stale.length > 0) {
      this.logger?.warn({ deliveries: stale }, 'attempts finished after their lease was taken over; outcome logged, state left to the new owner');
    }
  }

  private launch(leased: LeasedEntry): void {
    this.runningBy.set(leased[3], (this.runningBy.get(leased[3]) ?? 0) + 1);
    this.running.set(leased[0], this.runThenNext(leased));
  }

  /** One delivery, then the next: a free slot takes a waiting lease, the outcome goes to the store. */
  private async runThenNext(leased: LeasedEntry): Promise<void> {
    try {
      await this.run(leased);
    } catch (error) {
      this.logger?.error({ err: error, deliveryId: leased[0] }, 'a delivery attempt failed unexpectedly; its lease will expire and it will run again');
    } finally {
      // After launch() has put it in `running`: the await above always yields first.
      this.running.delete(leased[0]);
      this.runningBy.set(leased[3], this.runningBy.get(leased[3])! - 1);
      this.startWaiting();
      this.queuePump();
    }
  }

  private async run([id, eventId, route, sink, orderingKey, attempts, redrives, origin, eventJson]: LeasedEntry): Promise<void> {
    const delivery = { id, eventId, route, sink, orderingKey, attempts, redrives, origin };
    const target = this.targets.get(delivery.sink);
    if (target === undefined) {
      this.release(delivery.id);
      return;
    }
    const breaker = this.breakers.get(delivery.sink);
    const permit = breaker?.acquire();
    if (breaker !== undefined && permit === undefined) {
      // Paused while this one was being leased or waited: give it back, no attempt spent.
      this.release(delivery.id);
      this.wakeAt(this.now() + breaker.waitMs());
      return;
    }
    const stats = this.stats.get(target.name)!;
    const attempt = delivery.attempts + 1;
    const context: AttemptContext = {
      deliveryId: delivery.id,
      route: delivery.route,
      attempt,
      orderingKey: delivery.orderingKey,
      redelivery: delivery.redrives + (delivery.origin === 'replay' ? 1 : 0),
    };
    const startedAt = this.now();
    const t0 = performance.now();
    let outcome: AttemptOutcome;
    stats.inFlight++;
    try {
      outcome = await target.deliver(payloadFromJson(delivery.eventId, eventJson), context);
    } catch (error) {
      outcome = handlerOutcome(Math.round(performance.now() - t0), { error });
    } finally {
      stats.inFlight--;
    }
    if (outcome.errorCode === 'sink-closed') {
      // Shutting down: not an attempt at the receiver.
      await this.store.deliveries.release([delivery.id], this.owner, this.now());
      return;
    }
    if (breaker !== undefined && permit !== undefined) breaker.record(permit, outcome.classification);
    const now = this.now();
    stats.add(outcome, now);
    const next = this.nextStep(delivery.route, attempt, outcome, now);
    if (next.state === 'pending' && next.nextAttemptAt < this.nextLocalDue) this.nextLocalDue = next.nextAttemptAt;
    this.observer?.attempt?.({ sink: delivery.sink, route: delivery.route, outcome, next: next.state });
    if (next.state === 'dead') {
      this.logger?.warn(
        { deliveryId: delivery.id, eventId: delivery.eventId, route: delivery.route, attempts: attempt, error: outcome.error },
        'delivery dead-lettered',
      );
    }
    this.records.push([
      delivery.id,
      startedAt,
      outcome.latencyMs,
      outcome.classification,
      outcome.statusCode ?? null,
      outcome.errorCode ?? null,
      outcome.error ?? null,
      outcome.detail ?? null,
      outcome.retryAfterMs ?? null,
      next.state === 'pending' ? next.nextAttemptAt : next.state,
      now,
    ]);
  }

  /** The pure decision: what follows an attempt under the route's policy. */
  private nextStep(route: string, attempt: number, outcome: AttemptOutcome, now: number): NextStep {
    if (outcome.classification === 'success') return { state: 'succeeded' };
    if (outcome.classification === 'fail') return { state: 'dead' };
    const policy = this.policies.get(route) ?? DEFAULT_RETRY_POLICY;
    const at = nextAttemptAt(policy, attempt, now, {
      random: this.random,
      ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
    });
    return at === 'dead' ? { state: 'dead' } : { state: 'pending', nextAttemptAt: at };
  }

  // ---- batched writes ------------------------------------------------------------------

  /** At stop: writes the outcomes collected so far in one transaction; retried until the store takes them. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    while (this.leasing) await new Promise((resolve) => setImmediate(resolve));
    if (this.records.length === 0) return;
    const batch = this.records;
    this.records = [];
    this.flushing = (async () => {
      for (let failures = 0; ; failures++) {
        try {
          this.logStale((await this.store.deliveries.settle({ owner: this.owner, now: this.now(), outcomes: batch })).stale);
          return;
        } catch (error) {
          this.logger?.error({ err: error, records: batch.length, failures }, 'recording delivery attempts failed; retrying');
          // The leases run out meanwhile; give up after a while and let the deliveries run again.
          if (failures >= 20 || this.state === 'stopped') return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** failures)));
        }
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0 && this.waitingCount === 0) return;
    try {
      await this.store.deliveries.renewLeases(this.owner, this.now(), this.leaseMs);
    } catch (error) {
      this.logger?.warn({ err: error }, 'renewing delivery leases failed');
    }
  }

  private resolveIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
