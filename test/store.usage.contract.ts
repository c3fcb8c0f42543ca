/**
 * Storage use by data class (`Store.storageUsage`), on every backend: bytes where a class has
 * rows, exact row counts, and the oldest item of each class from the timestamps given.
 * Called from `storeContract`.
 */
import { expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import { STORAGE_CLASSES, type StorageClassName, type StorageUsage } from '../src/store/usage.js';
import { journalInput, makeEvent } from './store.contract.js';

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);
const DAY = 86_400_000;

const cls = (u: StorageUsage, name: StorageClassName) => u.classes.find((c) => c.name === name)!;

export function usageContract(getStore: () => Store): void {
  it('lists every class with no rows and no oldest item on an empty store', async () => {
    const u = await getStore().storageUsage();
    expect(u.classes.map((c) => c.name)).toEqual([...STORAGE_CLASSES]);
    for (const name of ['journal', 'messages', 'statuses', 'accounts', 'deliveries', 'rejections'] as const) {
      expect(cls(u, name).rows).toBe(0);
      expect(cls(u, name).oldestAt).toBeUndefined();
    }
    expect(u.totalBytes).toBeGreaterThan(0);
  });

  it('sizes each class that holds data and finds its oldest item', async () => {
    const store = getStore();
    await store.deliveries.setRoutes([{ name: 'r', sink: 's' }]);
    // Journal rows 3 days, 2 days and 1 day old; events stored in that order.
    const ids = await store.journal.append([
      journalInput({ receivedAt: T0 - 3 * DAY, body: Buffer.alloc(3000, 97) }),
      journalInput({ receivedAt: T0 - 2 * DAY }),
      journalInput({ receivedAt: T0 - DAY }),
    ]);
    await store.journal.claim(10);
    const before = Date.now();
    await store.journal.record([
      {
        journalId: ids[0]!,
        state: 'processed',
        events: [
          makeEvent({ id: 'm-old', receivedAt: T0 - 3 * DAY }),
          makeEvent({ id: 's-old', type: 'message.status', receivedAt: T0 - 3 * DAY + 5 }),
        ],
      },
      { journalId: ids[1]!, state: 'processed', events: [makeEvent({ id: 't-1', type: 'template.status', receivedAt: T0 - 2 * DAY })] },
      {
        journalId: ids[2]!,
        state: 'processed',
        events: [makeEvent({ id: 'm-new', receivedAt: T0 - DAY }), makeEvent({ id: 's-new', type: 'message.status', receivedAt: T0 - DAY })],
      },
    ]);
    const after = Date.now();
    await store.rejections.add(
      [
        { at: T0 - 4 * DAY, cause: 'unauthorized', method: 'POST', path: '/webhooks/main' },
        { at: T0, cause: 'unauthorized', method: 'POST', path: '/webhooks/main' },
      ],
      10,
    );

    const u = await store.storageUsage();
    expect(u.sizing).not.toBe('unavailable');
    expect(cls(u, 'journal')).toMatchObject({ rows: 3, oldestAt: T0 - 3 * DAY });
    expect(cls(u, 'messages')).toMatchObject({ rows: 2, oldestAt: T0 - 3 * DAY, tables: ['events'] });
    expect(cls(u, 'statuses')).toMatchObject({ rows: 2, oldestAt: T0 - 3 * DAY + 5 });
    expect(cls(u, 'accounts')).toMatchObject({ rows: 1, oldestAt: T0 - 2 * DAY });
    expect(cls(u, 'rejections')).toMatchObject({ rows: 2, oldestAt: T0 - 4 * DAY });
    // Five events, one delivery each through route r; no attempts yet.
    const deliveries = cls(u, 'deliveries');
    expect(deliveries.rows).toBe(5);
    expect(deliveries.oldestAt).toBeGreaterThanOrEqual(before);
    expect(deliveries.oldestAt).toBeLessThanOrEqual(after);
    for (const name of ['journal', 'messages', 'statuses', 'accounts', 'deliveries', 'rejections'] as const) {
      expect(cls(u, name).bytes, name).toBeGreaterThan(0);
    }
    // The events table is shared out between its three classes, and the shares are marked.
    const events = u.tables.find((t) => t.name === 'events')!;
    const shares = cls(u, 'messages').bytes + cls(u, 'statuses').bytes + cls(u, 'accounts').bytes;
    expect(Math.abs(shares - events.bytes)).toBeLessThanOrEqual(2);
    expect(cls(u, 'messages').bytesEstimated).toBe(true);
    expect(cls(u, 'journal').bytesEstimated).toBe(false);
    expect(cls(u, 'journal').tables).toContain('journal');
    // Every table counts once: the classes add up to the tables (plus SQLite's free pages).
    const tableSum = u.tables.reduce((s, t) => s + t.bytes, 0);
    const classSum = u.classes.reduce((s, c) => s + c.bytes, 0);
    expect(Math.abs(classSum - tableSum - (u.freeBytes ?? 0))).toBeLessThanOrEqual(2);
    expect(tableSum).toBeLessThanOrEqual(u.totalBytes);
  });
}
