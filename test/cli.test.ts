/**
 * The `bluetick` command as a user runs it: `node bin/bluetick ...` in a subprocess, over the
 * compiled `dist/` (built first when a source is newer; see `helpers/dist.ts`). Only emitted
 * JavaScript matters here: type errors are the business of `npm run typecheck`, which
 * `npm test` runs before vitest, and tsc emits despite them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, cleanEnv, ensureBuilt, runBin } from './helpers/dist.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'meta', 'status-delivered.json');
const GOLDEN = join(ROOT, 'test', 'fixtures', 'meta', 'status-delivered.events.json');
/** The receive time the golden files were written with. */
const GOLDEN_RECEIVED_AT = new Date(1_700_000_000_000).toISOString();

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

beforeAll(() => ensureBuilt(), 180_000);

describe('bluetick CLI', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('normalize prints the events of a fixture as NDJSON, one per line, matching its golden file', async () => {
    const result = await runBin(['normalize', FIXTURE, '--received-at', GOLDEN_RECEIVED_AT], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as unknown[];
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(golden);
  });

  it('normalize reads stdin when no file is given', async () => {
    const result = await runBin(['normalize', '--received-at', GOLDEN_RECEIVED_AT, '--channel', 'from-stdin'], {
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
    const result = await runBin(['normalize', file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 on an unknown command and prints no stack', async () => {
    const result = await runBin(['nonsense'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve refuses plain HTTP on a public address with the reason only, no stack', async () => {
    const result = await runBin(['serve', '--host', '0.0.0.0', '--port', '0', '--data', join(dir, 'data')], {
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
    const result = await runBin(['serve'], { cwd: dir });
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
