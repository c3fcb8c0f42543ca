/**
 * @module store/sqlite/thread/remote-pipeline
 *
 * The HTTP thread's handle on the pipeline that runs in the SQLite store's thread
 * (`WorkerStore.createPipeline`): calls go out as messages, batches and log lines come back.
 */
import { EventEmitter } from 'node:events';
import type { PipelineEvents, PipelineHandle, PipelineLogger } from '../../../pipeline.js';
import type { StoredEvent } from '../../store.js';

export type Forward = (method: string, args: unknown[]) => Promise<unknown>;

/** Shortest interval between two wake messages from this thread. */
const WAKE_EVERY_MS = 50;

/**
 * The main thread's handle on the pipeline running in the store's thread. Same API as
 * {@link Pipeline}: `start`, `wake`, `stop`, `drain`, and the `batch` / `recorded` events,
 * emitted here in the order the batches were recorded. `drain()` resolves after the
 * events of every batch it waited for were emitted.
 */
export class RemotePipeline extends EventEmitter<PipelineEvents> implements PipelineHandle {
  readonly #forward: Forward;
  readonly #logger: PipelineLogger | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #lastWake = -Infinity;
  #ended = false;
  created: Promise<unknown> = Promise.resolve();

  constructor(forward: Forward, logger: PipelineLogger | undefined) {
    super();
    this.#forward = forward;
    this.#logger = logger;
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
   * The store's thread already wakes the pipeline after each journal commit (the server
   * calls this after every ack), so this only matters for other writers: throttled to one
   * message per {@link WAKE_EVERY_MS}, the last call of a window sent at its end.
   */
  wake(): void {
    if (this.#wakeTimer !== undefined || this.#ended) return;
    const wait = this.#lastWake + WAKE_EVERY_MS - performance.now();
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

  /** @internal A batch was recorded in the store's thread. */
  batch(info: PipelineEvents['batch'][0], recorded: StoredEvent[]): void {
    // The batch is recorded whatever a listener does: a throwing listener is logged.
    try {
      for (const stored of recorded) this.emit('recorded', stored);
      this.emit('batch', info);
    } catch (err) {
      this.#logger?.error({ err }, 'a pipeline listener threw');
    }
  }

  /** @internal */
  log(level: 'warn' | 'error', obj: object, msg: string): void {
    this.#logger?.[level](obj, msg);
  }

  /** @internal The store's thread ended. */
  ended(): void {
    this.#ended = true;
  }
}
