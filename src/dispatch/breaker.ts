/**
 * @module dispatch/breaker
 *
 * A circuit breaker per sink, as a pure state machine over an injected clock.
 *
 * ```
 *  closed --(failureThreshold consecutive retryable failures)--> open
 *  open   --(cool-down elapsed; next acquire() is the probe)---> half-open
 *  half-open --(probe answered)--> closed
 *  half-open --(probe failed)----> open, cool-down doubled (up to maxCooldownMs)
 * ```
 *
 * Why consecutive failures and not a failure rate over a window: webhook traffic is often
 * sparse, and a rate needs a minimum volume and a window size that suit no one; a run of
 * failures with no success in between is the clearest sign a receiver is down, and it is
 * deterministic to test. A partly failing receiver keeps the breaker closed and is handled
 * by each delivery's own retries.
 *
 * What counts: only `retry` outcomes (timeouts, network errors, 408/429/5xx) are failures.
 * A `fail` outcome (another 4xx) means the receiver is up and refused that one event, so it
 * counts as an answer, like a success.
 *
 * An open breaker drops nothing: the worker asks {@link CircuitBreaker.acquire} before each
 * attempt and, when refused, leaves the delivery waiting (without spending an attempt) until
 * {@link BreakerSnapshot.nextProbeAt}.
 */
import type { Classification } from './retry.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive retryable failures that open the breaker. */
  failureThreshold: number;
  /** The first cool-down, in ms. */
  cooldownMs: number;
  /** Each failed probe doubles the cool-down, up to this, in ms. */
  maxCooldownMs: number;
  /**
   * A probe whose result never arrives (its worker crashed or was stopped) would leave the
   * breaker half-open forever; after this many ms another probe is let through.
   */
  probeTimeoutMs: number;
  /** Called on every state change, e.g. to update a metric or log. */
  onTransition?: (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void;
}

/** 5 failures in a row; cool-downs of 30 s, 1 min, 2 min, ... up to 10 min. */
export const DEFAULT_BREAKER_OPTIONS: Readonly<Omit<BreakerOptions, 'onTransition'>> = Object.freeze({
  failureThreshold: 5,
  cooldownMs: 30_000,
  maxCooldownMs: 600_000,
  probeTimeoutMs: 120_000,
});

/** The breaker as the API and metrics show it. Times are epoch ms. */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** When the breaker last opened; absent while closed. */
  openedAt?: number;
  /** When the next probe may start; absent while closed. */
  nextProbeAt?: number;
  /** The current cool-down; absent while closed. */
  cooldownMs?: number;
  /** How many times the breaker has opened since it was created. */
  opens: number;
}

/**
 * Leave to make one attempt, handed back with its result. Results are matched to the
 * state they were granted in: an attempt started before the breaker opened cannot close
 * it, or re-open it, when its answer arrives late.
 */
export interface BreakerPermit {
  /** @internal */
  readonly generation: number;
  /** True for the single attempt let through while half-open. */
  readonly probe: boolean;
}

/**
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 3 }, () => Date.now());
 * const permit = breaker.acquire();
 * if (permit === undefined) return reschedule(breaker.snapshot().nextProbeAt);
 * const outcome = await sink.deliver(event);
 * breaker.record(permit, outcome.classification);
 */
export class CircuitBreaker {
  readonly #options: Omit<BreakerOptions, 'onTransition'>;
  readonly #onTransition: BreakerOptions['onTransition'];
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #generation = 0;
  #consecutiveFailures = 0;
  #openedAt = 0;
  #cooldownMs = 0;
  #probeStartedAt: number | undefined;
  /** While open: an operator asked for a probe before the cool-down ends. */
  #probeAt: number | undefined;
  #opens = 0;

  constructor(options: Partial<BreakerOptions> = {}, now: () => number = Date.now) {
    const { onTransition, ...rest } = options;
    const merged = { ...DEFAULT_BREAKER_OPTIONS };
    for (const [k, v] of Object.entries(rest)) {
      if (v !== undefined) (merged as Record<string, number>)[k] = v as number;
    }
    if (!Number.isInteger(merged.failureThreshold) || merged.failureThreshold < 1) {
      throw new RangeError('failureThreshold must be an integer >= 1');
    }
    for (const k of ['cooldownMs', 'maxCooldownMs', 'probeTimeoutMs'] as const) {
      if (!Number.isFinite(merged[k]) || merged[k] < 0) throw new RangeError(`${k} must be a finite number >= 0`);
    }
    this.#options = merged;
    this.#onTransition = onTransition;
    this.#now = now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /**
   * Asks leave for one attempt. Closed: always granted. Open: refused until the cool-down
   * has passed; then the breaker turns half-open and this call gets the probe. Half-open:
   * refused while the probe is out (unless it timed out).
   */
  acquire(): BreakerPermit | undefined {
    const now = this.#now();
    switch (this.#state) {
      case 'closed':
        return { generation: this.#generation, probe: false };
      case 'open':
        if (now < this.#nextProbe()) return undefined;
        this.#probeStartedAt = now;
        this.#transition('half-open');
        return { generation: this.#generation, probe: true };
      case 'half-open':
        if (this.#probeStartedAt !== undefined && now < this.#probeStartedAt + this.#options.probeTimeoutMs) {
          return undefined;
        }
        // The last probe never reported: let a new one through; the old permit goes stale.
        this.#generation++;
        this.#probeStartedAt = now;
        return { generation: this.#generation, probe: true };
    }
  }

  /** Reports the classification of an attempt made under `permit`. Stale permits are ignored. */
  record(permit: BreakerPermit, classification: Classification): void {
    if (permit.generation !== this.#generation) return;
    const failed = classification === 'retry';
    if (this.#state === 'closed') {
      if (!failed) {
        this.#consecutiveFailures = 0;
        return;
      }
      this.#consecutiveFailures++;
      if (this.#consecutiveFailures >= this.#options.failureThreshold) this.#open(this.#options.cooldownMs);
      return;
    }
    if (this.#state === 'half-open' && permit.probe) {
      if (failed) {
        this.#consecutiveFailures++;
        this.#open(Math.min(this.#options.maxCooldownMs, Math.max(this.#cooldownMs * 2, this.#options.cooldownMs)));
      } else {
        this.#close();
      }
    }
  }

  /** Closes the breaker now, whatever its state (an operator saw the receiver recover). */
  reset(): void {
    if (this.#state !== 'closed') this.#close();
    else this.#consecutiveFailures = 0;
  }

  /**
   * Ends an open breaker's cool-down now, so the next attempt is its probe (an operator says
   * the receiver is back): the probe's result closes it, or opens it again with the next
   * cool-down. Returns false when there is nothing to cut short (closed, or a probe is out).
   */
  probeNow(): boolean {
    if (this.#state !== 'open') return false;
    this.#probeAt = this.#now();
    return true;
  }

  #nextProbe(): number {
    return Math.min(this.#openedAt + this.#cooldownMs, this.#probeAt ?? Infinity);
  }

  /** Ms until an attempt may start: 0 when closed or a probe is due. */
  waitMs(): number {
    const now = this.#now();
    if (this.#state === 'closed') return 0;
    if (this.#state === 'open') return Math.max(0, this.#nextProbe() - now);
    const until = (this.#probeStartedAt ?? now) + this.#options.probeTimeoutMs;
    return Math.max(0, until - now);
  }

  snapshot(): BreakerSnapshot {
    const snap: BreakerSnapshot = {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      opens: this.#opens,
    };
    if (this.#state !== 'closed') {
      snap.openedAt = this.#openedAt;
      snap.cooldownMs = this.#cooldownMs;
      snap.nextProbeAt =
        this.#state === 'open' ? this.#nextProbe() : (this.#probeStartedAt ?? this.#openedAt) + this.#options.probeTimeoutMs;
    }
    return snap;
  }

  #open(cooldownMs: number): void {
    this.#openedAt = this.#now();
    this.#cooldownMs = cooldownMs;
    this.#probeStartedAt = undefined;
    this.#probeAt = undefined;
    this.#opens++;
    this.#transition('open');
  }

  #close(): void {
    this.#consecutiveFailures = 0;
    this.#cooldownMs = 0;
    this.#probeStartedAt = undefined;
    this.#probeAt = undefined;
    this.#transition('closed');
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    this.#onTransition?.(from, to, this.snapshot());
  }
}
