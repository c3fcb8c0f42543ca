/**
 * @module metrics
 *
 * Prometheus metrics for one server instance. The registry belongs to the instance (not
 * prom-client's global default), so two servers in one process, as in tests, never share
 * or double-register series.
 *
 * The ingest hot path only bumps plain numbers ({@link ChannelCounters}); they are turned into
 * counter increments when `/metrics` is scraped. Label hashing per request would otherwise be
 * a measurable part of an ack that is benchmarked against a bare `node:http` server.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How an ingest request ended, as counted in `bluetick_ingest_requests_total{outcome}`. */
export const REQUEST_OUTCOMES = [
  'acked',
  'unauthorized',
  'too_large',
  'unavailable',
  'method_not_allowed',
  'not_found',
  'challenge',
  'forbidden',
  'bad_request',
  'aborted',
  'backoff',
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** Plain per-channel tallies, bumped with `++` on the hot path. */
export type ChannelCounters = Record<RequestOutcome, number>;

/** The label used for requests to a path no channel owns. */
export const UNKNOWN_CHANNEL_LABEL = '_unknown';

/** Fine at the low end: a durable ack is typically well under a millisecond to a few ms. */
const ACK_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsOptions {
  /** Seconds between now and the oldest journal row not yet normalized (0 when none); read at scrape time. */
  pipelineLagSeconds?: () => number | Promise<number>;
  /** Process metrics (CPU, memory, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'channel' | 'outcome'>;
  readonly ackSeconds: Histogram;
  readonly journalBatchSize: Histogram;
  readonly journalCommitSeconds: Histogram;
  readonly pipelineLag: Gauge;
  readonly pipelineBurstShare: Gauge;
  /** Free space on the data folder's filesystem, read at each scrape (`setDiskFree`). */
  readonly diskFree: Gauge;
  readonly rejections: Counter<'cause'>;
  readonly eventsRecorded: Counter<'type'>;
  readonly duplicateEvents: Counter;
  /** Journal rows the pipeline could not process: `failed`, `quarantined`, or `retried` (a try failed, another follows). */
  readonly pipelineRows: Counter<'outcome'>;
  /** Rows the retention pruner deleted or redacted, by data class and action (src/retention/). */
  readonly pruned: Counter<'class' | 'action'>;
  /** Delivery attempts, dead letters, breakers. */
  readonly delivery: DeliveryMetrics;

  readonly #channels = new Map<string, { live: ChannelCounters; reported: ChannelCounters }>();
  #lag: MetricsOptions['pipelineLagSeconds'];
  #diskFree: (() => Promise<number>) | undefined;

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    const channels = this.#channels;
    this.#lag = opts.pipelineLagSeconds;
    this.requests = new Counter({
      name: 'bluetick_ingest_requests_total',
      help: 'Requests to /webhooks/* by channel and outcome.',
      labelNames: ['channel', 'outcome'] as const,
      registers,
      collect() {
        for (const [channel, { live, reported }] of channels) {
          for (const outcome of REQUEST_OUTCOMES) {
            const delta = live[outcome] - reported[outcome];
            if (delta > 0) {
              this.inc({ channel, outcome }, delta);
              reported[outcome] = live[outcome];
            }
          }
        }
      },
    });
    this.ackSeconds = new Histogram({
      name: 'bluetick_ingest_ack_seconds',
      help: 'Time from request arrival to the durable 200 answer.',
      buckets: ACK_BUCKETS,
      registers,
    });
    this.journalBatchSize = new Histogram({
      name: 'bluetick_journal_batch_size',
      help: 'Journal rows committed together in one transaction (group commit).',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.journalCommitSeconds = new Histogram({
      name: 'bluetick_journal_commit_seconds',
      help: 'Duration of one journal group commit, fsync included.',
      buckets: COMMIT_BUCKETS,
      registers,
    });
    const lag = (): MetricsOptions['pipelineLagSeconds'] => this.#lag;
    this.pipelineLag = new Gauge({
      name: 'bluetick_pipeline_lag_seconds',
      help: 'Age of the oldest journal row not yet normalized (0 when the pipeline is caught up).',
      registers,
      async collect() {
        const read = lag();
        if (read) this.set(await read());
      },
    });
    this.pipelineBurstShare = new Gauge({
      name: 'bluetick_pipeline_burst_share',
      help: 'Share of its thread the pipeline takes while notifications arrive faster than it records them: on SQLite 1 while the HTTP thread has CPU to spare, down to server.journal.burstShare while it needs it; always 1 on PostgreSQL.',
      registers,
    });
    // Nothing paces the pipeline until a batch says otherwise (never, on PostgreSQL).
    this.pipelineBurstShare.set(1);
    const diskFree = (): (() => Promise<number>) | undefined => this.#diskFree;
    this.diskFree = new Gauge({
      name: 'bluetick_disk_free_bytes',
      help: "Free space the service user can write on the data folder's filesystem.",
      registers,
      async collect() {
        const read = diskFree();
        if (read) this.set(await read());
      },
    });
    this.rejections = new Counter({
      name: 'bluetick_rejections_total',
      help: 'Requests refused before reaching the journal, by cause.',
      labelNames: ['cause'] as const,
      registers,
    });
    this.eventsRecorded = new Counter({
      name: 'bluetick_events_recorded_total',
      help: 'Events written for the first time, by type.',
      labelNames: ['type'] as const,
      registers,
    });
    this.duplicateEvents = new Counter({
      name: 'bluetick_events_duplicate_total',
      help: 'Events that were already stored when a redelivery carried them again.',
      registers,
    });
    this.pipelineRows = new Counter({
      name: 'bluetick_pipeline_rows_total',
      help: 'Journal rows the pipeline did not process: settled failed or quarantined, or retried after a failed try.',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.pruned = new Counter({
      name: 'bluetick_pruned_total',
      help: 'Rows the retention pruner deleted or redacted, by data class and action.',
      labelNames: ['class', 'action'] as const,
      registers,
    });
    this.delivery = new DeliveryMetrics(this.registry);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Sets (or replaces) the function that reads the pipeline lag at scrape time. */
  setPipelineLag(read: () => number | Promise<number>): void {
    this.#lag = read;
  }

  /** How `bluetick_disk_free_bytes` is read at each scrape (a `statfs` of the data folder). */
  setDiskFree(read: () => Promise<number>): void {
    this.#diskFree = read;
  }

  /** The tallies for one channel; keep the object and bump its fields. */
  channel(name: string): ChannelCounters {
    let entry = this.#channels.get(name);
    if (entry === undefined) {
      const zero = (): ChannelCounters =>
        Object.fromEntries(REQUEST_OUTCOMES.map((o) => [o, 0])) as unknown as ChannelCounters;
      entry = { live: zero(), reported: zero() };
      this.#channels.set(name, entry);
    }
    return entry.live;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Breaker states as gauge values. */
export const BREAKER_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Attempts of one sink by outcome, not yet added to their counter. */
export type AttemptTally = Record<'success' | 'retry' | 'fail', number>;
/** Finished deliveries of one route by state, not yet added to their counter. */
export type FinishedTally = Record<'succeeded' | 'dead', number>;

/** Delivery series; the worker reports into them, the backlog is read from the store at scrape time. */
export class DeliveryMetrics {
  readonly attempts: Counter<'sink' | 'outcome'>;
  readonly attemptSeconds: Histogram<'sink'>;
  readonly finished: Counter<'route' | 'state'>;
  readonly inFlight: Gauge;
  readonly breakerState: Gauge<'sink'>;
  readonly breakerOpens: Counter<'sink'>;
  readonly backlog: Gauge<'state'>;
  #backlog: (() => Promise<Record<string, number>>) | undefined;
  /**
   * Counted per attempt in plain numbers and added to the counters at scrape time, as the
   * ingest counters are: a labelled `inc` hashes its labels on every call, once per attempt
   * on the thread that serves HTTP.
   */
  readonly #attemptTallies = new Map<string, AttemptTally>();
  readonly #finishedTallies = new Map<string, FinishedTally>();

  constructor(registry: Registry) {
    const registers = [registry];
    const attemptTallies = this.#attemptTallies;
    const finishedTallies = this.#finishedTallies;
    this.attempts = new Counter({
      name: 'bluetick_delivery_attempts_total',
      help: 'Delivery attempts by sink and outcome (success, retry, fail).',
      labelNames: ['sink', 'outcome'] as const,
      registers,
      collect() {
        for (const [sink, tally] of attemptTallies) {
          for (const outcome of ['success', 'retry', 'fail'] as const) {
            if (tally[outcome] === 0) continue;
            this.inc({ sink, outcome }, tally[outcome]);
            tally[outcome] = 0;
          }
        }
      },
    });
    this.attemptSeconds = new Histogram({
      name: 'bluetick_delivery_attempt_seconds',
      help: 'Duration of one delivery attempt, by sink.',
      labelNames: ['sink'] as const,
      buckets: ATTEMPT_BUCKETS,
      registers,
    });
    this.finished = new Counter({
      name: 'bluetick_deliveries_finished_total',
      help: 'Deliveries that succeeded or went to dead letters, by route.',
      labelNames: ['route', 'state'] as const,
      registers,
      collect() {
        for (const [route, tally] of finishedTallies) {
          for (const state of ['succeeded', 'dead'] as const) {
            if (tally[state] === 0) continue;
            this.inc({ route, state }, tally[state]);
            tally[state] = 0;
          }
        }
      },
    });
    this.inFlight = new Gauge({
      name: 'bluetick_deliveries_in_flight',
      help: 'Delivery attempts running in this process.',
      registers,
    });
    this.breakerState = new Gauge({
      name: 'bluetick_sink_breaker_state',
      help: 'Circuit breaker per sink: 0 closed, 1 half-open (probing), 2 open (paused).',
      labelNames: ['sink'] as const,
      registers,
    });
    this.breakerOpens = new Counter({
      name: 'bluetick_sink_breaker_opens_total',
      help: 'Times a sink circuit breaker opened.',
      labelNames: ['sink'] as const,
      registers,
    });
    const read = (): (() => Promise<Record<string, number>>) | undefined => this.#backlog;
    this.backlog = new Gauge({
      name: 'bluetick_deliveries_backlog',
      help: 'Unfinished and dead deliveries in the store, by state (pending, blocked, in_flight, dead).',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const fn = read();
        if (!fn) return;
        for (const [state, n] of Object.entries(await fn())) this.set({ state }, n);
      },
    });
  }

  /** The sink's attempt counts to add to (`tally.success++`); they reach `attempts` at scrape time. */
  attemptTally(sink: string): AttemptTally {
    let tally = this.#attemptTallies.get(sink);
    if (tally === undefined) this.#attemptTallies.set(sink, (tally = { success: 0, retry: 0, fail: 0 }));
    return tally;
  }

  /** The route's finished counts to add to; they reach `finished` at scrape time. */
  finishedTally(route: string): FinishedTally {
    let tally = this.#finishedTallies.get(route);
    if (tally === undefined) this.#finishedTallies.set(route, (tally = { succeeded: 0, dead: 0 }));
    return tally;
  }

  /** Sets the function that reads the backlog at scrape time. */
  setBacklog(read: () => Promise<Record<string, number>>): void {
    this.#backlog = read;
  }
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  return new Metrics(opts);
}
