/**
 * @module cli/store-config
 *
 * The configuration of the commands that work on the store itself (`migrate`, `rebuild`):
 * `--config`, `--data` and `--store` resolved with the environment exactly as `serve` resolves
 * them, so these commands open the store `serve` would. Resolution warnings are about serving
 * (unauthenticated channels, ...), not about the store, so they are not returned.
 */
import { loadConfig } from '../config/load.js';
import type { CliFlags, Config } from '../config/resolve.js';

export interface StoreCommandOptions {
  config?: string;
  data?: string;
  store?: string;
}

export async function loadStoreConfig(opts: StoreCommandOptions, io: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Config> {
  const flags: CliFlags = {};
  if (opts.data !== undefined) flags.dataDir = opts.data;
  if (opts.store !== undefined) flags.store = opts.store;
  const { config } = await loadConfig({
    ...(opts.config !== undefined ? { file: opts.config } : {}),
    cwd: io.cwd,
    env: io.env,
    flags,
  });
  return config;
}
