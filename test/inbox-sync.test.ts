/**
 * The inbox acks only what is on disk: `InboxWriter.append` resolves after an fdatasync of
 * the WAL file that started once the rows were committed, never before and never without
 * one. `node:fs`'s fdatasync is wrapped so each call is held until the test lets it run;
 * everything else is a real SQLite file.
 */
import { readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InboxWriter } from '../src/store/sqlite/thread/inbox.js';
import { journalInput } from './store.contract.js';

interface HeldSync {
  fd: number;
  /** Rows another connection could read when the sync was asked for. */
  committedRows: number;
  /** Runs the real fdatasync and then the writer's callback. */
  run: () => void;
  /** Answers the writer's callback with an error instead. */
  fail: (err: Error) => void;
}

const syncs = vi.hoisted(() => ({ hold: false, held: [] as HeldSync[], countRows: (): number => -1 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void => {
    if (!syncs.hold) return fs.fdatasync(fd, callback);
    syncs.held.push({ fd, committedRows: syncs.countRows(), run: () => fs.fdatasync(fd, callback), fail: (err) => callback(err) });
  };
  return { ...fs, fdatasync, default: { ...fs, fdatasync } };
});

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-inbox-sync-'));
  file = join(dir, 'bluetick.inbox.db');
  syncs.hold = false;
  syncs.held = [];
  syncs.countRows = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT count(*) FROM inbox').pluck().get() as number;
    } finally {
      db.close();
    }
  };
});

afterEach(async () => {
  syncs.hold = false;
  await rm(dir, { recursive: true, force: true });
});

/** Lets every callback, timer and I/O completion queued so far run (no sleeping involved). */
async function drain(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('inbox sync before ack', () => {
  it('resolves an append only after the fdatasync of the WAL, asked for once the rows were committed', async () => {
    const writer = new InboxWriter(file, { after: 0, checkpointIntervalMs: 0 });
    try {
      syncs.hold = true;
      let acked: number[] | undefined;
      const append = writer.append([journalInput(), journalInput()]).then((ids) => (acked = ids));

      expect(syncs.held).toHaveLength(1);
      const [sync] = syncs.held;
      expect(readlinkSync(`/proc/self/fd/${sync!.fd}`)).toBe(`${file}-wal`);
      expect(sync!.committedRows).toBe(2);

      await drain();
      expect(acked).toBeUndefined();

      sync!.run();
      await append;
      expect(acked).toEqual([1, 2]);
    } finally {
      syncs.hold = false;
      await writer.close();
    }
  });

  it('gives every group commit its own sync, and the second ack waits for the second sync', async () => {
    const writer = new InboxWriter(file, { after: 10, checkpointIntervalMs: 0 });
    try {
      syncs.hold = true;
      const order: string[] = [];
      const first = writer.append([journalInput()]).then(() => order.push('first acked'));
      const second = writer.append([journalInput()]).then(() => order.push('second acked'));
      expect(syncs.held.map((s) => s.committedRows)).toEqual([1, 2]);

      order.push('second synced');
      syncs.held[1]!.run();
      await second;
      await drain();
      expect(order).toEqual(['second synced', 'second acked']);

      order.push('first synced');
      syncs.held[0]!.run();
      await first;
      expect(order).toEqual(['second synced', 'second acked', 'first synced', 'first acked']);
    } finally {
      syncs.hold = false;
      await writer.close();
    }
  });

  it('rejects the append when the sync fails, so no 200 is given for it', async () => {
    const writer = new InboxWriter(file, { after: 0, checkpointIntervalMs: 0 });
    try {
      syncs.hold = true;
      const append = writer.append([journalInput()]);
      expect(syncs.held).toHaveLength(1);
      syncs.held[0]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      await expect(append).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      syncs.hold = false;
      await writer.close();
    }
  });
});
