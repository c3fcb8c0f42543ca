/**
 * On SQLite the search index follows inside the pipeline's transaction: an event is
 * searchable as soon as `journal.record` returns, with no `search.index` call. While the
 * index is behind (its cursor short of the events before a batch) a batch leaves its events
 * to `search.index`, which then indexes everything from the cursor once, in order.
 * A real SQLite file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { journalInput, makeEvent } from './store.contract.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function openStore(): Promise<{ store: SqliteStore; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bluetick-search-follow-'));
  dirs.push(dir);
  const file = join(dir, 'bluetick.db');
  const store = new SqliteStore(file);
  await store.migrate();
  return { store, file };
}

/** Records one journal row holding a message from `from` with text `text`; returns the events' seqs. */
async function record(store: SqliteStore, id: string, from: string, text: string): Promise<number[]> {
  const [journalId] = await store.journal.append([journalInput({})]);
  const event = { ...makeEvent({ id, from, messageId: `wamid.${id}` }), text, contactName: `Name ${from}` };
  const result = await store.journal.record([{ journalId: journalId!, state: 'processed', events: [event] }]);
  return result.recorded.map((r) => r.seq);
}

const refs = async (store: SqliteStore, term: string): Promise<string[]> =>
  (await store.search.query([term], undefined, 10)).map((h) => `${h.kind}:${h.ref}`).sort();

describe('search following the pipeline on SQLite', () => {
  it('finds a recorded message without an index call, and the cursor is at its seq', async () => {
    const { store, file } = await openStore();
    try {
      const [seq] = await record(store, 'f1', '919800000001', 'Parcel arrived today');
      expect(await refs(store, 'parcel')).toEqual(['message:wamid.f1']);
      expect(await refs(store, 'name')).toEqual(['contact:919800000001', 'message:wamid.f1']);
      const db = new Database(file, { readonly: true });
      expect(db.prepare('SELECT seq FROM search_cursor WHERE id = 1').pluck().get()).toBe(seq);
      db.close();
      // Nothing is left for the indexer.
      expect(await store.search.index(100)).toEqual({ indexed: 0, seq });
    } finally {
      await store.close();
    }
  });

  it('leaves a batch to search.index while the index is behind, which then indexes each event once', async () => {
    const { store, file } = await openStore();
    try {
      await record(store, 'b1', '919800000002', 'first parcel');
      // Put the index behind, as a store whose events predate the index would be.
      const db = new Database(file);
      db.exec('DELETE FROM search_fts; DELETE FROM search_docs; UPDATE search_cursor SET seq = 0');
      db.close();
      const [second] = await record(store, 'b2', '919800000003', 'second parcel');
      // Not indexed in the batch: the events before it are not indexed yet.
      expect(await refs(store, 'parcel')).toEqual([]);
      expect(await store.search.index(100)).toEqual({ indexed: 2, seq: second });
      expect(await refs(store, 'parcel')).toEqual(['message:wamid.b1', 'message:wamid.b2']);
      // Caught up: the next batch is indexed in its own transaction again.
      await record(store, 'b3', '919800000004', 'third parcel');
      expect(await refs(store, 'parcel')).toEqual(['message:wamid.b1', 'message:wamid.b2', 'message:wamid.b3']);
      const check = new Database(file, { readonly: true });
      expect(check.prepare("SELECT count(*) FROM search_docs WHERE kind = 'message'").pluck().get()).toBe(3);
      check.close();
    } finally {
      await store.close();
    }
  });
});
