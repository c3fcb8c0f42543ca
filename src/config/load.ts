/**
 * @module config/load
 *
 * The IO half of configuration: find and read the config file, take one snapshot of the
 * environment, hand both to the pure `resolveConfig`, and turn its errors into exceptions.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { BluetickError, ConfigError } from '../errors.js';
import { DEFAULT_CONFIG_FILE } from './schema.js';
import { ENV, formatIssue, resolveConfig, type CliFlags, type Config, type EnvSnapshot } from './resolve.js';

export interface LoadConfigOptions {
  /** Path of the config file. Without it, `bluetick.config.json` in `cwd` is used when it exists. */
  file?: string;
  /** Defaults to `process.cwd()`. */
  cwd?: string;
  /** Defaults to `process.env`; only `BLUETICK_*` variables are read (and `DATABASE_URL`, to warn that it is ignored). */
  env?: NodeJS.ProcessEnv | EnvSnapshot;
  flags?: CliFlags;
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  /** Absolute path of the file that was read, if any. */
  file?: string;
}

/**
 * The text with its `//` and `/* *\/` comments blanked out (strings left alone), so a commented
 * config file parses as JSON and error positions still point at the right line and column.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      let j = i;
      while (j < text.length && text[j] !== '\n') j++;
      out += ' '.repeat(j - i);
      i = j;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const j = end === -1 ? text.length : end + 2;
      out += text.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Copies the variables bluetick reads once, so later changes to the environment cannot matter. */
export function snapshotEnv(env: NodeJS.ProcessEnv | EnvSnapshot): EnvSnapshot {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('BLUETICK_') || key === ENV.databaseUrl) out[key] = value;
  }
  return Object.freeze(out);
}

/**
 * Load and resolve the configuration.
 *
 * @throws ConfigError (`BT_ERR_CONFIG_INVALID`) naming every bad key, or a `BluetickError`
 * with `BT_ERR_CONFIG_UNSAFE` when the only problems are unsafe-but-valid settings.
 *
 * @example
 * ```ts
 * const { config, warnings } = await loadConfig({ file: 'bluetick.config.json' });
 * ```
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const env = snapshotEnv(opts.env ?? process.env);

  let file: string | undefined;
  if (opts.file !== undefined) {
    file = resolvePath(cwd, opts.file);
  } else {
    const candidate = resolvePath(cwd, DEFAULT_CONFIG_FILE);
    if (existsSync(candidate)) file = candidate;
  }

  let written: unknown;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError([`${opts.file !== undefined ? '--config' : 'config file'}: cannot read ${file} (${code})`], {
        cause: error,
      });
    }
    try {
      written = JSON.parse(stripJsonComments(text));
    } catch (error) {
      throw new ConfigError([`${file}: not valid JSON (${(error as Error).message})`], { cause: error });
    }
  }

  const result = resolveConfig({
    written,
    env,
    ...(opts.flags ? { flags: opts.flags } : {}),
    cwd,
    configDir: file !== undefined ? dirname(file) : cwd,
  });
  const invalid = result.errors.filter((e) => e.code === 'BT_ERR_CONFIG_INVALID');
  if (invalid.length > 0) {
    const issues = invalid.map(formatIssue);
    if (file !== undefined) issues.push(`(config file: ${file})`);
    throw new ConfigError(issues);
  }
  if (result.errors.length > 0 || result.config === undefined) {
    throw new BluetickError(
      'BT_ERR_CONFIG_UNSAFE',
      `refusing to start:\n  - ${result.errors.map(formatIssue).join('\n  - ')}`,
    );
  }
  return { config: result.config, warnings: result.warnings, ...(file !== undefined ? { file } : {}) };
}
