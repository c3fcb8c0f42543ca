/**
 * @module projections/order
 *
 * The few comparisons every projection shares. They exist so that each reducer can be
 * written as a merge under a TOTAL order: "keep the earlier of two facts", "keep the later
 * one", "insert into a sorted list". A merge under a total order is commutative and
 * idempotent, which is what makes a projection independent of arrival order and of
 * duplicates — the property the store relies on when it rebuilds state from events.
 *
 * @internal Shared by the projection modules; not part of the public API.
 */

/** The time a fact is filed under: the item's own time, else when bluetick received it. */
export function factTime(fact: { occurredAt?: string | undefined; receivedAt: string }): string {
  return fact.occurredAt ?? fact.receivedAt;
}

/** Plain code-unit order, the same on every machine (no locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fff]Z` by its shape: a fixed-width UTC time whose text order is its
 * time order. Two such times of the same length compare as {@link compareTime} does by
 * comparing their text, which lets a caller check each time of a list once instead of at
 * every comparison.
 */
export function isUtcIso(s: string): boolean {
  return (
    s.length >= 20 &&
    s.charCodeAt(s.length - 1) === 90 /* Z */ &&
    s.charCodeAt(4) === 45 /* - */ &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 /* T */ &&
    s.charCodeAt(13) === 58 /* : */ &&
    s.charCodeAt(16) === 58 &&
    (s.length === 20 || s.charCodeAt(19) === 46) /* . */ &&
    digitsAt(s, 0, 4) &&
    digitsAt(s, 5, 7) &&
    digitsAt(s, 8, 10) &&
    digitsAt(s, 11, 13) &&
    digitsAt(s, 14, 16) &&
    digitsAt(s, 17, 19)
  );
}

function digitsAt(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Orders ISO-8601 times by the instant they name; equal instants written differently fall
 * back to the text so the order stays total. Unparseable times sort after every valid one
 * instead of poisoning the comparison with NaN.
 */
export function compareTime(a: string, b: string): number {
  if (a === b) return 0;
  // Two UTC times written the same way (as the normalizer writes them) sort as text.
  if (a.length === b.length && isUtcIso(a) && isUtcIso(b)) return a < b ? -1 : 1;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  const aBad = Number.isNaN(ta);
  const bBad = Number.isNaN(tb);
  if (aBad !== bBad) return aBad ? 1 : -1;
  if (!aBad && ta !== tb) return ta < tb ? -1 : 1;
  return compareText(a, b);
}

/**
 * Last-resort tie-break between two facts that share every sort key (for example the same
 * event id delivered with different bodies). Rows are built with a fixed key order, so the
 * JSON text is a stable fingerprint.
 */
export function compareJson(a: unknown, b: unknown): number {
  return compareText(JSON.stringify(a), JSON.stringify(b));
}

/** `iso` plus `hours`, as ISO-8601 UTC with milliseconds; `undefined` when `iso` is not a time. */
export function addHours(iso: string, hours: number): string | undefined {
  const days = addWholeDays(iso, hours);
  if (days !== undefined) return days;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const shifted = new Date(ms + hours * 3_600_000);
  return Number.isNaN(shifted.getTime()) ? undefined : shifted.toISOString();
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return MONTH_DAYS[month - 1]!;
}

function numberAt(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * {@link addHours} for the common case, without a `Date`: a whole number of days (at most
 * four weeks) added to a time written as `toISOString` writes it (`YYYY-MM-DDTHH:MM:SS.fffZ`)
 * moves only its date. `undefined` for anything else (the caller takes the general path),
 * including a date the calendar does not have and a result past year 9999.
 */
function addWholeDays(iso: string, hours: number): string | undefined {
  if (iso.length !== 24 || !(hours >= 0 && hours <= 672 && hours % 24 === 0) || !isUtcIso(iso) || !digitsAt(iso, 20, 23)) return undefined;
  let year = numberAt(iso, 0, 4);
  let month = numberAt(iso, 5, 7);
  let day = numberAt(iso, 8, 10);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (numberAt(iso, 11, 13) > 23 || numberAt(iso, 14, 16) > 59 || numberAt(iso, 17, 19) > 59) return undefined;
  day += hours / 24;
  for (let days = daysInMonth(year, month); day > days; days = daysInMonth(year, month)) {
    day -= days;
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
  if (year > 9999) return undefined;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${iso.slice(10)}`;
}

/**
 * Inserts `item` into a list sorted by `compare`, replacing an item with the same `id`.
 * When two items share an id the smaller one under `compare` (then JSON) is kept, so the
 * result never depends on which copy came first. Returns the input list itself when
 * nothing changes, which lets callers skip a write.
 */
export function upsertSorted<T>(list: readonly T[], item: T, idOf: (x: T) => string, compare: (a: T, b: T) => number): readonly T[] {
  const id = idOf(item);
  const index = list.findIndex((x) => idOf(x) === id);
  if (index >= 0) {
    const existing = list[index] as T;
    const order = compare(item, existing) || compareJson(item, existing);
    if (order >= 0) return list;
  }
  const rest = index >= 0 ? list.filter((_, i) => i !== index) : list.slice();
  let at = rest.length;
  while (at > 0 && compare(rest[at - 1] as T, item) > 0) at -= 1;
  rest.splice(at, 0, item);
  return rest;
}

/**
 * Whether two plain JSON values (rows as the reducers build them, or as parsed from their
 * JSON) would be written as the same JSON text: same keys in the same order, same values.
 * Never true for values that would not (a `false` answer is always safe: it only costs a
 * write). Cheaper than writing both, and it stops at the first difference.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== 'number' || Number.isFinite(a);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i]) || a[i] === undefined) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i]!;
    if (key !== kb[i] || ra[key] === undefined || !sameJson(ra[key], rb[key])) return false;
  }
  return true;
}

/**
 * Copies `obj` without its `undefined` properties, keeping the key order of the literal.
 * Rows follow the event contract's rule (a key is omitted when it does not apply) and come
 * out of the reducers with the same keys in the same order whatever the event order, so a
 * rebuilt row is byte-for-byte the incremental one.
 */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  const from = obj as Record<string, unknown>;
  for (const key in from) {
    const value = from[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}
