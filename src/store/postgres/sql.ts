/**
 * @module store/postgres/sql
 *
 * Small helpers the PostgreSQL backend's files share: what runs a query, WHERE clauses with
 * numbered parameters, pages, and the advisory locks that order writers across processes.
 */
import type pg from 'pg';
import type { Page } from '../store.js';

/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** WHERE clauses written with one `?` each, numbered `$n` in the order added. */
export class Where {
  private readonly parts: string[] = [];
  readonly values: unknown[] = [];

  add(clause: string, value: unknown): void {
    this.values.push(value);
    this.parts.push(clause.replace('?', `$${this.values.length}`));
  }

  /** Without a parameter. */
  raw(clause: string): void {
    this.parts.push(clause);
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  sql(): string {
    return this.parts.length > 0 ? ` WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/**
 * `SELECT ... WHERE ... ORDER BY key LIMIT n+1`: the page and, when more rows exist, the
 * cursor of its last item.
 */
export async function pageOf<R extends pg.QueryResultRow, T>(
  db: Queryable,
  select: string,
  key: string,
  where: Where,
  page: { after?: number; limit: number },
  map: (rec: R) => T,
  cursor: (rec: R) => number,
): Promise<Page<T>> {
  const limit = clampLimit(page.limit);
  if (page.after !== undefined) where.add(`${key} > ?`, page.after);
  const { rows } = await db.query<R>(`${select}${where.sql()} ORDER BY ${key} LIMIT $${where.values.length + 1}`, [
    ...where.values,
    limit + 1,
  ]);
  const items = rows.slice(0, limit).map(map);
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? { items, next: cursor(last) } : { items };
}

export function clampLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 1;
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Takes transaction-scoped advisory locks on the given names, in one statement and in one
 * global order (by hash), so two transactions locking overlapping sets cannot deadlock.
 */
export async function lockNames(db: Queryable, names: Iterable<string>): Promise<void> {
  const list = [...new Set(names)];
  if (list.length === 0) return;
  await db.query(
    `SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(n, 0) AS k FROM unnest($1::text[]) AS n ORDER BY k) s`,
    [list],
  );
}
