// The processes a bench part measures: each server runs as a child `node` process of its own,
// started here and stopped with SIGTERM, so the load generator never shares its event loop.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `BENCH_BIN` runs another build's CLI (to compare two builds on the same machine state). */
export const BIN = process.env.BENCH_BIN ?? join(ROOT, 'bin/bluetick');
export const BARE_SERVER = join(ROOT, 'bench/bare-server.js');

/** The first loopback URL a process prints. */
const ANY_URL = /(https?:\/\/127\.0\.0\.1:\d+)/;

/**
 * Starts `node [nodeFlags] ...args` with `env` added to this process's environment, and
 * resolves with `{ child, base }` once its output matches `ready` (group 1 is the base URL).
 * Pass a narrower `ready` when the process may print another loopback URL first (a sink's),
 * and `stdin: 'pipe'` to write to the process.
 */
export function startProcess(args, { env = {}, nodeFlags = [], ready = ANY_URL, stdin = 'ignore' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, ...args], { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
    let out = '';
    const onData = (chunk) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ child, base: match[1] });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening:\n${out}`)));
  });
}

/** SIGTERM, resolved once the process has exited (at once if it already has). */
export function stopProcess(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * A fresh folder with a config for `bluetick serve`: data inside it, Basic auth
 * `enablex:bench-secret` on the `default` channel, and `sink` (an HTTP sink named `rx`) taking
 * every event. `extra` is merged at the top level. Returns the folder and the config's path.
 */
export function sinkConfig(prefix, sink, extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = join(dir, 'bluetick.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, dataDir: join(dir, 'data') },
      log: { level: 'warn' },
      channels: [{ name: 'default', basicAuth: ['enablex:bench-secret'] }],
      sinks: [{ name: 'rx', type: 'http', ...sink }],
      routes: [{ name: 'all', sink: 'rx' }],
      ...extra,
    }),
  );
  return { dir, config };
}
