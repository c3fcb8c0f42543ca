/**
 * The compiled `dist/` that `bin/bluetick` runs, for tests that spawn real processes, and
 * the way they run it.
 *
 * `dist/` is rebuilt when any source is newer than `dist/cli/main.js`. Building is the
 * simpler and more faithful choice than a TS loader: Node 20 cannot strip types by itself,
 * none is installed, and the real bin must be what is tested. Test files run in parallel, so
 * the build holds a lock (an exclusive directory): a second caller waits for the first
 * build instead of running tsc over the same files at the same time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'bluetick');
const BUILT_MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const LOCK = join(tmpdir(), `bluetick-build-${Buffer.from(ROOT).toString('base64url').slice(-40)}.lock`);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function fresh(): boolean {
  const sources = Math.max(
    newestSource(join(ROOT, 'src')),
    statSync(join(ROOT, 'tsconfig.json')).mtimeMs,
    statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs,
  );
  return existsSync(BUILT_MAIN) && statSync(BUILT_MAIN).mtimeMs >= sources;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds `dist/` when it is older than the sources (type errors do not stop tsc from emitting). */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (fresh()) return;
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another file is building; a lock older than the deadline is from a crashed run.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for the build lock ${LOCK}`);
      await sleep(200);
    }
  }
  try {
    if (fresh()) return;
    const started = Date.now();
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (!existsSync(BUILT_MAIN) || statSync(BUILT_MAIN).mtimeMs < started - 1_000) {
      throw new Error(`building dist/ failed:\n${tsc.stdout}${tsc.stderr}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * The caller's environment without its bluetick settings (`BLUETICK_*`, `DATABASE_URL`), so a
 * child process sees only what the test gives it in `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BLUETICK_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...extra };
}

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BinOptions {
  cwd: string;
  /** Added to {@link cleanEnv}. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed (closed at once without it). */
  input?: string | Buffer;
  /** SIGKILL after this long (the result then has `code: null`). Default 20 s. */
  timeoutMs?: number;
}

/**
 * `node bin/bluetick ...args` as a user runs it, to the end: resolves with the exit code and
 * everything printed. The process starts at once, so a caller may do other work (post to a
 * server the command is tailing) before awaiting the result.
 */
export function runBin(args: string[], opts: BinOptions): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
