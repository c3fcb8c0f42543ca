/**
 * @module api/endpoints/storage
 *
 * `GET /api/storage`: what the store takes on disk by data class (bytes, rows, oldest item),
 * the data folder's SQLite files, and the free space of its filesystem. Measuring the store
 * reads every page on SQLite, so one measurement serves every caller for `cacheMs` (a minute
 * by default), and callers arriving while one runs wait for it instead of starting another.
 * File sizes and free space are read fresh each time (a `stat` each).
 */
import { dataFiles, DEFAULT_MIN_FREE_DISK_BYTES, diskSpace, type StatFs } from '../../disk.js';
import { formatRetentionDuration, RETENTION_ACTIONS, type RetentionLimits } from '../../retention/policy.js';
import { STORAGE_CLASS_LABELS, STORAGE_CLASS_RETENTION, type StorageClassName, type StorageUsage } from '../../store/usage.js';
import type { RestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { storageSchema } from '../schemas.js';
import { isoOf } from '../views.js';

export interface StorageEndpointOptions {
  /** The data folder; without it no files or disk space are shown. */
  dataDir?: string;
  /** The SQLite file name inside it (default `bluetick.db`); absent with PostgreSQL. */
  dbFile?: string;
  /** `server.minFreeDiskBytes`. Default 1 GiB. */
  minFreeDiskBytes?: number;
  /** How long one measurement of the store is served, ms. Default 60 000. */
  cacheMs?: number;
  /** Injected in tests to play a full disk. */
  statfs?: StatFs;
  /** The configured age limits (`retention`), shown next to the class each one ages out. */
  retention?: RetentionLimits;
}

export const STORAGE_CACHE_MS = 60_000;

export function registerStorageEndpoints(router: ApiRouter, ctx: RestContext, opts: StorageEndpointOptions = {}): void {
  const cacheMs = opts.cacheMs ?? STORAGE_CACHE_MS;
  const minFree = opts.minFreeDiskBytes ?? DEFAULT_MIN_FREE_DISK_BYTES;
  let cached: { at: number; usage: Promise<StorageUsage> } | undefined;

  const measure = (now: number): { at: number; usage: Promise<StorageUsage> } => {
    if (cached !== undefined && now - cached.at < cacheMs) return cached;
    const entry = { at: now, usage: ctx.store.storageUsage() };
    cached = entry;
    // A failed measurement is not kept: the next caller tries again.
    entry.usage.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry;
  };

  router.get(
    {
      path: '/api/storage',
      operationId: 'getStorage',
      tag: 'stats',
      summary: 'Disk use by data class, the data files and free disk space',
      response: storageSchema,
    },
    async () => {
      const now = ctx.now();
      const entry = measure(now);
      const [usage, files, disk] = await Promise.all([
        entry.usage,
        opts.dataDir !== undefined && opts.dbFile !== undefined ? dataFiles(opts.dataDir, opts.dbFile) : Promise.resolve([]),
        opts.dataDir !== undefined ? diskSpace(opts.dataDir, opts.statfs) : Promise.resolve(undefined),
      ]);
      return {
        at: isoOf(now),
        measuredAt: isoOf(entry.at),
        dialect: usage.dialect,
        sizing: usage.sizing,
        totalBytes: usage.totalBytes,
        ...(usage.freeBytes !== undefined ? { freeBytes: usage.freeBytes } : {}),
        classes: usage.classes.map((c) => ({
          name: c.name,
          label: STORAGE_CLASS_LABELS[c.name],
          bytes: c.bytes,
          bytesEstimated: c.bytesEstimated,
          ...(c.rows !== undefined ? { rows: c.rows } : {}),
          ...(c.oldestAt !== undefined ? { oldestAt: isoOf(c.oldestAt) } : {}),
          tables: c.tables,
          ...retentionOf(c.name, opts.retention),
        })),
        tables: usage.tables,
        files,
        ...(disk !== undefined
          ? { disk: { totalBytes: disk.totalBytes, freeBytes: disk.freeBytes, minFreeBytes: minFree, low: minFree > 0 && disk.freeBytes < minFree } }
          : {}),
      };
    },
  );
}

/** The rule that ages a class out, with its limit as written (`30d`, `none`) and what it does. */
function retentionOf(name: StorageClassName, limits: RetentionLimits | undefined) {
  const rule = STORAGE_CLASS_RETENTION[name];
  if (limits === undefined || rule === undefined) return {};
  return { retention: { rule, keep: formatRetentionDuration(limits[rule]), action: RETENTION_ACTIONS[rule] } };
}
