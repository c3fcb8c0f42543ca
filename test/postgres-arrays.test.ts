/**
 * Binary array parameters (`src/store/postgres/arrays.ts`): whatever goes in must come back
 * out of PostgreSQL element for element, in order, NULLs included, or the events, projection
 * rows and search documents written from them would be silently wrong.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PG_TYPES } from '../src/store/postgres/connection.js';
import { bigintArray, textArray } from '../src/store/postgres/arrays.js';
import { describePostgres, TEST_POSTGRES_URL } from './helpers/postgres.js';

describePostgres('binary array parameters', () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: TEST_POSTGRES_URL, types: PG_TYPES });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  /** The elements as the server sees them, in order (a NULL stays null). */
  async function textsBack(values: Array<string | null>): Promise<Array<string | null>> {
    const { rows } = await client.query<{ v: string | null }>('SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n', [textArray(values)]);
    return rows.map((r) => r.v);
  }

  async function bigintsBack(values: Array<number | null>): Promise<Array<number | null>> {
    const { rows } = await client.query<{ v: number | null }>('SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, n) ORDER BY n', [bigintArray(values)]);
    return rows.map((r) => r.v);
  }

  it('sends text elements byte for byte: quotes, backslashes, braces, commas, empty strings, non-ASCII and NULLs', async () => {
    const values = ['plain', '"quoted"', 'back\\slash', '{a,b}', 'NULL', '', ' spaced ', 'नमस्ते 👋', null, '\n\t', null];
    expect(await textsBack(values)).toEqual(values);
  });

  it('sends an empty array as one with no elements', async () => {
    expect(await textsBack([])).toEqual([]);
    expect(await bigintsBack([])).toEqual([]);
    const { rows } = await client.query<{ n: number }>('SELECT cardinality($1::text[]) AS n', [textArray([])]);
    expect(rows[0]!.n).toBe(0);
  });

  it('sends bigints across the 32-bit boundary, negative ones and NULLs exactly', async () => {
    const values = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, -(2 ** 32) - 1, 1_717_300_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null];
    expect(await bigintsBack(values)).toEqual(values);
  });

  it('round-trips any strings and safe integers, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null }), { maxLength: 40 }),
        fc.array(fc.option(fc.maxSafeInteger(), { nil: null }), { maxLength: 40 }),
        async (texts, ints) => {
          // Text cannot hold U+0000 in PostgreSQL, whichever way it is sent.
          const clean = texts.map((t) => (t === null ? null : t.replaceAll('\u0000', '')));
          expect(await textsBack(clean)).toEqual(clean);
          expect(await bigintsBack(ints)).toEqual(ints);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('leaves an array with a foreign element to pg, which sends it as text as before', async () => {
    const mixed = ['a', 1 as unknown as string];
    expect(textArray(mixed)).toBe(mixed);
    const fraction = [1, 1.5];
    expect(bigintArray(fraction)).toBe(fraction);
    // The server then answers as it always did: 1.5 is not a bigint.
    await expect(client.query('SELECT $1::bigint[]', [bigintArray(fraction)])).rejects.toThrow(/bigint/);
  });
});
