/**
 * @module store/sqlite/thread/worker-store
 *
 * The SQLite store with its connection on a thread of its own. Every method call is posted
 * to that thread as `{ id, method, args }` and answered with `{ id, result | error }`, so
 * the thread serving HTTP never waits on an fsync, a lock or a checkpoint: it only posts a
 * message per group commit and resolves the acks when the answer comes back. The thread
 * also runs the pipeline ({@link WorkerStore.createPipeline}), next to the data it reads.
 *
 * Forwarding is generic: when it is ready the worker reports, per part of its real
 * `SqliteStore` (`journal`, `deliveries`, ...), the method names of the part's class, and
 * each part here gets one function per name that posts `part.method`. A method added to a
 * part's interface is therefore available here without touching this file.
 *
 * What crosses the boundary: arguments and results by structured clone (Buffers, bigints,
 * plain objects); errors as records rebuilt with their class, `name`, `message`, `code`
 * and `cause` (`worker-wire.ts`), so `SQLITE_BUSY` is still `SQLITE_BUSY` for the journal
 * writer and the pipeline. Functions cannot cross: a method taking a callback is not
 * forwardable (none of the Store methods takes one).
 *
 * Reads do not cross either: the API's queries, `counts()` (for `/metrics`) and `ping()`
 * (for `/readyz`) run on a second connection on this thread, a WAL reader
 * ({@link READS}), so they never queue behind a pipeline batch or a delivery commit in the
 * store's thread. A reader sees every committed transaction; a journal row acked a moment
 * ago may still be in the inbox, so `journal.get` asks the store's thread when the
 * reader does not have it yet, and `journal.list` (which must list such rows) stays there.
 *
 * Journal appends are the exception: they never cross. The HTTP thread writes them itself
 * into the inbox file (`inbox.ts`: group commit, WAL synced before the ack), then asks the
 * store's thread to copy them into the journal (one request outstanding at a time; rows
 * committed meanwhile go with the next one). Measured on 2 cores, the round trip per group
 * commit had cost more than half the throughput of the HTTP thread.
 *
 * Lifetime: `close()` stops the pipeline, closes the database and ends the thread, and always
 * settles: a thread that does not end in time is terminated. How the thread is started (from
 * the TypeScript sources in tests) and when it keeps the process alive: `../../thread/channel.ts`.
 */
import type { PipelineHandle, RemotePipelineOptions } from '../../../pipeline.js';
import type { AccessStore } from '../../access.js';
import type { DeliveryStore } from '../../deliveries.js';
import type { ErasureReceipt } from '../../erasure.js';
import type { PruneBatchResult, PruneRequest } from '../../../retention/policy.js';
import type { OutboundStore } from '../../outbound.js';
import type { ProjectionStore } from '../../projections.js';
import type { SearchStore } from '../../search.js';
import type { EventStore, JournalInput, JournalRow, JournalStore, RejectionStore, Store, StoreCapabilities, StoreCounts } from '../../store.js';
import type { StorageUsage } from '../../usage.js';
import { SqliteStore, type SqliteSettings, type SqliteStoreOptions } from '../sqlite-store.js';
import { goneError, spawnThread, ThreadChannel } from '../../thread/channel.js';
import { RemotePipeline } from '../../thread/remote-pipeline.js';
import { InboxWriter, inboxFileFor } from './inbox.js';
import type { InboxActivity, StoreWorkerData } from './store-worker.js';
import type { UsageThreadData } from './usage-thread.js';
import { decodeError, type CallTarget, type Notice, type StorePart } from './worker-wire.js';

export interface WorkerStoreOptions extends SqliteStoreOptions {
  /**
   * How long the worker's connection waits for a lock held by another process. Default
   * 1000 ms: waiting blocks only the worker, not HTTP, and the journal writer's
   * `commitTimeoutMs` still bounds how long an ack can take.
   */
  busyTimeoutMs?: number;
  /** How long `close()` waits for the thread to finish before terminating it. Default 10 000 ms. */
  closeTimeoutMs?: number;
  /** How long an append retries while the inbox is locked elsewhere. Default 100 ms. */
  inboxBusyRetryMs?: number;
  /** Largest share of the thread the pipeline takes during a burst ({@link BURST_SHARE} by default; see `pacing.ts`). */
  burstShare?: number;
}

/** After a failed inbox import, the next try comes this much later at the latest, ms. */
const IMPORT_RETRY_MS = 1_000;
/** Shortest interval between two import requests, ms. */
const IMPORT_EVERY_MS = 10;

/** The worker's default `busy_timeout`, ms. */
export const WORKER_BUSY_TIMEOUT_MS = 1_000;

/** Answered by the reader connection on this thread (see the module comment). */
const READS = new Set([
  'counts',
  'ping',
  'journal.oldestPendingAt',
  'events.get',
  'events.list',
  'events.arrivals',
  'events.lastSeq',
  'events.activity',
  'rejections.list',
  'projections.counts',
  'projections.getMessage',
  'projections.listMessages',
  'projections.listReactions',
  'projections.getConversation',
  'projections.listConversations',
  'projections.getContact',
  'projections.listContacts',
  'projections.getTemplate',
  'projections.listTemplates',
  'projections.listConsent',
  'projections.listHealth',
  'projections.getHealth',
  'deliveries.get',
  'deliveries.list',
  'deliveries.backlog',
  'access.tokenByHash',
  'access.listTokens',
  'access.listAudit',
  'outbound.get',
  'search.query',
]);

/** The store's own thread, one writer; the pipeline runs there. */
const OWN_THREAD: StoreCapabilities = { maxCommitsInFlight: 1, pipelineThread: 'own-thread', sharedByProcesses: false };

/** Starts `module` (the store's thread, or the usage thread) next to this file. */
function spawn(data: StoreWorkerData | UsageThreadData, module = 'store-worker'): ReturnType<typeof spawnThread> {
  return spawnThread(import.meta.url, module, data);
}

export class WorkerStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly capabilities = OWN_THREAD;
  // Filled with one forwarding function per method when the thread is ready (see `#forward`).
  readonly journal = { append: (rows: JournalInput[]) => this.#append(rows), get: (id: number) => this.#journalRow(id) } as JournalStore;
  readonly events = {} as EventStore;
  readonly rejections = {} as RejectionStore;
  readonly projections = {} as ProjectionStore;
  readonly deliveries = {} as DeliveryStore;
  readonly access = {} as AccessStore;
  readonly outbound = {} as OutboundStore;
  readonly search = {} as SearchStore;
  /** The database file. */
  readonly file: string;

  readonly #thread: ThreadChannel<Notice>;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #closeTimeoutMs: number;
  readonly #ready: Promise<void>;
  #closing: Promise<void> | undefined;
  #pipeline: RemotePipeline | undefined;
  readonly #inboxFile: string | undefined;
  readonly #inboxOptions: { busyRetryMs?: number; checkpointIntervalMs?: number; walAutocheckpointPages?: number };
  #inbox: Promise<InboxWriter> | undefined;
  /** The reader connection, opened on first read. */
  #reader: SqliteStore | undefined;
  /** The inbox once open: appends use it directly, without a promise hop. */
  #inboxOpen: InboxWriter | undefined;
  /** Inbox commits (and their rows) not yet reported to the store's thread. */
  #activity: InboxActivity = { commits: 0, rows: 0 };
  /** The import request in flight, if any. */
  #importing: Promise<void> | undefined;
  /** A request waiting for its turn (throttle) or for a retry. */
  #importTimer: NodeJS.Timeout | undefined;
  #lastImportAt = -Infinity;

  /**
   * Starts the thread and opens the database in it. Resolves once the database is open;
   * rejects with the worker's error (e.g. SQLITE_CANTOPEN) otherwise.
   */
  static async open(file: string, opts: WorkerStoreOptions = {}): Promise<WorkerStore> {
    const store = new WorkerStore(file, opts);
    await store.#ready;
    return store;
  }

  private constructor(file: string, opts: WorkerStoreOptions) {
    this.file = file;
    const { onError, closeTimeoutMs, inboxBusyRetryMs, burstShare, ...options } = opts;
    this.#onError = onError;
    this.#closeTimeoutMs = closeTimeoutMs ?? 10_000;
    this.#inboxFile = file === ':memory:' ? undefined : inboxFileFor(file);
    this.#inboxOptions = {
      ...(inboxBusyRetryMs !== undefined ? { busyRetryMs: inboxBusyRetryMs } : {}),
      ...(options.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: options.checkpointIntervalMs } : {}),
      ...(options.walAutocheckpointPages !== undefined ? { walAutocheckpointPages: options.walAutocheckpointPages } : {}),
    };
    const worker = spawn({
      file,
      ...(burstShare !== undefined ? { burstShare } : {}),
      options: {
        ...options,
        busyTimeoutMs: options.busyTimeoutMs ?? WORKER_BUSY_TIMEOUT_MS,
        ...(this.#inboxFile !== undefined ? { inboxFile: this.#inboxFile } : {}),
      },
    });

    let ready!: () => void;
    let failed!: (err: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.#thread = new ThreadChannel<Notice>(worker, {
      exit: (gone) => {
        failed(gone);
        this.#pipeline?.ended();
      },
      error: (gone, thrown) => {
        // An uncaught exception in the thread: it is ending. Report it once.
        failed(thrown);
        this.#onError?.(gone);
      },
      notice: (msg) => {
        if (msg.op === 'ready') {
          this.#forward(msg.methods);
          ready();
        } else this.#notice(msg, failed);
      },
    });
  }

  /** Applies pending migrations in the store's thread, then opens the inbox. */
  async migrate(): Promise<{ applied: string[] }> {
    const result = (await this.#call('store', 'migrate', [])) as { applied: string[] };
    if (this.#inboxFile !== undefined) await this.#openInbox();
    return result;
  }

  /** One snapshot of the counts, from the reader (inbox rows included). */
  counts(): Promise<StoreCounts> {
    return this.#read('counts', []) as Promise<StoreCounts>;
  }

  ping(): Promise<void> {
    return this.#read('ping', []) as Promise<void>;
  }

  /** The connection's settings as SQLite reports them in the store's thread (for `bluetick doctor` and tests). */
  settings(): Promise<SqliteSettings> {
    return this.#call('store', 'settings', []) as Promise<SqliteSettings>;
  }

  eraseContact(ids: string[]): Promise<ErasureReceipt> {
    return this.#call('store', 'eraseContact', [ids]) as Promise<ErasureReceipt>;
  }

  pruneRetention(request: PruneRequest, dryRun = false): Promise<PruneBatchResult> {
    return this.#call('store', 'pruneRetention', [request, dryRun]) as Promise<PruneBatchResult>;
  }

  /**
   * `journal.append`: writes the rows durably and resolves with their journal ids. With a
   * database file they go into the inbox on this thread (see the module comment); the
   * store's thread copies them into the journal shortly after.
   */
  #append(rows: JournalInput[]): Promise<number[]> {
    if (this.#inboxFile === undefined) return this.#call('store', 'journal.append', [rows]) as Promise<number[]>;
    if (this.#thread.gone !== undefined) return Promise.reject(this.#thread.gone);
    if (this.#closing !== undefined) return Promise.reject(goneError('the store is closed'));
    const open = this.#inboxOpen;
    if (open !== undefined) return this.#appendToInbox(open, rows);
    return this.#openInbox().then((inbox) => this.#appendToInbox(inbox, rows));
  }

  #appendToInbox(inbox: InboxWriter, rows: JournalInput[]): Promise<number[]> {
    return inbox.append(rows).then((ids) => {
      this.#activity.commits++;
      this.#activity.rows += rows.length;
      this.#requestImport();
      return ids;
    });
  }

  /** Opens the inbox once, with ids continuing after the journal's. */
  #openInbox(): Promise<InboxWriter> {
    this.#inbox ??= (async () => {
      const counts = (await this.#call('store', 'counts', [])) as { lastJournalId: number };
      this.#inboxOpen = new InboxWriter(this.#inboxFile!, {
        after: counts.lastJournalId,
        ...this.#inboxOptions,
        ...(this.#onError ? { onError: this.#onError } : {}),
      });
      return this.#inboxOpen;
    })();
    // A failed open is tried again by the next append.
    this.#inbox.catch(() => (this.#inbox = undefined));
    return this.#inbox;
  }

  /**
   * Asks the store's thread to journal what the inbox holds: one request at a time, and at
   * most one per {@link IMPORT_EVERY_MS} (during a burst every request wakes that thread,
   * which shares the cores with this one). The first commit after a quiet spell goes at once.
   */
  #requestImport(): void {
    if (this.#importing !== undefined || this.#importTimer !== undefined) return;
    if (this.#thread.gone !== undefined || this.#closing !== undefined) return;
    const wait = this.#lastImportAt + IMPORT_EVERY_MS - performance.now();
    if (wait > 0) {
      this.#importTimer = setTimeout(this.#sendImport, wait).unref();
      return;
    }
    this.#sendImport();
  }

  readonly #sendImport = (): void => {
    this.#importTimer = undefined;
    if (this.#thread.gone !== undefined || this.#closing !== undefined) return;
    this.#lastImportAt = performance.now();
    const activity = this.#activity;
    this.#activity = { commits: 0, rows: 0 };
    this.#importing = (this.#call('worker', 'importInbox', [activity]) as Promise<{ through: number }>).then(
      async ({ through }) => {
        (await this.#inbox)?.release(through);
        this.#importing = undefined;
        if (this.#activity.commits > 0) this.#requestImport();
      },
      (err: unknown) => {
        this.#importing = undefined;
        this.#onError?.(err instanceof Error ? err : new Error(String(err)));
        // The rows are safe in the inbox; the next commit or this timer tries again.
        this.#activity.commits += activity.commits;
        this.#activity.rows += activity.rows;
        this.#importTimer = setTimeout(this.#sendImport, IMPORT_RETRY_MS).unref();
      },
    );
  };

  /**
   * The pipeline, run inside the store's thread. One per store. It is created stopped:
   * `start()` it, or `drain()` it by hand.
   */
  createPipeline(opts: RemotePipelineOptions = {}): PipelineHandle {
    if (this.#pipeline !== undefined) throw new Error('this store already has a pipeline');
    const { logger, ...settings } = opts;
    this.#pipeline = new RemotePipeline((method, args) => this.#call('pipeline', method, args), logger);
    this.#pipeline.created = this.#call('pipeline', 'create', [settings]);
    this.#pipeline.created.catch((err: unknown) => logger?.error({ err }, 'could not create the pipeline'));
    return this.#pipeline;
  }

  /**
   * Stops the pipeline after its current batch, closes the database (checkpoint worker
   * included) and ends the thread. Calls made afterwards reject. Always settles.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#thread.gone !== undefined) {
        await this.#closeInbox();
        return;
      }
      this.#thread.holdOpen();
      clearTimeout(this.#importTimer);
      const timer = setTimeout(() => void this.#thread.worker.terminate(), this.#closeTimeoutMs);
      try {
        // The thread copies whatever the inbox still holds into the journal as it closes.
        await this.#importing;
        await this.#call('worker', 'close', []);
      } catch (err) {
        // Closing failed in the thread (or it was already gone): end it regardless.
        if (this.#thread.gone === undefined) {
          this.#onError?.(err instanceof Error ? err : new Error(String(err)));
          void this.#thread.worker.terminate();
        }
      } finally {
        await this.#thread.exited;
        clearTimeout(timer);
        await this.#closeInbox();
      }
    })();
    return this.#closing;
  }

  async #closeInbox(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    await reader?.close().catch((err: unknown) => this.#onError?.(err instanceof Error ? err : new Error(String(err))));
    const inbox = await this.#inbox?.catch(() => undefined);
    try {
      await inbox?.close();
    } catch (err) {
      this.#onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Gives each part one forwarding function per method the worker's part has (`part.method` on the wire). */
  #forward(methods: Record<string, string[]>): void {
    for (const [part, names] of Object.entries(methods)) {
      const target = this[part as StorePart] as unknown as Record<string, unknown>;
      for (const name of names) {
        if (name in target) continue;
        const path = `${part}.${name}`;
        target[name] = READS.has(path) ? (...args: unknown[]) => this.#read(path, args) : (...args: unknown[]) => this.#call('store', path, args);
      }
    }
  }

  /**
   * What the database's space goes to. Measured on a thread started for it, with its own
   * read-only connection: the page walk never holds up the HTTP thread or the store's thread.
   */
  storageUsage(): Promise<StorageUsage> {
    if (this.#thread.gone !== undefined) return Promise.reject(this.#thread.gone);
    if (this.#closing !== undefined) return Promise.reject(goneError('the store is closed'));
    if (this.file === ':memory:') return this.#call('store', 'storageUsage', []) as Promise<StorageUsage>;
    return new Promise((resolve, reject) => {
      const worker = spawn({ file: this.file, busyTimeoutMs: WORKER_BUSY_TIMEOUT_MS }, 'usage-thread');
      let settled = false;
      worker.once('message', (msg: { ok: true; usage: StorageUsage } | { ok: false; message: string }) => {
        settled = true;
        if (msg.ok) resolve(msg.usage);
        else reject(new Error(`could not measure the database: ${msg.message}`));
      });
      worker.once('error', (err) => {
        settled = true;
        reject(err);
      });
      worker.once('exit', (code) => {
        if (!settled) reject(new Error(`the measuring thread exited with code ${code}`));
      });
    });
  }

  /** `journal.get`: from the reader, else (acked a moment ago, still in the inbox) from the store's thread. */
  async #journalRow(id: number): Promise<JournalRow | undefined> {
    const row = this.file === ':memory:' ? undefined : ((await this.#read('journal.get', [id])) as JournalRow | undefined);
    return row ?? ((await this.#call('store', 'journal.get', [id])) as JournalRow | undefined);
  }

  /** Runs `path` (`part.method` or a store method) on the reader connection; in the store's thread when there is no file to read. */
  #read(path: string, args: unknown[]): Promise<unknown> {
    if (this.file === ':memory:') return this.#call('store', path, args);
    if (this.#thread.gone !== undefined) return Promise.reject(this.#thread.gone);
    if (this.#closing !== undefined) return Promise.reject(goneError('the store is closed'));
    try {
      this.#reader ??= new SqliteStore(this.file, { reader: true, busyTimeoutMs: WORKER_BUSY_TIMEOUT_MS });
      const dot = path.indexOf('.');
      const target = (dot < 0 ? this.#reader : this.#reader[path.slice(0, dot) as StorePart]) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return target[path.slice(dot + 1)]!(...args);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #call(on: CallTarget, method: string, args: unknown[]): Promise<unknown> {
    if (this.#thread.gone === undefined && this.#closing !== undefined && on !== 'worker' && !(on === 'pipeline' && method === 'stop')) {
      return Promise.reject(goneError('the store is closed'));
    }
    return this.#thread.call(on, method, args);
  }

  #notice(msg: Exclude<Notice, { op: 'ready' }>, failed: (err: Error) => void): void {
    switch (msg.op) {
      case 'batch':
      case 'log':
        this.#pipeline?.receive(msg);
        break;
      case 'error':
        this.#onError?.(decodeError(msg.error));
        break;
      case 'imported':
        void this.#inbox?.then((inbox) => inbox.release(msg.through), () => undefined);
        break;
      case 'fatal': {
        const err = decodeError(msg.error);
        this.#thread.fail(err);
        failed(err);
        break;
      }
    }
  }
}
