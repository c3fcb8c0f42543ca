/**
 * @module store/thread/remote-pipeline
 *
 * The HTTP thread's handle on a pipeline that runs in another thread (the SQLite store's
 * thread, `WorkerStore.createPipeline`; the PostgreSQL pipeline's thread,
 * `PostgresStore.createPipeline`): calls go out as messages, batches and log lines come back
 * (`pipeline-host.ts` is the other side).
 */
import { EventEmitter } from 'node:events';
import type { PipelineEvents, PipelineHandle, PipelineLogger } from '../../pipeline.js';
import { revive, type PipelineNotice } from './wire.js';

export type Forward = (method: string, args: unknown[]) => Promise<unknown>;

/** Shortest interval between two wake messages from this thread, by default. */
const WAKE_EVERY_MS = 50;

/**
 * The main thread's handle on a pipeline running in another thread. Same API as
 * {@link Pipeline}: `start`, `wake`, `stop`, `drain`, and the `batch` / `recorded` events,
 * emitted here in the order the batches were recorded. `drain()` resolves after the
 * events of every batch it waited for were emitted.
 */
export class RemotePipeline extends EventEmitter<PipelineEvents> implements PipelineHandle {
  readonly #forward: Forward;
  readonly #logger: PipelineLogger | undefined;
  readonly #wakeEveryMs: number;
  #wakeTimer: NodeJS.Timeout | undefined;
  #lastWake = -Infinity;
  #ended = false;
  created: Promise<unknown> = Promise.resolve();

  /**
   * @param wakeEveryMs shortest interval between two wake messages: how late, at worst, a
   *   pipeline that sleeps hears of a commit made on this thread.
   */
  constructor(forward: Forward, logger: PipelineLogger | undefined, wakeEveryMs = WAKE_EVERY_MS) {
    super();
    this.#forward = forward;
    this.#logger = logger;
    this.#wakeEveryMs = wakeEveryMs;
    // Recorded events cross the thread boundary only while someone listens for them.
    const untyped = this as EventEmitter;
    untyped.on('newListener', (name: string | symbol) => {
      if (name === 'recorded' && this.listenerCount('recorded') === 0) this.#forward('listen', [true]).catch(() => undefined);
    });
    untyped.on('removeListener', (name: string | symbol) => {
      if (name === 'recorded' && this.listenerCount('recorded') === 0) this.#forward('listen', [false]).catch(() => undefined);
    });
  }

  start(): void {
    this.#forward('start', []).catch((err: unknown) => this.#logger?.error({ err }, 'could not start the pipeline'));
  }

  /**
   * Throttled to one message per `wakeEveryMs` (the server calls this after every ack), the
   * last call of a window sent at its end. The SQLite store's thread wakes its pipeline after
   * each journal commit itself, so there this only matters for other writers.
   */
  wake(): void {
    if (this.#wakeTimer !== undefined || this.#ended) return;
    const wait = this.#lastWake + this.#wakeEveryMs - performance.now();
    if (wait <= 0) this.#sendWake();
    else this.#wakeTimer = setTimeout(this.#sendWake, wait).unref();
  }

  readonly #sendWake = (): void => {
    this.#wakeTimer = undefined;
    this.#lastWake = performance.now();
    this.#forward('wake', []).catch(() => undefined);
  };

  async stop(): Promise<void> {
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    if (this.#ended) return;
    try {
      await this.#forward('stop', []);
    } catch {
      // The thread is gone: nothing runs any more, which is what stop() asks for.
    }
  }

  async drain(): Promise<void> {
    if (this.#ended) return;
    await this.#forward('drain', []);
  }

  /** @internal A batch recorded, or a log line, from the pipeline's thread. */
  receive(msg: Extract<PipelineNotice, { op: 'batch' | 'log' }>): void {
    if (msg.op === 'log') {
      this.#logger?.[msg.level](revive(msg.obj) as object, msg.msg);
      return;
    }
    // Events come from JSON: no Buffers or errors inside, so no revive walk is needed.
    // The batch is recorded whatever a listener does: a throwing listener is logged.
    try {
      for (const stored of msg.recorded) this.emit('recorded', stored);
      this.emit('batch', msg.info);
    } catch (err) {
      this.#logger?.error({ err }, 'a pipeline listener threw');
    }
  }

  /** @internal The pipeline's thread ended. */
  ended(): void {
    this.#ended = true;
  }
}
