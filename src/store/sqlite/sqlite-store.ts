/**
 * @module store/sqlite/sqlite-store
 *
 * The embedded backend: one better-sqlite3 connection (the only writer in the process) on a
 * file in WAL mode with `synchronous=FULL`, so a resolved `journal.append` means the rows
 * are on disk. Checkpoints run in a worker thread ({@link Checkpointer}); an ingest commit
 * checkpoints only as a backstop when the WAL passes `walAutocheckpointPages`.
 *
 * Failure modes this file is shaped around:
 * - Another process holds the write lock: `busy_timeout` is short (50 ms by default), so
 *   the write fails fast with SQLITE_BUSY and ingest answers 503 instead of hanging.
 * - A crash between ack and normalization: rows stay `pending` and the next process claims
 *   them from the oldest (the in-flight bookkeeping lives in memory only).
 * - A normalizer fix: raw bytes are kept as a BLOB, byte for byte, so any row can be put
 *   back to `pending` and normalized again without loss.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadMigrations, runMigrations, type MigrationTarget } from '../migrate.js';
import type { Store, StoreCapabilities, StoreCounts } from '../store.js';
import type { ErasureReceipt } from '../erasure.js';
import type { PruneBatchResult, PruneRequest } from '../../retention/policy.js';
import type { StorageUsage } from '../usage.js';
import { SqliteAccess, SqliteOutbound } from './access.js';
import { SqliteDeliveries } from './deliveries.js';
import { SqliteErasure } from './erasure.js';
import { countsOf, SqliteEvents, SqliteRejections } from './events.js';
import { SqliteJournal } from './journal.js';
import { SqliteProjections } from './projections.js';
import { SqliteRetention } from './retention.js';
import { SqliteSearch } from './search.js';
import { DynamicStatements, prepareStatements, sqliteMigrationTarget, type Statements } from './statements.js';
import { Checkpointer } from './thread/checkpointer.js';
import { InboxReader, inboxFileFor } from './thread/inbox.js';
import { measureSqliteUsage } from './usage.js';

export interface SqliteStoreOptions {
  /** How long a write waits for a lock held elsewhere before failing. Default 50 ms. */
  busyTimeoutMs?: number;
  /**
   * A second connection that only reads (a WAL reader next to the writer): no checkpoint
   * worker, no migrations, and `ping()` only reads, so API reads, `/readyz` and `/metrics`
   * never wait for the writer's transactions. Its caller must not call writing methods.
   */
  reader?: boolean;
  /**
   * How often the checkpoint worker runs. Default 500 ms. `0` runs no worker and leaves
   * SQLite's automatic checkpoints on (for short-lived commands such as `bluetick migrate`).
   */
  checkpointIntervalMs?: number;
  /**
   * With the worker on: the WAL size (in pages) at which a commit checkpoints anyway.
   * Default 4000 (16 MiB with 4 KiB pages). Under sustained writes the worker's PASSIVE
   * checkpoints never see a moment when every frame is copied, and SQLite only rewinds
   * the WAL after such a moment, so without this bound the file grows without end (and
   * commits slow down as it grows). When it fires, the worker has already copied most
   * frames, so the commit pays only for the rest. `0` leaves every checkpoint to the worker.
   */
  walAutocheckpointPages?: number;
  /** Nudge the checkpoint worker after this many body bytes were appended. Default 4 MiB. */
  checkpointAfterBytes?: number;
  /**
   * `synchronous` for the pipeline's `journal.record` commits. Default `normal`: they skip
   * their own fsync. Safe because everything they write (events, outcomes, projections,
   * deliveries) follows from journal rows that are already durable: in WAL mode a commit
   * without fsync is still atomic, and the next `FULL` commit (any journal append) syncs the
   * WAL file and with it every earlier frame. A power cut before that loses the whole
   * transaction, so its rows are still `pending` and are normalized again (deliveries
   * are at-least-once anyway). Journal appends always stay `FULL`. `full` syncs them too.
   */
  outcomeSync?: 'normal' | 'full';
  /** Problems off the request path (the checkpoint worker). */
  onError?: (err: Error) => void;
  /**
   * An inbox file that another thread appends to ({@link InboxWriter}, `inbox.ts`):
   * {@link SqliteJournal.importInbox} copies its rows into the journal, and `counts()`
   * includes the rows still waiting there. By default the inbox next to the database file
   * is opened when it exists (a server that stopped or died may have left rows in it), and
   * this store's own appends copy those rows first, so no id is handed out twice.
   */
  inboxFile?: string;
}

export interface SqliteSettings {
  journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  busyTimeoutMs: number;
  /** Pages; 0 when every checkpoint is left to the worker. */
  walAutocheckpoint: number;
  foreignKeys: boolean;
  checkpointWorker: boolean;
  /** Bytes per page: {@link PAGE_SIZE} for a file this version created. */
  pageSize: number;
}

/**
 * Page size of a new database file. Most of a record transaction's commit is writing the
 * pages it dirtied to the WAL, and an event dirties about one page in each index keyed by a
 * hash or a phone number. With 8 KiB pages a batch touches fewer of them and writes fewer
 * WAL frames (two system calls each) than with SQLite's 4 KiB default: the pipeline bench
 * recorded 1-11% more events per second, in 5 of 5 alternating pairs.
 */
export const PAGE_SIZE = 8192;

/**
 * One process, one writer, the pipeline on the caller's thread (see `thread/` for the other
 * way). Commits are synchronous inside `journal.append`, so two are never really in flight:
 * no limit is needed to make rows share one.
 */
const IN_PROCESS: StoreCapabilities = { maxCommitsInFlight: Infinity, pipelineThread: 'in-process', sharedByProcesses: false };

/**
 * The SQLite backend: one connection and the parts built on it. Each part keeps its own
 * statements; the ones prepared from the schema are dropped after a migration.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly capabilities = IN_PROCESS;
  /** The database file. */
  readonly file: string;

  readonly journal: SqliteJournal;
  readonly events: SqliteEvents;
  readonly rejections: SqliteRejections;
  readonly deliveries: SqliteDeliveries;

  private readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly inbox: InboxReader | undefined;
  private readonly reader: boolean;
  private readonly dynamic: DynamicStatements;
  private closed = false;

  // Prepared on first use (after the migrations created the tables), dropped by a migration.
  private statements: Statements | undefined;
  private projectionsPart: SqliteProjections | undefined;
  private accessPart: SqliteAccess | undefined;
  private outboundPart: SqliteOutbound | undefined;
  private searchPart: SqliteSearch | undefined;
  private erasurePart: SqliteErasure | undefined;
  private retentionPart: SqliteRetention | undefined;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.file = file;
    const busyTimeoutMs = opts.busyTimeoutMs ?? 50;
    const interval = opts.reader ? 0 : (opts.checkpointIntervalMs ?? 500);
    this.reader = opts.reader === true;

    this.db = new Database(file, { timeout: busyTimeoutMs });
    try {
      // A new file gets PAGE_SIZE pages; an existing one keeps its own (`VACUUM` converts).
      if (!this.reader) this.db.pragma(`page_size = ${PAGE_SIZE}`);
      const mode = this.reader ? this.db.pragma('journal_mode', { simple: true }) : this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && file !== ':memory:') throw new Error(`could not switch ${file} to WAL (got ${String(mode)})`);
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      // Old content in b-tree pages is zeroed when deleted or rewritten, at no extra I/O, so
      // an erasure (store/sqlite/erasure.ts) leaves no stale copies inside live pages.
      if (!this.reader) this.db.pragma('secure_delete = FAST');
      // Statements with RETURNING buffer their rows in a temporary table: in a file (the
      // default) that costs a few system calls per statement.
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      if (interval > 0 && file !== ':memory:') {
        this.db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(opts.walAutocheckpointPages ?? 4000))}`);
        this.checkpointer = new Checkpointer({ file, intervalMs: interval, ...(opts.onError ? { onError: opts.onError } : {}) });
      }
    } catch (err) {
      this.db.close();
      throw err;
    }

    this.deliveries = new SqliteDeliveries(this.db);
    try {
      const inboxFile = opts.inboxFile ?? (file === ':memory:' ? undefined : inboxFileFor(file));
      this.inbox =
        inboxFile !== undefined && (opts.inboxFile !== undefined || existsSync(inboxFile)) ? new InboxReader(inboxFile) : undefined;
    } catch (err) {
      this.db.close();
      throw err;
    }

    this.dynamic = new DynamicStatements(this.db);
    const q = (): Statements => this.q;
    this.journal = new SqliteJournal({
      db: this.db,
      q,
      dynamic: this.dynamic,
      inbox: this.inbox,
      checkpointer: this.checkpointer,
      checkpointAfterBytes: opts.checkpointAfterBytes ?? 4 * 1024 * 1024,
      relaxedOutcomes: (opts.outcomeSync ?? 'normal') === 'normal',
      projections: () => this.projections,
      deliveries: this.deliveries,
      erasure: () => this.erasure,
      search: () => this.search,
    });
    this.events = new SqliteEvents(q, this.dynamic);
    this.rejections = new SqliteRejections(this.db, q, this.dynamic);
  }

  get projections(): SqliteProjections {
    return (this.projectionsPart ??= new SqliteProjections(this.db));
  }

  get access(): SqliteAccess {
    return (this.accessPart ??= new SqliteAccess(this.db));
  }

  get outbound(): SqliteOutbound {
    return (this.outboundPart ??= new SqliteOutbound(this.db, () => this.search));
  }

  get search(): SqliteSearch {
    return (this.searchPart ??= new SqliteSearch(this.db));
  }

  private get erasure(): SqliteErasure {
    return (this.erasurePart ??= new SqliteErasure(this.db, this.file));
  }

  private get q(): Statements {
    return (this.statements ??= prepareStatements(this.db));
  }

  /** Erases one person: see `Store.eraseContact` and `store/sqlite/erasure.ts`. */
  async eraseContact(ids: string[]): Promise<ErasureReceipt> {
    return this.erasure.erase(ids);
  }

  /** One pruning batch of one data class: see `Store.pruneRetention` and `store/sqlite/retention.ts`. */
  async pruneRetention(request: PruneRequest, dryRun = false): Promise<PruneBatchResult> {
    return (this.retentionPart ??= new SqliteRetention(this.db)).prune(request, dryRun);
  }

  /**
   * @internal Resolves `true` after the checkpoint worker's next `TRUNCATE` that emptied the
   * WAL, `false` if there is no worker or it stopped first. Ask before looking at the WAL, so
   * a truncation in between is not missed.
   */
  nextWalTruncate(): Promise<boolean> {
    return this.checkpointer?.nextTruncate() ?? Promise.resolve(false);
  }

  async migrate(): Promise<{ applied: string[] }> {
    return runMigrations(this.migrationTarget(), await loadMigrations('sqlite'));
  }

  /** @internal The runner's view of this connection (also used by tests with their own files). */
  migrationTarget(): MigrationTarget {
    return sqliteMigrationTarget(this.db, () => {
      // A migration may have changed tables a cached statement refers to.
      this.statements = undefined;
      this.projectionsPart = undefined;
      this.searchPart = undefined;
      this.retentionPart = undefined;
      this.dynamic.clear();
    });
  }



  /** One snapshot of the journal (inbox rows included), events and rejections counts (see `./events.ts`). */
  async counts(): Promise<StoreCounts> {
    return countsOf(this.db, this.q, this.inbox);
  }

  /** What the database's space goes to, by data class (see `store/usage.ts`). */
  async storageUsage(): Promise<StorageUsage> {
    return measureSqliteUsage(this.db);
  }

  async ping(): Promise<void> {
    // A reader checks that the file can be read; the writer's own transactions must not
    // make the store look unready.
    if (this.reader) {
      this.q.lastJournalId.get();
      return;
    }
    // Take and drop the write lock: fails (after busy_timeout) when someone else holds it.
    this.db.exec('BEGIN IMMEDIATE');
    this.db.exec('ROLLBACK');
  }

  /** The connection's settings as SQLite reports them (for `bluetick doctor` and tests). */
  settings(): SqliteSettings {
    const get = (name: string): unknown => this.db.pragma(name, { simple: true });
    return {
      journalMode: String(get('journal_mode')),
      synchronous: Number(get('synchronous')),
      busyTimeoutMs: Number(get('busy_timeout')),
      walAutocheckpoint: Number(get('wal_autocheckpoint')),
      foreignKeys: Number(get('foreign_keys')) === 1,
      checkpointWorker: this.checkpointer !== undefined,
      pageSize: Number(get('page_size')),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointer) await this.checkpointer.stop();
    this.inbox?.close();
    this.db.close();
  }

}
