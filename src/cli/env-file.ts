/**
 * @module cli/env-file
 *
 * `--env-file FILE`: environment variables from a `.env` file (`KEY=value` lines, `#`
 * comments, quoted values), parsed by Node's own `util.parseEnv`. A variable already set in
 * the environment wins over the file, as with `node --env-file`, so one `export` overrides a
 * shared file. Runs before any command reads the environment.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.js';

/**
 * Reads `file` (relative to `cwd`) into `env`, leaving variables that are already set alone.
 * Returns the names it set.
 *
 * @throws ConfigError naming `--env-file` when the file cannot be read.
 */
export function applyEnvFile(file: string, env: NodeJS.ProcessEnv, cwd: string): string[] {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError([`--env-file: cannot read ${path} (${code})`], { cause: error });
  }
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined || env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
