import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BluetickError } from '../src/errors.js';
import { JournalWriter } from '../src/journal/writer.js';
import { openStore } from '../src/store/open.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { JournalInput, Store } from '../src/store/store.js';
import { journalInput } from './store.contract.js';

/** A store whose `journal.append` is controlled by the test. Only that is used. */
function controlledStore() {
  const calls: Array<{ rows: JournalInput[]; resolve: (ids: number[]) => void; reject: (err: unknown) => void }> = [];
  const store = {
    capabilities: { maxCommitsInFlight: Infinity },
    journal: {
      append: (rows: JournalInput[]) =>
        new Promise<number[]>((resolve, reject) => {
          calls.push({ rows, resolve, reject });
        }),
    },
  } as unknown as Store;
  return { store, calls };
}

/** Records how every promise settled, without awaiting any of them. */
function track<T>(promises: Array<Promise<T>>) {
  const settled: Array<{ ok: true; value: T } | { ok: false; err: unknown } | undefined> = promises.map(() => undefined);
  promises.forEach((p, i) =>
    p.then(
      (value) => (settled[i] = { ok: true, value }),
      (err: unknown) => (settled[i] = { ok: false, err }),
    ),
  );
  return settled;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('JournalWriter', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-writer-'));
    store = (await openStore({ dataDir: dir })) as SqliteStore;
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('group commit', () => {
    it('commits rows appended in the same turn with one journal.append call and resolves each with its id', async () => {
      const spy = vi.spyOn(store.journal, 'append');
      const writer = new JournalWriter(store);
      const rows = Array.from({ length: 10 }, (_, i) => journalInput({ channel: `c${i}` }));
      const ids = await Promise.all(rows.map((r) => writer.append(r)));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![0]).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
      for (let i = 0; i < ids.length; i++) {
        expect((await store.journal.get(ids[i]!))?.channel).toBe(`c${i}`);
      }
    });

    it('commits rows of different turns separately', async () => {
      const spy = vi.spyOn(store.journal, 'append');
      const writer = new JournalWriter(store);
      const a = writer.append(journalInput());
      await nextTurn();
      const b = writer.append(journalInput());
      await Promise.all([a, b]);
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([1, 1]);
    });

    it('flushes at maxBatch without waiting for the turn to end', async () => {
      const spy = vi.spyOn(store.journal, 'append');
      const writer = new JournalWriter(store, { maxBatch: 2 });
      const p = [1, 2, 3, 4, 5].map(() => writer.append(journalInput()));
      // Two full batches went to the store synchronously, inside append().
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([2, 2]);
      await Promise.all(p);
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([2, 2, 1]);
    });

    it('does not resolve a row before its commit resolves', async () => {
      const { store: slow, calls } = controlledStore();
      const writer = new JournalWriter(slow);
      const settled = track([writer.append(journalInput()), writer.append(journalInput())]);
      await nextTurn();
      expect(calls).toHaveLength(1);
      await nextTurn();
      expect(settled).toEqual([undefined, undefined]);
      expect(writer.pending).toBe(2);
      calls[0]!.resolve([7, 8]);
      await nextTurn();
      expect(settled).toEqual([
        { ok: true, value: 7 },
        { ok: true, value: 8 },
      ]);
      expect(writer.pending).toBe(0);
    });

    it('holds rows back while maxCommitsInFlight commits run, then sends them in one commit', async () => {
      const { store: slow, calls } = controlledStore();
      const writer = new JournalWriter(slow, { maxCommitsInFlight: 1 });
      const first = track([writer.append(journalInput())]);
      await nextTurn();
      expect(calls.map((c) => c.rows.length)).toEqual([1]);
      // Two more turns of rows while the first commit runs: no second commit yet.
      const second = track([writer.append(journalInput()), writer.append(journalInput())]);
      await nextTurn();
      const third = track([writer.append(journalInput())]);
      await nextTurn();
      expect(calls).toHaveLength(1);
      expect(writer.pending).toBe(4);
      calls[0]!.resolve([1]);
      await nextTurn();
      expect(first).toEqual([{ ok: true, value: 1 }]);
      expect(calls.map((c) => c.rows.length)).toEqual([1, 3]);
      calls[1]!.resolve([2, 3, 4]);
      await nextTurn();
      expect([...second, ...third]).toEqual([
        { ok: true, value: 2 },
        { ok: true, value: 3 },
        { ok: true, value: 4 },
      ]);
    });

    it('answers the callback form once per row, synchronously when it refuses', async () => {
      const writer = new JournalWriter(store, { maxPending: 1 });
      const answers: Array<[string | undefined, number]> = [];
      const answer = (err: Error | undefined, id: number): void => void answers.push([(err as BluetickError | undefined)?.code, id]);
      writer.enqueue(journalInput(), answer);
      writer.enqueue(journalInput(), answer);
      expect(answers).toEqual([['BT_ERR_INGEST_UNAVAILABLE', 0]]);
      await writer.close();
      expect(answers).toEqual([
        ['BT_ERR_INGEST_UNAVAILABLE', 0],
        [undefined, 1],
      ]);
    });

    it('reports each commit with its size', async () => {
      const onCommit = vi.fn();
      const writer = new JournalWriter(store, { onCommit });
      await Promise.all([writer.append(journalInput()), writer.append(journalInput()), writer.append(journalInput())]);
      expect(onCommit).toHaveBeenCalledTimes(1);
      expect(onCommit.mock.calls[0]![0]).toBe(3);
      expect(onCommit.mock.calls[0]![1]).toBeGreaterThanOrEqual(0);
    });
  });

  describe('refusing work it cannot make durable', () => {
    it('rejects at once with BT_ERR_INGEST_UNAVAILABLE when maxPending rows are waiting', async () => {
      const { store: slow, calls } = controlledStore();
      const writer = new JournalWriter(slow, { maxPending: 3, commitTimeoutMs: 0 });
      const accepted = track([1, 2, 3].map(() => writer.append(journalInput())));
      expect(writer.pending).toBe(3);
      const err = await writer.append(journalInput()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BluetickError);
      expect((err as BluetickError).code).toBe('BT_ERR_INGEST_UNAVAILABLE');
      expect((err as BluetickError).status).toBe(503);
      // Rows committing still count: the limit holds until their commit settles.
      await nextTurn();
      expect(calls).toHaveLength(1);
      await expect(writer.append(journalInput())).rejects.toMatchObject({ code: 'BT_ERR_INGEST_UNAVAILABLE' });
      calls[0]!.resolve([1, 2, 3]);
      await nextTurn();
      expect(accepted.every((s) => s?.ok)).toBe(true);
      const later = writer.append(journalInput());
      await nextTurn();
      calls[1]!.resolve([4]);
      await expect(later).resolves.toBe(4);
    });

    it('rejects every row of a failed commit with BT_ERR_INGEST_UNAVAILABLE carrying the cause', async () => {
      const { store: failing, calls } = controlledStore();
      const onError = vi.fn();
      const writer = new JournalWriter(failing, { onError });
      const settled = track([writer.append(journalInput()), writer.append(journalInput())]);
      await nextTurn();
      const diskFull = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      calls[0]!.reject(diskFull);
      await nextTurn();
      for (const s of settled) {
        expect(s?.ok).toBe(false);
        const err = (s as { err: BluetickError }).err;
        expect(err.code).toBe('BT_ERR_INGEST_UNAVAILABLE');
        expect(err.cause).toBe(diskFull);
      }
      expect(writer.healthy).toBe(false);
      expect(writer.pending).toBe(0);
      expect(onError).toHaveBeenCalledTimes(1);
    });

    it('rejects rows whose commit does not answer within commitTimeoutMs, and ignores the late answer', async () => {
      const { store: hung, calls } = controlledStore();
      const writer = new JournalWriter(hung, { commitTimeoutMs: 30 });
      // A fake clock: the timeout is checked at its boundary, not measured on the wall clock.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
      let p: Promise<number>;
      try {
        p = writer.append(journalInput());
        const settled = track([p]);
        await vi.advanceTimersByTimeAsync(29);
        expect(calls).toHaveLength(1);
        expect(settled[0], 'settled before commitTimeoutMs').toBeUndefined();
        await vi.advanceTimersByTimeAsync(1);
        expect(settled[0]).toMatchObject({ ok: false });
      } finally {
        vi.useRealTimers();
      }
      await expect(p).rejects.toMatchObject({ code: 'BT_ERR_INGEST_UNAVAILABLE' });
      expect(writer.pending).toBe(0);
      expect(writer.healthy).toBe(false);
      // The commit lands afterwards: nothing breaks, and the writer is healthy again on the next one.
      calls[0]!.resolve([1]);
      const q = writer.append(journalInput());
      await nextTurn();
      calls[1]!.resolve([2]);
      await expect(q).resolves.toBe(2);
      expect(writer.healthy).toBe(true);
    });

    it('rejects a commit that returns the wrong number of ids', async () => {
      const { store: odd, calls } = controlledStore();
      const writer = new JournalWriter(odd);
      const settled = track([writer.append(journalInput()), writer.append(journalInput())]);
      await nextTurn();
      calls[0]!.resolve([1]);
      await nextTurn();
      expect(settled.map((s) => s?.ok)).toEqual([false, false]);
    });

    it('acks nothing while another connection holds an exclusive lock, and recovers once it is released', async () => {
      const writer = new JournalWriter(store);
      const locker = new Database(store.file);
      locker.exec('BEGIN EXCLUSIVE');
      let settled;
      try {
        const appends = [1, 2, 3].map((i) => writer.append(journalInput({ channel: `locked${i}` })));
        settled = track(appends);
        // Every append settles (here: fails) while the lock is held; the test's timeout is the only bound.
        await Promise.allSettled(appends);
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      expect(settled.map((s) => s?.ok)).toEqual([false, false, false]);
      for (const s of settled) {
        const err = (s as { err: BluetickError }).err;
        expect(err.code).toBe('BT_ERR_INGEST_UNAVAILABLE');
        expect((err.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      }
      expect(writer.healthy).toBe(false);
      expect((await store.journal.list({}, { limit: 10 })).items).toEqual([]);

      const id = await writer.append(journalInput({ channel: 'after' }));
      expect(writer.healthy).toBe(true);
      expect((await store.journal.list({}, { limit: 10 })).items.map((r) => [r.id, r.channel])).toEqual([[id, 'after']]);
    });
  });

  describe('close', () => {
    it('commits what is queued, waits for it, and refuses new rows', async () => {
      const writer = new JournalWriter(store);
      const p = writer.append(journalInput());
      await writer.close();
      const settled = track([p]);
      await nextTurn();
      expect(settled[0]).toMatchObject({ ok: true });
      expect(writer.healthy).toBe(false);
      await expect(writer.append(journalInput())).rejects.toMatchObject({ code: 'BT_ERR_INGEST_UNAVAILABLE' });
      expect((await store.counts()).journal.pending).toBe(1);
    });

    it('waits for a commit in flight before resolving', async () => {
      const { store: slow, calls } = controlledStore();
      const writer = new JournalWriter(slow);
      const p = writer.append(journalInput());
      let closed = false;
      const c = writer.close().then(() => (closed = true));
      await nextTurn();
      expect(closed).toBe(false);
      calls[0]!.resolve([1]);
      await c;
      await expect(p).resolves.toBe(1);
    });
  });
});
