import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { mainThreadCpuDemand, parseSchedstat } from './cpu-demand.js';

const SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;

describe('parseSchedstat', () => {
  it('adds the time on a CPU and the time waiting for one', () => {
    expect(parseSchedstat('84186463 5040600 13\n')).toBe(84186463 + 5040600);
    expect(parseSchedstat('0 0 0')).toBe(0);
  });

  it('answers undefined for anything else', () => {
    expect(parseSchedstat('')).toBeUndefined();
    expect(parseSchedstat('12345')).toBeUndefined();
    expect(parseSchedstat('abc 12 1')).toBeUndefined();
    expect(parseSchedstat('-5 12 1')).toBeUndefined();
    expect(parseSchedstat('1e400 0 1')).toBeUndefined();
  });
});

describe('mainThreadCpuDemand', () => {
  it('answers undefined for good once the file cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bluetick-schedstat-'));
    try {
      const file = join(dir, 'schedstat');
      const read = mainThreadCpuDemand(file);
      expect(read()).toBeUndefined();
      // The file appearing later does not bring the reader back: it gave up.
      writeFileSync(file, '10 20 1\n');
      expect(read()).toBeUndefined();
      writeFileSync(join(dir, 'garbled'), 'not a schedstat line');
      expect(mainThreadCpuDemand(join(dir, 'garbled'))()).toBeUndefined();
      expect(mainThreadCpuDemand(join(dir, 'good'))()).toBeUndefined();
      writeFileSync(join(dir, 'good'), '10 20 1\n');
      expect(mainThreadCpuDemand(join(dir, 'good'))()).toBe(30);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(SCHEDSTAT) || !isMainThread)('counts the CPU the main thread spends (Linux with scheduler statistics, run on the main thread)', () => {
    const read = mainThreadCpuDemand();
    const before = read();
    expect(before).toBeTypeOf('number');
    // 100 ms of work on this thread: its demand grows by most of that. The kernel brings a
    // running thread's time up to date at scheduler events such as its ticks, so a reading
    // may lag behind by some milliseconds: 50 ms of work once came out as 38 ms.
    const until = performance.now() + 100;
    let spin = 0;
    while (performance.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(read()! - before!).toBeGreaterThan(60e6);
  });
});
