/**
 * @module store/sqlite/journal
 *
 * `Store.journal` on SQLite: appends in `synchronous=FULL` transactions (a resolved append
 * is on disk), claims tracked in memory plus one `pipeline_claim` row (a batch a crash left
 * unfinished gets an attempt counted at the next start), and `record`, which writes a
 * batch's events, projections, deliveries and outcomes in one transaction.
 *
 * With an inbox (`thread/inbox.ts`, the file the HTTP thread appends to when the store runs
 * on its own thread) `importInbox` copies acked rows into the journal, ids unchanged.
 */
import type Database from 'better-sqlite3';
import {
  type JournalFilter,
  type JournalInput,
  type JournalOutcome,
  type JournalRow,
  type JournalStore,
  type Page,
  type PageRequest,
  type RecordResult,
  type StoredEvent,
} from '../store.js';
import { JOURNAL_COLUMNS, journalConditions, toJournalRow, claimKeeps } from '../rows.js';
import { batchEventIds, planRecord } from '../record-plan.js';
import type { Checkpointer } from './thread/checkpointer.js';
import type { InboxReader, InboxRecord } from './thread/inbox.js';
import type { SqliteDeliveries } from './deliveries.js';
import type { SqliteErasure } from './erasure.js';
import type { SqliteProjections } from './projections.js';
import type { SqliteSearch } from './search.js';
import { clampLimit } from './sql.js';
import { eventParams, type DynamicStatements, type Statements } from './statements.js';

/** What the journal uses of its store: the connection, its statements and the parts a batch writes. */
export interface SqliteJournalContext {
  db: Database.Database;
  q: () => Statements;
  dynamic: DynamicStatements;
  inbox: InboxReader | undefined;
  checkpointer: Checkpointer | undefined;
  /** Nudge the checkpoint worker after this many body bytes were appended. */
  checkpointAfterBytes: number;
  /** `synchronous=NORMAL` for `record` (see `SqliteStoreOptions.outcomeSync`). */
  relaxedOutcomes: boolean;
  projections: () => SqliteProjections;
  deliveries: SqliteDeliveries;
  erasure: () => SqliteErasure;
  search: () => SqliteSearch;
}

export class SqliteJournal implements JournalStore {
  private readonly db: Database.Database;
  private readonly ctx: SqliteJournalContext;
  private readonly inbox: InboxReader | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly checkpointAfterBytes: number;
  private readonly relaxedOutcomes: boolean;
  private readonly deliveries: SqliteDeliveries;
  private bytesSinceNudge = 0;

  /** Claim bookkeeping: rows with id <= floor were handed out (or were not pending then). */
  private claimFloor = 0;
  private readonly inFlight = new Set<number>();
  /** Whether a batch left unfinished by an earlier process was looked for (`pipeline_claim`). */
  private claimsChecked = false;

  private readonly appendTx: (rows: JournalInput[]) => number[];
  private readonly importTx: (records: InboxRecord[]) => void;
  private readonly recordTx: (outcomes: JournalOutcome[], now: number, lastInFlight: boolean) => RecordResult;

  constructor(ctx: SqliteJournalContext) {
    this.ctx = ctx;
    this.db = ctx.db;
    this.inbox = ctx.inbox;
    this.checkpointer = ctx.checkpointer;
    this.checkpointAfterBytes = ctx.checkpointAfterBytes;
    this.relaxedOutcomes = ctx.relaxedOutcomes;
    this.deliveries = ctx.deliveries;

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
      const projections = this.ctx.projections().writer();
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
      this.ctx.search().follow(recorded);
      if (lastInFlight) q.clearClaim.run();
      return { inserted: recorded.length, duplicates: plan.duplicates, recorded };
    }).immediate;
  }

  private get q(): Statements {
    return this.ctx.q();
  }

  private storedBy(ids: string[]): Map<string, number> {
    const owners = new Map<string, number>();
    if (ids.length === 0) return owners;
    for (const r of this.q.storedBy.all(JSON.stringify(ids))) owners.set(r.id, r.journal_id);
    return owners;
  }

  async append(rows: JournalInput[]): Promise<number[]> {
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

  async claim(limit: number): Promise<JournalRow[]> {
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

  async record(outcomes: JournalOutcome[]): Promise<RecordResult> {
    let ok = false;
    try {
      let settled = 0;
      for (const o of outcomes) if (this.inFlight.has(o.journalId)) settled++;
      const lastInFlight = settled === this.inFlight.size;
      // See `SqliteStoreOptions.outcomeSync`: no fsync for this commit, FULL again after.
      const screened = this.ctx.erasure().screen(outcomes);
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

  async release(ids: number[]): Promise<void> {
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

  async retry(ids?: number[]): Promise<number> {
    const changed = ids === undefined ? this.q.retryFailed.all() : ids.length === 0 ? [] : this.q.retryIds.all(JSON.stringify(ids));
    let lowest = Infinity;
    for (const id of changed) if (id < lowest) lowest = id;
    this.lowerClaimFloor(lowest);
    return changed.length;
  }

  async get(id: number): Promise<JournalRow | undefined> {
    const rec = this.q.journalById.get(id);
    return rec && toJournalRow(rec);
  }

  async list(filter: JournalFilter, page: PageRequest): Promise<Page<JournalRow>> {
    const conditions = journalConditions(filter);
    if (filter.state && filter.state.length > 0 && !filter.state.includes('pending')) {
      // Lets SQLite use the partial index on settled rows (it cannot infer this itself).
      conditions.push({ op: 'sql', sql: "state <> 'pending'" });
    }
    return this.ctx.dynamic.page(`SELECT ${JOURNAL_COLUMNS} FROM journal`, 'id', conditions, page, toJournalRow, (r) => r.id);
  }
  async oldestPendingAt(): Promise<number | undefined> {
    const oldest = this.q.oldestPending.get();
    if (oldest !== undefined || this.inbox === undefined) return oldest;
    // Nothing pending in the journal: the oldest acked row still in the inbox, if any.
    return this.inbox.waiting(this.q.lastJournalId.get() ?? 0).oldestReceivedAt;
  }
  private lowerClaimFloor(id: number): void {
    if (id - 1 < this.claimFloor) this.claimFloor = id - 1;
  }

}
