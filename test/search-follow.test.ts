/**
 * The search index follows inside the pipeline's transaction, on SQLite and on PostgreSQL:
 * an event is searchable as soon as `journal.record` returns, with no `search.index` call.
 * While the index is behind (its cursor short of the events before a batch) a batch leaves
 * its events to `search.index`, which then indexes everything from the cursor once, in
 * order. A real SQLite file and the real PostgreSQL (one schema for this file).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { adminQuery, describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { journalInput, makeEvent } from './store.contract.js';

/** A fresh store, and a way to run SQL on its tables from another connection. */
interface Opened {
  store: Store;
  sql(statement: string): Promise<unknown[]>;
}

/** Records one journal row holding a message from `from` with text `text`; returns the events' seqs. */
async function record(store: Store, id: string, from: string, text: string): Promise<number[]> {
  const [journalId] = await store.journal.append([journalInput({})]);
  const event = { ...makeEvent({ id, from, messageId: `wamid.${id}` }), text, contactName: `Name ${from}` };
  const result = await store.journal.record([{ journalId: journalId!, state: 'processed', events: [event] }]);
  return result.recorded.map((r) => r.seq);
}

const refs = async (store: Store, term: string): Promise<string[]> =>
  (await store.search.query([term], undefined, 10)).map((h) => `${h.kind}:${h.ref}`).sort();

function followSuite(open: () => Promise<Opened>) {
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  const fresh = async (): Promise<Opened> => {
    const opened = await open();
    stores.push(opened.store);
    return opened;
  };

  it('finds a recorded message without an index call, and the cursor is at its seq', async () => {
    const { store, sql } = await fresh();
    const [seq] = await record(store, 'f1', '919800000001', 'Parcel arrived today');
    expect(await refs(store, 'parcel')).toEqual(['message:wamid.f1']);
    expect(await refs(store, 'name')).toEqual(['contact:919800000001', 'message:wamid.f1']);
    expect((await sql('SELECT seq FROM search_cursor WHERE id = 1')).map(Number)).toEqual([seq]);
    // Nothing is left for the indexer.
    expect(await store.search.index(100)).toEqual({ indexed: 0, seq });
  });

  it('leaves a batch to search.index while the index is behind, which then indexes each event once', async () => {
    const { store, sql } = await fresh();
    await record(store, 'b1', '919800000002', 'first parcel');
    // Put the index behind, as a store whose events predate the index would be.
    await sql('UPDATE search_cursor SET seq = 0 WHERE id = 1');
    await sql('DELETE FROM search_docs');
    const [second] = await record(store, 'b2', '919800000003', 'second parcel');
    // Not indexed in the batch: the events before it are not indexed yet.
    expect(await refs(store, 'parcel')).toEqual([]);
    expect(await store.search.index(100)).toEqual({ indexed: 2, seq: second });
    expect(await refs(store, 'parcel')).toEqual(['message:wamid.b1', 'message:wamid.b2']);
    // Caught up: the next batch is indexed in its own transaction again.
    await record(store, 'b3', '919800000004', 'third parcel');
    expect(await refs(store, 'parcel')).toEqual(['message:wamid.b1', 'message:wamid.b2', 'message:wamid.b3']);
    expect((await sql("SELECT count(*) FROM search_docs WHERE kind = 'message'")).map(Number)).toEqual([3]);
  });
}

describe('search following the pipeline on SQLite', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  followSuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-search-follow-'));
    dirs.push(dir);
    const file = join(dir, 'bluetick.db');
    const store = new SqliteStore(file);
    await store.migrate();
    return {
      store,
      async sql(statement) {
        const db = new Database(file);
        try {
          if (statement.startsWith('SELECT')) return db.prepare(statement).raw().all().map((r) => (r as unknown[])[0]);
          // FTS5 keeps the words apart from search_docs: clear both, as an empty index would be.
          if (statement === 'DELETE FROM search_docs') db.exec('DELETE FROM search_fts');
          db.prepare(statement).run();
          return [];
        } finally {
          db.close();
        }
      },
    };
  });
});

describePostgres('search following the pipeline on PostgreSQL', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });
  followSuite(async () => {
    const schema = schemaName('search_follow');
    schemas.push(schema);
    const store = await openPostgresStore(urlFor(schema));
    await store.migrate();
    return {
      store,
      async sql(statement) {
        const rows = await adminQuery(statement.replace(/\b(search_cursor|search_docs)\b/g, `${schema}.$1`));
        return rows.map((r) => Object.values(r)[0]);
      },
    };
  });
});
