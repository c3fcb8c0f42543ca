/**
 * @module store/thread/channel
 *
 * The owner's side of a thread bluetick starts for a store (the SQLite store's thread, the
 * PostgreSQL pipeline's thread): starting it from the sources or from `dist/`, and the calls
 * posted to it as `{ id, on, method, args }`, each answered by `{ id, result | error }`.
 *
 * Lifetime: the thread keeps the process alive only while a call is waiting for its answer
 * (a forgotten store does not hold the process open; a pending call is never cut short by
 * the process exiting), and while its owner closes it ({@link ThreadChannel.holdOpen}).
 * When the thread ends, for whatever reason, every pending and later call rejects with
 * `ERR_STORE_WORKER_GONE`: nothing waits on a thread that is gone.
 *
 * Running from the TypeScript sources (the test runner): a worker is plain Node, which in
 * version 20 cannot run `.ts` files, so the thread first registers `source-hooks.mjs`
 * (transpiles each `.ts` module with the `typescript` dev dependency, cached on disk) and
 * then imports the module. Building `dist/` before every test run would also work, but
 * would test a second copy of the code and race with edits made while tests run. From
 * `dist/` the thread runs the compiled `.js` module directly.
 */
import { Worker } from 'node:worker_threads';
import { decodeError, revive, type CallMessage, type CallTarget, type Reply } from './wire.js';

/**
 * Starts `module` (a name without extension, next to `base`, the caller's `import.meta.url`)
 * as a thread with `data` as its `workerData`.
 */
export function spawnThread(base: string, module: string, data: unknown): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${module}.js`, base), { workerData: data });
  const hooks = new URL('./source-hooks.mjs', import.meta.url).href;
  const entry = new URL(`./${module}.ts`, base).href;
  const bootstrap = [
    `import { register } from 'node:module';`,
    `register(${JSON.stringify(hooks)});`,
    `await import(${JSON.stringify(entry)});`,
  ].join('\n');
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: data });
}

/** The thread failed or ended; every call from now on fails with this. */
export function goneError(detail: string, cause?: unknown): Error {
  const err = new Error(`the store worker is not running: ${detail}`, cause === undefined ? undefined : { cause });
  (err as Error & { code: string }).code = 'ERR_STORE_WORKER_GONE';
  return err;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface ThreadChannelHandlers<N> {
  /** A message the thread sent unprompted (anything without an `id`). */
  notice(msg: N): void;
  /** An uncaught exception in the thread (`thrown`), and `gone` wrapping it: the thread is ending. */
  error?(gone: Error, thrown: Error): void;
  /** The thread ended; `gone` is why (the first reason known). */
  exit?(gone: Error): void;
}

/** Calls to one thread and their answers; see the module comment. */
export class ThreadChannel<N extends object> {
  readonly worker: Worker;
  /** Resolves once the thread has ended, whatever the reason. */
  readonly exited: Promise<void>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #referenced = false;
  #held = false;
  #gone: Error | undefined;

  constructor(worker: Worker, handlers: ThreadChannelHandlers<N>) {
    this.worker = worker;
    worker.unref();
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.#gone ??= goneError(`it exited with code ${code}`);
        this.#rejectAll(this.#gone);
        handlers.exit?.(this.#gone);
        resolve();
      });
    });
    worker.on('error', (err) => {
      this.#gone ??= goneError(err.message, err);
      handlers.error?.(this.#gone, err);
    });
    worker.on('message', (msg: Reply | N) => {
      if ('id' in msg) this.#settle(msg);
      else handlers.notice(msg);
    });
  }

  /** Why the thread is not running, once it is not (or was declared gone with {@link fail}). */
  get gone(): Error | undefined {
    return this.#gone;
  }

  /** From now on calls reject with `err` (the thread reported it cannot go on). */
  fail(err: Error): void {
    this.#gone ??= err;
  }

  call(on: CallTarget, method: string, args: unknown[]): Promise<unknown> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const message: CallMessage = { id, on, method, args };
      try {
        this.worker.postMessage(message);
      } catch (err) {
        // An argument that cannot be cloned (a function, a class with private state).
        reject(err);
        return;
      }
      this.#pending.set(id, { resolve, reject });
      if (!this.#referenced) {
        this.#referenced = true;
        this.worker.ref();
      }
    });
  }

  /** Keeps the process alive until the thread ends (while its owner closes it). */
  holdOpen(): void {
    this.#held = true;
    this.worker.ref();
  }

  #settle(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0 && this.#referenced) {
      this.#referenced = false;
      if (!this.#held) this.worker.unref();
    }
    if (reply.ok) pending.resolve(revive(reply.result));
    else pending.reject(decodeError(reply.error));
  }

  #rejectAll(err: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
  }
}
