/**
 * @module store/conditions
 *
 * List filters as data: each `list*` query of the store turns its filter into
 * {@link Condition}s (all ANDed), and each backend renders them with its own placeholders
 * (`sqlite/sql.ts`, `postgres/conditions.ts`). The builders for each filter sit next to the
 * rows they select (`rows.ts`, `delivery-rows.ts`, `projection-rows.ts`).
 */

/**
 * One term of a WHERE clause:
 * - `=`, `>`, `>=`, `<`: the column compared with one parameter;
 * - `in`: the column equal to any of the values (never empty);
 * - `like`: a LIKE pattern with `\` as escape, matched case-insensitively;
 * - `null-or-<=`: the column is NULL or at most the value;
 * - `sql`: a fixed term without parameters, written out exactly so that it matches the
 *   predicate of a partial index (the planners only use one whose predicate they can prove).
 */
export type Condition =
  | { column: string; op: '=' | '>' | '>=' | '<'; value: string | number }
  | { column: string; op: 'in'; value: readonly string[] }
  | { column: string; op: 'like'; value: string }
  | { column: string; op: 'null-or-<='; value: number }
  | { op: 'sql'; sql: string };

/** Adds `column = value` when the filter sets the value. */
export function addEq(conditions: Condition[], column: string, value: string | number | undefined): void {
  if (value !== undefined) conditions.push({ column, op: '=', value });
}

/** Adds `column IN (values)` when the filter lists at least one value (an empty list filters nothing). */
export function addAnyOf(conditions: Condition[], column: string, values: readonly string[] | undefined): void {
  if (values !== undefined && values.length > 0) conditions.push({ column, op: 'in', value: values });
}

/** Adds `since <= column < until` for the bounds the filter sets. */
export function addRange(conditions: Condition[], column: string, since: number | undefined, until: number | undefined): void {
  if (since !== undefined) conditions.push({ column, op: '>=', value: since });
  if (until !== undefined) conditions.push({ column, op: '<', value: until });
}
