/**
 * @module store/thread/pipeline-thread
 *
 * A thread that runs only the pipeline, against a store of its own on the same database
 * (what `PostgresStore.createPipeline` starts): the HTTP thread then only verifies, journals
 * and acks, while claiming, normalizing and recording happen here. The owner's side: the
 * {@link RemotePipeline} handle, the thread's log lines and problems, and a `close()` that
 * stops the pipeline, closes the thread's store and ends the thread, and always settles.
 *
 * A thread that ends on its own (an uncaught exception, out of memory) is reported through
 * `onError` and the pipeline's logger; every call on the handle then rejects (`drain()`) or
 * does nothing (`wake()`, `stop()`), so nothing waits on it.
 */
import type { Worker } from 'node:worker_threads';
import type { PipelineLogger, PipelineSettings } from '../../pipeline.js';
import { ThreadChannel } from './channel.js';
import { RemotePipeline } from './remote-pipeline.js';
import { decodeError, type PipelineNotice } from './wire.js';

export interface PipelineThreadOptions {
  settings: PipelineSettings;
  logger?: PipelineLogger;
  /** Problems off the pipeline's calls (the thread's idle connections, the thread ending). */
  onError?: (err: Error) => void;
  /** How long `close()` waits for the thread to finish before terminating it. */
  closeTimeoutMs: number;
  /** Shortest interval between two wake messages (see {@link RemotePipeline}). */
  wakeEveryMs: number;
}

export class PipelineThread {
  readonly pipeline: RemotePipeline;
  readonly #thread: ThreadChannel<PipelineNotice>;
  readonly #opts: PipelineThreadOptions;
  #closing: Promise<void> | undefined;

  /** Takes over `worker`, a thread running `pipeline-host.ts`'s side, and creates its pipeline (stopped). */
  constructor(worker: Worker, opts: PipelineThreadOptions) {
    this.#opts = opts;
    const { logger, onError } = opts;
    this.#thread = new ThreadChannel<PipelineNotice>(worker, {
      notice: (msg) => this.#notice(msg),
      exit: (gone) => {
        this.pipeline.ended();
        if (this.#closing !== undefined) return;
        onError?.(gone);
        logger?.error({ err: gone }, 'the pipeline thread ended: this process records no more events until it restarts');
      },
    });
    this.pipeline = new RemotePipeline((method, args) => this.#thread.call('pipeline', method, args), logger, opts.wakeEveryMs);
    this.pipeline.created = this.#thread.call('pipeline', 'create', [opts.settings]);
    this.pipeline.created.catch((err: unknown) => logger?.error({ err }, 'could not create the pipeline'));
  }

  /** A call on the thread's `target` other than the pipeline's (what the thread's module answers). */
  call(target: 'store' | 'worker', method: string, args: unknown[]): Promise<unknown> {
    return this.#thread.call(target, method, args);
  }

  /** Resolves once the thread has ended. */
  get exited(): Promise<void> {
    return this.#thread.exited;
  }

  /**
   * Stops the pipeline after its current batch, closes the thread's store (its claims are
   * handed back) and ends the thread. Always settles; a thread that does not end within
   * `closeTimeoutMs` is terminated.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#thread.gone !== undefined) return;
      this.#thread.holdOpen();
      const timer = setTimeout(() => void this.#thread.worker.terminate(), this.#opts.closeTimeoutMs);
      try {
        await this.#thread.call('worker', 'close', []);
      } catch (err) {
        if (this.#thread.gone === undefined) {
          this.#opts.onError?.(err instanceof Error ? err : new Error(String(err)));
          void this.#thread.worker.terminate();
        }
      } finally {
        await this.#thread.exited;
        clearTimeout(timer);
      }
    })();
    return this.#closing;
  }

  #notice(msg: PipelineNotice): void {
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
        this.#thread.fail(err);
        this.#opts.logger?.error({ err }, 'the pipeline thread could not start');
        break;
      }
    }
  }
}
