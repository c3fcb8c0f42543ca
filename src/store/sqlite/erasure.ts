/**
 * @module store/sqlite/erasure
 *
 * Erasing one person from a SQLite store, and screening what the pipeline records against
 * the tombstones of people erased before (rules in `store/erasure.ts`). Runs on the store's
 * own connection (the store thread when the store has one), the erase in one transaction
 * with `secure_delete` on, so the freed pages are zeroed, then a `wal_checkpoint(TRUNCATE)`
 * so the old pages leave the WAL too. The full-text index is merged (`optimize`) so the
 * words of deleted documents leave its older segments.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { parseEventJson } from '../../events/normalize.js';
import { BluetickError } from '../../errors.js';
import { writePrivateFileDurably } from '../../private-files.js';
import {
  allForms,
  isPersonsEvent,
  matcherOf,
  newErasureKey,
  redactJsonText,
  tally,
  tombstoneMatcher,
  tombstoneOf,
  type ErasureReceipt,
} from '../erasure.js';
import type { JournalOutcome } from '../store.js';

/** Projection tables whose `row` JSON names the user it belongs to. */
const PROJECTION_TABLES = ['proj_messages', 'proj_conversations', 'proj_contacts', 'proj_reactions', 'proj_consent'];

/** The header an erasure adds to a journal row whose body it rewrote. */
export const REDACTED_HEADER = 'x-bluetick-redacted';

/** The erasure key's file for a store file: `erasure-key` in the same folder. */
export function erasureKeyFileFor(storeFile: string): string | undefined {
  return storeFile === ':memory:' ? undefined : join(dirname(storeFile), 'erasure-key');
}

export class SqliteErasure {
  private readonly db: Database.Database;
  private readonly keyFile: string | undefined;
  private key: string | undefined;
  private tombstones: Set<string> | undefined;

  constructor(db: Database.Database, storeFile: string) {
    this.db = db;
    this.keyFile = erasureKeyFileFor(storeFile);
  }

  /**
   * Drops from `outcomes` every event about an erased person and redacts the journal rows
   * they came from. A no-op (one size check) while nobody has been erased.
   */
  screen(outcomes: JournalOutcome[]): JournalOutcome[] {
    const tombstones = this.loadTombstones();
    if (tombstones.size === 0) return outcomes;
    const isErased = tombstoneMatcher(this.loadKey(false)!, tombstones);
    return outcomes.map((o) => {
      const kept = o.events.filter((e) => !isPersonsEvent(e, isErased));
      if (kept.length === o.events.length) return o;
      // Rare (a redelivery about an erased person): zero the old body's pages as the erase does.
      this.db.pragma('secure_delete = ON');
      try {
        this.redactJournalRow(o.journalId, isErased, Date.now());
      } finally {
        this.db.pragma('secure_delete = FAST');
      }
      return { ...o, events: kept };
    });
  }

  /** Erases every trace of the person known by `ids` (all their linked identifiers). */
  erase(ids: string[]): ErasureReceipt {
    const forms = allForms(ids);
    const receipt: ErasureReceipt = { identifiers: forms, tables: {}, tombstones: 0, walTruncated: false };
    if (forms.length === 0) return receipt;
    const key = this.loadKey(true)!;
    const isErased = matcherOf(forms);
    const now = Date.now();
    this.db.pragma('secure_delete = ON');
    try {
      const hashes = this.db
        .transaction(() => {
          const written = this.eraseInTransaction(forms, isErased, key, now, receipt);
          this.scrubFreePages();
          return written;
        })
        .immediate();
      const tombstones = this.loadTombstones();
      for (const hash of hashes) tombstones.add(hash);
    } finally {
      this.db.pragma('secure_delete = FAST');
    }
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    receipt.walTruncated = result?.busy === 0;
    return receipt;
  }

  private eraseInTransaction(forms: string[], isErased: (id: string) => boolean, key: string, now: number, receipt: ErasureReceipt): string[] {
    const { seqs, messageIds } = this.eraseEvents(forms, isErased, receipt);
    this.eraseDeliveries(seqs, receipt);
    let journal = 0;
    for (const id of this.idsContaining<number>('journal', 'id', 'CAST(body AS TEXT)', forms)) {
      if (this.redactJournalRow(id, isErased, now)) journal++;
    }
    tally(receipt, 'journal', 'redacted', journal);
    for (const table of PROJECTION_TABLES) {
      const rows = this.idsContaining<number>(table, 'pos', 'row', forms);
      this.deleteIds(table, 'pos', rows);
      tally(receipt, table, 'deleted', rows.length);
    }
    const outbound = this.db
      .prepare<[string], string>('SELECT message_id FROM outbound_messages WHERE recipient IN (SELECT value FROM json_each(?))')
      .pluck()
      .all(JSON.stringify(forms));
    this.deleteIds('outbound_messages', 'message_id', outbound);
    tally(receipt, 'outbound_messages', 'deleted', outbound.length);
    this.eraseSearch(forms, [...messageIds, ...outbound], receipt);
    const insert = this.db.prepare('INSERT OR IGNORE INTO erasure_tombstones (hash, erased_at) VALUES (?, ?)');
    const hashes = [...new Set(forms.map((form) => tombstoneOf(key, form)))];
    for (const hash of hashes) receipt.tombstones += insert.run(hash, now).changes;
    return hashes;
  }

  /**
   * Overwrites every free page with zeros: a zero-filled blob takes the free pages (SQLite
   * reuses them first), and deleting it with `secure_delete` on zeroes them again. Pages
   * freed before this erase (by earlier updates) held old bytes; now none do. Costs the size
   * of the free list, not of the history.
   */
  private scrubFreePages(): void {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const insert = this.db.prepare('INSERT INTO erasure_scrub (b) VALUES (zeroblob(?))');
    for (let free = this.db.pragma('freelist_count', { simple: true }) as number; free > 0; ) {
      const pages = Math.min(free, Math.floor((64 * 1024 * 1024) / pageSize));
      insert.run(pages * pageSize);
      free -= pages;
    }
    this.db.exec('DELETE FROM erasure_scrub');
  }

  /** Deletes the person's own events and redacts the others that mention them. */
  private eraseEvents(forms: string[], isErased: (id: string) => boolean, receipt: ErasureReceipt): { seqs: number[]; messageIds: string[] } {
    const seqs: number[] = [];
    const messageIds: string[] = [];
    const read = this.db.prepare<[number], { body: string; message_id: string | null }>('SELECT body, message_id FROM events WHERE seq = ?');
    const update = this.db.prepare('UPDATE events SET body = ? WHERE seq = ?');
    let redacted = 0;
    for (const seq of this.idsContaining<number>('events', 'seq', 'body', forms)) {
      const row = read.get(seq)!;
      if (isPersonsEvent(parseEventJson(row.body), isErased)) {
        seqs.push(seq);
        if (row.message_id !== null) messageIds.push(row.message_id);
        continue;
      }
      const body = redactJsonText(row.body, isErased);
      if (body !== undefined) {
        update.run(body, seq);
        redacted++;
      }
    }
    const byFrom = this.db
      .prepare<[string], { seq: number; message_id: string | null }>('SELECT seq, message_id FROM events WHERE from_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(forms));
    for (const r of byFrom) {
      if (seqs.includes(r.seq)) continue;
      seqs.push(r.seq);
      if (r.message_id !== null) messageIds.push(r.message_id);
    }
    tally(receipt, 'events', 'redacted', redacted);
    // Deleted after their deliveries (which reference them); counted here.
    tally(receipt, 'events', 'deleted', seqs.length);
    return { seqs, messageIds };
  }

  private eraseDeliveries(seqs: number[], receipt: ErasureReceipt): void {
    const list = JSON.stringify(seqs);
    const deliveries = this.db
      .prepare<[string], number>('SELECT id FROM deliveries WHERE event_seq IN (SELECT value FROM json_each(?))')
      .pluck()
      .all(list);
    const attempts = this.db
      .prepare('DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))')
      .run(JSON.stringify(deliveries)).changes;
    const dead = this.db
      .prepare<[string], number>("SELECT count(*) FROM deliveries WHERE state = 'dead' AND id IN (SELECT value FROM json_each(?))")
      .pluck()
      .get(JSON.stringify(deliveries))!;
    this.deleteIds('deliveries', 'id', deliveries);
    this.deleteIds('events', 'seq', seqs);
    tally(receipt, 'delivery_attempts', 'deleted', attempts);
    tally(receipt, 'deliveries', 'deleted', deliveries.length);
    tally(receipt, 'dead_letters', 'deleted', dead);
  }

  /** Removes the search documents of the erased rows and any that name the person, then merges the index. */
  private eraseSearch(forms: string[], refs: string[], receipt: ErasureReceipt): void {
    const docs = new Set<number>(
      this.db
        .prepare<[string], number>('SELECT id FROM search_docs WHERE ref IN (SELECT value FROM json_each(?))')
        .pluck()
        .all(JSON.stringify([...forms, ...refs])),
    );
    for (const id of this.idsContaining<number>('search_docs', 'id', 'title', forms, false)) docs.add(id);
    for (const id of this.idsContaining<number>('search_fts', 'rowid', 'body', forms, false)) docs.add(id);
    if (docs.size === 0) return;
    const ids = [...docs];
    this.deleteIds('search_fts', 'rowid', ids);
    this.deleteIds('search_docs', 'id', ids);
    this.db.exec("INSERT INTO search_fts (search_fts) VALUES ('optimize')");
    tally(receipt, 'search_docs', 'deleted', ids.length);
  }

  /** Rewrites one journal body without the person's items; false when it did not name them. */
  private redactJournalRow(id: number, isErased: (id: string) => boolean, now: number): boolean {
    const row = this.db.prepare<[number], { body: Buffer; headers: string }>('SELECT body, headers FROM journal WHERE id = ?').get(id);
    if (!row) return false;
    const body = redactJsonText(row.body.toString('utf8'), isErased);
    if (body === undefined) return false;
    const headers = JSON.parse(row.headers) as Record<string, string>;
    // The signature was over the old bytes (and is itself derived from them): drop it.
    for (const name of Object.keys(headers)) if (name.toLowerCase().includes('signature')) delete headers[name];
    headers[REDACTED_HEADER] = new Date(now).toISOString();
    this.db
      .prepare('UPDATE journal SET body = ?, headers = ?, redacted_at = ? WHERE id = ?')
      .run(Buffer.from(body, 'utf8'), JSON.stringify(headers), now, id);
    return true;
  }

  /** Keys of the rows of `table` whose `column` contains any of `forms` (a full scan: erasure is rare). */
  private idsContaining<T extends number | string>(table: string, key: string, column: string, forms: string[], json = true): T[] {
    const found = new Set<T>();
    const stmt = this.db.prepare<[string], T>(`SELECT ${key} FROM ${table} WHERE instr(${column}, ?) > 0`).pluck();
    // In JSON a value is quoted: searching for the quoted form skips longer numbers that contain it.
    for (const form of forms) for (const id of stmt.all(json ? JSON.stringify(form) : form)) found.add(id);
    return [...found];
  }

  private deleteIds(table: string, key: string, ids: readonly (number | string)[]): void {
    if (ids.length === 0) return;
    this.db.prepare(`DELETE FROM ${table} WHERE ${key} IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids));
  }

  private loadTombstones(): Set<string> {
    if (this.tombstones) return this.tombstones;
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasure_tombstones'").get();
    const hashes = exists ? this.db.prepare<[], string>('SELECT hash FROM erasure_tombstones').pluck().all() : [];
    // Before the migration ran, nothing can have been erased: keep no cache then.
    if (!exists) return new Set();
    return (this.tombstones = new Set(hashes));
  }

  /** The erasure key, created (0600, durably) on first need when `create`. */
  private loadKey(create: boolean): string | undefined {
    if (this.key !== undefined) return this.key;
    if (this.keyFile === undefined) return (this.key = newErasureKey());
    if (existsSync(this.keyFile)) return (this.key = readFileSync(this.keyFile, 'utf8').trim());
    if (!create) throw new BluetickError('BT_ERR_ERASURE_KEY_MISSING', `the erasure key ${this.keyFile} is missing: erased people cannot be recognised`);
    try {
      writePrivateFileDurably(this.keyFile, `${newErasureKey()}\n`, { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return (this.key = readFileSync(this.keyFile, 'utf8').trim());
  }
}
