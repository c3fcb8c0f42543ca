/**
 * @module config/resolve-store
 *
 * Pure: which store bluetick uses. A PostgreSQL URL from the file, the environment or
 * `--store`; none means the SQLite file in the data folder.
 */
import { parsePostgresUrl } from '../store/postgres/url.js';
import { ENV } from './env-names.js';
import type { ReportIssue } from './resolve-values.js';
import type { WrittenConfig } from './schema.js';
import type { CliFlags, EnvSnapshot, StoreConfig } from './types.js';

/**
 * The store URL: `store.url` in the file < BLUETICK_DATABASE_URL < `--store`. Only PostgreSQL
 * URLs. A bare DATABASE_URL is never followed (it is often meant for another program); it
 * only earns a warning that says how to opt in.
 */
export function resolveStore(
  written: WrittenConfig,
  env: EnvSnapshot,
  flags: CliFlags,
  invalid: ReportIssue,
  warnings: string[],
): StoreConfig | undefined {
  let url = written.store.url;
  let source = 'store.url';
  const fromEnv = env[ENV.bluetickDatabaseUrl]?.trim();
  if (fromEnv) [url, source] = [fromEnv, ENV.bluetickDatabaseUrl];
  if (flags.store !== undefined) [url, source] = [flags.store.trim(), '--store'];
  const bare = env[ENV.databaseUrl]?.trim();
  if (bare && bare !== url) {
    warnings.push(
      `${ENV.databaseUrl} is set but ignored: bluetick reads only ${ENV.bluetickDatabaseUrl} (or --store, or store.url), ` +
        `so a database meant for another program is never taken over. To use it: export ${ENV.bluetickDatabaseUrl}="$${ENV.databaseUrl}"`,
    );
  }
  if (url === undefined) return undefined;
  try {
    parsePostgresUrl(url);
  } catch (error) {
    invalid(source, error instanceof Error ? error.message : String(error));
    return undefined;
  }
  return { url, source, journalLeaseMs: written.store.journalLeaseMs, pipelineThread: written.store.pipelineThread };
}
