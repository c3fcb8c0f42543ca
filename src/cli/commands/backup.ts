/**
 * @module cli/commands/backup
 *
 * `bluetick backup FILE` and `bluetick restore FILE` for the SQLite store.
 *
 * Backup works while the server runs and takes one consistent copy:
 * 1. The inbox (`bluetick.inbox.db`: bodies already acknowledged that the pipeline has not
 *    copied into the journal yet) is read first.
 * 2. `VACUUM INTO` writes the store as of one read transaction into a new file: the journal,
 *    events, projections and deliveries all agree with each other.
 * 3. The inbox rows the copy's journal does not have are added to it as pending rows, ids
 *    unchanged, exactly as the store's own import does.
 * Every body acknowledged before the backup began is therefore in the copy: it was in the
 * inbox at step 1, or in the journal before step 2. The erasure key (`<data>/erasure-key`),
 * without which the tombstones of erased people cannot be matched, goes into the copy too (a
 * `backup_erasure_key` table; restore writes it back). The copy is synced and renamed into
 * place (0600); an existing file is never overwritten.
 *
 * Restore checks the file (SQLite integrity check, a bluetick journal, no migration newer
 * than this version knows), refuses while a server answers on the configured port, moves the
 * current store files aside (`*.before-restore-<time>`, never deleted) and installs a synced
 * copy. The next `serve` migrates it if needed and processes its pending rows.
 *
 * PostgreSQL has its own tools: `pg_dump` of the database (one consistent snapshot), see
 * the README.
 */
import { copyFileSync, existsSync, fsyncSync, openSync, closeSync, readFileSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { BluetickError } from '../../errors.js';
import { loadMigrations } from '../../store/migrate.js';
import { DEFAULT_DB_FILE } from '../../store/open.js';
import { erasureKeyFileFor } from '../../store/sqlite/erasure.js';
import { inboxFileFor } from '../../store/sqlite/thread/inbox.js';
import { PRIVATE_FILE_MODE, ensurePrivateDir, writePrivateFileDurably } from '../../private-files.js';
import { loadStoreConfig, type StoreCommandOptions } from '../store-config.js';

export interface BackupCommandOptions extends StoreCommandOptions {
  json?: boolean;
}

export interface RestoreCommandOptions extends StoreCommandOptions {
  force?: boolean;
  json?: boolean;
}

export interface BackupIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface BackupReceipt {
  file: string;
  bytes: number;
  journalRows: number;
  /** Of those, acknowledged bodies taken from the inbox. */
  fromInbox: number;
  events: number;
  ms: number;
}

type InboxRow = [id: number, channel: string, receivedAt: number, remoteAddress: string | null, headers: string, body: Buffer, verifiedBy: string];

function usage(message: string): BluetickError {
  return new BluetickError('BT_ERR_CLI_USAGE', message);
}

function syncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform syncs a folder; the rename is atomic either way.
  }
}

async function sqliteFileOf(opts: StoreCommandOptions, io: BackupIo, verb: string): Promise<{ file: string; port: number; host: string }> {
  const config = await loadStoreConfig(opts, io);
  if (config.store !== undefined) {
    throw usage(
      `${verb}: the store is PostgreSQL; use pg_dump (backup) and pg_restore or psql (restore) on its database, as the README's "Your data" section says`,
    );
  }
  return { file: resolve(config.server.dataDir, DEFAULT_DB_FILE), port: config.server.port, host: config.server.host };
}

/** The rows of an inbox file, oldest first; none when there is no inbox. */
function readInbox(file: string): InboxRow[] {
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inbox'").get();
    if (exists === undefined) return [];
    return db
      .prepare('SELECT id, channel, received_at, remote_address, headers, body, verified_by FROM inbox ORDER BY id')
      .raw()
      .all() as InboxRow[];
  } finally {
    db.close();
  }
}

export async function runBackup(target: string, opts: BackupCommandOptions, io: BackupIo): Promise<number> {
  const started = Date.now();
  const dest = resolve(io.cwd, target);
  if (existsSync(dest)) throw usage(`backup: ${target} exists; a backup never overwrites a file`);
  const { file } = await sqliteFileOf(opts, io, 'backup');
  if (!existsSync(file)) throw usage(`backup: no store at ${file} (--data names the data folder)`);

  const inboxRows = readInbox(inboxFileFor(file));
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  const source = new Database(file, { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 10000');
    source.prepare('VACUUM INTO ?').run(tmp);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new BluetickError('BT_ERR_STORE_UNAVAILABLE', `backup: cannot copy ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    source.close();
  }

  let receipt: BackupReceipt;
  try {
    chmodSync(tmp, PRIVATE_FILE_MODE);
    const copy = new Database(tmp);
    try {
      const last = (copy.prepare('SELECT coalesce(max(id), 0) AS id FROM journal').get() as { id: number }).id;
      const missing = inboxRows.filter((row) => row[0] > last);
      const insert = copy.prepare(
        'INSERT OR IGNORE INTO journal (id, channel, received_at, remote_address, headers, body, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      const keyFile = erasureKeyFileFor(file);
      const erasureKey = keyFile !== undefined && existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined;
      copy.transaction(() => {
        for (const row of missing) insert.run(...row);
        if (erasureKey !== undefined) {
          copy.exec('CREATE TABLE backup_erasure_key (key TEXT NOT NULL)');
          copy.prepare('INSERT INTO backup_erasure_key (key) VALUES (?)').run(erasureKey);
        }
      })();
      const journalRows = (copy.prepare('SELECT count(*) AS n FROM journal').get() as { n: number }).n;
      const events = (copy.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      copy.pragma('journal_mode = DELETE');
      receipt = { file: dest, bytes: 0, journalRows, fromInbox: missing.length, events, ms: 0 };
    } finally {
      copy.close();
    }
    syncFile(tmp);
    if (existsSync(dest)) throw usage(`backup: ${target} appeared while the backup ran; it was left alone`);
    renameSync(tmp, dest);
    syncFolder(dirname(dest));
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  receipt.bytes = statSync(dest).size;
  receipt.ms = Date.now() - started;
  if (opts.json) io.stdout.write(`${JSON.stringify(receipt)}\n`);
  else {
    io.stdout.write(
      `backed up ${receipt.journalRows} journal rows (${receipt.fromInbox} acknowledged bodies from the inbox, still to be processed) and ` +
        `${receipt.events} events to ${target} (${(receipt.bytes / 1048576).toFixed(1)} MiB) in ${(receipt.ms / 1000).toFixed(2)} s\n`,
    );
  }
  return 0;
}

/** Why `file` is not a backup this version can restore, or undefined when it is one. */
async function checkBackup(file: string): Promise<string | undefined> {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    return `cannot open it as SQLite (${(error as Error).message})`;
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') return `SQLite's integrity check fails: ${String(integrity)}`;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    if (!tables.has('journal') || !tables.has('schema_migrations')) return 'it is not a bluetick store (no journal)';
    const applied = (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version);
    const known = new Set((await loadMigrations('sqlite')).map((m) => m.version));
    const newer = applied.filter((v) => !known.has(v));
    if (newer.length > 0) return `it was written by a newer bluetick (migration ${newer.join(', ')} unknown here); upgrade first`;
    return undefined;
  } catch (error) {
    return `it cannot be read (${(error as Error).message})`;
  } finally {
    db.close();
  }
}

/**
 * The erasure key a backup carries, if the store it came from had one. It is taken out of the
 * copy being installed, so the restored store holds the key only in its 0600 file.
 */
function takeBackupErasureKey(file: string): string | undefined {
  const db = new Database(file, { fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backup_erasure_key'").get();
    if (table === undefined) return undefined;
    const key = (db.prepare('SELECT key FROM backup_erasure_key').get() as { key: string } | undefined)?.key;
    db.exec('DROP TABLE backup_erasure_key');
    return key;
  } finally {
    db.close();
  }
}

/** Whether something accepts connections on the configured port (plain HTTP or TLS alike). */
function serverAnswers(host: string, port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  const name = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((done) => {
    const socket = connect({ host: name, port, timeout: 1500 });
    const finish = (answered: boolean): void => {
      socket.destroy();
      done(answered);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

export async function runRestore(source: string, opts: RestoreCommandOptions, io: BackupIo): Promise<number> {
  const from = resolve(io.cwd, source);
  if (!existsSync(from)) throw usage(`restore: ${source} does not exist`);
  const { file, port, host } = await sqliteFileOf(opts, io, 'restore');
  const why = await checkBackup(from);
  if (why !== undefined) throw usage(`restore: ${source} cannot be restored: ${why}`);
  if (await serverAnswers(host, port)) throw usage(`restore: something accepts connections on port ${port} (a running server?); stop it first`);

  const current = [file, `${file}-wal`, `${file}-shm`, inboxFileFor(file), `${inboxFileFor(file)}-wal`, `${inboxFileFor(file)}-shm`].filter((f) => existsSync(f));
  if (current.length > 0 && opts.force !== true) {
    throw usage(`restore: ${file} exists; --force moves the current store aside (kept as *.before-restore-<time>) and installs the backup`);
  }
  ensurePrivateDir(dirname(file));
  const tmp = `${file}.restore-${process.pid}.tmp`;
  copyFileSync(from, tmp);
  chmodSync(tmp, PRIVATE_FILE_MODE);
  const erasureKey = takeBackupErasureKey(tmp);
  syncFile(tmp);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const movedAside: string[] = [];
  for (const f of current) {
    const aside = `${f}.before-restore-${stamp}`;
    renameSync(f, aside);
    movedAside.push(aside);
  }
  const keyFile = erasureKeyFileFor(file);
  if (keyFile !== undefined && existsSync(keyFile)) {
    const aside = `${keyFile}.before-restore-${stamp}`;
    renameSync(keyFile, aside);
    movedAside.push(aside);
  }
  if (keyFile !== undefined && erasureKey !== undefined) writePrivateFileDurably(keyFile, `${erasureKey}\n`, { exclusive: true });
  renameSync(tmp, file);
  syncFolder(dirname(file));
  if (opts.json) io.stdout.write(`${JSON.stringify({ file, from, movedAside })}\n`);
  else {
    io.stdout.write(`restored ${source} into ${file}; the next start processes its pending rows\n`);
    for (const aside of movedAside) io.stdout.write(`  kept the previous ${basename(aside)}\n`);
  }
  return 0;
}
