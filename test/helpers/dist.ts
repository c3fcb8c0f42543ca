/**
 * The compiled `dist/` that `bin/bluetick` runs, for tests that spawn real processes.
 * Rebuilt when any source is newer than `dist/cli/main.js`. Test files run in parallel, so
 * the build holds a lock (an exclusive directory): a second caller waits for the first
 * build instead of running tsc over the same files at the same time.
 */
import { spawnSync } from 'node:child_process';
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
