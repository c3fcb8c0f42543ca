/**
 * @module store/sqlite/store-worker
 *
 * The thread that owns the SQLite database when the store runs in `thread: 'worker'` mode
 * (the default of `bluetick serve`). It holds the one {@link SqliteStore}, answers the calls
 * {@link WorkerStore} forwards from the main thread, and runs the {@link Pipeline} next to
 * it, so the thread serving HTTP never waits on an fsync and never normalizes.
 *
 * Scheduling, in order of priority:
 * 1. Journal appends. Every call that is queued when a message arrives is taken at once
 *    (`receiveMessageOnPort`), and consecutive `appendJournal` calls are written as ONE
 *    transaction: one fsync for several of the main thread's group commits.
 * 2. Everything else the main thread asks, in the order it was asked.
 * 3. The pipeline, between messages: it yields to the event loop after every batch, and a
 *    batch is bounded in time as well as in rows (about {@link IDLE_BATCH_MS} of work, so
 *    the first request of a new burst does not wait behind a long batch). While appends
 *    keep arriving, batches are cut to about {@link BUSY_BATCH_MS}, so a queued append
 *    waits for at most one short batch. Under a burst (many requests waiting
 *    on each commit, see {@link BURST_ROWS_PER_COMMIT}) it also takes at most
 *    {@link BURST_SHARE} of the thread's time, pausing between batches: its CPU work (about
 *    three times the cost of an append) would otherwise compete with the HTTP thread for
 *    the cores while providers wait for their 200. So lag grows during a burst, though it
 *    keeps moving, and is caught up afterwards with full-size batches back to back. That is
 *    the design: normalizing happens after the ack, from rows that are already durable. At a
 *    steady moderate rate there is no pause, and the pipeline keeps up.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Provider } from '../../events/types.js';
import { Pipeline, type BatchInfo, type PipelineLogger } from '../../pipeline.js';
import type { JournalInput, Store, StoredEvent } from '../store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { encodeError, revive, toWire, type CallMessage, type Notice, type Reply } from './worker-wire.js';

/** What {@link WorkerStore} hands the thread. */
export interface StoreWorkerData {
  file: string;
  options: Omit<SqliteStoreOptions, 'onError'>;
}

/** The pipeline settings that can cross a thread boundary (no functions). */
export interface RemotePipelineSettings {
  batchSize?: number;
  pollMs?: number;
  /** Channel -> provider; a channel absent or `undefined` lets the normalizer detect it. */
  providers?: Record<string, Provider | undefined>;
}

/** Target duration of one pipeline batch while journal appends keep arriving. */
const BUSY_BATCH_MS = 2;
/** Target duration of one pipeline batch otherwise (catching up). */
const IDLE_BATCH_MS = 50;
/** Rows per append commit (smoothed) from which ingest counts as a burst. */
const BURST_ROWS_PER_COMMIT = 16;
/** Largest share of the thread's time the pipeline takes during a burst. */
const BURST_SHARE = 0.1;
/** Appends within this window count as "arriving". */
const BUSY_WINDOW_MS = 100;
/** Smallest batch, so the pipeline always moves. */
const MIN_BATCH = 2;

const port = parentPort;
if (port === null) throw new Error('store-worker.js runs only as a worker thread');
const data = workerData as StoreWorkerData;

function post(message: Notice | Reply): void {
  port!.postMessage(message);
}

let store: SqliteStore;
try {
  store = new SqliteStore(data.file, {
    ...data.options,
    onError: (err) => post({ op: 'error', error: encodeError(err) }),
  });
} catch (err) {
  // The message is queued on the other side before the thread ends (exit code 1).
  post({ op: 'fatal', error: encodeError(err) });
  process.exit(1);
}

let closing: Promise<void> | undefined;
let pipeline: Pipeline | undefined;
let recorded: StoredEvent[] = [];
let lastAppendAt = -Infinity;
/** Rows per append commit, smoothed: how many requests wait on each commit. */
let rowsPerCommit = 0;
/** During a burst, the pipeline's next batch may not start before this time. */
let nextBatchAt = 0;
/** Normalize + record cost per row, smoothed over recent batches. */
let msPerRow = 0.2;
/** Inside dispatch(): calls arriving from a nested one wait here for the outer loop. */
let dispatching = false;
const pending: CallMessage[] = [];

port.on('message', (first: CallMessage) => dispatch([first]));

/**
 * Runs the calls in `queue` and every call already waiting on the port, in order; consecutive
 * appends share one transaction.
 */
function dispatch(queue: CallMessage[]): void {
  // A call made from inside a call (a pipeline claim) leaves the queue to the outer loop,
  // which keeps the order in which the calls were sent.
  if (dispatching) {
    pending.push(...queue);
    return;
  }
  dispatching = true;
  try {
    runQueue(queue);
    while (pending.length > 0) runQueue(pending.splice(0));
  } finally {
    dispatching = false;
  }
}

function runQueue(queue: CallMessage[]): void {
  for (let next = receiveMessageOnPort(port!); next !== undefined; next = receiveMessageOnPort(port!)) {
    queue.push(next.message as CallMessage);
  }
  for (let i = 0; i < queue.length; ) {
    const m = queue[i]!;
    if (m.on === 'store' && m.method === 'appendJournal' && closing === undefined) {
      let j = i + 1;
      while (j < queue.length && queue[j]!.on === 'store' && queue[j]!.method === 'appendJournal') j++;
      append(queue.slice(i, j));
      i = j;
    } else {
      call(m);
      i++;
    }
  }
}

function reply(id: number, result: unknown): void {
  try {
    post({ id, ok: true, result });
  } catch (err) {
    // Typically a DataCloneError: the method returned something that cannot cross threads.
    post({ id, ok: false, error: encodeError(err) });
  }
}

function fail(id: number, err: unknown): void {
  post({ id, ok: false, error: encodeError(err) });
}

function call(m: CallMessage): void {
  let result: unknown;
  try {
    result = invoke(m);
  } catch (err) {
    fail(m.id, err);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value) => reply(m.id, value),
      (err: unknown) => fail(m.id, err),
    );
  } else {
    reply(m.id, result);
  }
}

/** One transaction for the rows of every queued append; each caller gets its own ids back. */
function append(calls: CallMessage[]): void {
  lastAppendAt = performance.now();
  let n = 0;
  for (const c of calls) n += (c.args[0] as unknown[]).length;
  rowsPerCommit = 0.8 * rowsPerCommit + 0.2 * n;
  const rows: JournalInput[] = [];
  const counts: number[] = [];
  for (const c of calls) {
    const part = revive(c.args[0]) as JournalInput[];
    counts.push(part.length);
    for (let k = 0; k < part.length; k++) rows.push(part[k]!);
  }
  store.appendJournal(rows).then(
    (ids) => {
      let at = 0;
      for (let k = 0; k < calls.length; k++) {
        const n = counts[k]!;
        reply(calls[k]!.id, ids.slice(at, at + n));
        at += n;
      }
      pipeline?.wake();
    },
    (err: unknown) => {
      for (const c of calls) fail(c.id, err);
    },
  );
}

function closedError(): Error {
  // The same words better-sqlite3 uses, which callers already treat as "store unavailable".
  return new TypeError('The database connection is not open');
}

function invoke(m: CallMessage): unknown {
  switch (m.on) {
    case 'store': {
      if (closing !== undefined) throw closedError();
      const fn = (store as unknown as Record<string, unknown>)[m.method];
      if (typeof fn !== 'function' || m.method === 'constructor') throw new TypeError(`the store has no method ${m.method}()`);
      const result: unknown = fn.apply(store, revive(m.args) as unknown[]);
      if (m.method === 'retryJournal') wakeAfter(result);
      return result;
    }
    case 'pipeline':
      return pipelineCall(m.method, m.args);
    case 'worker':
      if (m.method === 'close') return close();
      throw new TypeError(`unknown worker call ${m.method}()`);
    default:
      throw new TypeError(`unknown call target ${String(m.on)}`);
  }
}

function wakeAfter(result: unknown): void {
  if (result instanceof Promise) result.then(() => pipeline?.wake(), () => undefined);
}

function pipelineCall(method: string, args: unknown[]): unknown {
  if (method === 'create') {
    if (pipeline !== undefined) throw new Error('the pipeline already exists');
    pipeline = createPipeline((args[0] ?? {}) as RemotePipelineSettings);
    return undefined;
  }
  if (pipeline === undefined) throw new Error('no pipeline was created');
  switch (method) {
    case 'start':
      if (closing !== undefined) throw closedError();
      pipeline.start();
      return undefined;
    case 'wake':
      pipeline.wake();
      return undefined;
    case 'stop':
      return pipeline.stop();
    case 'drain':
      return pipeline.drain();
    default:
      throw new TypeError(`the pipeline has no method ${method}()`);
  }
}

const logger: PipelineLogger = {
  warn: (obj, msg) => post({ op: 'log', level: 'warn', obj: toWire(obj), msg }),
  error: (obj, msg) => post({ op: 'log', level: 'error', obj: toWire(obj), msg }),
};

function createPipeline(settings: RemotePipelineSettings): Pipeline {
  const providers = new Map(Object.entries(settings.providers ?? {}));
  const requested = Math.max(1, settings.batchSize ?? 500);
  // The pipeline sees the store through this view: the same store, with claims cut short
  // while appends are arriving (see the module comment).
  const claimJournal: Store['claimJournal'] = async (limit) => {
    // Appends that arrived meanwhile go first.
    dispatch([]);
    if (!busy()) return store.claimJournal(batchLimit(limit, IDLE_BATCH_MS));
    const wait = nextBatchAt - performance.now();
    if (rowsPerCommit >= BURST_ROWS_PER_COMMIT && wait >= 1) {
      // The thread stays free for appends meanwhile; stop() waits for this pause at most.
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
      dispatch([]);
    }
    return store.claimJournal(batchLimit(limit, BUSY_BATCH_MS));
  };
  const view = new Proxy(store, {
    get(target, prop) {
      if (prop === 'claimJournal') return claimJournal;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const p = new Pipeline(view, {
    batchSize: requested,
    logger,
    providerFor: (channel) => providers.get(channel),
    ...(settings.pollMs !== undefined ? { pollMs: settings.pollMs } : {}),
  });
  p.on('recorded', (stored) => {
    recorded.push(stored);
  });
  p.on('batch', (info: BatchInfo) => {
    if (info.rows > 0) msPerRow = 0.7 * msPerRow + 0.3 * (info.ms / info.rows);
    nextBatchAt = performance.now() + (info.ms * (1 - BURST_SHARE)) / BURST_SHARE;
    const list = recorded;
    recorded = [];
    post({ op: 'batch', info, recorded: list });
  });
  return p;
}

function busy(): boolean {
  return performance.now() - lastAppendAt <= BUSY_WINDOW_MS;
}

/** Rows that take about `ms` to normalize and record, within [MIN_BATCH, limit]. */
function batchLimit(limit: number, ms: number): number {
  return Math.max(Math.min(MIN_BATCH, limit), Math.min(limit, Math.floor(ms / Math.max(msPerRow, 0.001))));
}

function close(): Promise<void> {
  closing ??= (async () => {
    try {
      await pipeline?.stop();
    } finally {
      await store.close();
    }
  })();
  // Once the answer is out, let the thread end: nothing else keeps it alive.
  closing.then(
    () => setImmediate(() => port!.close()),
    () => setImmediate(() => port!.close()),
  );
  return closing;
}

/** Every method on the prototype chain of the store's class (what the main thread may call). */
function methodNames(proto: object | null): string[] {
  const names = new Set<string>();
  for (let o = proto; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (name !== 'constructor' && d !== undefined && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

post({ op: 'ready', methods: methodNames(Object.getPrototypeOf(store) as object) });
