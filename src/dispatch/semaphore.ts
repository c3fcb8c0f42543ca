/**
 * @module dispatch/semaphore
 *
 * A counting semaphore with a FIFO queue: the per-sink concurrency limit. Waiters are
 * served in arrival order, so one busy conversation cannot starve the others.
 */

/** Gives the slot back; calling it more than once has no further effect. */
export type Release = () => void;

/**
 * @example
 * const limit = new Semaphore(4);
 * const release = await limit.acquire();
 * try { await send(); } finally { release(); }
 */
export class Semaphore {
  readonly limit: number;
  #inFlight = 0;
  readonly #waiters: Array<(release: Release) => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a semaphore limit must be an integer >= 1');
    this.limit = limit;
  }

  /** Slots held right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Callers queued for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(): Promise<Release> {
    const release = this.tryAcquire();
    if (release !== undefined) return Promise.resolve(release);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * A slot now, or undefined when none is free (then `acquire()` queues behind the others).
   * Spares a caller that usually finds a slot the promise and the turn `acquire()` costs.
   */
  tryAcquire(): Release | undefined {
    // A free slot means nobody waits: a release hands its slot straight to the next waiter.
    if (this.#inFlight >= this.limit) return undefined;
    this.#inFlight++;
    return this.#release();
  }

  #release(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      // Hand the slot straight to the next waiter: the count stays the same.
      if (next !== undefined) next(this.#release());
      else this.#inFlight--;
    };
  }
}
