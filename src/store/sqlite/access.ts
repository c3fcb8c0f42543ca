/**
 * @module store/sqlite/access
 *
 * The SQLite side of {@link AccessStore}: statements on `api_tokens` and `audit_log`
 * (migration 0008). Synchronous; `SqliteStore` wraps them in its async methods.
 */
import type Database from 'better-sqlite3';
import { BluetickError } from '../../errors.js';
import {
  type AccessStore,
  API_TOKEN_COLUMNS,
  AUDIT_COLUMNS,
  toApiToken,
  toAuditEntry,
  type ApiToken,
  type ApiTokenRecord,
  type AuditEntry,
  type AuditFilter,
  type AuditInput,
  type AuditPageRequest,
  type NewApiToken,
} from '../access.js';
import { OUTBOUND_COLUMNS, OUTBOUND_UPSERT_SET, outboundValues, toOutbound, type OutboundInput, type OutboundRecord, type OutboundRow, type OutboundStore } from '../outbound.js';
import { outboundDocument } from '../../search/documents.js';
import type { SqliteSearch } from './search.js';
import type { Page } from '../store.js';
import { clampLimit, toPage } from './sql.js';

export class SqliteAccess implements AccessStore {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  async createToken(t: NewApiToken): Promise<ApiToken> {
    try {
      const rec = this.db
        .prepare<unknown[], ApiTokenRecord>(
          `INSERT INTO api_tokens (name, role, hash, prefix, mask_text, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${API_TOKEN_COLUMNS}`,
        )
        .get(t.name, t.role, t.hash, t.prefix, t.maskText ? 1 : 0, t.createdAt, t.createdBy ?? null)!;
      return toApiToken(rec);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new BluetickError('BT_ERR_TOKEN_EXISTS', `an API token named "${t.name}" exists; pick another name or revoke it first`, { cause: err });
      }
      throw err;
    }
  }

  async listTokens(): Promise<ApiToken[]> {
    return this.db.prepare<[], ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id`).all().map(toApiToken);
  }

  async tokenByHash(hash: string): Promise<ApiToken | undefined> {
    const rec = this.db.prepare<[string], ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?`).get(hash);
    return rec === undefined ? undefined : toApiToken(rec);
  }

  async revokeToken(name: string, at: number): Promise<ApiToken | undefined> {
    this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(at, name);
    const rec = this.db.prepare<[string], ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE name = ?`).get(name);
    return rec === undefined ? undefined : toApiToken(rec);
  }

  async touchToken(id: number, at: number): Promise<void> {
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }

  async addAudit(rows: AuditInput[]): Promise<void> {
    const insert = this.db.prepare('INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const r of rows) insert.run(r.at, r.actor, r.role, r.action, r.target ?? null, r.detail ?? null);
    })();
  }

  async listAudit(page: AuditPageRequest, filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    const desc = page.order === 'desc';
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.action !== undefined && filter.action.length > 0) {
      where.push(`action IN (${filter.action.map(() => '?').join(', ')})`);
      params.push(...filter.action);
    }
    if (filter.actor !== undefined) {
      where.push('actor = ?');
      params.push(filter.actor);
    }
    if (page.after !== undefined) {
      where.push(desc ? 'id < ?' : 'id > ?');
      params.push(page.after);
    }
    const limit = clampLimit(page.limit);
    params.push(limit + 1);
    const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
    const recs = this.db.prepare<unknown[], Parameters<typeof toAuditEntry>[0]>(sql).all(...params);
    return toPage(recs.slice(0, limit).map(toAuditEntry), recs.length > limit, (e) => e.id);
  }
}

/** `Store.outbound` on SQLite: what the sending code recorded, indexed for search as it is written. */
export class SqliteOutbound implements OutboundStore {
  private readonly db: Database.Database;
  private readonly search: () => SqliteSearch;

  constructor(db: Database.Database, search: () => SqliteSearch) {
    this.db = db;
    this.search = search;
  }

  async record(rows: OutboundInput[], recordedAt: number, recordedBy: string): Promise<{ inserted: number; updated: number }> {
    const exists = this.db.prepare<[string], { n: number }>('SELECT 1 AS n FROM outbound_messages WHERE message_id = ?');
    const upsert = this.db.prepare(
      `INSERT INTO outbound_messages (${OUTBOUND_COLUMNS}) VALUES (${OUTBOUND_COLUMNS.split(',').map(() => '?').join(', ')}) ON CONFLICT (message_id) DO UPDATE SET ${OUTBOUND_UPSERT_SET}`,
    );
    let inserted = 0;
    this.db.transaction(() => {
      for (const r of rows) {
        if (exists.get(r.messageId) === undefined) inserted++;
        upsert.run(...outboundValues(r, recordedAt, recordedBy));
      }
    })();
    // Searchable at once; a row recorded again is found by what it holds now.
    await this.search().addDocuments(this.records(rows.map((r) => r.messageId)).map((r) => outboundDocument(r, recordedAt)));
    return { inserted, updated: rows.length - inserted };
  }

  async get(messageIds: string[]): Promise<OutboundRecord[]> {
    return this.records(messageIds);
  }

  private records(messageIds: string[]): OutboundRecord[] {
    if (messageIds.length === 0) return [];
    const ids = [...new Set(messageIds)];
    return this.db
      .prepare<string[], OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM outbound_messages WHERE message_id IN (${ids.map(() => '?').join(', ')})`)
      .all(...ids)
      .map(toOutbound);
  }
}
