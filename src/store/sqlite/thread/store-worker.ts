/**
 * @module store/sqlite/thread/store-worker
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
 * 2. The pipeline, between messages, paced by the policy it is given (`pacing.ts`: batches
 *    bounded in time, shorter while the delivery worker moves deliveries, and at most a
 *    small share of the thread during a burst in which the acks need the CPU).
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { PipelineLogger } from '../../../pipeline.js';
import type { SettleResult } from '../../deliveries.js';
import { answer, openOrExit, ownerPort, PipelineHost } from '../../thread/pipeline-host.js';
import { SqliteAccess, SqliteOutbound } from '../access.js';
import { SqliteDeliveries } from '../deliveries.js';
import { SqliteEvents, SqliteRejections } from '../events.js';
import { SqliteJournal } from '../journal.js';
import { SqliteProjections } from '../projections.js';
import { SqliteSearch } from '../search.js';
import { SqliteStore, type SqliteStoreOptions } from '../sqlite-store.js';
import { BurstPacing, IMPORT_BATCH, type InboxActivity } from './pacing.js';
import { mainThreadCpuDemand } from './cpu-demand.js';
import { encodeError, revive, STORE_PARTS, type CallMessage, type Notice, type Reply, type StorePart } from './worker-wire.js';

/** What {@link WorkerStore} hands the thread. */
export interface StoreWorkerData {
  file: string;
  options: Omit<SqliteStoreOptions, 'onError'>;
  /** The pipeline's share of the thread during a burst (`BurstPacing`'s default without it). */
  burstShare?: number;
}

export type { InboxActivity };

/** Calls that read or change journal rows: they see every inbox row first (an erasure too, so it rewrites acked bodies still in the inbox). */
const JOURNAL_READS = new Set(['journal.list', 'journal.get', 'journal.retry', 'journal.claim', 'counts', 'eraseContact']);

const port = ownerPort('store-worker.js');
const data = workerData as StoreWorkerData;

function post(message: Notice | Reply): void {
  port.postMessage(message);
}

const store = openOrExit(post, (onError) => new SqliteStore(data.file, { ...data.options, onError }));

/** Inside dispatch(): calls arriving from a nested one wait here for the outer loop. */
let dispatching = false;
const pending: CallMessage[] = [];
/** The pipeline's pacing on this thread (see `pacing.ts`). */
const pacing = new BurstPacing({
  runWaitingCalls: () => dispatch([]),
  journalUpTo: (limit) => importRows(limit, true),
  httpDemand: mainThreadCpuDemand(),
  ...(data.burstShare !== undefined ? { burstShare: data.burstShare } : {}),
});
const host: PipelineHost = new PipelineHost(store, post, {
  pacing,
  // Rows acked before a crash or a stop may still be in the inbox: journal them first.
  beforeStart: (): Promise<void> =>
    importRows(Infinity, true).then(
      () => undefined,
      (err: unknown) => logger.error({ err }, 'could not copy the inbox into the journal; retrying on the next commit'),
    ),
  closedError,
  endThread: () => port.close(),
});
const logger: PipelineLogger = host.logger;

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
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    queue.push(next.message as CallMessage);
  }
  for (const m of queue) answer(post, m, invoke);
}

/**
 * Copies every inbox row the journal lacks into it, in transactions of {@link IMPORT_BATCH}
 * rows, and wakes the pipeline. Returns the largest journal id: the inbox may delete up to it.
 */
async function importInbox(activity: InboxActivity): Promise<{ rows: number; through: number }> {
  pacing.reportAppends(activity);
  if (pacing.burst()) return store.journal.importInbox(0);
  const result = await importRows(Infinity, false);
  if (result.rows > 0) host.pipeline?.wake();
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
    const r = await store.journal.importInbox(want);
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
      if (host.closing) throw closedError();
      const [target, fn] = resolveMethod(m.method);
      const args = revive(m.args) as unknown[];
      // Every row acked before this call is in the inbox already: journal it first, so a
      // reader never misses a row it was told is stored.
      const result: unknown = JOURNAL_READS.has(m.method)
        ? importRows(Infinity, true).then(() => fn.apply(target, args) as unknown)
        : fn.apply(target, args);
      if (m.method === 'journal.retry') wakeAfter(result);
      if (m.method === 'deliveries.settle') noteDeliveries(result as Promise<SettleResult>);
      return result;
    }
    case 'pipeline':
      return host.call(m.method, m.args);
    case 'worker':
      if (m.method === 'close') return close();
      if (m.method === 'importInbox') {
        if (host.closing) throw closedError();
        return importInbox(m.args[0] as InboxActivity);
      }
      throw new TypeError(`unknown worker call ${m.method}()`);
    default:
      throw new TypeError(`unknown call target ${String(m.on)}`);
  }
}

/** `part.method` (or a method of the store itself) -> the object and its function. */
function resolveMethod(path: string): [object, (...args: unknown[]) => unknown] {
  const dot = path.indexOf('.');
  const part = dot < 0 ? undefined : path.slice(0, dot);
  const name = dot < 0 ? path : path.slice(dot + 1);
  if (part !== undefined && !(STORE_PARTS as readonly string[]).includes(part)) throw new TypeError(`the store has no part ${part}`);
  const target = (part === undefined ? store : store[part as StorePart]) as unknown as Record<string, unknown>;
  const fn = target[name];
  if (typeof fn !== 'function' || name === 'constructor') throw new TypeError(`the store has no method ${path}()`);
  return [target, fn as (...args: unknown[]) => unknown];
}

/** A delivery round trip that recorded or leased something: the pipeline shortens its batches meanwhile (`pacing.ts`). */
function noteDeliveries(result: Promise<SettleResult>): void {
  result.then(
    (r) => {
      if (r.applied.length > 0 || r.leased.length > 0) pacing.reportDeliveries();
    },
    () => undefined,
  );
}

function wakeAfter(result: unknown): void {
  if (result instanceof Promise) result.then(() => host.pipeline?.wake(), () => undefined);
}

function close(): Promise<void> {
  // What the inbox holds goes into the journal now, so tools reading the file find it.
  return host.close(() =>
    importRows(Infinity, false).then(
      () => undefined,
      (err: unknown) => logger.error({ err }, 'could not copy the inbox into the journal at close; the next start does'),
    ),
  );
}

/**
 * The class of each part of the store. Read from the classes, not the instances: some parts
 * prepare their statements when first touched, which needs the migrated schema.
 */
const PART_CLASSES: Record<StorePart, { prototype: object }> = {
  journal: SqliteJournal,
  events: SqliteEvents,
  rejections: SqliteRejections,
  projections: SqliteProjections,
  deliveries: SqliteDeliveries,
  access: SqliteAccess,
  outbound: SqliteOutbound,
  search: SqliteSearch,
};

/** Every method on the prototype chain of a class (what the main thread may call). */
function methodNames(proto: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (name !== 'constructor' && d !== undefined && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

post({ op: 'ready', methods: Object.fromEntries(STORE_PARTS.map((part) => [part, methodNames(PART_CLASSES[part].prototype)])) });
