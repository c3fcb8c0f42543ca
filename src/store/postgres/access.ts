/**
 * @module store/postgres/access
 *
 * The PostgreSQL side of {@link AccessStore}: statements on `api_tokens` and `audit_log`
 * (migration 0008). Every process sharing the database sees a token the moment it is
 * created or revoked: lookups go to the table, not to a cache.
 */
import type pg from 'pg';
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
  type AuditRecord,
  type NewApiToken,
} from '../access.js';
import { OUTBOUND_COLUMNS, OUTBOUND_UPSERT_SET, outboundValues, toOutbound, type OutboundInput, type OutboundRecord, type OutboundRow, type OutboundStore } from '../outbound.js';
import { outboundDocument } from '../../search/documents.js';
import type { PostgresSearch } from './search.js';
import type { Page } from '../store.js';
import { clampLimit, Where } from './sql.js';

export class PostgresAccess implements AccessStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async createToken(t: NewApiToken): Promise<ApiToken> {
    try {
      const { rows } = await this.pool.query<ApiTokenRecord>(
        `INSERT INTO api_tokens (name, role, hash, prefix, mask_text, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${API_TOKEN_COLUMNS}`,
        [t.name, t.role, t.hash, t.prefix, t.maskText, t.createdAt, t.createdBy ?? null],
      );
      return toApiToken(rows[0]!);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new BluetickError('BT_ERR_TOKEN_EXISTS', `an API token named "${t.name}" exists; pick another name or revoke it first`, { cause: err });
      }
      throw err;
    }
  }

  async listTokens(): Promise<ApiToken[]> {
    const { rows } = await this.pool.query<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id`);
    return rows.map(toApiToken);
  }

  async tokenByHash(hash: string): Promise<ApiToken | undefined> {
    const { rows } = await this.pool.query<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1`, [hash]);
    return rows[0] === undefined ? undefined : toApiToken(rows[0]);
  }

  async revokeToken(name: string, at: number): Promise<ApiToken | undefined> {
    await this.pool.query('UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL', [at, name]);
    const { rows } = await this.pool.query<ApiTokenRecord>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE name = $1`, [name]);
    return rows[0] === undefined ? undefined : toApiToken(rows[0]);
  }

  async touchToken(id: number, at: number): Promise<void> {
    await this.pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, id]);
  }

  async addAudit(rows: AuditInput[]): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO audit_log (at, actor, role, action, target, detail)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
      [
        rows.map((r) => r.at),
        rows.map((r) => r.actor),
        rows.map((r) => r.role),
        rows.map((r) => r.action),
        rows.map((r) => r.target ?? null),
        rows.map((r) => r.detail ?? null),
      ],
    );
  }

  async listAudit(page: AuditPageRequest, filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    const desc = page.order === 'desc';
    const where = new Where();
    if (filter.action !== undefined && filter.action.length > 0) where.add('action = ANY(?::text[])', filter.action);
    if (filter.actor !== undefined) where.add('actor = ?', filter.actor);
    if (page.after !== undefined) where.add(desc ? 'id < ?' : 'id > ?', page.after);
    const limit = clampLimit(page.limit);
    const { rows } = await this.pool.query<AuditRecord>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log${where.sql()} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT $${where.values.length + 1}`,
      [...where.values, limit + 1],
    );
    const items = rows.slice(0, limit).map(toAuditEntry);
    const last = items[items.length - 1];
    return rows.length > limit && last !== undefined ? { items, next: last.id } : { items };
  }
}

/** `Store.outbound` on PostgreSQL: what the sending code recorded, indexed for search as it is written. */
export class PostgresOutbound implements OutboundStore {
  private readonly pool: pg.Pool;
  private readonly search: PostgresSearch;

  constructor(pool: pg.Pool, search: PostgresSearch) {
    this.pool = pool;
    this.search = search;
  }

  async record(rows: OutboundInput[], recordedAt: number, recordedBy: string): Promise<{ inserted: number; updated: number }> {
    if (rows.length === 0) return { inserted: 0, updated: 0 };
    const client = await this.pool.connect();
    let inserted = 0;
    try {
      await client.query('BEGIN');
      for (const r of rows) {
        const values = outboundValues(r, recordedAt, recordedBy);
        // xmax = 0 on the returned row: it was inserted, not updated.
        const { rows: out } = await client.query<{ inserted: boolean }>(
          `INSERT INTO outbound_messages (${OUTBOUND_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})
           ON CONFLICT (message_id) DO UPDATE SET ${OUTBOUND_UPSERT_SET} RETURNING (xmax = 0) AS inserted`,
          values,
        );
        if (out[0]?.inserted === true) inserted++;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    // Searchable at once; a row recorded again is found by what it holds now.
    await this.search.addDocuments((await this.get(rows.map((r) => r.messageId))).map((r) => outboundDocument(r, recordedAt)));
    return { inserted, updated: rows.length - inserted };
  }

  async get(messageIds: string[]): Promise<OutboundRecord[]> {
    if (messageIds.length === 0) return [];
    const { rows } = await this.pool.query<OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM outbound_messages WHERE message_id = ANY($1::text[])`, [[...new Set(messageIds)]]);
    return rows.map(toOutbound);
  }
}
