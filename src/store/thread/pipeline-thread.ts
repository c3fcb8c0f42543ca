/**
 * @module store/thread/pipeline-thread
 *
 * A thread that runs only the pipeline, against a store of its own on the same database
 * (what `PostgresStore.createPipeline` starts): the HTTP thread then only verifies, journals
 * and acks, while claiming, normalizing and recording happen here. The owner's side: the
 * {@link RemotePipeline} handle, the thread's log lines and problems, and a `close()` that
 * stops the pipeline, closes the thread's store and ends the thread, and always settles.
 *
 * A thread that ends on its own (an uncaught exception, out of memory, a store it could not
 * open) is reported through `onError` and the pipeline's logger, and its pending calls
 * reject, so nothing waits on it. Then a new thread starts, after {@link RESTART_DELAY_MS}
 * (doubling, up to {@link RESTART_MAX_MS}, while threads keep ending within a minute of
 * starting): the handle carries on with it, started and listening as before. Journal rows
 * the old thread had claimed go back to the queue when its lease runs out. Without that the
 * process would keep acking while recording nothing, a stall only the lag would show.
 */
import type { Worker } from 'node:worker_threads';
import type { PipelineLogger, PipelineSettings } from '../../pipeline.js';
import { ThreadChannel } from './channel.js';
import { RemotePipeline } from './remote-pipeline.js';
import { decodeError, type CallTarget, type PipelineNotice } from './wire.js';

/** Delay before a thread that ended on its own is replaced. */
export const RESTART_DELAY_MS = 1_000;
/** Longest delay between replacements of threads that keep ending young. */
export const RESTART_MAX_MS = 60_000;
/** A thread that ran this long before it ended is replaced after the shortest delay again. */
const STEADY_MS = 60_000;

export interface PipelineThreadOptions {
  settings: PipelineSettings;
  logger?: PipelineLogger;
  /** Problems off the pipeline's calls (the thread's idle connections, the thread ending). */
  onError?: (err: Error) => void;
  /** How long `close()` waits for the thread to finish before terminating it. */
  closeTimeoutMs: number;
  /** Shortest interval between two wake messages (see {@link RemotePipeline}). */
  wakeEveryMs: number;
  /** First delay before replacing a thread that ended on its own. Default {@link RESTART_DELAY_MS}. */
  restartDelayMs?: number;
}

export class PipelineThread {
  readonly pipeline: RemotePipeline;
  readonly #spawn: () => Worker;
  readonly #opts: PipelineThreadOptions;
  #thread!: ThreadChannel<PipelineNotice>;
  #startedAt = 0;
  #closing: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartDelay: number;
  /** What the handle asked of the pipeline, so a new thread's pipeline is put in the same state. */
  #running = false;
  #listening = false;
  readonly #ended: Promise<void>;
  #end!: () => void;

  /**
   * Starts a thread with `spawn` (a thread running `pipeline-host.ts`'s side; called again for
   * each replacement) and creates its pipeline, stopped.
   */
  constructor(spawn: () => Worker, opts: PipelineThreadOptions) {
    this.#spawn = spawn;
    this.#opts = opts;
    this.#restartDelay = opts.restartDelayMs ?? RESTART_DELAY_MS;
    this.#ended = new Promise<void>((resolve) => (this.#end = resolve));
    this.pipeline = new RemotePipeline((method, args) => this.#forward(method, args), opts.logger, opts.wakeEveryMs);
    this.pipeline.created = this.#begin();
  }

  /** A call on the thread's `target` other than the pipeline's (what the thread's module answers). */
  call(target: Exclude<CallTarget, 'pipeline'>, method: string, args: unknown[]): Promise<unknown> {
    return this.#thread.call(target, method, args);
  }

  /** Resolves once this is closed and its last thread has ended. */
  get exited(): Promise<void> {
    return this.#ended;
  }

  /**
   * Stops the pipeline after its current batch, closes the thread's store (its claims are
   * handed back) and ends the thread; no new one starts. Always settles; a thread that does
   * not end within `closeTimeoutMs` is terminated.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#restartTimer);
      const thread = this.#thread;
      try {
        if (thread.gone !== undefined) return;
        thread.holdOpen();
        const timer = setTimeout(() => void thread.worker.terminate(), this.#opts.closeTimeoutMs);
        try {
          await thread.call('worker', 'close', []);
        } catch (err) {
          if (thread.gone === undefined) {
            this.#opts.onError?.(err instanceof Error ? err : new Error(String(err)));
            void thread.worker.terminate();
          }
        } finally {
          await thread.exited;
          clearTimeout(timer);
        }
      } finally {
        this.pipeline.ended();
        this.#end();
      }
    })();
    return this.#closing;
  }

  /** Starts a thread and creates its pipeline; resolves once the pipeline exists. */
  #begin(): Promise<unknown> {
    const { logger, onError } = this.#opts;
    this.#startedAt = performance.now();
    const thread: ThreadChannel<PipelineNotice> = new ThreadChannel<PipelineNotice>(this.#spawn(), {
      notice: (msg) => this.#notice(thread, msg),
      exit: (gone) => {
        if (this.#closing !== undefined) return;
        onError?.(gone);
        const delay = this.#nextDelay();
        logger?.error({ err: gone, restartInMs: delay }, 'the pipeline thread ended; a new one starts shortly');
        this.#restartTimer = setTimeout(() => void this.#restart(), delay);
        this.#restartTimer.unref();
      },
    });
    this.#thread = thread;
    const created = thread.call('pipeline', 'create', [this.#opts.settings]);
    created.catch((err: unknown) => logger?.error({ err }, 'could not create the pipeline'));
    return created;
  }

  /** A new thread in place of one that ended on its own, its pipeline as the handle left it. */
  async #restart(): Promise<void> {
    if (this.#closing !== undefined) return;
    try {
      await this.#begin();
      if (this.#listening) await this.#thread.call('pipeline', 'listen', [true]);
      if (this.#running) await this.#thread.call('pipeline', 'start', []);
      this.#opts.logger?.warn({}, 'a new pipeline thread took over');
    } catch {
      // That thread failed too: its exit is reported and schedules the next attempt.
    }
  }

  /** The delay before the next replacement: doubled while threads keep ending young. */
  #nextDelay(): number {
    const first = this.#opts.restartDelayMs ?? RESTART_DELAY_MS;
    if (performance.now() - this.#startedAt >= STEADY_MS) this.#restartDelay = first;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(RESTART_MAX_MS, this.#restartDelay * 2);
    return delay;
  }

  #forward(method: string, args: unknown[]): Promise<unknown> {
    if (method === 'start') this.#running = true;
    else if (method === 'stop') this.#running = false;
    else if (method === 'listen') this.#listening = args[0] === true;
    return this.#thread.call('pipeline', method, args);
  }

  #notice(thread: ThreadChannel<PipelineNotice>, msg: PipelineNotice): void {
    switch (msg.op) {
      case 'batch':
      case 'log':
        this.pipeline.receive(msg);
        break;
      case 'error':
        this.#opts.onError?.(decodeError(msg.error));
        break;
      case 'fatal': {
        const err = decodeError(msg.error);
        thread.fail(err);
        this.#opts.logger?.error({ err }, 'the pipeline thread could not start');
        break;
      }
    }
  }
}
