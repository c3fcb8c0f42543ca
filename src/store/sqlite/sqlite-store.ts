/**
 * @module store/sqlite/sqlite-store
 *
 * The embedded backend: one better-sqlite3 connection (the only writer in the process) on a
 * file in WAL mode with `synchronous=FULL`, so a resolved `appendJournal` means the rows
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
import { serializeEvent } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import { loadMigrations, runMigrations, SCHEMA_MIGRATIONS_DDL, type Migration, type MigrationTarget } from '../migrate.js';
import {
  JOURNAL_STATES,
  type EventFilter,
  type JournalFilter,
  type JournalInput,
  type JournalOutcome,
  type JournalRow,
  type JournalState,
  type Page,
  type PageRequest,
  type RecordResult,
  type Rejection,
  type RejectionFilter,
  type RejectionInput,
  type ActivityCounts,
  type Store,
  type StoreCounts,
  type StoredEvent,
} from '../store.js';
import {
  epochMsOrNull,
  EVENT_COLUMNS,
  eventConditions,
  indexString,
  JOURNAL_COLUMNS,
  journalConditions,
  REJECTION_COLUMNS,
  rejectionConditions,
  toJournalRow,
  claimKeeps,
  toRejection,
  toStoredEvent,
  type EventRecord,
  type JournalRecord,
  type RejectionRecord,
} from '../rows.js';
import type { Condition } from '../conditions.js';
import type { StorageUsage } from '../usage.js';
import { Checkpointer } from './checkpointer.js';
import { measureSqliteUsage } from './usage.js';
import { InboxReader, inboxFileFor, type InboxRecord } from './inbox.js';
import { SqliteProjections } from './projections.js';
import { batchEventIds, planRecord } from '../record-plan.js';
import { clampLimit, pageOf, toPage, whereOf } from './sql.js';
import type {
  ContactFilter,
  ConversationFilter,
  MessageFilter,
  ProjectionCounts,
  RebuildOptions,
  RebuildResult,
  TemplateFilter,
} from '../projections.js';
import type { ContactRow, ConversationRow, MessageRow, ReactionRow, TemplateRow } from '../../projections/index.js';
import { SqliteAccess } from './access.js';
import { SqliteSearch } from './search.js';
import { outboundDocument, type SearchDocument, type SearchKind } from '../../search/documents.js';
import type { SearchHit } from '../search.js';
import type { ConsentRow } from '../../projections/index.js';
import type { ConsentFilter, HealthKind, HealthRow } from '../projections.js';
import { SqliteDeliveries } from './deliveries.js';
import { SqliteErasure } from './erasure.js';
import { SqliteRetention } from './retention.js';
import type { PruneBatchResult, PruneRequest } from '../../retention/policy.js';
import type { ErasureReceipt } from '../erasure.js';
import type { ApiToken, AuditEntry, AuditFilter, AuditInput, AuditPageRequest, NewApiToken } from '../access.js';
import type { OutboundInput, OutboundRecord } from '../outbound.js';
import type {
  AttemptRecord,
  Delivery,
  DeliveryBacklog,
  DeliveryFilter,
  DeliveryRoute,
  DeliveryWithAttempts,
  EnqueueResult,
  LeasedDelivery,
  LeaseRequest,
  NewDelivery,
  RecordAttemptsResult,
  RedriveSelector,
  SettleRequest,
  SettleResult,
} from '../deliveries.js';

/** One minute, ms: the bucket of `activity()`. */
const MINUTE_MS = 60_000;

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
   * `synchronous` for the pipeline's `recordOutcomes` commits. Default `normal`: they skip
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
   * {@link SqliteStore.importInbox} copies its rows into the journal, and `counts()`
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
}

/** The columns of one new event, in `insertEvent`'s order. */
type EventParams = [
  id: string,
  type: string,
  channel: string,
  provider: string,
  phoneNumberId: string | null,
  displayPhoneNumber: string | null,
  messageId: string | null,
  from: string | null,
  kind: string | null,
  status: string | null,
  occurredAt: number | null,
  receivedAt: number | null,
  journalIdForReceivedAt: number,
  journalId: number,
  body: string,
];

const STATEMENT_CACHE_LIMIT = 256;

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  /** The database file. */
  readonly file: string;

  private readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly inbox: InboxReader | undefined;
  private readonly checkpointAfterBytes: number;
  private readonly relaxedOutcomes: boolean;
  private readonly reader: boolean;
  private bytesSinceNudge = 0;
  private closed = false;

  /** Claim bookkeeping: rows with id <= floor were handed out (or were not pending then). */
  private claimFloor = 0;
  private readonly inFlight = new Set<number>();
  /** Whether a batch left unfinished by an earlier process was looked for (`pipeline_claim`). */
  private claimsChecked = false;

  private statements: Statements | undefined;
  /** Projection tables (migration 0002); prepared on first use, like `statements`. */
  private projectionsImpl: SqliteProjections | undefined;
  /** Deliveries, attempts, leases (migration 0003). */
  private readonly deliveries: SqliteDeliveries;
  private accessStatements: SqliteAccess | undefined;
  private searchStatements: SqliteSearch | undefined;
  private readonly dynamic = new Map<string, Database.Statement<unknown[], unknown>>();

  private readonly appendTx: (rows: JournalInput[]) => number[];
  private readonly importTx: (records: InboxRecord[]) => void;
  private erasureImpl: SqliteErasure | undefined;
  private retentionImpl: SqliteRetention | undefined;
  private readonly recordTx: (outcomes: JournalOutcome[], now: number, lastInFlight: boolean) => RecordResult;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.file = file;
    const busyTimeoutMs = opts.busyTimeoutMs ?? 50;
    const interval = opts.reader ? 0 : (opts.checkpointIntervalMs ?? 500);
    this.reader = opts.reader === true;
    this.checkpointAfterBytes = opts.checkpointAfterBytes ?? 4 * 1024 * 1024;
    this.relaxedOutcomes = (opts.outcomeSync ?? 'normal') === 'normal';

    this.db = new Database(file, { timeout: busyTimeoutMs });
    try {
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

    this.importTx = this.db.transaction((records: InboxRecord[]): void => {
      const insert = this.q.importJournal;
      for (let i = 0; i < records.length; i++) insert.run(...records[i]!);
    }).immediate;

    this.appendTx = this.db.transaction((rows: JournalInput[]): number[] => {
      const insert = this.q.insertJournal;
      const ids = new Array<number>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const res = insert.run(
          r.channel,
          r.receivedAt,
          r.remoteAddress ?? null,
          JSON.stringify(r.headers),
          r.body,
          r.verifiedBy,
        );
        ids[i] = Number(res.lastInsertRowid);
      }
      return ids;
    }).immediate;

    this.recordTx = this.db.transaction((outcomes: JournalOutcome[], now: number, lastInFlight: boolean): RecordResult => {
      const q = this.q;
      const plan = planRecord(outcomes, this.storedBy(batchEventIds(outcomes)));
      const recorded: StoredEvent[] = [];
      const projections = this.p.writer();
      const touched = projections.preload(plan.fresh.map((f) => f.event));
      for (let i = 0; i < plan.fresh.length; i++) {
        const { event, journalId } = plan.fresh[i]!;
        const seq = Number(q.insertEvent.run(...eventParams(event, journalId)).lastInsertRowid);
        recorded.push({ seq, event, journalId, duplicates: 0 });
        projections.apply(seq, event, touched[i]);
        this.deliveries.onEventRecorded(seq, event, now);
      }
      for (const [id, n] of plan.bumps) q.bumpDuplicates.run(n, id);
      for (const j of plan.journal) q.updateJournal.run(j.state, j.cause, j.eventCount, j.newEventCount, now, j.journalId);
      projections.flush();
      if (lastInFlight) q.clearClaim.run();
      return { inserted: recorded.length, duplicates: plan.duplicates, recorded };
    }).immediate;
  }

  /** Which of `ids` are stored already, and by which journal row (see `record-plan.ts`). */
  private storedBy(ids: string[]): Map<string, number> {
    const owners = new Map<string, number>();
    if (ids.length === 0) return owners;
    for (const r of this.q.storedBy.all(JSON.stringify(ids))) owners.set(r.id, r.journal_id);
    return owners;
  }

  /** Prepared on first use, after the migrations created the tables. */
  private get q(): Statements {
    return (this.statements ??= prepareStatements(this.db));
  }

  private get er(): SqliteErasure {
    return (this.erasureImpl ??= new SqliteErasure(this.db, this.file));
  }

  /** Erases one person: see `Store.eraseContact` and `store/sqlite/erasure.ts`. */
  async eraseContact(ids: string[]): Promise<ErasureReceipt> {
    return this.er.erase(ids);
  }

  /** One pruning batch of one data class: see `Store.pruneRetention` and `store/sqlite/retention.ts`. */
  async pruneRetention(request: PruneRequest, dryRun = false): Promise<PruneBatchResult> {
    return (this.retentionImpl ??= new SqliteRetention(this.db)).prune(request, dryRun);
  }

  private get p(): SqliteProjections {
    return (this.projectionsImpl ??= new SqliteProjections(this.db));
  }

  async migrate(): Promise<{ applied: string[] }> {
    return runMigrations(this.migrationTarget(), await loadMigrations('sqlite'));
  }

  /** @internal The runner's view of this connection (also used by tests with their own files). */
  migrationTarget(): MigrationTarget {
    const db = this.db;
    return {
      appliedVersions: async () => {
        db.exec(SCHEMA_MIGRATIONS_DDL);
        const rows = db.prepare<[], number>('SELECT version FROM schema_migrations').pluck().all();
        return new Set(rows);
      },
      apply: async (m: Migration, appliedAt: number) => {
        db.transaction(() => {
          db.exec(m.sql);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, appliedAt);
        }).immediate();
        // A migration may have changed tables a cached statement refers to.
        this.statements = undefined;
        this.projectionsImpl = undefined;
        this.searchStatements = undefined;
        this.retentionImpl = undefined;
        this.dynamic.clear();
      },
    };
  }

  async appendJournal(rows: JournalInput[]): Promise<number[]> {
    if (rows.length === 0) return [];
    // Rows an inbox still holds have their ids already: they go first.
    if (this.inbox !== undefined) {
      let copied: number;
      do copied = (await this.importInbox()).rows;
      while (copied > 0);
    }
    const ids = this.appendTx(rows);
    if (this.checkpointer) {
      let bytes = 0;
      for (let i = 0; i < rows.length; i++) bytes += rows[i]!.body.length;
      this.journaled(bytes);
    }
    return ids;
  }

  /**
   * @internal Resolves `true` after the checkpoint worker's next `TRUNCATE` that emptied the
   * WAL, `false` if there is no worker or it stopped first. Ask before looking at the WAL, so
   * a truncation in between is not missed.
   */
  nextWalTruncate(): Promise<boolean> {
    return this.checkpointer?.nextTruncate() ?? Promise.resolve(false);
  }

  /** Body bytes just written to the journal: nudges the checkpoint worker every few MiB. */
  private journaled(bytes: number): void {
    this.bytesSinceNudge += bytes;
    if (this.bytesSinceNudge >= this.checkpointAfterBytes) {
      this.bytesSinceNudge = 0;
      this.checkpointer?.nudge();
    }
  }

  /**
   * Copies up to `limit` inbox rows (none for 0) the journal does not have yet into it, ids unchanged, in
   * one `synchronous=FULL` transaction (the journal's largest id is the cursor, so a copy
   * interrupted by a crash is simply done again). Returns how many rows were copied and the
   * largest id the journal now has: the inbox may delete every row up to it.
   */
  async importInbox(limit = 2_000): Promise<{ rows: number; through: number }> {
    const last = this.q.lastJournalId.get() ?? 0;
    if (this.inbox === undefined || limit < 1) return { rows: 0, through: last };
    const records = this.inbox.read(last, Math.floor(limit));
    if (records.length === 0) return { rows: 0, through: last };
    this.importTx(records);
    if (this.checkpointer) {
      let bytes = 0;
      for (let i = 0; i < records.length; i++) bytes += records[i]![5].length;
      this.journaled(bytes);
    }
    return { rows: records.length, through: records[records.length - 1]![0] };
  }

  async claimJournal(limit: number): Promise<JournalRow[]> {
    const want = clampLimit(limit);
    if (!this.claimsChecked) {
      // A batch an earlier process took and never recorded: each of its rows gets an attempt.
      this.db.transaction(() => {
        const unfinished = this.q.claimRange.get();
        if (unfinished === undefined) return;
        this.q.countAttempt.run(unfinished.first_id, unfinished.last_id);
        this.q.clearClaim.run();
      }).immediate();
      this.claimsChecked = true;
    }
    // Rows above the floor that are still in flight come back from the query; ask for enough.
    const records = this.q.claim.all(this.claimFloor, want + this.inFlight.size);
    const candidates: JournalRow[] = [];
    for (const rec of records) {
      if (this.inFlight.has(rec.id)) continue;
      candidates.push(toJournalRow(rec));
      if (candidates.length === want) break;
    }
    const rows = candidates.slice(0, claimKeeps(candidates));
    if (rows.length === 0) return rows;
    let first = rows[0]!.id;
    let through = rows[rows.length - 1]!.id;
    for (const id of this.inFlight) {
      if (id < first) first = id;
      if (id > through) through = id;
    }
    // Written before the rows count as taken (a locked database leaves them claimable), and
    // without its own fsync: it only matters if this process stops before recording.
    this.relaxed(() => this.q.setClaim.run(first, through));
    for (const row of rows) this.inFlight.add(row.id);
    // Every pending row up to the last one handed out is now in flight.
    const last = rows[rows.length - 1]!.id;
    if (last > this.claimFloor) this.claimFloor = last;
    return rows;
  }

  /** Runs `fn` with `synchronous=NORMAL` when outcomes are relaxed (see `SqliteStoreOptions.outcomeSync`). */
  private relaxed<T>(fn: () => T): T {
    if (!this.relaxedOutcomes) return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  async recordOutcomes(outcomes: JournalOutcome[]): Promise<RecordResult> {
    let ok = false;
    try {
      let settled = 0;
      for (const o of outcomes) if (this.inFlight.has(o.journalId)) settled++;
      const lastInFlight = settled === this.inFlight.size;
      // See `SqliteStoreOptions.outcomeSync`: no fsync for this commit, FULL again after.
      const screened = this.er.screen(outcomes);
      const result = this.relaxed(() => this.recordTx(screened, Date.now(), lastInFlight));
      ok = true;
      return result;
    } finally {
      let lowest = Infinity;
      for (const o of outcomes) {
        this.inFlight.delete(o.journalId);
        if (o.journalId < lowest) lowest = o.journalId;
      }
      // Nothing was written: the rows are still pending and must be claimable again.
      if (!ok) this.lowerClaimFloor(lowest);
    }
  }

  async releaseJournal(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      this.q.releaseIds.run(JSON.stringify(ids));
    } finally {
      let lowest = Infinity;
      for (const id of ids) {
        this.inFlight.delete(id);
        if (id < lowest) lowest = id;
      }
      if (this.inFlight.size === 0) this.q.clearClaim.run();
      this.lowerClaimFloor(lowest);
    }
  }

  async retryJournal(ids?: number[]): Promise<number> {
    const changed = ids === undefined ? this.q.retryFailed.all() : ids.length === 0 ? [] : this.q.retryIds.all(JSON.stringify(ids));
    let lowest = Infinity;
    for (const id of changed) if (id < lowest) lowest = id;
    this.lowerClaimFloor(lowest);
    return changed.length;
  }

  async getJournalRow(id: number): Promise<JournalRow | undefined> {
    const rec = this.q.journalById.get(id);
    return rec && toJournalRow(rec);
  }

  async listJournal(filter: JournalFilter, page: PageRequest): Promise<Page<JournalRow>> {
    const conditions = journalConditions(filter);
    if (filter.state && filter.state.length > 0 && !filter.state.includes('pending')) {
      // Lets SQLite use the partial index on settled rows (it cannot infer this itself).
      conditions.push({ op: 'sql', sql: "state <> 'pending'" });
    }
    return this.page(`SELECT ${JOURNAL_COLUMNS} FROM journal`, 'id', conditions, page, toJournalRow, (r) => r.id);
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const rec = this.q.eventById.get(id);
    return rec && toStoredEvent(rec);
  }

  async listEvents(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>> {
    return this.page(`SELECT ${EVENT_COLUMNS} FROM events`, 'seq', eventConditions(filter), page, toStoredEvent, (e) => e.seq);
  }

  async addRejections(rows: RejectionInput[], keep: number): Promise<void> {
    const q = this.q;
    this.db.transaction(() => {
      for (const r of rows) {
        q.insertRejection.run(r.at, r.channel ?? null, r.cause, r.method, r.path, r.remoteAddress ?? null, r.detail ?? null);
      }
      q.trimRejections.run(Math.max(0, Math.floor(keep)));
    }).immediate();
  }

  async listRejections(page: PageRequest, filter: RejectionFilter = {}): Promise<Page<Rejection>> {
    const conditions = rejectionConditions(filter);
    if (conditions.length > 0) {
      return this.page(`SELECT ${REJECTION_COLUMNS} FROM rejections`, 'id', conditions, page, toRejection, (r) => r.id);
    }
    const limit = clampLimit(page.limit);
    const recs = this.q.listRejections.all(page.after ?? 0, limit + 1);
    return toPage(recs.slice(0, limit).map(toRejection), recs.length > limit, (r) => r.id);
  }

  async counts(): Promise<StoreCounts> {
    const q = this.q;
    // One read transaction: the numbers describe one snapshot.
    return this.db.transaction(() => {
      const journal = Object.fromEntries(JOURNAL_STATES.map((s) => [s, 0])) as Record<JournalState, number>;
      journal.pending = q.pendingCount.get() ?? 0;
      for (const { state, n } of q.journalByState.all()) journal[state as JournalState] = n;
      const eventsByType: Record<string, number> = {};
      let events = 0;
      for (const { type, n } of q.eventsByType.all()) {
        eventsByType[type] = n;
        events += n;
      }
      const counts: StoreCounts = {
        journal,
        events,
        eventsByType,
        rejections: q.rejectionCount.get() ?? 0,
        lastJournalId: q.lastJournalId.get() ?? 0,
      };
      const oldest = q.oldestPending.get();
      if (oldest !== undefined) counts.oldestPendingReceivedAt = oldest;
      if (this.inbox !== undefined) {
        // Acked rows not copied into the journal yet are pending too (newer than the journal's).
        const waiting = this.inbox.waiting(counts.lastJournalId);
        journal.pending += waiting.rows;
        if (waiting.lastId !== undefined) counts.lastJournalId = waiting.lastId;
        if (counts.oldestPendingReceivedAt === undefined && waiting.oldestReceivedAt !== undefined) {
          counts.oldestPendingReceivedAt = waiting.oldestReceivedAt;
        }
      }
      return counts;
    }).deferred();
  }

  async oldestPendingAt(): Promise<number | undefined> {
    const oldest = this.q.oldestPending.get();
    if (oldest !== undefined || this.inbox === undefined) return oldest;
    // Nothing pending in the journal: the oldest acked row still in the inbox, if any.
    return this.inbox.waiting(this.q.lastJournalId.get() ?? 0).oldestReceivedAt;
  }

  async activity(since: number): Promise<ActivityCounts> {
    return {
      events: this.q.activityEvents.all(since),
      acks: this.q.activityAcks.all(since),
    };
  }

  // ---- access: API tokens and the audit log (store/access.ts; SQL in ./access.ts) --------

  private get accessImpl(): SqliteAccess {
    return (this.accessStatements ??= new SqliteAccess(this.db));
  }

  async createToken(token: NewApiToken): Promise<ApiToken> {
    return this.accessImpl.createToken(token);
  }

  async listTokens(): Promise<ApiToken[]> {
    return this.accessImpl.listTokens();
  }

  async tokenByHash(hash: string): Promise<ApiToken | undefined> {
    return this.accessImpl.tokenByHash(hash);
  }

  async revokeToken(name: string, at: number): Promise<ApiToken | undefined> {
    return this.accessImpl.revokeToken(name, at);
  }

  async touchToken(id: number, at: number): Promise<void> {
    this.accessImpl.touchToken(id, at);
  }

  async addAudit(rows: AuditInput[]): Promise<void> {
    this.accessImpl.addAudit(rows);
  }

  async listAudit(page: AuditPageRequest, filter?: AuditFilter): Promise<Page<AuditEntry>> {
    return this.accessImpl.listAudit(page, filter);
  }

  async recordOutbound(rows: OutboundInput[], recordedAt: number, recordedBy: string): Promise<{ inserted: number; updated: number }> {
    const result = this.accessImpl.recordOutbound(rows, recordedAt, recordedBy);
    // Searchable at once; a row recorded again is found by what it holds now.
    this.searchImpl.addSearchDocuments(this.accessImpl.getOutbound(rows.map((r) => r.messageId)).map((r) => outboundDocument(r, recordedAt)));
    return result;
  }

  async getOutbound(messageIds: string[]): Promise<OutboundRecord[]> {
    return this.accessImpl.getOutbound(messageIds);
  }

  private get searchImpl(): SqliteSearch {
    return (this.searchStatements ??= new SqliteSearch(this.db));
  }

  async indexSearch(limit: number): Promise<{ indexed: number; seq: number }> {
    return this.searchImpl.indexSearch(limit);
  }

  async addSearchDocuments(docs: SearchDocument[]): Promise<void> {
    return this.searchImpl.addSearchDocuments(docs);
  }

  async search(terms: string[], kinds: SearchKind[] | undefined, limit: number): Promise<SearchHit[]> {
    return this.searchImpl.search(terms, kinds, limit);
  }

  // ---- deliveries (store/deliveries.ts; SQL in ./deliveries.ts) --------------------------

  async setRoutes(routes: DeliveryRoute[]): Promise<void> {
    this.deliveries.setRoutes(routes);
  }

  async leaseDeliveries(request: LeaseRequest): Promise<LeasedDelivery[]> {
    return this.deliveries.leaseDeliveries(request);
  }

  async renewLeases(owner: string, now: number, leaseMs: number): Promise<number> {
    return this.deliveries.renewLeases(owner, now, leaseMs);
  }

  async releaseDeliveries(ids: number[], owner: string, now: number): Promise<number> {
    return this.deliveries.releaseDeliveries(ids, owner, now);
  }

  async recordAttempts(records: AttemptRecord[]): Promise<RecordAttemptsResult> {
    return this.deliveries.recordAttempts(records);
  }

  async settleDeliveries(request: SettleRequest): Promise<SettleResult> {
    return this.deliveries.settleDeliveries(request);
  }

  async getDelivery(id: number): Promise<DeliveryWithAttempts | undefined> {
    return this.deliveries.getDelivery(id);
  }

  async listDeliveries(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    return this.deliveries.listDeliveries(filter, page);
  }

  async redriveDeliveries(selector: RedriveSelector, now: number): Promise<number[]> {
    return this.deliveries.redriveDeliveries(selector, now);
  }

  async dropDeadLetters(ids: number[], now: number): Promise<number[]> {
    return this.deliveries.dropDeadLetters(ids, now);
  }

  async enqueueDeliveries(items: NewDelivery[], now: number): Promise<EnqueueResult> {
    return this.deliveries.enqueueDeliveries(items, now);
  }

  async deliveryBacklog(): Promise<DeliveryBacklog> {
    return this.deliveries.backlog();
  }

  // ---- projections (store/projections.ts; SQL in ./projections.ts) ------------------------

  async getMessage(id: string): Promise<MessageRow | undefined> {
    return this.p.getMessage(id);
  }

  async listMessages(filter: MessageFilter, page: PageRequest): Promise<Page<MessageRow>> {
    return this.p.listMessages(filter, page);
  }

  async listReactions(targetMessageId: string): Promise<ReactionRow[]> {
    return this.p.listReactions(targetMessageId);
  }

  async getConversation(key: string): Promise<ConversationRow | undefined> {
    return this.p.getConversation(key);
  }

  async listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>> {
    return this.p.listConversations(filter, page);
  }

  async getContact(waId: string): Promise<ContactRow | undefined> {
    return this.p.getContact(waId);
  }

  async listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>> {
    return this.p.listContacts(filter, page);
  }

  async getTemplate(key: string): Promise<TemplateRow | undefined> {
    return this.p.getTemplate(key);
  }

  async listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>> {
    return this.p.listTemplates(filter, page);
  }

  // Account state: consent and health.
  async listConsent(filter: ConsentFilter, page: PageRequest): Promise<Page<ConsentRow>> {
    return this.p.listConsent(filter, page);
  }

  async listHealth(kind: HealthKind, page: PageRequest): Promise<Page<HealthRow>> {
    return this.p.listHealth(kind, page);
  }

  async getHealth(kind: HealthKind, key: string): Promise<HealthRow | undefined> {
    return this.p.getHealth(kind, key);
  }

  async projectionCounts(): Promise<ProjectionCounts> {
    return this.p.counts();
  }

  /** What the database's space goes to, by data class (see `store/usage.ts`). */
  async storageUsage(): Promise<StorageUsage> {
    return measureSqliteUsage(this.db);
  }

  async lastEventSeq(): Promise<number> {
    return this.p.lastEventSeq();
  }

  async rebuildProjections(opts?: RebuildOptions): Promise<RebuildResult> {
    return this.p.rebuild(opts);
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
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointer) await this.checkpointer.stop();
    this.inbox?.close();
    this.db.close();
  }

  private lowerClaimFloor(id: number): void {
    if (id - 1 < this.claimFloor) this.claimFloor = id - 1;
  }

  private page<R, T>(
    select: string,
    key: string,
    conditions: Condition[],
    page: PageRequest,
    map: (rec: R) => T,
    cursor: (item: T) => number,
  ): Page<T> {
    return pageOf((sql) => this.dynamicStatement(sql), select, key, whereOf(conditions), page, map, cursor);
  }

  private dynamicStatement(sql: string): Database.Statement<unknown[], unknown> {
    let stmt = this.dynamic.get(sql);
    if (!stmt) {
      if (this.dynamic.size >= STATEMENT_CACHE_LIMIT) this.dynamic.clear();
      stmt = this.db.prepare(sql);
      this.dynamic.set(sql, stmt);
    }
    return stmt;
  }
}

/** Every fixed statement, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    insertJournal: db.prepare<[string, number, string | null, string, Buffer, string]>(
      'INSERT INTO journal (channel, received_at, remote_address, headers, body, verified_by) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    importJournal: db.prepare<InboxRecord>(
      `INSERT OR IGNORE INTO journal (id, channel, received_at, remote_address, headers, body, verified_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Only events the record plan found new; a conflict here is a bug and fails the batch.
    // No RETURNING: `lastInsertRowid` is the seq (RETURNING costs about as much again).
    insertEvent: db.prepare<EventParams>(
      `INSERT INTO events (id, type, channel, provider, phone_number_id, display_phone_number, message_id, from_id,
         kind, status, occurred_at, received_at, journal_id, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, (SELECT received_at FROM journal WHERE id = ?)), ?, ?)`,
    ),
    // One statement for a whole batch's ids (json_each), not one lookup per event.
    storedBy: db.prepare<[string], { id: string; journal_id: number }>(
      'SELECT id, journal_id FROM events WHERE id IN (SELECT value FROM json_each(?))',
    ),
    bumpDuplicates: db.prepare<[number, string]>('UPDATE events SET duplicates = duplicates + ? WHERE id = ?'),
    updateJournal: db.prepare<[string, string | null, number, number, number, number]>(
      'UPDATE journal SET state = ?, cause = ?, event_count = ?, new_event_count = ?, processed_at = ? WHERE id = ?',
    ),
    claim: db.prepare<[number, number], JournalRecord>(
      `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`,
    ),
    claimRange: db.prepare<[], { first_id: number; last_id: number }>('SELECT first_id, last_id FROM pipeline_claim WHERE id = 1'),
    setClaim: db.prepare<[number, number]>('INSERT OR REPLACE INTO pipeline_claim (id, first_id, last_id) VALUES (1, ?, ?)'),
    clearClaim: db.prepare('DELETE FROM pipeline_claim'),
    countAttempt: db.prepare<[number, number]>(
      "UPDATE journal SET attempts = attempts + 1 WHERE id BETWEEN ? AND ? AND state = 'pending'",
    ),
    releaseIds: db.prepare<[string]>(
      "UPDATE journal SET attempts = attempts + 1 WHERE state = 'pending' AND id IN (SELECT value FROM json_each(?))",
    ),
    retryFailed: db
      .prepare<[], number>(
        `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0, processed_at = NULL, attempts = 0
         WHERE state = 'failed' AND body_pruned_at IS NULL RETURNING id`,
      )
      .pluck(),
    retryIds: db
      .prepare<[string], number>(
        `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0, processed_at = NULL, attempts = 0
         WHERE state <> 'pending' AND body_pruned_at IS NULL AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
      )
      .pluck(),
    journalById: db.prepare<[number], JournalRecord>(`SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = ?`),
    eventById: db.prepare<[string], EventRecord>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    insertRejection: db.prepare<[number, string | null, string, string, string, string | null, string | null]>(
      'INSERT INTO rejections (at, channel, cause, method, path, remote_address, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    trimRejections: db.prepare<[number]>(
      'DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ),
    listRejections: db.prepare<[number, number], RejectionRecord>(
      `SELECT ${REJECTION_COLUMNS} FROM rejections WHERE id > ? ORDER BY id LIMIT ?`,
    ),
    // Two queries so each reads one of the small partial indexes, never the table (bodies).
    pendingCount: db.prepare<[], number>("SELECT COUNT(*) FROM journal WHERE state = 'pending'").pluck(),
    journalByState: db.prepare<[], { state: string; n: number }>(
      "SELECT state, COUNT(*) AS n FROM journal WHERE state <> 'pending' GROUP BY state",
    ),
    eventsByType: db.prepare<[], { type: string; n: number }>('SELECT type, COUNT(*) AS n FROM events GROUP BY type'),
    rejectionCount: db.prepare<[], number>('SELECT COUNT(*) FROM rejections').pluck(),
    lastJournalId: db.prepare<[], number>('SELECT COALESCE(MAX(id), 0) FROM journal').pluck(),
    oldestPending: db
      .prepare<[], number>("SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1")
      .pluck(),
    // Both walk events_received_at_idx from `since`; the delivery count uses deliveries_event_idx.
    activityEvents: db.prepare<[number], { minute: number; type: string; count: number; delivered: number }>(
      `SELECT (e.received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, e.type, COUNT(*) AS count,
              SUM((SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id AND d.state = 'succeeded')) AS delivered
         FROM events e WHERE e.received_at >= ? GROUP BY minute, e.type ORDER BY minute`,
    ),
    activityAcks: db.prepare<[number], { minute: number; count: number }>(
      `SELECT (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, COUNT(DISTINCT journal_id) AS count
         FROM events WHERE received_at >= ? GROUP BY minute ORDER BY minute`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

function eventParams(event: BluetickEvent, journalId: number): EventParams {
  const e = event as unknown as Partial<Record<string, unknown>>;
  return [
    event.id,
    event.type,
    event.channel,
    event.provider,
    indexString(event.phoneNumberId),
    indexString(event.displayPhoneNumber),
    indexString(e.messageId),
    indexString(e.from),
    indexString(e.kind),
    indexString(e.status),
    epochMsOrNull(event.occurredAt),
    epochMsOrNull(event.receivedAt),
    journalId,
    journalId,
    serializeEvent(event),
  ];
}
