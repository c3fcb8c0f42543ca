/**
 * The inbox on its own (`src/store/sqlite/thread/inbox.ts`), on real files: ids, what a release
 * deletes, and the space a burst took being given back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InboxReader, InboxWriter, inboxFileFor } from '../src/store/sqlite/thread/inbox.js';
import { journalInput } from './store.contract.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-inbox-'));
  file = join(dir, 'bluetick.inbox.db');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const count = (): number => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM inbox').pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('inbox', () => {
  it('is the file next to the store file', () => {
    expect(inboxFileFor('/data/bluetick.db')).toBe('/data/bluetick.inbox.db');
    expect(inboxFileFor('/data/store')).toBe('/data/store.inbox');
  });

  it('hands out ids after the journal, keeps rows until released, and reads them back exactly', async () => {
    const writer = new InboxWriter(file, { after: 41, checkpointIntervalMs: 0 });
    const reader = new InboxReader(file);
    try {
      const odd = Buffer.from([0xff, 0x00, 0x7b, 0x0a]);
      expect(await writer.append([journalInput({ body: odd, remoteAddress: '10.0.0.1' }), journalInput()])).toEqual([42, 43]);
      const [first] = reader.read(41, 10);
      expect(first![0]).toBe(42);
      expect(Buffer.compare(first![5], odd)).toBe(0);
      expect(first![3]).toBe('10.0.0.1');
      expect(reader.waiting(42)).toEqual({ rows: 1, oldestReceivedAt: journalInput().receivedAt, lastId: 43 });

      writer.release(42);
      await expect.poll(count).toBe(1);
      expect(reader.read(0, 10).map((r) => r[0])).toEqual([43]);
    } finally {
      reader.close();
      await writer.close();
    }
  });

  it('deletes at open what the journal already holds, and never reuses an id', async () => {
    const first = new InboxWriter(file, { after: 0, checkpointIntervalMs: 0 });
    expect(await first.append([journalInput(), journalInput(), journalInput()])).toEqual([1, 2, 3]);
    await first.close();

    // The journal took rows 1 and 2 before the process ended.
    const second = new InboxWriter(file, { after: 2, checkpointIntervalMs: 0 });
    try {
      expect(count()).toBe(1);
      expect(await second.append([journalInput()])).toEqual([4]);
    } finally {
      await second.close();
    }
  });

  it('rejects appends after close, with the driver words callers treat as unavailable', async () => {
    const writer = new InboxWriter(file, { after: 0, checkpointIntervalMs: 0 });
    await writer.close();
    await expect(writer.append([journalInput()])).rejects.toThrow('The database connection is not open');
  });

  it('gives back the space a burst took once its rows are released', async () => {
    const writer = new InboxWriter(file, { after: 0, checkpointIntervalMs: 100 });
    try {
      const body = Buffer.alloc(1200, 0x61);
      let last = 0;
      for (let i = 0; i < 60; i++) {
        const ids = await writer.append(Array.from({ length: 500 }, () => journalInput({ body })));
        last = ids[ids.length - 1]!;
      }
      await expect.poll(() => statSync(file).size, { timeout: 10_000 }).toBeGreaterThan(30 * 1024 * 1024);
      writer.release(last);
      await expect.poll(count, { timeout: 10_000 }).toBe(0);
      // About 16 MiB of free pages stay for reuse; the rest goes back once checkpointed.
      await expect.poll(() => statSync(file).size, { timeout: 20_000, interval: 200 }).toBeLessThan(20 * 1024 * 1024);
    } finally {
      await writer.close();
    }
  });
});
