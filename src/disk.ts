/**
 * @module disk
 *
 * The data folder on disk: the size of the store's files (database, its WAL, the inbox and
 * its WAL) and the free space of the filesystem holding them. `GET /api/storage`,
 * `bluetick status`, the console, `bluetick doctor`, `/metrics` and the server's low-space
 * warning all read it from here. `statfs` is injectable so tests can play a full disk.
 */
import { statfs as fsStatfs, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/** What `fs.statfs` answers that matters here (block counts in units of `bsize`). */
export interface StatFsResult {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}
export type StatFs = (path: string) => Promise<StatFsResult>;

export interface DiskSpace {
  /** Size of the filesystem. */
  totalBytes: number;
  /** Space the service user can still write (`bavail`: without the blocks kept for root). */
  freeBytes: number;
}

/** Below this much free space the server warns and `bluetick doctor` says so: 1 GiB. */
export const DEFAULT_MIN_FREE_DISK_BYTES = 1024 * 1024 * 1024;

/** Free and total space of the filesystem holding `path`. */
export async function diskSpace(path: string, statfs: StatFs = fsStatfs): Promise<DiskSpace> {
  const s = await statfs(path);
  return { totalBytes: Number(s.blocks) * Number(s.bsize), freeBytes: Number(s.bavail) * Number(s.bsize) };
}

export interface DataFile {
  /** File name inside the data folder (or the absolute path of a database kept elsewhere). */
  name: string;
  role: 'database' | 'database-wal' | 'inbox' | 'inbox-wal';
  bytes: number;
}

/** The SQLite files of the store, those that exist, with their sizes. */
export async function dataFiles(dataDir: string, dbFile: string): Promise<DataFile[]> {
  // Loaded here, not at the top: `bluetick doctor` reads free space without loading SQLite.
  const { inboxFileFor } = await import('./store/sqlite/thread/inbox.js');
  const db = isAbsolute(dbFile) ? dbFile : join(dataDir, dbFile);
  const inbox = inboxFileFor(db);
  const candidates: Array<[string, DataFile['role']]> = [
    [db, 'database'],
    [`${db}-wal`, 'database-wal'],
    [inbox, 'inbox'],
    [`${inbox}-wal`, 'inbox-wal'],
  ];
  const out: DataFile[] = [];
  for (const [path, role] of candidates) {
    try {
      const s = await stat(path);
      const name = path.startsWith(`${dataDir}/`) ? path.slice(dataDir.length + 1) : path;
      out.push({ name, role, bytes: s.size });
    } catch {
      // Not there (PostgreSQL, or an inbox never opened): nothing to show.
    }
  }
  return out;
}

/**
 * Remembers which side of the threshold free space was last seen on, so a low-space warning
 * is logged once per crossing rather than on every check.
 */
export class LowDiskWatch {
  readonly #minFreeBytes: number;
  #low = false;
  constructor(minFreeBytes: number) {
    this.#minFreeBytes = minFreeBytes;
  }

  /** `'low'` when free space just fell under the threshold, `'recovered'` when it just rose back, else `undefined`. */
  observe(freeBytes: number): 'low' | 'recovered' | undefined {
    if (this.#minFreeBytes <= 0) return undefined;
    const low = freeBytes < this.#minFreeBytes;
    if (low === this.#low) return undefined;
    this.#low = low;
    return low ? 'low' : 'recovered';
  }
}
