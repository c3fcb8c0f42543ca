/**
 * @module store/postgres/pipeline-worker
 *
 * The thread that runs the PostgreSQL store's pipeline (`PostgresStore.createPipeline`,
 * what `bluetick serve` uses): a {@link PostgresStore} of its own on the same database, with
 * a small pool, and the {@link Pipeline} against it. Claiming, normalizing and recording
 * happen here, so the HTTP thread only verifies, journals and acks. Everything else the
 * process does with the database (API reads, deliveries, LISTEN/NOTIFY) stays on the HTTP
 * thread's store.
 *
 * The thread's store takes leases under a name of its own; it hands them back when it
 * closes, like any process sharing the database. It creates each new event's deliveries in
 * the transaction that records it, so it holds the delivery routes the HTTP thread's store
 * was given: at start, then each `setRoutes` (the backfill stays with the HTTP thread's store).
 */
import { workerData } from 'node:worker_threads';
import { answer, openOrExit, ownerPort, PipelineHost } from '../thread/pipeline-host.js';
import type { CallMessage, PipelineNotice, Reply } from '../thread/wire.js';
import type { DeliveryRoute } from '../deliveries.js';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';

/** What `PostgresStore.createPipeline` hands the thread. */
export interface PipelineWorkerData {
  url: string;
  /** The delivery routes the store was given so far (later ones arrive as `deliveries.useRoutes` calls). */
  routes: DeliveryRoute[];
  options: Pick<PostgresStoreOptions, 'poolSize' | 'journalLeaseMs' | 'connectionTimeoutMs'>;
}

const port = ownerPort('pipeline-worker.js');
const data = workerData as PipelineWorkerData;

function post(message: PipelineNotice | Reply): void {
  port.postMessage(message);
}

const store = openOrExit(post, (onError) => new PostgresStore(data.url, { ...data.options, pipelineThread: 'in-process', onError }));
// The events this thread records get their deliveries in the same transaction.
store.deliveries.useRoutes(data.routes);

const host = new PipelineHost(store, post, {
  closedError: () => new Error('the pipeline thread is closing'),
  endThread: () => port.close(),
});

port.on('message', (m: CallMessage) => answer(post, m, invoke));

function invoke(m: CallMessage): unknown {
  if (m.on === 'pipeline') return host.call(m.method, m.args);
  if (m.on === 'worker' && m.method === 'close') return host.close();
  if (m.on === 'store' && m.method === 'deliveries.useRoutes') return store.deliveries.useRoutes(m.args[0] as DeliveryRoute[]);
  throw new TypeError(`the pipeline thread has no call ${m.on}.${m.method}()`);
}
