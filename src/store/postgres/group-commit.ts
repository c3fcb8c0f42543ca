/**
 * @module store/postgres/group-commit
 *
 * Merges journal appends while the database is busy. The journal writer already groups the
 * rows of one event-loop turn into one `appendJournal` call; but with a network database a
 * commit takes a round trip plus the server's WAL flush, and calls made while every commit
 * slot is busy would otherwise each wait for a connection and then commit alone: many small
 * commits, the opposite of group commit. Here they wait in one queue instead, and the next
 * free slot commits everything queued so far as ONE multi-row INSERT (one transaction).
 * Each caller still resolves only after the commit that carries its rows, with its own ids.
 */
import type { JournalInput } from '../store.js';

interface Waiting {
  rows: JournalInput[];
  bytes: number;
  resolve: (ids: number[]) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Commits in flight at once. */
  slots: number;
  /** Rows per INSERT at most (PostgreSQL takes at most 65 535 parameters, 6 per row). Default 2000. */
  maxRows?: number;
  /** Body bytes per INSERT at most, unless a single call is larger. Default 16 MiB. */
  maxBytes?: number;
}

export class GroupCommit {
  private readonly insert: (rows: JournalInput[]) => Promise<number[]>;
  private readonly slots: number;
  private readonly maxRows: number;
  private readonly maxBytes: number;
  private readonly queue: Waiting[] = [];
  private inFlight = 0;

  /** `insert` writes rows in one transaction and returns their ids in input order. */
  constructor(insert: (rows: JournalInput[]) => Promise<number[]>, opts: GroupCommitOptions) {
    this.insert = insert;
    this.slots = Math.max(1, Math.floor(opts.slots));
    this.maxRows = opts.maxRows ?? 2_000;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  }

  append(rows: JournalInput[]): Promise<number[]> {
    if (rows.length === 0) return Promise.resolve([]);
    let bytes = 0;
    for (const r of rows) bytes += r.body.length;
    return new Promise<number[]>((resolve, reject) => {
      this.queue.push({ rows, bytes, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.slots && this.queue.length > 0) {
      const group: Waiting[] = [this.queue.shift()!];
      let rows = group[0]!.rows.length;
      let bytes = group[0]!.bytes;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (rows + next.rows.length > this.maxRows || bytes + next.bytes > this.maxBytes) break;
        group.push(this.queue.shift()!);
        rows += next.rows.length;
        bytes += next.bytes;
      }
      this.commit(group);
    }
  }

  private commit(group: Waiting[]): void {
    this.inFlight++;
    const all = group.length === 1 ? group[0]!.rows : group.flatMap((w) => w.rows);
    this.insert(all)
      .then(
        (ids) => {
          let at = 0;
          for (const w of group) {
            w.resolve(ids.slice(at, at + w.rows.length));
            at += w.rows.length;
          }
        },
        (err: unknown) => {
          for (const w of group) w.reject(err);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }
}
