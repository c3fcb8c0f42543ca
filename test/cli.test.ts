/**
 * The `bluetick` command as a user runs it: `node bin/bluetick ...` in a subprocess.
 *
 * `bin/bluetick` loads the compiled `dist/`, so this file builds it first when any source is
 * newer than `dist/cli/main.js`. Building is the simpler and more faithful choice than a TS
 * loader: Node 20 cannot strip types by itself, none is installed, and the real bin must
 * be what is tested. Only emitted JavaScript matters here: type errors are the business of
 * `npm run typecheck`, which `npm test` runs before vitest, and tsc emits despite them.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'bluetick');
const BUILT_MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'meta', 'status-delivered.json');
const GOLDEN = join(ROOT, 'test', 'fixtures', 'meta', 'status-delivered.events.json');
/** The receive time the golden files were written with. */
const GOLDEN_RECEIVED_AT = new Date(1_700_000_000_000).toISOString();

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt(): void {
  const sources = Math.max(
    newestSource(join(ROOT, 'src')),
    statSync(join(ROOT, 'tsconfig.json')).mtimeMs,
    statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs,
  );
  if (existsSync(BUILT_MAIN) && statSync(BUILT_MAIN).mtimeMs >= sources) return;
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (!existsSync(BUILT_MAIN) || statSync(BUILT_MAIN).mtimeMs < started - 1_000) {
    throw new Error(`building dist/ failed:\n${tsc.stdout}${tsc.stderr}`);
  }
}

/** An environment without the caller's BLUETICK_* settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BLUETICK_')) env[k] = v;
  return { ...env, ...extra };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd: string; input?: string | Buffer; env?: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves with the first match of `pattern` in the child's stdout. */
function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout:\n${seen}\nstderr:\n${errors}`)), timeoutMs);
    child.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; stdout:\n${seen}\nstderr:\n${errors}`));
    });
  });
}

beforeAll(() => {
  ensureBuilt();
}, 180_000);

describe('bluetick CLI', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('normalize prints the events of a fixture as NDJSON, one per line, matching its golden file', async () => {
    const result = await run(['normalize', FIXTURE, '--received-at', GOLDEN_RECEIVED_AT], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as unknown[];
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(golden);
  });

  it('normalize reads stdin when no file is given', async () => {
    const result = await run(['normalize', '--received-at', GOLDEN_RECEIVED_AT, '--channel', 'from-stdin'], {
      cwd: dir,
      input: readFileSync(FIXTURE),
    });
    expect(result.code).toBe(0);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { channel: string });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.channel === 'from-stdin')).toBe(true);
  });

  it('normalize exits 2 with a one-line error for a body that is not JSON', async () => {
    const file = join(dir, 'form.txt');
    await writeFile(file, 'status=delivered&id=1');
    const result = await run(['normalize', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 on an unknown command and prints no stack', async () => {
    const result = await run(['nonsense'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve refuses plain HTTP on a public address with the reason only, no stack', async () => {
    const result = await run(['serve', '--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'data')], {
      cwd: dir,
      env: { BLUETICK_BASIC_AUTH: 'enablex:s3cret' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^bluetick: refusing to start/);
    expect(result.stderr).toMatch(/server\.host: binding 0\.0\.0\.0 without TLS/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve names the bad key of a config file and exits 1', async () => {
    const config = join(dir, 'bluetick.config.json');
    await writeFile(config, JSON.stringify({ server: { port: 'http' } }));
    const result = await run(['serve'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('server.port: expected a number');
  });

  it('serve starts, prints the webhook URL and its credentials, accepts a POST and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', join(dir, 'data'), '--log-level', 'warn'], {
      cwd: dir,
      env: cleanEnv({ BLUETICK_BASIC_AUTH: 'enablex:s3cret' }),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const [, url] = await waitForOutput(child, /^\s+default\s+(http:\/\/127\.0\.0\.1:\d+\/webhooks\/default)\s.*\n.*expects: (.*)\n/m);
      expect(url).toBeDefined();
      const auth = `Basic ${Buffer.from('enablex:s3cret').toString('base64')}`;
      const ok = await post(url!, '{"messages":[]}', { authorization: auth });
      expect(ok).toEqual({ status: 200, body: '{"ok":true}' });
      const refused = await post(url!, '{"messages":[]}', {});
      expect(refused.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM received, shutting down/);
  });
});
