/**
 * @module cli/store-config
 *
 * The configuration of the commands that work on the store itself (`migrate`, `rebuild`,
 * `prune`, `export`):
 * `--config`, `--data` and `--store` resolved with the environment exactly as `serve` resolves
 * them, so these commands open the store `serve` would. Of the resolution warnings only those
 * about the store and the environment are printed (a `DATABASE_URL` that is not followed, a
 * misspelt `BLUETICK_*` variable); the rest are about serving (unauthenticated channels, ...).
 */
import { loadConfig } from '../config/load.js';
import type { CliFlags, Config } from '../config/types.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export interface StoreCommandOptions {
  config?: string;
  data?: string;
  store?: string;
}

/** Warnings that matter to a command that opens the store. */
const STORE_WARNING = /^(DATABASE_URL is set but ignored|BLUETICK_[A-Z0-9_]+ is set but bluetick knows no such variable)/;

export async function loadStoreConfig(
  opts: StoreCommandOptions,
  io: { cwd: string; env: NodeJS.ProcessEnv; stderr?: NodeJS.WritableStream },
): Promise<Config> {
  const flags: CliFlags = {};
  if (opts.data !== undefined) flags.dataDir = opts.data;
  if (opts.store !== undefined) flags.store = opts.store;
  const { config, warnings } = await loadConfig({
    ...(opts.config !== undefined ? { file: opts.config } : {}),
    cwd: io.cwd,
    env: io.env,
    flags,
  });
  const stderr = io.stderr ?? process.stderr;
  for (const warning of warnings) if (STORE_WARNING.test(warning)) stderr.write(`bluetick: warning: ${warning}
`);
  return config;
}

/**
 * Opens the store `config` names for a command that may run beside a server on the same
 * store: a write waits up to 10 s for the server's commits instead of failing, and the
 * command runs no checkpoint worker of its own (the server's does that).
 */
export function openStoreBesideServer(config: Config): Promise<Store> {
  return openStore({
    dataDir: config.server.dataDir,
    ...(config.store ? { url: config.store.url } : {}),
    busyTimeoutMs: 10_000,
    checkpointIntervalMs: 0,
  });
}
