/**
 * `bluetick backup` and `bluetick restore` on real SQLite files. The backup runs in its own
 * process while a server keeps acknowledging signed POSTs; the copy must hold every body
 * acknowledged before the backup began (including those still in the inbox), and a server
 * started on the restored store must turn them all into events. Restore refuses what would
 * lose data: a file that is not a backup, an existing store without --force, a running server.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRestore } from '../src/cli/commands/backup.js';
import { resolveConfig } from '../src/config/resolve.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { ensureBuilt, runBin } from './helpers/dist.js';
import { inboundBody } from './helpers/meta-bodies.js';

const SECRET = 'backup-meta-secret';
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);

let root: string;

function start(dataDir: string, port = 0): Promise<ServerInternals> {
  const { config, errors } = resolveConfig({
    written: { adminToken: 'backup-admin-token-0123456789', server: { port, dataDir }, channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }] },
    cwd: dataDir,
    env: {},
  });
  expect(errors).toEqual([]);
  return launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, stream: { pollMs: 25 } });
}

function body(i: number): string {
  return inboundBody([{ id: `wamid.backup.${i}`, from: `1555000${String(i % 50).padStart(4, '0')}`, text: `message ${i}`, at: T0 + i * 1000 }]);
}

async function restore(file: string, dataDir: string, force = false) {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await runRestore(file, { data: dataDir, ...(force ? { force } : {}) }, { stdout, stderr: new PassThrough(), env: {}, cwd: root });
  return { code, out };
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bluetick-backup-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bluetick backup and restore', () => {
  let backupFile: string;
  const ackedBefore = new Set<string>();

  it('copies a serving store with every body acknowledged before it began', async () => {
    await ensureBuilt();
    const source = join(root, 'source');
    const running = await start(source);
    const acked: string[] = [];
    let enoughAcked!: () => void;
    const enough = new Promise<void>((resolve) => (enoughAcked = resolve));
    let stop = false;
    let next = 0;
    const load = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 8 }, () => body(next++));
        await Promise.all(
          batch.map(async (b) => {
            const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(b, SECRET) }, body: b });
            await res.arrayBuffer();
            if (res.status === 200 && acked.push(b) === 120) enoughAcked();
          }),
        );
      }
    })();
    try {
      await enough;
      for (const b of acked) ackedBefore.add(b);
      backupFile = join(root, 'copy.db');
      const res = await runBin(['backup', backupFile, '--data', source, '--json'], { cwd: root, timeoutMs: 60_000 });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const receipt = JSON.parse(res.stdout) as { journalRows: number; fromInbox: number };
      expect(receipt.journalRows).toBeGreaterThanOrEqual(ackedBefore.size);
    } finally {
      stop = true;
      await load;
      await running.close();
    }
    expect(acked.length).toBeGreaterThan(ackedBefore.size);
    expect((await stat(backupFile)).mode & 0o777).toBe(0o600);
    const copy = new Database(backupFile, { readonly: true });
    try {
      const bodies = new Set((copy.prepare('SELECT body FROM journal').all() as { body: Buffer }[]).map((r) => r.body.toString('utf8')));
      const missing = [...ackedBefore].filter((b) => !bodies.has(b));
      expect(missing).toEqual([]);
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      copy.close();
    }
    const again = await runBin(['backup', backupFile, '--data', source], { cwd: root });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists; a backup never overwrites a file/);
  }, 120_000);

  it('takes the acknowledged bodies still waiting in the inbox, as a killed server leaves them', async () => {
    const source = join(root, 'source');
    const store = new Database(join(source, 'bluetick.db'), { readonly: true });
    const last = (store.prepare('SELECT max(id) AS id FROM journal').get() as { id: number }).id;
    store.close();
    const inbox = new Database(join(source, 'bluetick.inbox.db'));
    const waiting = [9001, 9002, 9003].map((i) => body(i));
    const insert = inbox.prepare('INSERT INTO inbox (id, channel, received_at, remote_address, headers, body, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?)');
    waiting.forEach((b, i) => insert.run(last + 1 + i, 'meta', Date.now(), '127.0.0.1', '{}', Buffer.from(b), 'meta-signature'));
    inbox.close();
    await writeFile(join(source, 'erasure-key'), 'erasure-key-of-the-source\n', { mode: 0o600 });
    const file = join(root, 'with-inbox.db');
    const res = await runBin(['backup', file, '--data', source, '--json'], { cwd: root });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ fromInbox: 3 });
    const copy = new Database(file, { readonly: true });
    const rows = copy.prepare('SELECT id, state, body FROM journal WHERE id > ? ORDER BY id').all(last) as { id: number; state: string; body: Buffer }[];
    copy.close();
    expect(rows.map((r) => [r.id - last, r.state, r.body.toString('utf8')])).toEqual(waiting.map((b, i) => [i + 1, 'pending', b]));
  });

  it('carries the erasure key, without which erased people could come back after a restore', async () => {
    const target = join(root, 'with-key');
    expect((await restore(join(root, 'with-inbox.db'), target)).code).toBe(0);
    expect(await readFile(join(target, 'erasure-key'), 'utf8')).toBe('erasure-key-of-the-source\n');
    expect((await stat(join(target, 'erasure-key'))).mode & 0o777).toBe(0o600);
    const restored = new Database(join(target, 'bluetick.db'), { readonly: true });
    const copies = restored.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'backup_erasure_key'").get() as { n: number };
    restored.close();
    expect(copies.n).toBe(0);
  });

  it('restores into an empty data folder, and a server there records every acknowledged message', async () => {
    const target = join(root, 'restored');
    const res = await restore(backupFile, target);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^restored /);
    const running = await start(target);
    try {
      await running.pipeline.drain();
      const ids = new Set<string>();
      let after: number | undefined;
      for (;;) {
        const page = await running.store.events.list({ type: ['message.received'] }, { limit: 500, ...(after !== undefined ? { after } : {}) });
        for (const e of page.items) ids.add((e.event as { messageId?: string }).messageId ?? '');
        if (page.next === undefined) break;
        after = page.next;
      }
      const expected = [...ackedBefore].map((b) => (JSON.parse(b) as { entry: { changes: { value: { messages: { id: string }[] } }[] }[] }).entry[0]!.changes[0]!.value.messages[0]!.id);
      expect(expected.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await running.close();
    }
  }, 120_000);

  it('refuses an existing store without --force, and keeps it aside with it', async () => {
    const target = join(root, 'restored');
    await expect(restore(backupFile, target)).rejects.toMatchObject({ code: 'BT_ERR_CLI_USAGE', message: expect.stringMatching(/exists; --force moves the current store aside/) });
    const res = await restore(backupFile, target, true);
    expect(res.code).toBe(0);
    const names = await readdir(target);
    expect(names).toContain('bluetick.db');
    expect(names.some((n) => /^bluetick\.db\.before-restore-/.test(n))).toBe(true);
  });

  it('refuses while a server answers on the configured port', async () => {
    const target = join(root, 'busy');
    const port = await freePort();
    const running = await start(target, port);
    try {
      await expect(
        runRestore(backupFile, { data: target, force: true }, { stdout: new PassThrough(), stderr: new PassThrough(), env: { BLUETICK_PORT: String(port) }, cwd: root }),
      ).rejects.toThrow(/accepts connections on port \d+ \(a running server\?\); stop it first/);
    } finally {
      await running.close();
    }
  });

  it('refuses files that are not a bluetick backup', async () => {
    const junk = join(root, 'junk.db');
    await writeFile(junk, 'not a database at all, just text that is long enough to look like a header');
    await expect(restore(junk, join(root, 'x'))).rejects.toThrow(/cannot be restored/);
    const other = join(root, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    await expect(restore(other, join(root, 'y'))).rejects.toThrow(/not a bluetick store/);
    const newer = join(root, 'newer.db');
    const copy = new Database(backupFile, { readonly: true });
    await copy.backup(newer);
    copy.close();
    const n = new Database(newer);
    n.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, ?, 0)').run('9999_future');
    n.close();
    await expect(restore(newer, join(root, 'z'))).rejects.toThrow(/written by a newer bluetick \(migration 9999 unknown here\)/);
  });
});
