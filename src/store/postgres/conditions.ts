/**
 * @module store/postgres/conditions
 *
 * The dialect-neutral {@link Condition}s (`store/conditions.ts`) as a PostgreSQL {@link Where}
 * with numbered parameters: a list of values is one array parameter (`= ANY($n::text[])`),
 * so the statement text does not change with the list's length.
 */
import type { Condition } from '../conditions.js';
import { Where } from './sql.js';

export function whereOf(conditions: readonly Condition[]): Where {
  const w = new Where();
  for (const c of conditions) {
    switch (c.op) {
      case 'sql':
        w.raw(c.sql);
        break;
      case 'in':
        w.add(`${c.column} = ANY(?::text[])`, c.value);
        break;
      case 'like':
        w.add(`${c.column} ILIKE ? ESCAPE '\\'`, c.value);
        break;
      case 'null-or-<=':
        w.add(`(${c.column} IS NULL OR ${c.column} <= ?)`, c.value);
        break;
      default:
        w.add(`${c.column} ${c.op} ?`, c.value);
    }
  }
  return w;
}
