/**
 * @module store/postgres/postgres-store
 *
 * The scale-out backend: many `bluetick serve` processes share one PostgreSQL database (one
 * schema of it). Everything a process must agree on with the others lives in the database:
 *
 * - Ingest: one multi-row INSERT per group commit, in autocommit (one statement, one commit,
 *   synchronous_commit as the server has it); the promise resolves after the commit. Appends
 *   made while every commit slot is busy are merged above the store (`journal/writer.ts`).
 * - Pipeline claims are leases in the rows (`claimed_by`, `claimed_until` on the database
 *   clock), taken with `FOR UPDATE SKIP LOCKED`, so processes never wait on each other's
 *   rows and a process that died leaves rows that someone else takes once the lease expires.
 *   A process releases its leases when a batch fails and when it closes. Should a lease run
 *   out while its batch is still being recorded, the row is recorded by whichever process
 *   commits first; the other one's outcome for it is dropped (it is no longer pending).
 * - Dedup is the unique key on `events.id` (`INSERT ... ON CONFLICT DO NOTHING`): when two
 *   processes normalize the same redelivered POST, each event is stored once and the other
 *   row counts as a duplicate.
 * - Event-writing transactions take one transaction-scoped advisory lock, so `seq` values
 *   become visible in order. Without it, a reader paging by `seq` (the API, a live stream)
 *   could pass a seq whose transaction commits a moment later and never see that event.
 *   Normalizing (the CPU part) still runs in every process in parallel.
 * - Wake-ups: after a journal commit and inside an event-writing transaction a NOTIFY tells
 *   the other processes to look now (`subscribe`), see ./notify.ts.
 * - The pipeline runs on a thread of its own by default (`createPipeline`,
 *   ./pipeline-worker.ts), with its own small pool on the same database, so normalizing and
 *   recording never hold up the thread that acks. `pipelineThread: 'in-process'` leaves it to
 *   the caller (a {@link Pipeline} on this thread, as one-shot commands and tests build).
 *
 * Failure modes: the database unreachable makes `journal.append` reject (ingest answers 503)
 * within the pool's connection timeout; a connection dropped mid-transaction rolls back on
 * the server, so nothing half-written is ever visible.
 */
import pg from 'pg';
import { BluetickError } from '../../errors.js';
import type { PipelineHandle, RemotePipelineOptions } from '../../pipeline.js';
import { loadMigrations, runMigrations } from '../migrate.js';
import { spawnThread } from '../thread/channel.js';
import { PipelineThread } from '../thread/pipeline-thread.js';
import type { Store, StoreCapabilities, StoreChannel, StoreCounts } from '../store.js';
import type { ErasureReceipt } from '../erasure.js';
import type { PruneBatchResult, PruneRequest } from '../../retention/policy.js';
import type { StorageUsage } from '../usage.js';
import { PostgresAccess, PostgresOutbound } from './access.js';
import { createPool, leaseOwner } from './connection.js';
import { PostgresDeliveries } from './deliveries.js';
import { PostgresErasure } from './erasure.js';
import { countsOf, PostgresEvents, PostgresRejections } from './events.js';
import { PostgresJournal, type PostgresContext } from './journal.js';
import { appliedVersions, withMigrationLock } from './migrations.js';
import { Listener, Notifier } from './notify.js';
import type { PipelineWorkerData } from './pipeline-worker.js';
import { PostgresProjections } from './projections.js';
import { PostgresRetention } from './retention.js';
import { INDEXER_LOCK, PostgresSearch } from './search.js';
import { asError, type Queryable } from './sql.js';
import { parsePostgresUrl, type PostgresLocation } from './url.js';
import { measurePostgresUsage } from './usage.js';

export interface PostgresStoreOptions {
  /** Pool size. Default 10. */
  poolSize?: number;
  /** How long a pipeline claim on journal rows lasts before another process may take them. Default 30 000 ms. */
  journalLeaseMs?: number;
  /** How long to wait for a connection before a call fails. Default 5000 ms. */
  connectionTimeoutMs?: number;
  /** Problems off the request path (idle connections, notifications, the pipeline's thread). */
  onError?: (err: Error) => void;
  /**
   * Where the server runs the pipeline (`capabilities.pipelineThread`): `own-thread`
   * (default) on a thread started by `createPipeline`, `in-process` on the caller's thread.
   */
  pipelineThread?: 'own-thread' | 'in-process';
  /** How long `close()` waits for a pipeline thread to end before terminating it. Default 10 000 ms. */
  closeTimeoutMs?: number;
}

/**
 * Connections of the pipeline thread's pool: one claims or records at a time, one more for
 * the NOTIFY after a commit and a lease released meanwhile.
 */
const PIPELINE_POOL_SIZE = 3;

/**
 * Shortest interval between two wake messages to the pipeline's thread, ms. Nothing else
 * tells that thread about this process's journal commits (the server wakes it after every
 * ack), so this bounds how late an idle pipeline looks at a new row.
 */
const PIPELINE_WAKE_EVERY_MS = 10;

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly capabilities: StoreCapabilities;
  readonly location: PostgresLocation;
  /** This process's name on the leases it takes. */
  readonly owner: string;

  readonly journal: PostgresJournal;
  readonly events: PostgresEvents;
  readonly rejections: PostgresRejections;
  readonly projections: PostgresProjections;
  readonly deliveries: PostgresDeliveries;
  readonly access: PostgresAccess;
  readonly outbound: PostgresOutbound;
  readonly search: PostgresSearch;

  private readonly erasure = new PostgresErasure();
  private readonly pool: pg.Pool;
  private readonly onError: (err: Error) => void;
  private readonly notifier: Notifier;
  private listener: Listener | undefined;
  private closed = false;
  private readonly url: string;
  private readonly opts: PostgresStoreOptions;
  /** The pipeline threads started by `createPipeline` and not yet ended. */
  private readonly pipelineThreads = new Set<PipelineThread>();

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    this.url = url;
    this.opts = opts;
    this.location = parsePostgresUrl(url);
    this.owner = leaseOwner();
    this.onError = opts.onError ?? (() => undefined);
    this.pool = createPool(this.location, {
      ...(opts.poolSize !== undefined ? { max: opts.poolSize } : {}),
      ...(opts.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: opts.connectionTimeoutMs } : {}),
      onError: this.onError,
    });
    // Half the pool commits ingest; the rest stays free for the pipeline, workers and reads.
    this.capabilities = {
      maxCommitsInFlight: Math.max(1, Math.floor((opts.poolSize ?? 10) / 2)),
      pipelineThread: opts.pipelineThread ?? 'own-thread',
      sharedByProcesses: true,
    };
    this.notifier = new Notifier(
      this.location.channels,
      (channel, payload) => (this.closed ? Promise.resolve() : this.pool.query('SELECT pg_notify($1, $2)', [channel, payload])),
      (err) => this.onError(asError(err)),
    );
    const eventsTransaction = <T>(fn: (db: Queryable) => Promise<T>): Promise<T> =>
      this.transaction(async (client) => {
        await this.lockEvents(client);
        return fn(client);
      });
    this.projections = new PostgresProjections(this.pool, eventsTransaction);
    this.access = new PostgresAccess(this.pool);
    this.search = new PostgresSearch(this.pool);
    this.outbound = new PostgresOutbound(this.pool, this.search);
    this.deliveries = new PostgresDeliveries(
      this.pool,
      (fn) => this.transaction(fn),
      this.schema,
      () => this.notifier.poke('deliveries'),
      // A thread that is gone meanwhile records nothing more; its end is reported on its own.
      (routes) =>
        Promise.all([...this.pipelineThreads].map((thread) => thread.call('store', 'deliveries.useRoutes', [routes]).catch(() => undefined))).then(
          () => undefined,
        ),
    );
    const ctx: PostgresContext = {
      pool: this.pool,
      owner: this.owner,
      journalLeaseMs: Math.max(1, Math.floor(opts.journalLeaseMs ?? 30_000)),
      notifier: this.notifier,
      schema: this.schema,
      location: this.location,
      transaction: (fn) => this.transaction(fn),
      lockEvents: (client) => this.lockEvents(client),
      erasure: this.erasure,
      projections: this.projections,
      deliveries: this.deliveries,
    };
    this.journal = new PostgresJournal(ctx);
    this.events = new PostgresEvents(ctx);
    this.rejections = new PostgresRejections(ctx);
  }

  get schema(): string {
    return this.location.schema;
  }

  // ---- migrations ------------------------------------------------------------------------

  /**
   * Applies the pending migrations while holding a session advisory lock for this schema, so
   * processes starting together apply each file once: the others wait, then find it applied.
   */
  async migrate(): Promise<{ applied: string[] }> {
    const migrations = await loadMigrations('postgres');
    return withMigrationLock(() => this.connect(), this.schema, (target) => runMigrations(target, migrations));
  }

  /** Versions already applied, without creating anything (for `bluetick migrate --print`). */
  appliedVersions(): Promise<Set<number>> {
    return appliedVersions(() => this.connect(), this.schema);
  }

  /** What the schema's space goes to, by data class (see `store/usage.ts` and `./usage.ts`). */
  storageUsage(): Promise<StorageUsage> {
    return measurePostgresUsage(this.pool, this.schema);
  }

  // ---- health ----------------------------------------------------------------------------

  /** One snapshot of the journal, events and rejections counts (see `./events.ts`). */
  counts(): Promise<StoreCounts> {
    return countsOf(this.pool);
  }


  /** Fails when no connection can be had, or when the server is a read-only standby. */
  async ping(): Promise<void> {
    const { rows } = await this.pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    if (rows[0]?.standby) throw new Error('the PostgreSQL server is a read-only standby');
  }

  // ---- notifications ---------------------------------------------------------------------

  subscribe(channel: StoreChannel, listener: () => void): () => void {
    if (this.closed) return () => undefined;
    this.listener ??= new Listener(this.location, (err) => this.onError(asError(err)));
    return this.listener.subscribe(channel, listener);
  }

  /** @internal Resolves once the notification connection listens (tests). */
  async listening(): Promise<void> {
    await this.listener?.ready();
  }

  // ---- pipeline thread -------------------------------------------------------------------

  /**
   * The pipeline on a thread of its own (see ./pipeline-worker.ts), created stopped: `start()`
   * it, or `drain()` it by hand. Its thread ends when this store closes; one that ends before
   * is replaced (see `PipelineThread`).
   */
  createPipeline(opts: RemotePipelineOptions = {}): PipelineHandle {
    if (this.closed) throw new BluetickError('BT_ERR_STORE_UNAVAILABLE', 'the PostgreSQL store is closed');
    const { logger, ...settings } = opts;
    const options: PipelineWorkerData['options'] = {
      poolSize: PIPELINE_POOL_SIZE,
      ...(this.opts.journalLeaseMs !== undefined ? { journalLeaseMs: this.opts.journalLeaseMs } : {}),
      ...(this.opts.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: this.opts.connectionTimeoutMs } : {}),
    };
    // Read at each start: a thread that replaces one that ended gets the routes as they are now.
    const spawn = () => spawnThread(import.meta.url, 'pipeline-worker', { url: this.url, routes: this.deliveries.currentRoutes, options } satisfies PipelineWorkerData);
    const thread = new PipelineThread(spawn, {
      settings,
      ...(logger !== undefined ? { logger } : {}),
      onError: this.onError,
      closeTimeoutMs: this.opts.closeTimeoutMs ?? 10_000,
      wakeEveryMs: PIPELINE_WAKE_EVERY_MS,
    });
    this.pipelineThreads.add(thread);
    void thread.exited.then(() => this.pipelineThreads.delete(thread));
    return thread.pipeline;
  }

  /**
   * Stops every pipeline thread (their claims handed back, their pools closed), then the
   * notification connection and the pool.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.pipelineThreads].map((thread) => thread.close()));
    await this.listener?.close();
    // Rows this process claimed but never recorded: hand them to the others now rather than
    // when the lease runs out.
    await this.pool
      .query(
        `UPDATE journal SET claimed_by = NULL, claimed_until = NULL, attempts = GREATEST(attempts - 1, 0)
         WHERE claimed_by = $1 AND state = 'pending'`,
        [this.owner],
      )
      .catch(() => undefined);
    await this.pool.end();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** A connection from the pool; fails as "store unavailable" when none can be had. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw unavailable(this.location, err);
    }
  }

  /**
   * Serializes event-writing transactions across processes (held until commit), so `seq`
   * values become visible in order and projection rows have one writer at a time.
   */
  private async lockEvents(client: Queryable): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`bluetick.events.${this.schema}`]);
  }

  /** Erases one person: see `Store.eraseContact` and `store/postgres/erasure.ts`. */
  async eraseContact(ids: string[]): Promise<ErasureReceipt> {
    return this.transaction(async (client) => {
      await this.lockEvents(client);
      // The search indexer reads events outside the events lock: wait for its batch to end.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INDEXER_LOCK]);
      return this.erasure.erase(client, ids);
    });
  }

  /** One pruning batch of one data class: see `Store.pruneRetention` and `store/postgres/retention.ts`. */
  async pruneRetention(request: PruneRequest, dryRun = false): Promise<PruneBatchResult> {
    return this.transaction(async (client) => {
      if (!dryRun && request.class !== 'deliveries' && request.class !== 'rejections' && request.class !== 'rawBodies') {
        // Event rows and projection rows: one writer at a time, as when recording; the search
        // indexer reads events outside that lock, so wait for its batch too.
        await this.lockEvents(client);
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INDEXER_LOCK]);
      }
      return new PostgresRetention().prune(client, request, dryRun);
    });
  }

  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = asError(e);
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

}

/** Opens the store and applies pending migrations; a server that cannot be reached is a clear error. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, opts);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof BluetickError) throw err;
    throw unavailable(store.location, err);
  }
  return store;
}

function unavailable(location: PostgresLocation, err: unknown): BluetickError {
  if (err instanceof BluetickError) return err;
  return new BluetickError('BT_ERR_STORE_UNAVAILABLE', `cannot use the PostgreSQL store at ${location.display}: ${asError(err).message}`, {
    cause: err,
  });
}
