import { describe, expect, it } from 'vitest';
import { diskSpace, LowDiskWatch } from './disk.js';

describe('LowDiskWatch', () => {
  it('reports falling under the threshold once, and rising back once', () => {
    const watch = new LowDiskWatch(1000);
    expect(watch.observe(5000)).toBeUndefined();
    expect(watch.observe(999)).toBe('low');
    expect(watch.observe(10)).toBeUndefined();
    expect(watch.observe(500)).toBeUndefined();
    expect(watch.observe(1000)).toBe('recovered');
    expect(watch.observe(2000)).toBeUndefined();
    expect(watch.observe(0)).toBe('low');
  });

  it('never reports with a threshold of 0', () => {
    const watch = new LowDiskWatch(0);
    expect(watch.observe(0)).toBeUndefined();
  });
});

describe('diskSpace', () => {
  it('counts the blocks the service user may write, not those kept for root', async () => {
    const space = await diskSpace('/', async () => ({ bsize: 512, blocks: 100, bfree: 40, bavail: 30 }));
    expect(space).toEqual({ totalBytes: 51_200, freeBytes: 15_360 });
  });
});
