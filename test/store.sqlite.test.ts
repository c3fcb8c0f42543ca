import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BluetickError } from '../src/errors.js';
import { loadMigrations, migrationsDir, runMigrations } from '../src/store/migrate.js';
import { openStore } from '../src/store/open.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { journalInput, makeEvent, storeContract } from './store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bluetick-store-'));
}

storeContract('sqlite', async () => {
  const dir = await tempDir();
  const store = await openStore({ dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite store', () => {
  let dir: string;
  const open: Store[] = [];

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openIn(opts: Partial<Parameters<typeof openStore>[0]> = {}): Promise<SqliteStore> {
    const store = (await openStore({ dataDir: dir, ...opts })) as SqliteStore;
    open.push(store);
    return store;
  }

  async function reopen(store: Store): Promise<SqliteStore> {
    await store.close();
    open.splice(open.indexOf(store), 1);
    return openIn();
  }

  describe('opening', () => {
    it('creates the data folder and bluetick.db inside it', async () => {
      dir = join(dir, 'nested', 'data');
      await openIn();
      expect(existsSync(join(dir, 'bluetick.db'))).toBe(true);
    });

    it('uses WAL, synchronous=FULL, a short busy timeout and a checkpoint worker with a high backstop', async () => {
      const store = await openIn();
      expect(store.settings()).toEqual({
        journalMode: 'wal',
        synchronous: 2,
        busyTimeoutMs: 50,
        walAutocheckpoint: 4000,
        foreignKeys: true,
        checkpointWorker: true,
        pageSize: 8192,
      });
      // WAL is a property of the file: another connection sees it too.
      const other = new Database(store.file, { readonly: true });
      try {
        expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        other.close();
      }
    });

    it('keeps the page size of a file made before 8 KiB pages, with its rows', async () => {
      const file = join(dir, 'bluetick.db');
      const old = new Database(file);
      old.pragma('page_size = 4096');
      old.pragma('journal_mode = WAL');
      old.exec('CREATE TABLE kept (v TEXT)');
      old.prepare('INSERT INTO kept (v) VALUES (?)').run('before');
      old.close();
      const store = await openIn();
      expect(store.settings().pageSize).toBe(4096);
      await store.journal.append([journalInput()]);
      const again = new Database(file, { readonly: true });
      try {
        expect(again.prepare('SELECT v FROM kept').pluck().all()).toEqual(['before']);
        expect(again.pragma('page_size', { simple: true })).toBe(4096);
      } finally {
        again.close();
      }
    });

    it('keeps automatic checkpoints when the worker is turned off', async () => {
      const store = await openIn({ checkpointIntervalMs: 0 });
      expect(store.settings()).toMatchObject({ walAutocheckpoint: 1000, checkpointWorker: false });
    });

    it('can leave every checkpoint to the worker', async () => {
      const store = await openIn({ walAutocheckpointPages: 0 });
      expect(store.settings()).toMatchObject({ walAutocheckpoint: 0, checkpointWorker: true });
    });
  });

  describe('raw bytes', () => {
    const bodies: Array<[string, Buffer]> = [
      ['odd whitespace and key order', Buffer.from(' \t{ "b" :1 ,\r\n  "a":[ ] }\n\n')],
      ['escaped unicode kept escaped', Buffer.from('{"text":"caf\\u00e9 \\ud83d\\ude00 \\"q\\""}')],
      ['raw multi-byte UTF-8', Buffer.from('{"text":"café 😀 مرحبا"}', 'utf8')],
      ['invalid UTF-8 bytes', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3, 0x28, 0xff, 0xfe, 0x80, 0x7d])],
      ['NUL bytes', Buffer.from([0x00, 0x7b, 0x00, 0x7d, 0x00])],
      ['a byte order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])],
      ['an empty body', Buffer.alloc(0)],
    ];

    it.each(bodies)('round-trips %s byte for byte, also after reopening', async (_name, body) => {
      let store = await openIn();
      const [id] = await store.journal.append([journalInput({ body })]);
      expect((await store.journal.get(id!))!.body.equals(body)).toBe(true);
      expect((await store.journal.claim(1))[0]!.body.equals(body)).toBe(true);
      store = await reopen(store);
      const again = (await store.journal.get(id!))!.body;
      expect(again.equals(body)).toBe(true);
      expect(again.length).toBe(body.length);
    });

    it('stores the body as a BLOB, never as text', async () => {
      const store = await openIn();
      await store.journal.append([journalInput({ body: Buffer.from('{"a":1}') })]);
      await store.close();
      open.length = 0;
      const db = new Database(join(dir, 'bluetick.db'), { readonly: true });
      try {
        expect(db.prepare('SELECT typeof(body) AS t FROM journal').pluck().get()).toBe('blob');
      } finally {
        db.close();
      }
    });
  });

  describe('restart', () => {
    it('keeps journal rows, events, states and counters across close and reopen', async () => {
      let store = await openIn();
      const ids = await store.journal.append([journalInput(), journalInput(), journalInput({ channel: 'later' })]);
      await store.journal.claim(2);
      const e = makeEvent({ id: 'evt_keep', type: 'template.status' });
      await store.journal.record([
        { journalId: ids[0]!, state: 'processed', events: [e] },
        { journalId: ids[1]!, state: 'processed', events: [e] },
      ]);
      await store.rejections.add([{ at: 1, cause: 'unauthorized', method: 'POST', path: '/webhooks/x' }], 10);
      const before = await store.counts();

      store = await reopen(store);
      expect(await store.counts()).toEqual(before);
      expect(await store.events.get('evt_keep')).toMatchObject({ event: e, journalId: ids[0], duplicates: 1 });
      expect((await store.journal.get(ids[1]!))?.state).toBe('duplicate');
      // The pending row is claimed again by the new process.
      expect((await store.journal.claim(10)).map((r) => r.id)).toEqual([ids[2]]);
    });

    it('hands out rows claimed but never recorded by a process that stopped, one at a time with their attempt counted', async () => {
      let store = await openIn();
      const ids = await store.journal.append([journalInput(), journalInput(), journalInput()]);
      expect(await store.journal.claim(2)).toHaveLength(2);
      store = await reopen(store);
      const first = await store.journal.claim(10);
      expect(first.map((r) => [r.id, r.attempts])).toEqual([[ids[0], 1]]);
      await store.journal.record([{ journalId: ids[0]!, state: 'processed', events: [] }]);
      expect((await store.journal.claim(10)).map((r) => [r.id, r.attempts])).toEqual([[ids[1], 1]]);
      // A row the stopped process never took is a fresh one.
      expect((await store.journal.claim(10)).map((r) => [r.id, r.attempts])).toEqual([[ids[2], undefined]]);
    });

    it('keeps ids increasing after the newest rows were deleted (no id reuse)', async () => {
      let store = await openIn();
      const [a] = await store.journal.append([journalInput()]);
      await store.close();
      open.length = 0;
      const db = new Database(join(dir, 'bluetick.db'));
      db.prepare('DELETE FROM journal').run();
      db.close();
      store = await openIn();
      const [b] = await store.journal.append([journalInput()]);
      expect(b).toBeGreaterThan(a!);
    });
  });

  describe('migrations', () => {
    it('finds the migrations folder from the package root', async () => {
      expect(existsSync(join(migrationsDir('sqlite'), '0001_init.sql'))).toBe(true);
      const all = await loadMigrations('sqlite');
      expect(all[0]).toMatchObject({ version: 1, name: '0001_init' });
      expect(all.map((m) => m.version)).toEqual([...all.map((m) => m.version)].sort((a, b) => a - b));
    });

    it('applies every migration once and nothing on later opens', async () => {
      let store = await openIn();
      expect(await store.migrate()).toEqual({ applied: [] });
      store = await reopen(store);
      expect(await store.migrate()).toEqual({ applied: [] });
      const db = new Database(join(dir, 'bluetick.db'), { readonly: true });
      try {
        const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
        expect(rows).toEqual((await loadMigrations('sqlite')).map((m) => ({ version: m.version, name: m.name })));
      } finally {
        db.close();
      }
    });

    it('reports the applied migrations on a fresh file', async () => {
      const store = new SqliteStore(join(dir, 'fresh.db'), { checkpointIntervalMs: 0 });
      open.push(store);
      const names = (await loadMigrations('sqlite')).map((m) => m.name);
      expect(await store.migrate()).toEqual({ applied: names });
    });

    it('refuses a database migrated by a newer version', async () => {
      const store = await openIn();
      await store.close();
      open.length = 0;
      const db = new Database(join(dir, 'bluetick.db'));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, ?, 0)').run('9999_future');
      db.close();
      const err = await openStore({ dataDir: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BluetickError);
      expect((err as BluetickError).code).toBe('BT_ERR_STORE_MIGRATION');
      expect((err as BluetickError).message).toMatch(/9999/);
    });

    it('rolls back a failing migration whole and does not record it', async () => {
      const migDir = join(dir, 'migs');
      await mkdir(migDir);
      await writeFile(join(migDir, '0001_ok.sql'), 'CREATE TABLE t1 (a INTEGER);');
      await writeFile(join(migDir, '0002_bad.sql'), 'CREATE TABLE t2 (a INTEGER); INSERT INTO nowhere VALUES (1);');
      await writeFile(join(migDir, 'README.md'), 'not a migration');
      const store = new SqliteStore(join(dir, 'custom.db'), { checkpointIntervalMs: 0 });
      open.push(store);
      const migrations = await loadMigrations('sqlite', migDir);
      expect(migrations.map((m) => m.name)).toEqual(['0001_ok', '0002_bad']);
      const err = await runMigrations(store.migrationTarget(), migrations).catch((e: unknown) => e);
      expect((err as BluetickError).code).toBe('BT_ERR_STORE_MIGRATION');
      expect((err as BluetickError).message).toMatch(/0002_bad/);
      await store.close();
      open.length = 0;
      const db = new Database(join(dir, 'custom.db'), { readonly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
        expect(tables).toContain('t1');
        expect(tables).not.toContain('t2');
        expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
      } finally {
        db.close();
      }
    });

    it('rejects two migrations with the same number', async () => {
      const migDir = join(dir, 'dupes');
      await mkdir(migDir);
      await writeFile(join(migDir, '0001_a.sql'), 'SELECT 1;');
      await writeFile(join(migDir, '0001_b.sql'), 'SELECT 1;');
      await expect(loadMigrations('sqlite', migDir)).rejects.toMatchObject({ code: 'BT_ERR_STORE_MIGRATION' });
    });
  });

  describe('a database locked by another connection', () => {
    it('fails an append fast with SQLITE_BUSY, stores nothing, and works again once released', async () => {
      const store = await openIn();
      const locker = new Database(store.file);
      locker.exec('BEGIN EXCLUSIVE');
      try {
        // Fails instead of waiting for the lock (a wait would outlast the test's timeout).
        await expect(store.journal.append([journalInput()])).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
        await expect(store.ping()).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
      expect((await store.counts()).lastJournalId).toBe(0);
      await expect(store.ping()).resolves.toBeUndefined();
      expect(await store.journal.append([journalInput()])).toHaveLength(1);
    });
  });

  describe('checkpoints', () => {
    it('truncates the WAL off the request path once writes stop', async () => {
      const store = await openIn({ checkpointIntervalMs: 20, walAutocheckpointPages: 0 });
      const wal = `${store.file}-wal`;
      for (let i = 0; i < 20; i++) {
        await store.journal.append(Array.from({ length: 10 }, () => journalInput({ body: Buffer.alloc(4096, 0x61) })));
      }
      expect(statSync(wal).size).toBeGreaterThan(100_000);
      // Each idle TRUNCATE the worker completes is reported; no clock bounds the wait (a worker
      // that never truncates fails the test at its timeout). A truncation between two of the
      // appends above does not count: wait until one leaves the file empty with writes stopped.
      for (;;) {
        const next = store.nextWalTruncate();
        if (statSync(wal).size === 0) break;
        expect(await next, 'the checkpoint worker truncated the WAL before it stopped').toBe(true);
      }
      expect(statSync(wal).size).toBe(0);
      // The data is in the main file now and still readable.
      expect((await store.counts()).journal.pending).toBe(200);
    });

    it('bounds the WAL under sustained writes with the commit backstop', async () => {
      const store = await openIn({ checkpointIntervalMs: 60_000, walAutocheckpointPages: 100 });
      const wal = `${store.file}-wal`;
      let largest = 0;
      for (let i = 0; i < 50; i++) {
        await store.journal.append(Array.from({ length: 10 }, () => journalInput({ body: Buffer.alloc(4096, 0x62) })));
        largest = Math.max(largest, statSync(wal).size);
      }
      // 2 MB went through; 100 pages plus one 10-row commit is well under 1 MB.
      expect(largest).toBeLessThan(1_000_000);
      expect((await store.counts()).journal.pending).toBe(500);
    });
  });
});
