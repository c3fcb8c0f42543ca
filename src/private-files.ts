/**
 * @module private-files
 *
 * The data folder holds raw webhook bodies, message text and phone numbers, and the admin
 * token: it is private to the service user. The folder is created 0700 and every file in it
 * 0600, whatever the process umask. SQLite creates its `-wal` and `-shm` files with the mode
 * of the database file, so creating the database file 0600 before SQLite opens it is enough.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Mode of the data folder. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file in it. */
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700 when it does not exist; an existing folder is left as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `file` empty with mode 0600 when it does not exist (an empty file is a new SQLite
 * database). An existing file is left untouched.
 */
export function ensurePrivateFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
}

/**
 * Writes `data` to `file` (0600) so that it survives a power cut whole or not at all: a
 * temporary file beside it is written and synced, then linked into place (`exclusive`: throws
 * `EEXIST` when `file` exists, so two processes racing agree on one content) or renamed over
 * it, and the folder is synced. A plain write can leave an empty file after a power cut, which
 * a later start reads as missing and cannot replace.
 */
export function writePrivateFileDurably(file: string, data: string, options: { exclusive: boolean }): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, PRIVATE_FILE_MODE);
  try {
    const bytes = Buffer.from(data, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (options.exclusive) linkSync(tmp, file);
    else renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  syncFolder(dirname(file));
}

/** Makes a folder's entries durable; platforms that cannot sync a folder skip it. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // The link or rename is atomic either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A path whose mode lets users other than the owner read or enter it. */
export interface LooseMode {
  path: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/**
 * The folder and the files directly in it whose group or other permission bits are set.
 * Missing paths are skipped.
 */
export function findLooseModes(dir: string): LooseMode[] {
  const loose: LooseMode[] = [];
  const check = (path: string): void => {
    try {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o077) !== 0) loose.push({ path, mode });
    } catch {
      // Gone meanwhile, or not ours to read: nothing to report.
    }
  };
  check(dir);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return loose;
  }
  for (const name of names.sort()) check(join(dir, name));
  return loose;
}
