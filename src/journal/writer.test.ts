import { describe, expect, it } from 'vitest';
import type { JournalInput, Store } from '../store/store.js';
import { JournalWriter } from './writer.js';

function row(n: number, bytes = 10): JournalInput {
  return { channel: `c${n}`, receivedAt: n, headers: {}, body: Buffer.alloc(bytes), verifiedBy: 'none' };
}

/** A store whose `journal.append` records its commits and resolves each when told to. */
function fakeStore(maxCommitsInFlight: number) {
  let next = 1;
  const commits: Array<{ rows: JournalInput[]; done: (fail?: Error) => void }> = [];
  const append = (rows: JournalInput[]) =>
    new Promise<number[]>((resolve, reject) => {
      commits.push({ rows, done: (fail) => (fail ? reject(fail) : resolve(rows.map(() => next++))) });
    });
  const store = { capabilities: { maxCommitsInFlight }, journal: { append } } as unknown as Store;
  return { store, commits };
}

const tick = () => new Promise((r) => setImmediate(r));
const channels = (commits: Array<{ rows: JournalInput[] }>) => commits.map((c) => c.rows.map((r) => r.channel));

describe('JournalWriter group commit', () => {
  it("takes its commit slots from the store's capabilities and merges what arrives while every slot is busy", async () => {
    const { store, commits } = fakeStore(1);
    const writer = new JournalWriter(store, { commitTimeoutMs: 0 });
    const a = writer.append(row(1));
    await tick();
    const b = writer.append(row(2));
    await tick();
    const c = writer.append(row(3));
    await tick();
    // One slot: b and c waited behind a's commit and now share one.
    expect(channels(commits)).toEqual([['c1']]);
    commits[0]!.done();
    await tick();
    expect(channels(commits)).toEqual([['c1'], ['c2', 'c3']]);
    commits[1]!.done();
    expect([await a, await b, await c]).toEqual([1, 2, 3]);
  });

  it('resolves nobody before the commit that carries their rows, and rejects everyone in a failed one', async () => {
    const { store, commits } = fakeStore(1);
    const writer = new JournalWriter(store, { commitTimeoutMs: 0 });
    const first = writer.append(row(1));
    await tick();
    const second = writer.append(row(2));
    const third = writer.append(row(3));
    let settled = false;
    void second.then(
      () => (settled = true),
      () => (settled = true),
    );
    commits[0]!.done();
    await first;
    await tick();
    expect(settled).toBe(false);
    commits[1]!.done(new Error('disk full'));
    await expect(second).rejects.toMatchObject({ code: 'BT_ERR_INGEST_UNAVAILABLE' });
    await expect(third).rejects.toThrow('disk full');
  });

  it('uses every slot before merging, and bounds a commit by rows and bytes', async () => {
    const { store, commits } = fakeStore(2);
    const writer = new JournalWriter(store, { commitTimeoutMs: 0, maxRowsPerCommit: 3, maxBytesPerCommit: 100 });
    void writer.append(row(1));
    await tick();
    void writer.append(row(2));
    await tick();
    expect(commits).toHaveLength(2);
    const waiting = [3, 4, 5, 6].map((n) => writer.append(row(n))).concat([writer.append(row(7, 90)), writer.append(row(8, 200))]);
    await tick();
    expect(commits).toHaveLength(2);
    commits[0]!.done();
    commits[1]!.done();
    await tick();
    // Two slots free: c3..c5 (three rows at most), then c6 with c7 (90 B) and not c8 (over 100 B).
    expect(channels(commits.slice(2))).toEqual([['c3', 'c4', 'c5'], ['c6', 'c7']]);
    commits[2]!.done();
    await tick();
    // A row larger than the byte bound still goes, alone.
    expect(channels(commits.slice(4))).toEqual([['c8']]);
    commits[3]!.done();
    commits[4]!.done();
    await Promise.all(waiting);
  });
});
