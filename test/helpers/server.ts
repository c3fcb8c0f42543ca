/**
 * A real bluetick server for suites that talk to it over loopback: its own SQLite data folder
 * in the temp directory, an ephemeral port, no logs, and a quick pipeline poll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { WrittenConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { launchServer, type ServerInternals } from '../../src/server.js';

export interface TempServer {
  /** The data folder (also the config's working directory). */
  dir: string;
  running: ServerInternals;
  port: number;
  /** The admin token (configured, or generated in `dir`). */
  token: string;
  /** `{ authorization: 'Bearer <token>' }`, for requests to `/api`. */
  auth: { authorization: string };
  /** Stops the server and removes its data folder. */
  close(): Promise<void>;
}

/**
 * Starts a server from `written` (its `server.port` and `server.dataDir` are set here) in a
 * fresh folder named with `prefix`. The config must resolve without errors.
 */
export async function startTempServer(prefix: string, written: WrittenConfigInput): Promise<TempServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let running: ServerInternals;
  try {
    const result = resolveConfig({ written: { ...written, server: { ...written.server, port: 0, dataDir: dir } }, cwd: dir });
    expect(result.errors).toEqual([]);
    running = await launchServer(result.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 } });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    running,
    port: running.address.port,
    token: running.adminToken.token,
    auth: { authorization: `Bearer ${running.adminToken.token}` },
    close: async () => {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
