// Helpers for the suites that run bluetick as a real process (test/crash, test/overload):
// compile the current sources into a private folder, start `bluetick serve` from it on a
// fixed port, and read the process's memory from /proc.
//
// The private build matters: these suites restart the server many times over minutes, and
// the shared dist/ may be rebuilt meanwhile by anything else running in the work tree; a
// server started from a half-written dist/ fails for reasons that have nothing to do with it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Compiles src/ into a temporary package folder (dist/, package.json, and links to
 * node_modules and migrations). Returns { dir, main, load(path), remove() }: `main` is the
 * CLI entry to run, `load('trigger/plan.js')` imports a compiled module.
 */
export async function privateBuild(log = console.log) {
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-private-build-'));
  log(`compiling the sources into ${dir} ...`);
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist'), '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const main = join(dir, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`compiling failed:\n${tsc.stdout}${tsc.stderr}`);
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(ROOT, 'migrations'), join(dir, 'migrations'), 'dir');
  return {
    dir,
    main,
    load: (path) => import(pathToFileURL(join(dir, 'dist', path)).href),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A TCP port free right now on 127.0.0.1 (kept across restarts of the server). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Writes a bluetick.config.json into `dir` and returns its path. */
export function writeConfig(dir, config) {
  const file = join(dir, 'bluetick.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Starts `bluetick serve --config FILE` (`main`: the CLI entry of a {@link privateBuild}) and
 * resolves once it listens.
 * Returns { child, pid, url, exited } where `exited` resolves with the exit code or signal.
 */
export function startServerProcess(main, configFile, { timeoutMs = 60_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, 'serve', '--config', configFile, '--log-level', 'error'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((done) => child.once('exit', (code, signal) => done(signal ?? code)));
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bluetick did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk) => {
      out += chunk;
      const match = /bluetick is listening on (https?:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ child, pid: child.pid, url: match[1], exited });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`bluetick exited (${signal ?? code}) before listening:\n${out}`));
    });
  });
}

/** Resident and peak-resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
