/**
 * Erasure tombstones across a restart, on a real SQLite file: the key file is created 0600
 * next to the store, the tombstones are loaded again on the next open, and a redelivered
 * notification about the erased person is dropped (its journal row rewritten) while the
 * other person's event in the same body is recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { journalInput, makeEvent } from './store.contract.js';

const ERIN = '16315550144';
const OTTO = '16315550233';
const BODY = JSON.stringify({ entry: [{ changes: [{ value: { messages: [{ from: ERIN, id: 'wamid.e1' }, { from: OTTO, id: 'wamid.o1' }] } }] }] });

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function record(store: SqliteStore, ids: [string, string]): Promise<number> {
  const [journalId] = await store.journal.append([journalInput({ body: Buffer.from(BODY), headers: { 'x-hub-signature-256': 'sha256=00' } })]);
  const events = [makeEvent({ id: ids[0], from: ERIN, messageId: 'wamid.e1' }), makeEvent({ id: ids[1], from: OTTO, messageId: 'wamid.o1' })];
  const result = await store.journal.record([{ journalId: journalId!, state: 'processed', events }]);
  return result.inserted;
}

describe('erasure tombstones on SQLite', () => {
  it('survive a restart and drop a redelivered notification about the person', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-erasure-store-'));
    dirs.push(dir);
    const file = join(dir, 'bluetick.db');
    let store = new SqliteStore(file);
    await store.migrate();
    expect(await record(store, ['ev-e1', 'ev-o1'])).toBe(2);
    const receipt = await store.eraseContact([`+${ERIN}`]);
    expect(receipt.tables.events).toEqual({ deleted: 1, redacted: 0 });
    expect(receipt.tables.journal).toEqual({ deleted: 0, redacted: 1 });
    expect(receipt.walTruncated).toBe(true);
    expect(statSync(join(dir, 'erasure-key')).mode & 0o777).toBe(0o600);
    await store.close();

    store = new SqliteStore(file);
    await store.migrate();
    // A redelivery with new event ids (as a changed normalizer would give) still names Erin.
    expect(await record(store, ['ev-e1-again', 'ev-o1-again'])).toBe(1);
    const events = (await store.events.list({}, { limit: 10 })).items.map((e) => e.event.id);
    expect(events).toEqual(['ev-o1', 'ev-o1-again']);
    const rows = (await store.journal.list({}, { limit: 10 })).items;
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.body.includes(Buffer.from(ERIN))).toBe(false);
      expect(row.body.includes(Buffer.from(OTTO))).toBe(true);
      expect(row.headers['x-bluetick-redacted']).toBeDefined();
      expect(row.headers['x-hub-signature-256']).toBeUndefined();
    }
    await store.close();
  });
});
