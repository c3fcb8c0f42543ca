/**
 * @module store/thread/pipeline-host
 *
 * The thread's side of a pipeline that runs off the HTTP thread (in the SQLite store's
 * thread, or in the PostgreSQL pipeline's thread): the {@link Pipeline} built from the
 * settings the owner sent, the owner's `pipeline` calls, and what goes back unprompted:
 * one `batch` message per recorded batch (with its recorded events while the owner listens
 * for them) and the pipeline's log lines. Its counterpart on the owner's thread is
 * {@link RemotePipeline}.
 */
import { parentPort } from 'node:worker_threads';
import { Pipeline, type BatchInfo, type PipelineLogger, type PipelinePacing, type PipelineSettings } from '../../pipeline.js';
import type { Store, StoredEvent } from '../store.js';
import { encodeError, toWire, type CallMessage, type PipelineNotice, type Reply } from './wire.js';

/** This thread's port to its owner; fails outside a worker thread. */
export function ownerPort(module: string): NonNullable<typeof parentPort> {
  if (parentPort === null) throw new Error(`${module} runs only as a worker thread`);
  return parentPort;
}

/** Posts to the owner; the answer to one call is a {@link Reply}. */
export type Post = (message: PipelineNotice | Reply) => void;

/**
 * Opens what the thread owns with `open`, which gets an `onError` that posts the store's
 * background problems to the owner. When opening throws, tells the owner (`fatal`) and ends
 * the thread: the message is queued on the other side before the thread ends (exit code 1).
 */
export function openOrExit<S>(post: Post, open: (onError: (err: Error) => void) => S): S {
  try {
    return open((err) => post({ op: 'error', error: encodeError(err) }));
  } catch (err) {
    post({ op: 'fatal', error: encodeError(err) });
    process.exit(1);
  }
}

/**
 * Runs `invoke` for the call `m` and posts its answer (a value, or a promise once it
 * settles) or its error.
 */
export function answer(post: Post, m: CallMessage, invoke: (m: CallMessage) => unknown): void {
  let result: unknown;
  try {
    result = invoke(m);
  } catch (err) {
    post({ id: m.id, ok: false, error: encodeError(err) });
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value) => reply(post, m.id, value),
      (err: unknown) => post({ id: m.id, ok: false, error: encodeError(err) }),
    );
  } else {
    reply(post, m.id, result);
  }
}

function reply(post: Post, id: number, result: unknown): void {
  try {
    post({ id, ok: true, result });
  } catch (err) {
    // Typically a DataCloneError: the method returned something that cannot cross threads.
    post({ id, ok: false, error: encodeError(err) });
  }
}

export interface PipelineHostOptions {
  /** The thread's pacing policy; default: each batch at once. */
  pacing?: PipelinePacing;
  /** Runs before the loop starts (the SQLite thread journals its inbox first). */
  beforeStart?: () => Promise<void>;
  /** Refusal for a call that comes once the thread is closing. */
  closedError: () => Error;
  /** Ends the thread (closes its port), once `close()` has answered. */
  endThread: () => void;
}

/** The pipeline of one thread and the owner's calls on it. */
export class PipelineHost {
  /** The pipeline's logger: each line goes to the owner's logger. */
  readonly logger: PipelineLogger;
  #pipeline: Pipeline | undefined;
  #recorded: StoredEvent[] = [];
  /** Whether the owner listens for each recorded event (else only batch summaries cross). */
  #postRecorded = false;
  #closing: Promise<void> | undefined;
  readonly #store: Store;
  readonly #post: Post;
  readonly #opts: PipelineHostOptions;

  constructor(store: Store, post: Post, opts: PipelineHostOptions) {
    this.#store = store;
    this.#post = post;
    this.#opts = opts;
    this.logger = {
      warn: (obj, msg) => post({ op: 'log', level: 'warn', obj: toWire(obj), msg }),
      error: (obj, msg) => post({ op: 'log', level: 'error', obj: toWire(obj), msg }),
    };
  }

  get pipeline(): Pipeline | undefined {
    return this.#pipeline;
  }

  /** Whether `close()` was called: the thread takes no new work. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs `before` (what the thread must do while its store is still open), stops the
   * pipeline after its current batch, closes the store, then lets the thread end once the
   * answer is out (nothing else keeps it alive). Once only; later calls get the same promise.
   */
  close(before?: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await before?.();
        await this.#pipeline?.stop();
      } finally {
        await this.#store.close();
      }
    })();
    const end = (): void => void setImmediate(this.#opts.endThread);
    this.#closing.then(end, end);
    return this.#closing;
  }

  /** One `pipeline` call from the owner (see {@link RemotePipeline}). */
  call(method: string, args: unknown[]): unknown {
    if (method === 'create') {
      if (this.#pipeline !== undefined) throw new Error('the pipeline already exists');
      this.#pipeline = this.#create((args[0] ?? {}) as PipelineSettings);
      return undefined;
    }
    const pipeline = this.#pipeline;
    if (pipeline === undefined) throw new Error('no pipeline was created');
    switch (method) {
      case 'start': {
        if (this.closing) throw this.#opts.closedError();
        const before = this.#opts.beforeStart?.() ?? Promise.resolve();
        return before.then(() => {
          if (!this.closing) pipeline.start();
        });
      }
      case 'wake':
        pipeline.wake();
        return undefined;
      case 'listen':
        this.#postRecorded = args[0] === true;
        return undefined;
      case 'stop':
        return pipeline.stop();
      case 'drain':
        return pipeline.drain();
      default:
        throw new TypeError(`the pipeline has no method ${method}()`);
    }
  }

  /** The pipeline with the settings the server gives one on its own thread (`server/pipeline.ts`). */
  #create(settings: PipelineSettings): Pipeline {
    const providers = new Map(Object.entries(settings.providers ?? {}));
    const p = new Pipeline(this.#store, {
      batchSize: Math.max(1, settings.batchSize ?? 500),
      logger: this.logger,
      providerFor: (channel) => providers.get(channel),
      ...(this.#opts.pacing !== undefined ? { pacing: this.#opts.pacing } : {}),
      ...(settings.pollMs !== undefined ? { pollMs: settings.pollMs } : {}),
      ...(settings.maxItems !== undefined ? { maxItems: settings.maxItems } : {}),
      ...(settings.maxAttempts !== undefined ? { maxAttempts: settings.maxAttempts } : {}),
      ...(settings.rowBudgetMs !== undefined ? { rowBudgetMs: settings.rowBudgetMs } : {}),
    });
    p.on('recorded', (stored) => {
      if (this.#postRecorded) this.#recorded.push(stored);
    });
    p.on('batch', (info: BatchInfo) => {
      const recorded = this.#recorded;
      this.#recorded = [];
      this.#post({ op: 'batch', info, recorded });
    });
    return p;
  }
}
