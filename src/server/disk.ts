/**
 * @module server/disk
 *
 * Free space of the data folder: a gauge read at each scrape, and a warning logged once each
 * time it falls under `server.minFreeDiskBytes` (and a note when it recovers). Readiness does
 * not depend on it: a nearly full disk still takes writes, and the operator is told early.
 */
import type { Config } from '../config/types.js';
import { diskSpace, LowDiskWatch } from '../disk.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BackgroundTask } from './shutdown.js';
import type { StartServerOptions } from './types.js';

/** How often the server looks at the data folder's free space, ms. */
const DISK_CHECK_MS = 60_000;

export function watchDiskSpace(config: Config, opts: StartServerOptions, metrics: Metrics, logger: Logger): BackgroundTask {
  const sc = config.server;
  const readDisk = () => diskSpace(sc.dataDir, opts.statfs);
  metrics.setDiskFree(async () => (await readDisk()).freeBytes);
  if (sc.minFreeDiskBytes <= 0) return { stop: () => undefined };

  const lowDisk = new LowDiskWatch(sc.minFreeDiskBytes);
  const check = (): void => {
    readDisk().then(
      (disk) => {
        const crossed = lowDisk.observe(disk.freeBytes);
        const facts = { dataDir: sc.dataDir, freeBytes: disk.freeBytes, minFreeDiskBytes: sc.minFreeDiskBytes };
        if (crossed === 'low') logger.warn(facts, 'free disk space of the data folder is below server.minFreeDiskBytes; see `bluetick status` for what the store holds');
        else if (crossed === 'recovered') logger.info(facts, 'free disk space of the data folder is above server.minFreeDiskBytes again');
      },
      (err: unknown) => logger.debug({ err }, 'could not read the free disk space of the data folder'),
    );
  };
  check();
  const timer = setInterval(check, DISK_CHECK_MS).unref();
  return { stop: () => clearInterval(timer) };
}
