/**
 * @module store/sqlite/thread/inbox
 *
 * The ingest side of the SQLite store when its connection lives on a thread of its own
 * ({@link WorkerStore}). An acked body must be on disk, and handing every group commit to
 * the store's thread and waiting for its answer cost more than half the throughput of the
 * HTTP thread (a message each way, a thread wake-up each way, and the cores shared with
 * the pipeline). So the HTTP thread writes the rows itself, into a file of its own that it
 * alone writes: the inbox (`bluetick.inbox.db` next to `bluetick.db`).
 *
 * - {@link InboxWriter} (HTTP thread): one transaction per group commit with
 *   `synchronous=NORMAL`, so the commit only writes the WAL frames; then `fdatasync` of the
 *   WAL file on libuv's thread pool; the promise resolves after that. A row is therefore
 *   acked only once its frames are on disk, exactly what `synchronous=FULL` gives, without
 *   the event loop waiting on the disk: a stalled disk delays the acks, and the journal
 *   writer's commit timeout turns them into 503s. Checkpoints (which SQLite syncs itself in
 *   NORMAL mode before and after copying) run on a {@link Checkpointer} thread.
 * - {@link InboxReader} (store thread): reads the rows the journal does not have yet.
 *   `SqliteJournal.importInbox` (`../journal.ts`) copies them into the journal table, ids unchanged, in one
 *   `synchronous=FULL` transaction; the journal's largest id is the import cursor. Once
 *   that commit returns, the writer may delete the copied rows ({@link InboxWriter.release}).
 *
 * The reader uses a connection of its own: on the store's connection an attached inbox
 * would join every `BEGIN IMMEDIATE` there and take the inbox's write lock from the HTTP
 * thread. Ids: the inbox's AUTOINCREMENT starts above the journal's largest id, so an id
 * handed out at ack time is the journal row's id for good.
 */
import { fdatasync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer.js';
import type { JournalInput, VerifiedBy } from '../../store.js';

/** The inbox file that belongs to a store file: `x.db` -> `x.inbox.db`. */
export function inboxFileFor(storeFile: string): string {
  return storeFile.endsWith('.db') ? `${storeFile.slice(0, -3)}.inbox.db` : `${storeFile}.inbox`;
}

/**
 * Switches the connection to WAL and creates the inbox table if missing. A new file gets
 * `auto_vacuum=INCREMENTAL` first (it takes effect only before WAL mode and the first
 * table), so the space a burst took can be given back.
 */
function prepareInbox(db: Database.Database, file: string): void {
  db.pragma('auto_vacuum = INCREMENTAL');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`could not switch ${file} to WAL (got ${String(mode)})`);
  db.exec(INBOX_DDL);
}

const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS inbox (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  channel        TEXT    NOT NULL,
  received_at    INTEGER NOT NULL,
  remote_address TEXT,
  headers        TEXT    NOT NULL,
  body           BLOB    NOT NULL,
  verified_by    TEXT    NOT NULL
)`;

export interface InboxWriterOptions {
  /** Every id this writer hands out is above this one (the journal's largest id). */
  after: number;
  /**
   * How long a commit keeps retrying while another connection holds the inbox's write lock
   * (a checkpoint truncating the WAL, an operator's shell) before it fails with
   * SQLITE_BUSY. Retries wait on timers, never on the event loop. Default 100 ms.
   */
  busyRetryMs?: number;
  /** PASSIVE checkpoint interval of the inbox's checkpoint thread, ms. Default 500; 0 for none. */
  checkpointIntervalMs?: number;
  /** WAL pages at which a commit checkpoints anyway (the backstop). Default 4000. */
  walAutocheckpointPages?: number;
  /** Problems of the checkpoint thread. */
  onError?: (err: Error) => void;
}

/** Body bytes appended after which the checkpoint thread is nudged. */
const NUDGE_AFTER_BYTES = 4 * 1024 * 1024;

/** Rows deleted per purge transaction, and the pause between two. */
const PURGE_ROWS = 2_000;
const PURGE_EVERY_MS = 20;

/** Free pages the inbox keeps for reuse (about 16 MiB); beyond them it shrinks. */
const KEEP_FREE_PAGES = 4_096;
/** Pages given back per purge step. */
const SHRINK_PAGES = 512;

/** How long to wait between two tries while the inbox is locked, ms. */
const BUSY_RETRY_EVERY_MS = 2;

/** The HTTP thread's writer. See the module comment. */
export class InboxWriter {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly walFd: number;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly busyRetryMs: number;
  private readonly tx: (rows: JournalInput[]) => number[];
  private readonly purgeStmt: Database.Statement<[number]>;
  private readonly freePages: Database.Statement<[], number>;
  /** Rows with an id up to this one are in the journal and may be deleted here. */
  private released: number;
  /** Every row up to this id is deleted. */
  private deleted: number;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** More free pages than the inbox keeps: purge steps go on giving them back. */
  private shrinking = false;
  private bytesSinceNudge = 0;
  private closed = false;

  constructor(file: string, opts: InboxWriterOptions) {
    this.file = file;
    this.busyRetryMs = opts.busyRetryMs ?? 100;
    this.released = opts.after;
    this.deleted = opts.after;
    const db = new Database(file, { timeout: 0 });
    let fd: number | undefined;
    try {
      prepareInbox(db, file);
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 0');
      db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(opts.walAutocheckpointPages ?? 4000))}`);
      // Ids continue after the journal's, and rows the journal already has go at once.
      db.transaction(() => {
        db.prepare('DELETE FROM inbox WHERE id <= ?').run(opts.after);
        const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'inbox'").pluck().get() as number | undefined;
        if (seq === undefined) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('inbox', ?)").run(opts.after);
        else if (seq < opts.after) db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'inbox'").run(opts.after);
      }).immediate();
      // The transaction above wrote the WAL, so the file exists; it stays (same inode) for as
      // long as this connection is open, truncations included.
      fd = openSync(`${file}-wal`, 'r');
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.walFd = fd;

    const insert = db.prepare<[string, number, string | null, string, Buffer, VerifiedBy]>(
      'INSERT INTO inbox (channel, received_at, remote_address, headers, body, verified_by) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.purgeStmt = db.prepare<[number]>('DELETE FROM inbox WHERE id <= ?');
    this.freePages = db.prepare<[], number>('PRAGMA freelist_count').pluck();
    this.tx = db.transaction((rows: JournalInput[]): number[] => {
      const ids = new Array<number>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const res = insert.run(r.channel, r.receivedAt, r.remoteAddress ?? null, JSON.stringify(r.headers), r.body, r.verifiedBy);
        ids[i] = Number(res.lastInsertRowid);
      }
      return ids;
    }).immediate;

    const interval = opts.checkpointIntervalMs ?? 500;
    if (interval > 0) {
      this.checkpointer = new Checkpointer({ file, intervalMs: interval, ...(opts.onError ? { onError: opts.onError } : {}) });
    }
  }

  /**
   * Writes the rows in one transaction and resolves with their ids once the WAL is synced.
   * Rejects with the driver's error (SQLITE_BUSY after `busyRetryMs`, SQLITE_FULL, ...) or
   * the fdatasync error; a rejected batch may still be in the inbox, and is then journaled
   * (the provider's resend becomes a duplicate, which the pipeline handles).
   */
  append(rows: JournalInput[]): Promise<number[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise<number[]>((resolve, reject) => this.attempt(rows, performance.now(), resolve, reject));
  }

  private attempt(rows: JournalInput[], started: number, resolve: (ids: number[]) => void, reject: (err: unknown) => void): void {
    if (this.closed) {
      reject(new TypeError('The database connection is not open'));
      return;
    }
    let ids: number[];
    try {
      ids = this.tx(rows);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY' && performance.now() - started < this.busyRetryMs) {
        setTimeout(() => this.attempt(rows, started, resolve, reject), BUSY_RETRY_EVERY_MS);
        return;
      }
      reject(err);
      return;
    }
    if (this.checkpointer) {
      for (let i = 0; i < rows.length; i++) this.bytesSinceNudge += rows[i]!.body.length;
      if (this.bytesSinceNudge >= NUDGE_AFTER_BYTES) {
        this.bytesSinceNudge = 0;
        this.checkpointer.nudge();
      }
    }
    fdatasync(this.walFd, (err) => (err ? reject(err) : resolve(ids)));
  }

  /**
   * Rows with an id up to `through` are in the journal: they are deleted soon after, a
   * bounded number per transaction so the thread is never held long. The deletes are not
   * synced: a row whose delete is lost is deleted again at the next open (its id is at or
   * below the journal's) and never copied twice (the journal's largest id is the cursor).
   */
  release(through: number): void {
    if (through > this.released) this.released = through;
    this.schedulePurge();
  }

  private schedulePurge(): void {
    if ((this.released > this.deleted || this.shrinking) && this.purgeTimer === undefined && !this.closed) {
      this.purgeTimer = setTimeout(this.purge, PURGE_EVERY_MS);
      this.purgeTimer.unref();
    }
  }

  private readonly purge = (): void => {
    this.purgeTimer = undefined;
    if (this.closed) return;
    const upTo = Math.min(this.released, this.deleted + PURGE_ROWS);
    try {
      if (upTo > this.deleted) {
        this.purgeStmt.run(upTo);
        this.deleted = upTo;
      }
      // A burst leaves the file as large as its backlog was. Free pages are reused by new rows,
      // so give back only what is well beyond a steady state's needs, a bounded step at a time.
      this.shrinking = this.freePages.get()! > KEEP_FREE_PAGES;
      // exec, not a prepared run(): the pragma frees one page per step of its statement.
      if (this.shrinking) this.db.exec(`PRAGMA incremental_vacuum(${SHRINK_PAGES})`);
    } catch {
      // Locked or failing: the rows stay a little longer; try again on the next tick.
    }
    this.schedulePurge();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.purgeTimer);
    try {
      await this.checkpointer?.stop();
    } finally {
      try {
        closeSync(this.walFd);
      } finally {
        this.db.close();
      }
    }
  }
}

/** One inbox row, as the store's thread reads it. */
export type InboxRecord = [
  id: number,
  channel: string,
  receivedAt: number,
  remoteAddress: string | null,
  headers: string,
  body: Buffer,
  verifiedBy: string,
];

/** The store thread's read-only view of the inbox. */
export class InboxReader {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly after: Database.Statement<[number, number], InboxRecord>;
  private readonly backlog: Database.Statement<[number], { n: number; oldest: number | null; last: number | null }>;

  /** Opens the inbox, creating it when missing (the writer may not have started yet). */
  constructor(file: string) {
    this.file = file;
    const db = new Database(file, { timeout: 1_000 });
    try {
      prepareInbox(db, file);
      this.after = db
        .prepare<[number, number], InboxRecord>(
          'SELECT id, channel, received_at, remote_address, headers, body, verified_by FROM inbox WHERE id > ? ORDER BY id LIMIT ?',
        )
        .raw(true);
      this.backlog = db.prepare<[number], { n: number; oldest: number | null; last: number | null }>(
        'SELECT count(*) AS n, min(received_at) AS oldest, max(id) AS last FROM inbox WHERE id > ?',
      );
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  /** Up to `limit` rows with an id above `id`, oldest first. */
  read(id: number, limit: number): InboxRecord[] {
    return this.after.all(id, limit);
  }

  /** Rows above `id`, the oldest one's receive time (epoch ms) and the largest id. */
  waiting(id: number): { rows: number; oldestReceivedAt?: number; lastId?: number } {
    const r = this.backlog.get(id)!;
    return r.oldest === null ? { rows: r.n } : { rows: r.n, oldestReceivedAt: r.oldest, lastId: r.last! };
  }

  close(): void {
    this.db.close();
  }
}
