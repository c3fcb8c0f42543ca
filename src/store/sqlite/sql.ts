/**
 * @module store/sqlite/sql
 *
 * Small helpers the SQLite backend's files share: WHERE clauses from the dialect-neutral
 * {@link Condition}s (`?` placeholders), and pages.
 */
import type Database from 'better-sqlite3';
import type { Condition } from '../conditions.js';
import type { Page, PageRequest } from '../store.js';

/** WHERE terms (ANDed) and their parameters, in order; `pageOf` appends the cursor and limit. */
export interface SqliteWhere {
  where: string[];
  params: unknown[];
}

export function whereOf(conditions: readonly Condition[]): SqliteWhere {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const c of conditions) {
    switch (c.op) {
      case 'sql':
        where.push(c.sql);
        break;
      case 'in':
        where.push(`${c.column} IN (${placeholders(c.value.length)})`);
        params.push(...c.value);
        break;
      case 'like':
        // LIKE ignores ASCII case in SQLite.
        where.push(`${c.column} LIKE ? ESCAPE '\\'`);
        params.push(c.value);
        break;
      case 'null-or-<=':
        where.push(`(${c.column} IS NULL OR ${c.column} <= ?)`);
        params.push(c.value);
        break;
      default:
        where.push(`${c.column} ${c.op} ?`);
        params.push(c.value);
    }
  }
  return { where, params };
}

/**
 * `SELECT ... WHERE ... ORDER BY key LIMIT n+1` through `statement` (a cache of prepared
 * statements): the page and, when more rows exist, the cursor of its last item.
 */
export function pageOf<R, T>(
  statement: (sql: string) => Database.Statement<unknown[], unknown>,
  select: string,
  key: string,
  { where, params }: SqliteWhere,
  page: PageRequest,
  map: (rec: R) => T,
  cursor: (item: T) => number,
): Page<T> {
  const limit = clampLimit(page.limit);
  if (page.after !== undefined) {
    where.push(`${key} > ?`);
    params.push(page.after);
  }
  params.push(limit + 1);
  const sql = `${select}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} LIMIT ?`;
  const recs = statement(sql).all(...params) as R[];
  return toPage(recs.slice(0, limit).map(map), recs.length > limit, cursor);
}

export function toPage<T>(items: T[], more: boolean, cursor: (item: T) => number): Page<T> {
  const last = items[items.length - 1];
  return more && last !== undefined ? { items, next: cursor(last) } : { items };
}

export function clampLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 1;
}

function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}
