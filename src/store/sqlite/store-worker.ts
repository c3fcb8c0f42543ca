/**
 * @module store/sqlite/store-worker
 *
 * The thread that owns the SQLite database when the store runs in `thread: 'worker'` mode
 * (the default of `bluetick serve`). It holds the one {@link SqliteStore}, answers the calls
 * {@link WorkerStore} forwards from the main thread, and runs the {@link Pipeline} next to
 * it, so the thread serving HTTP never waits on an fsync and never normalizes.
 *
 * The main thread writes acked rows into the inbox itself (`inbox.ts`) and reports its
 * commits (`importInbox`, at most one request outstanding); this thread copies the rows into
 * the journal: all of them at once outside a burst; during a burst only as many as each
 * pipeline batch claims, since copying is work too and the rows are durable where they are.
 * It also copies everything at start, before the pipeline runs (rows acked just before a
 * crash), and at close.
 *
 * Scheduling, in order of priority:
 * 1. What the main thread asks (inbox imports included), in the order it was asked: every
 *    call queued when a message arrives is taken at once (`receiveMessageOnPort`). Calls
 *    that read journal rows copy the inbox first, so they see every acked row.
 * 2. The pipeline, between messages: it yields to the event loop after every batch, and a
 *    batch is bounded in time as well as in rows (about {@link IDLE_BATCH_MS} of work, so
 *    a call made meanwhile does not wait behind a long batch). While rows keep arriving,
 *    batches are cut to about {@link BUSY_BATCH_MS}. Under a burst it also takes at most
 *    {@link BURST_SHARE} of the thread's time, pausing between batches: its CPU work would
 *    otherwise compete with the HTTP thread for the cores while providers wait for their 200. So lag grows during a burst, though it
 *    keeps moving, and is caught up afterwards with full-size batches back to back. That is
 *    the design: normalizing happens after the ack, from rows that are already durable. A
 *    burst is ingest arriving faster than the pipeline could follow using the whole thread
 *    (its measured cost per row): the backlog grows then whatever the pipeline does, so
 *    yielding costs little extra lag. Below that rate there is no pause, and it keeps up.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Provider } from '../../events/types.js';
import { Pipeline, type BatchInfo, type PipelineLogger } from '../../pipeline.js';
import type { Store, StoredEvent } from '../store.js';
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
  maxItems?: number;
  maxAttempts?: number;
  rowBudgetMs?: number;
  /** Channel -> provider; a channel absent or `undefined` lets the normalizer detect it. */
  providers?: Record<string, Provider | undefined>;
}

/**
 * Target duration of one pipeline batch while journal appends keep arriving. Each batch is
 * one transaction, and its commit writes every page the batch touched; the event id, sender
 * and conversation indexes take keys all over their range, so a transaction of a few dozen
 * events writes several KiB of pages per event, one of thousands well under one. Reads go
 * to the reader connection, so only other writes (inbox imports, delivery settlements)
 * wait behind a batch.
 */
const BUSY_BATCH_MS = 100;
/** Target duration of one pipeline batch otherwise (catching up). */
const IDLE_BATCH_MS = 250;
/** Inbox rows copied per journal transaction. */
const IMPORT_BATCH = 2_000;
/** Largest share of the thread's time the pipeline takes during a burst. */
const BURST_SHARE = 0.05;
/** Appends within this window count as "arriving". */
const BUSY_WINDOW_MS = 100;
/** Store methods that read or change journal rows: they see every inbox row first (an erasure too, so it rewrites acked bodies still in the inbox). */
const JOURNAL_READS = new Set(['listJournal', 'getJournalRow', 'retryJournal', 'claimJournal', 'counts', 'eraseContact']);
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
/** Whether the main thread listens for each recorded event (else only batch summaries cross). */
let postRecorded = false;
/** When the main thread last reported inbox commits. */
let lastAppendAt = -Infinity;
/** Ingest rate reported by the main thread, rows per second, smoothed. */
let ingestRate = 0;
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
  for (const m of queue) call(m);
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

/** What the main thread reports with each import request. */
export interface InboxActivity {
  /** Inbox commits since the previous request. */
  commits: number;
  /** Rows in them. */
  rows: number;
}

/**
 * Copies every inbox row the journal lacks into it, in transactions of {@link IMPORT_BATCH}
 * rows, and wakes the pipeline. Returns the largest journal id: the inbox may delete up to it.
 */
async function importInbox(activity: InboxActivity): Promise<{ rows: number; through: number }> {
  if (activity.commits > 0) {
    const now = performance.now();
    const elapsed = Math.max(1, now - lastAppendAt);
    // Over a gap longer than the busy window the rate restarts from this report alone.
    const weight = Math.min(1, elapsed / BUSY_WINDOW_MS);
    ingestRate = (1 - weight) * ingestRate + weight * ((activity.rows * 1000) / elapsed);
    lastAppendAt = now;
  }
  if (burst()) return store.importInbox(0);
  const result = await importRows(Infinity, false);
  if (result.rows > 0) pipeline?.wake();
  return result;
}

/**
 * Copies up to `limit` inbox rows into the journal, {@link IMPORT_BATCH} per transaction.
 * With `notify`, tells the main thread how far the journal now reaches (an import the main
 * thread did not ask for).
 */
async function importRows(limit: number, notify: boolean): Promise<{ rows: number; through: number }> {
  let rows = 0;
  let through = 0;
  for (;;) {
    const want = Math.min(IMPORT_BATCH, limit - rows);
    const r = await store.importInbox(want);
    rows += r.rows;
    through = r.through;
    if (r.rows < want || rows >= limit) break;
  }
  if (notify && rows > 0) post({ op: 'imported', through });
  return { rows, through };
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
      const args = revive(m.args) as unknown[];
      // Every row acked before this call is in the inbox already: journal it first, so a
      // reader never misses a row it was told is stored.
      const result: unknown = JOURNAL_READS.has(m.method)
        ? importRows(Infinity, true).then(() => fn.apply(store, args) as unknown)
        : fn.apply(store, args);
      if (m.method === 'retryJournal') wakeAfter(result);
      return result;
    }
    case 'pipeline':
      return pipelineCall(m.method, m.args);
    case 'worker':
      if (m.method === 'close') return close();
      if (m.method === 'importInbox') {
        if (closing !== undefined) throw closedError();
        return importInbox(m.args[0] as InboxActivity);
      }
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
    case 'start': {
      if (closing !== undefined) throw closedError();
      // Rows acked before a crash or a stop may still be in the inbox: journal them first.
      const p = pipeline;
      return importRows(Infinity, true)
        .catch((err: unknown) => logger.error({ err }, 'could not copy the inbox into the journal; retrying on the next commit'))
        .then(() => {
          if (closing === undefined) p.start();
        });
    }
    case 'wake':
      pipeline.wake();
      return undefined;
    case 'listen':
      postRecorded = args[0] === true;
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
    // Calls that arrived meanwhile go first.
    dispatch([]);
    // During a burst, pause until the pipeline's share allows the next batch; in slices, so
    // a pause ends as soon as the appends stop (else the backlog would wait out a pause
    // measured for a burst that is over). The thread stays free for other calls meanwhile;
    // stop() waits for one slice at most.
    for (let wait = nextBatchAt - performance.now(); busy() && burst() && wait >= 1; wait = nextBatchAt - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(Math.min(wait, BUSY_WINDOW_MS))));
      dispatch([]);
    }
    const want = batchLimit(limit, busy() ? BUSY_BATCH_MS : IDLE_BATCH_MS);
    // During a burst the inbox is copied only as far as this batch needs, but in whole
    // transactions of up to IMPORT_BATCH rows: each copy commits with an fsync, and one
    // per small batch cost more than the copying itself.
    await importRows(Math.max(want, IMPORT_BATCH), true);
    return store.claimJournal(want);
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
    ...(settings.maxItems !== undefined ? { maxItems: settings.maxItems } : {}),
    ...(settings.maxAttempts !== undefined ? { maxAttempts: settings.maxAttempts } : {}),
    ...(settings.rowBudgetMs !== undefined ? { rowBudgetMs: settings.rowBudgetMs } : {}),
  });
  p.on('recorded', (stored) => {
    if (postRecorded) recorded.push(stored);
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

/** Ingest arrives faster than the pipeline could follow at full speed (see the module comment). */
function burst(): boolean {
  return busy() && ingestRate * msPerRow > 1000;
}

/** Rows that take about `ms` to normalize and record, within [MIN_BATCH, limit]. */
function batchLimit(limit: number, ms: number): number {
  return Math.max(Math.min(MIN_BATCH, limit), Math.min(limit, Math.floor(ms / Math.max(msPerRow, 0.001))));
}

function close(): Promise<void> {
  closing ??= (async () => {
    try {
      // What the inbox holds goes into the journal now, so tools reading the file find it.
      await importRows(Infinity, false).catch((err: unknown) =>
        logger.error({ err }, 'could not copy the inbox into the journal at close; the next start does'),
      );
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
