/**
 * A user's first start, as the built `bluetick` runs it in a subprocess, over real HTTP on
 * loopback: `init` writes a private sample config and never overwrites one; `serve` starts on
 * it and its banner says where the store is, where the console and API are, how to sign in,
 * and which sinks and routes are configured (the sign-in it describes works); `--env-file`
 * fills the environment without overriding it; unknown `BLUETICK_*` variables and a bare
 * `DATABASE_URL` are called out on stderr.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { BIN, ROOT, cleanEnv, ensureBuilt, runBin } from './helpers/dist.js';

interface Served {
  child: ChildProcessWithoutNullStreams;
  /** Everything printed up to the end of the banner. */
  stdout: string;
  stderr: () => string;
  base: string;
}

const running: ChildProcessWithoutNullStreams[] = [];

/** Starts `bluetick serve` and resolves once its banner is out (it is written in one piece). */
function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'warn', ...args], { cwd, env: cleanEnv(env) });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const base = /^bluetick is listening on (\S+)$/m.exec(stdout)?.[1];
      if (base !== undefined && /^admin token.*$/m.test(stdout) && /^health: /m.test(stdout)) resolve({ child, stdout, stderr: () => stderr, base });
    });
    child.on('close', (code) => reject(new Error(`serve exited with ${code} before its banner; stdout:\n${stdout}\nstderr:\n${stderr}`)));
  });
}

async function stop(served: Served): Promise<void> {
  const closed = new Promise((resolve) => served.child.on('close', resolve));
  served.child.kill('SIGTERM');
  await closed;
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text() };
}

async function post(url: string, body: string, auth?: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}) },
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(() => ensureBuilt(), 180_000);

describe('first start', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-first-'));
  });
  afterEach(async () => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('init writes a private, commented sample with generated secrets, never overwrites, and serve starts on it', async () => {
    const first = await runBin(['init'], { cwd: dir });
    expect(first.code).toBe(0);
    const file = join(dir, 'bluetick.config.json');
    expect(first.stdout).toContain(`wrote ${file} (mode 0600`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\/\/ bluetick configuration/);
    const { config, warnings } = await loadConfig({ cwd: dir, env: {} });
    expect(warnings).toEqual([]);
    expect(config.adminToken).toMatch(/^btk_[A-Za-z0-9_-]{43}$/);
    expect(config.channels[0]!.basicAuth[0]!.password.length).toBeGreaterThanOrEqual(16);
    const sink = config.sinks[0]!;
    expect(sink.type === 'http' && typeof sink.secret === 'string' && Buffer.from(sink.secret.slice(6), 'base64').length).toBe(32);
    // The $schema it names is the package's JSON Schema.
    const schemaRef = /"\$schema": "([^"]+)"/.exec(text)![1]!;
    expect(JSON.parse(await readFile(schemaRef.startsWith('/') ? schemaRef : join(dir, schemaRef), 'utf8')).title).toBe('bluetick configuration');
    // Two runs never share a secret.
    const other = await runBin(['init', '--config', 'second.json'], { cwd: dir });
    expect(other.code).toBe(0);
    expect(await readFile(join(dir, 'second.json'), 'utf8')).not.toContain(config.adminToken!);

    const again = await runBin(['init'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`bluetick: ${file} exists already; init never overwrites a config`);
    expect(await readFile(file, 'utf8')).toBe(text);

    const served = await serve([], dir);
    try {
      expect(served.stdout).toMatch(/^ {2}STORE: SQLite .*bluetick\.db \(the default; BLUETICK_DATABASE_URL or --store selects PostgreSQL\)$/m);
      expect(served.stdout).toContain(`console: ${served.base}/   (sign in with the admin token below)`);
      expect(served.stdout).toMatch(/^sinks \(where events are delivered\):\n {2}app {2}http {2}http:\/\/127\.0\.0\.1:3000\/whatsapp {2}\(no route sends to it\)$/m);
      expect(served.stdout).toContain('routes: none; no event is delivered until a route names a sink');
      expect(served.stdout).toMatch(/^admin token: the configured one/m);
      // Signing in as the banner says: the token from the file opens the API, nothing else does.
      expect((await get(`${served.base}/api/stats`, config.adminToken)).status).toBe(200);
      expect((await get(`${served.base}/api/stats`, 'btk_wrong-token-wrong-token-wrong')).status).toBe(401);
      const schema = await get(`${served.base}/api/config-schema.json`, config.adminToken);
      expect(schema.status).toBe(200);
      expect(schema.body).toBe(JSON.stringify(JSON.parse(await readFile(join(ROOT, 'schema', 'bluetick.config.schema.json'), 'utf8'))));
      // The channel takes the generated EnableX credentials and nothing else.
      const webhook = `${served.base}/webhooks/default`;
      expect(await post(webhook, '{"statuses":[],"business_phone":"918888888888"}', `enablex:${config.channels[0]!.basicAuth[0]!.password}`)).toBe(200);
      expect(await post(webhook, '{"statuses":[],"business_phone":"918888888888"}')).toBe(401);
    } finally {
      await stop(served);
    }
  });

  it('the banner shows a generated token once, where it is kept, and that it opens the console and API', async () => {
    const served = await serve(['--data', join(dir, 'data')], dir, { BLUETICK_BASIC_AUTH: 'enablex:a-password-of-16-chars' });
    let token: string;
    try {
      const lines = served.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('admin token (for /api, the console at'));
      expect(at).toBeGreaterThan(0);
      token = lines[at + 1]!.trim();
      expect(lines[at + 2]).toContain(`read it again with: cat ${join(dir, 'data', 'admin-token')}`);
      expect(served.stdout).toContain(`api:     ${served.base}/api   (header "Authorization: Bearer <admin token>"; OpenAPI at ${served.base}/api/openapi.json)`);
      expect(served.stdout).toContain('delivery: no sinks or routes configured; events are stored and served on /api, and sent nowhere');
      expect((await get(`${served.base}/api/stats`, token)).status).toBe(200);
      const consolePage = await get(`${served.base}/`);
      expect(consolePage.status).toBe(200);
      expect(consolePage.body).toMatch(/<html/i);
    } finally {
      await stop(served);
    }
    // The next start reads it from the file and says so, without printing it again.
    const again = await serve(['--data', join(dir, 'data')], dir, { BLUETICK_BASIC_AUTH: 'enablex:a-password-of-16-chars' });
    try {
      expect(again.stdout).not.toContain(token);
      expect(again.stdout).toContain(`admin token: kept in ${join(dir, 'data', 'admin-token')}; to sign in, paste what \`cat ${join(dir, 'data', 'admin-token')}\` prints`);
      expect((await get(`${again.base}/api/stats`, (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim())).status).toBe(200);
    } finally {
      await stop(again);
    }
  });

  it('lists configured sinks and routes with what each route takes', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    await writeFile(
      join(dir, 'routes.json'),
      JSON.stringify({
        server: { dataDir: './data' },
        channels: [{ name: 'sales', basicAuth: ['enablex:a-password-of-16-chars'] }],
        sinks: [
          { name: 'crm', type: 'http', url: 'http://127.0.0.1:9/hooks', secret },
          { name: 'bus', type: 'nats', servers: '127.0.0.1:4222', subject: 'whatsapp.{type}', stream: 'WHATSAPP' },
        ],
        routes: [
          { name: 'statuses', sink: 'crm', match: { type: ['message.status', 'template.*'], channel: 'sales' } },
          { name: 'all', sink: 'bus' },
        ],
      }),
    );
    const served = await serve(['--config', 'routes.json'], dir);
    try {
      expect(served.stdout).toContain(
        [
          'sinks (where events are delivered):',
          '  crm  http  http://127.0.0.1:9/hooks',
          '  bus  nats  127.0.0.1:4222 subject whatsapp.{type} (stream WHATSAPP)',
          'routes (which events go where):',
          '  statuses  message.status, template.*; channel sales -> crm',
          '  all       every event -> bus',
        ].join('\n'),
      );
      expect(served.stdout).toMatch(/^ {2}sales {2}http:\/\/127\.0\.0\.1:\d+\/webhooks\/sales/m);
    } finally {
      await stop(served);
    }
  });

  it('--env-file fills the environment without overriding it, and unknown or foreign variables are called out', async () => {
    await writeFile(
      join(dir, '.env'),
      ['# local settings', 'BLUETICK_BASIC_AUTH=enablex:from-the-file-16chars', 'BLUETICK_BASIC_AUHT=typo', 'BLUETICK_LOG_LEVEL="warn"', ''].join('\n'),
    );
    const postgres = 'postgres://someone:pw@db.example:5432/another_app';
    const fromFile = await serve(['--env-file', '.env', '--data', join(dir, 'a')], dir, { DATABASE_URL: postgres });
    try {
      const webhook = `${fromFile.base}/webhooks/default`;
      expect(await post(webhook, '{"statuses":[],"business_phone":"1"}', 'enablex:from-the-file-16chars')).toBe(200);
      expect(await post(webhook, '{"statuses":[],"business_phone":"1"}')).toBe(401);
      const stderr = fromFile.stderr();
      expect(stderr).toContain(
        'bluetick: warning: BLUETICK_BASIC_AUHT is set but bluetick knows no such variable, so it is ignored; did you mean BLUETICK_BASIC_AUTH?',
      );
      expect(stderr).toContain('bluetick: warning: DATABASE_URL is set but ignored: bluetick reads only BLUETICK_DATABASE_URL');
      expect(stderr).toContain('export BLUETICK_DATABASE_URL="$DATABASE_URL"');
      expect(stderr).not.toContain('pw@');
      // The store stayed SQLite, and the banner says so first.
      expect(fromFile.stdout.split('\n')[1]).toMatch(/^ {2}STORE: SQLite /);
    } finally {
      await stop(fromFile);
    }

    // A variable already set wins over the file.
    const fromEnv = await serve(['--env-file', '.env', '--data', join(dir, 'b')], dir, { BLUETICK_BASIC_AUTH: 'enablex:from-the-environment' });
    try {
      const webhook = `${fromEnv.base}/webhooks/default`;
      expect(await post(webhook, '{"statuses":[],"business_phone":"1"}', 'enablex:from-the-environment')).toBe(200);
      expect(await post(webhook, '{"statuses":[],"business_phone":"1"}', 'enablex:from-the-file-16chars')).toBe(401);
    } finally {
      await stop(fromEnv);
    }

    // A missing file stops the start. Node 20 itself looks for an `--env-file` anywhere on
    // the command line and reports a missing one before bluetick runs ("node: FILE: not
    // found", exit 9); later Node versions leave it to bluetick's own message.
    const missing = spawnSync(process.execPath, [BIN, 'serve', '--env-file', 'nope.env'], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.env: not found|--env-file: cannot read .*nope\.env \(ENOENT\)/);
  });
});
