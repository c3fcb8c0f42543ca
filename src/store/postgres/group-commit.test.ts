import { describe, expect, it } from 'vitest';
import type { JournalInput } from '../store.js';
import { GroupCommit } from './group-commit.js';

function row(n: number, bytes = 10): JournalInput {
  return { channel: `c${n}`, receivedAt: n, headers: {}, body: Buffer.alloc(bytes), verifiedBy: 'none' };
}

/** An insert that records its batches and resolves when told to. */
function fakeInsert() {
  let next = 1;
  const batches: Array<{ rows: JournalInput[]; done: (fail?: Error) => void }> = [];
  const insert = (rows: JournalInput[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({
        rows,
        done: (fail) => (fail ? reject(fail) : resolve(rows.map(() => next++))),
      });
    });
  return { insert, batches };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('commits at once while a slot is free, and merges what arrives while every slot is busy', async () => {
    const { insert, batches } = fakeInsert();
    const gc = new GroupCommit(insert, { slots: 1 });
    const a = gc.append([row(1), row(2)]);
    const b = gc.append([row(3)]);
    const c = gc.append([row(4), row(5)]);
    expect(batches.map((x) => x.rows.length)).toEqual([2]);
    batches[0]!.done();
    await tick();
    // b and c waited together: one INSERT, one commit.
    expect(batches.map((x) => x.rows.map((r) => r.channel))).toEqual([['c1', 'c2'], ['c3', 'c4', 'c5']]);
    batches[1]!.done();
    expect(await a).toEqual([1, 2]);
    expect(await b).toEqual([3]);
    expect(await c).toEqual([4, 5]);
  });

  it('resolves nobody before the commit that carries their rows, and rejects everyone in a failed one', async () => {
    const { insert, batches } = fakeInsert();
    const gc = new GroupCommit(insert, { slots: 1 });
    const first = gc.append([row(1)]);
    const second = gc.append([row(2)]);
    const third = gc.append([row(3)]);
    let settled = false;
    void second.then(
      () => (settled = true),
      () => (settled = true),
    );
    batches[0]!.done();
    await first;
    await tick();
    expect(settled).toBe(false);
    batches[1]!.done(new Error('disk full'));
    await expect(second).rejects.toThrow('disk full');
    await expect(third).rejects.toThrow('disk full');
  });

  it('uses every slot before merging, and bounds a merged INSERT by rows and bytes', async () => {
    const { insert, batches } = fakeInsert();
    const gc = new GroupCommit(insert, { slots: 2, maxRows: 3, maxBytes: 100 });
    void gc.append([row(1)]);
    void gc.append([row(2)]);
    const waiting = [gc.append([row(3), row(4)]), gc.append([row(5), row(6)]), gc.append([row(7, 90)]), gc.append([row(8, 200)])];
    expect(batches).toHaveLength(2);
    batches[0]!.done();
    batches[1]!.done();
    await tick();
    // c3+c4 with c5+c6 would be 4 rows (> 3); c7 (90 B) with c8 (200 B) would pass 100 B, and c8
    // alone is over the limit but still goes: a single call is never split.
    expect(batches.slice(2).map((x) => x.rows.map((r) => r.channel))).toEqual([['c3', 'c4'], ['c5', 'c6']]);
    batches[2]!.done();
    batches[3]!.done();
    await tick();
    expect(batches.slice(4).map((x) => x.rows.map((r) => r.channel))).toEqual([['c7'], ['c8']]);
    for (const b of batches.slice(4)) b.done();
    await Promise.all(waiting);
  });

  it('answers an empty append without a commit', async () => {
    const { insert, batches } = fakeInsert();
    expect(await new GroupCommit(insert, { slots: 1 }).append([])).toEqual([]);
    expect(batches).toEqual([]);
  });
});
