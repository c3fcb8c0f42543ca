/**
 * @module store/sqlite/search
 *
 * The SQLite side of {@link SearchStore}: `search_docs` (one row per kind and ref) and the
 * FTS5 table `search_fts` whose rowid is the document's id (migration 0008). Synchronous.
 */
import type Database from 'better-sqlite3';
import { parseEventJson } from '../../events/normalize.js';
import { collapseDocuments, documentsOf, type SearchDocument, type SearchKind } from '../../search/documents.js';
import type { SearchHit } from '../search.js';

export class SqliteSearch {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  indexSearch(limit: number): { indexed: number; seq: number } {
    return this.db.transaction(() => {
      const cursor = this.db.prepare<[], { seq: number }>('SELECT seq FROM search_cursor WHERE id = 1').get()?.seq ?? 0;
      const rows = this.db.prepare<[number, number], { seq: number; body: string }>('SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(cursor, Math.max(1, limit));
      if (rows.length === 0) return { indexed: 0, seq: cursor };
      this.write(collapseDocuments(rows.flatMap((r) => documentsOf(parseEventJson(r.body)))));
      const seq = rows[rows.length - 1]!.seq;
      this.db.prepare('UPDATE search_cursor SET seq = ? WHERE id = 1').run(seq);
      return { indexed: rows.length, seq };
    }).immediate();
  }

  addSearchDocuments(docs: SearchDocument[]): void {
    this.db.transaction(() => this.write(collapseDocuments(docs)))();
  }

  search(terms: string[], kinds: SearchKind[] | undefined, limit: number): SearchHit[] {
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
    const find = this.db.prepare<[string, string], { id: number }>('SELECT id FROM search_docs WHERE kind = ? AND ref = ?');
    const insert = this.db.prepare<[string, string, string, number], { id: number }>('INSERT INTO search_docs (kind, ref, title, at) VALUES (?, ?, ?, ?) RETURNING id');
    const update = this.db.prepare('UPDATE search_docs SET title = ?, at = MAX(at, ?) WHERE id = ?');
    const removeWords = this.db.prepare('DELETE FROM search_fts WHERE rowid = ?');
    const addWords = this.db.prepare('INSERT INTO search_fts (rowid, body) VALUES (?, ?)');
    for (const d of docs) {
      const existing = find.get(d.kind, d.ref)?.id;
      if (existing === undefined) {
        const id = insert.get(d.kind, d.ref, d.title, d.at)!.id;
        addWords.run(id, d.body);
      } else if (d.mode === 'replace') {
        update.run(d.title, d.at, existing);
        removeWords.run(existing);
        addWords.run(existing, d.body);
      }
    }
  }
}
