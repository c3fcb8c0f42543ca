/**
 * @module store/sqlite/search
 *
 * The SQLite side of {@link SearchStore}: `search_docs` (one row per kind and ref) and the
 * FTS5 table `search_fts` whose rowid is the document's id (migration 0008). Synchronous.
 *
 * The index normally follows inside the pipeline's own transaction ({@link SqliteSearch.follow},
 * called by `journal.record` with the events it has just stored), so a message is searchable
 * the moment it is recorded, and its event is neither read back nor parsed again. `index`
 * catches up from the cursor when the index is behind (a store that had events before the
 * index existed, or a batch recorded while it was behind).
 */
import type Database from 'better-sqlite3';
import { parseEventJson } from '../../events/normalize.js';
import type { StoredEvent } from '../store.js';
import { collapseDocuments, documentsOf, type SearchDocument, type SearchKind } from '../../search/documents.js';
import type { SearchHit } from '../search.js';

export class SqliteSearch {
  private readonly db: Database.Database;
  /** Prepared on the first write. */
  private statementsImpl: ReturnType<typeof prepareWrites> | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  async index(limit: number): Promise<{ indexed: number; seq: number }> {
    const q = (this.statementsImpl ??= prepareWrites(this.db));
    return this.db.transaction(() => {
      const cursor = q.cursor.get() ?? 0;
      const rows = q.eventsAfter.all(cursor, Math.max(1, limit));
      if (rows.length === 0) return { indexed: 0, seq: cursor };
      this.write(collapseDocuments(rows.flatMap((r) => documentsOf(parseEventJson(r.body)))));
      const seq = rows[rows.length - 1]!.seq;
      q.moveCursor.run(seq);
      return { indexed: rows.length, seq };
    }).immediate();
  }

  /**
   * Indexes events that `journal.record` has just stored, inside its transaction, when the
   * index had caught up with every event before them; otherwise leaves them to {@link index}
   * (which goes by the cursor, so nothing is indexed twice or skipped). `recorded` is in
   * `seq` order.
   */
  follow(recorded: readonly StoredEvent[]): void {
    if (recorded.length === 0) return;
    const q = (this.statementsImpl ??= prepareWrites(this.db));
    const cursor = q.cursor.get() ?? 0;
    // Not `first.seq - 1`: an insert that found its event stored may have used up a seq.
    if (cursor < (q.lastSeqBefore.get(recorded[0]!.seq) ?? 0)) return;
    const docs: SearchDocument[] = [];
    for (const stored of recorded) for (const doc of documentsOf(stored.event)) docs.push(doc);
    this.write(collapseDocuments(docs));
    q.moveCursor.run(recorded[recorded.length - 1]!.seq);
  }

  async addDocuments(docs: SearchDocument[]): Promise<void> {
    this.db.transaction(() => this.write(collapseDocuments(docs)))();
  }

  async query(terms: string[], kinds: SearchKind[] | undefined, limit: number): Promise<SearchHit[]> {
    if (terms.length === 0) return [];
    // Terms are folded to letters and digits: safe inside quotes. Each one is a prefix; all must match.
    const match = terms.map((t) => `"${t}"*`).join(' ');
    const params: unknown[] = [match];
    let kindClause = '';
    if (kinds !== undefined && kinds.length > 0) {
      kindClause = ` AND d.kind IN (${kinds.map(() => '?').join(', ')})`;
      params.push(...kinds);
    }
    params.push(Math.max(1, limit));
    return this.db
      .prepare<unknown[], SearchHit>(
        `SELECT d.kind AS kind, d.ref AS ref, d.title AS title, d.at AS at FROM search_fts f JOIN search_docs d ON d.id = f.rowid
         WHERE search_fts MATCH ?${kindClause} ORDER BY d.at DESC, d.id DESC LIMIT ?`,
      )
      .all(...params);
  }

  private write(docs: SearchDocument[]): void {
    const q = (this.statementsImpl ??= prepareWrites(this.db));
    for (const d of docs) {
      const existing = q.find.get(d.kind, d.ref);
      if (existing === undefined) {
        // lastInsertRowid, not RETURNING (which buffers its row in a temporary table).
        q.addWords.run(q.insert.run(d.kind, d.ref, d.title, d.at).lastInsertRowid, d.body);
      } else if (d.mode === 'replace') {
        // A contact's every message carries the same name: rewriting its words (an FTS5
        // delete tokenizes the old text again) would then change nothing but the time.
        if (existing.title === d.title && q.words.get(existing.id) === d.body) {
          if (d.at > existing.at) q.touch.run(d.at, existing.id);
          continue;
        }
        q.update.run(d.title, d.at, existing.id);
        q.removeWords.run(existing.id);
        q.addWords.run(existing.id, d.body);
      }
    }
  }
}

/** The index's cursor and write statements, prepared once per connection (after the migrations). */
function prepareWrites(db: Database.Database) {
  return {
    find: db.prepare<[string, string], { id: number; title: string; at: number }>('SELECT id, title, at FROM search_docs WHERE kind = ? AND ref = ?'),
    insert: db.prepare<[string, string, string, number]>('INSERT INTO search_docs (kind, ref, title, at) VALUES (?, ?, ?, ?)'),
    update: db.prepare<[string, number, number]>('UPDATE search_docs SET title = ?, at = MAX(at, ?) WHERE id = ?'),
    touch: db.prepare<[number, number]>('UPDATE search_docs SET at = ? WHERE id = ?'),
    words: db.prepare<[number], string>('SELECT body FROM search_fts WHERE rowid = ?').pluck(),
    removeWords: db.prepare<[number]>('DELETE FROM search_fts WHERE rowid = ?'),
    addWords: db.prepare<[number | bigint, string]>('INSERT INTO search_fts (rowid, body) VALUES (?, ?)'),
    cursor: db.prepare<[], number>('SELECT seq FROM search_cursor WHERE id = 1').pluck(),
    lastSeqBefore: db.prepare<[number], number>('SELECT COALESCE(MAX(seq), 0) FROM events WHERE seq < ?').pluck(),
    moveCursor: db.prepare<[number]>('UPDATE search_cursor SET seq = ? WHERE id = 1'),
    eventsAfter: db.prepare<[number, number], { seq: number; body: string }>('SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
  };
}
