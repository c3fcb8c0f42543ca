/**
 * The deploy files under deploy/: the systemd unit passes `systemd-analyze verify` with its
 * hardening intact, compose.yaml passes the Compose schema (dclint, a pinned dev dependency),
 * and the Dockerfile has the shape we promise. Building and running the image needs a Docker
 * daemon that can reach the base image: set BLUETICK_DOCKER_IMAGE to an image built from
 * deploy/Dockerfile to run it here (the suite says so when it skips).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/dist.js';
import { SKIPPED, underCi } from './helpers/services.js';

const DEPLOY = join(ROOT, 'deploy');
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bt-deploy-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function run(command: string, args: string[], cwd = ROOT): { code: number | null; out: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!hasSystemdAnalyze && underCi()) throw new Error('systemd-analyze is required under CI (apt-get install systemd)');

describe.skipIf(!hasSystemdAnalyze)(`the systemd unit${hasSystemdAnalyze ? '' : ` ${SKIPPED} systemd-analyze is not installed (apt-get install systemd)`}`, () => {
  /** The unit with ExecStart pointing at this checkout's bin (the package is not installed globally here). */
  async function unitCopy(edit: (text: string) => string = (t) => t): Promise<string> {
    const text = (await readFile(join(DEPLOY, 'bluetick.service'), 'utf8')).replace('/usr/local/bin/bluetick', join(ROOT, 'bin', 'bluetick'));
    const file = join(scratch, 'bluetick.service');
    await writeFile(file, edit(text));
    return file;
  }

  it('passes systemd-analyze verify without a word, and a misspelt directive does not', async () => {
    expect(run('systemd-analyze', ['verify', await unitCopy()])).toEqual({ code: 0, out: '' });
    const broken = run('systemd-analyze', ['verify', await unitCopy((t) => t.replace('ProtectSystem=strict', 'ProtectSystm=strict'))]);
    expect(broken.out).toMatch(/Unknown key 'ProtectSystm'/);
  });

  it('keeps the hardening: a dynamic user, its own state folder, a read-only system, only CAP_NET_BIND_SERVICE', async () => {
    const text = await readFile(join(DEPLOY, 'bluetick.service'), 'utf8');
    for (const line of [
      'DynamicUser=yes',
      'StateDirectory=bluetick',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
      'Environment=BLUETICK_DATA_DIR=%S/bluetick',
      'Environment=BLUETICK_PORT=443',
    ]) {
      expect(text.split('\n'), line).toContain(line);
    }
    const security = run('systemd-analyze', ['security', '--offline=yes', await unitCopy()]);
    const exposure = /Overall exposure level for bluetick\.service: ([\d.]+)/.exec(security.out);
    expect(exposure, security.out).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThanOrEqual(2);
  });
});

describe('compose.yaml', () => {
  const dclint = join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs');

  it('passes the Compose schema and lint with no warning, and a broken copy does not', async () => {
    expect(run(process.execPath, [dclint, join(DEPLOY, 'compose.yaml'), '--max-warnings', '0', '--color', 'false'])).toEqual({ code: 0, out: '' });
    const text = await readFile(join(DEPLOY, 'compose.yaml'), 'utf8');
    const broken = join(scratch, 'compose.yaml');
    await writeFile(broken, text.replace('\nservices:', '\nservice:'));
    const res = run(process.execPath, [dclint, broken, '--color', 'false']);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/invalid-schema/);
  });

  it('runs two bluetick processes on PostgreSQL behind Caddy, which serves 80 and 443', async () => {
    const text = await readFile(join(DEPLOY, 'compose.yaml'), 'utf8');
    for (const service of ['bluetick-1', 'bluetick-2', 'caddy', 'postgres']) expect(text).toMatch(new RegExp(`^  ${service}:$`, 'm'));
    expect(text).toMatch(/DATABASE_URL: postgres:\/\/bluetick:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/bluetick/);
    expect(text).toMatch(/BLUETICK_BEHIND_PROXY: "true"/);
    expect(text).toMatch(/'0\.0\.0\.0:443:443'/);
    const caddy = await readFile(join(DEPLOY, 'Caddyfile'), 'utf8');
    expect(caddy).toMatch(/reverse_proxy bluetick-1:8080 bluetick-2:8080/);
    expect(caddy).toMatch(/health_uri \/healthz/);
  });
});

describe('the Dockerfile', () => {
  it('builds in one stage and runs from another: Node 20 slim, non-root, a data volume, a health check on /healthz, production dependencies only', async () => {
    const text = await readFile(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(text).toMatch(/npm rebuild better-sqlite3/);
    expect(text).toMatch(/npm prune --omit=dev/);
    const runtime = text.slice(text.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*healthcheck\.mjs/m);
    expect(await readFile(join(DEPLOY, 'healthcheck.mjs'), 'utf8')).toMatch(/path: '\/healthz'/);
    // The runtime stage takes node_modules only from the pruned build stage.
    expect(runtime).not.toMatch(/npm (ci|install)/);
  });

  const image = process.env.BLUETICK_DOCKER_IMAGE;
  describe.skipIf(image === undefined)(`a container of the image${image === undefined ? ` ${SKIPPED} set BLUETICK_DOCKER_IMAGE to an image built from deploy/Dockerfile` : ''}`, () => {
    let container = '';
    afterAll(() => {
      if (container !== '') run('docker', ['rm', '-f', container]);
    });

    it('starts as a non-root user, becomes healthy, journals a POST and has no dev dependency', async () => {
      const started = run('docker', [
        'run', '-d', '-P',
        '-e', 'BLUETICK_BEHIND_PROXY=true',
        '-e', 'BLUETICK_ADMIN_TOKEN=docker-admin-token-0123456789',
        '-e', 'BLUETICK_BASIC_AUTH=enablex:docker-password-16chars',
        image!,
      ]);
      expect(started.code, started.out).toBe(0);
      container = started.out.split('\n').pop()!;
      // Wait on the daemon's own health verdict (the HEALTHCHECK polls /healthz).
      let health = '';
      for (let i = 0; i < 120 && health !== 'healthy'; i++) {
        health = run('docker', ['inspect', '-f', '{{.State.Health.Status}}', container]).out;
        if (health === 'unhealthy') break;
        if (health !== 'healthy') spawnSync('sleep', ['1']);
      }
      expect(health, run('docker', ['logs', container]).out).toBe('healthy');
      expect(run('docker', ['exec', container, 'id', '-u']).out).not.toBe('0');
      expect(run('docker', ['exec', container, 'stat', '-c', '%U %a', '/data']).out).toBe('node 700');
      expect(run('docker', ['exec', container, 'sh', '-c', 'test -d node_modules/vitest || test -d node_modules/typescript; echo $?']).out).toBe('1');
      const port = run('docker', ['port', container, '8443/tcp']).out.split('\n')[0]!.split(':').pop();
      const auth = `Basic ${Buffer.from('enablex:docker-password-16chars').toString('base64')}`;
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/default`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ from: '919999999999', id: 'docker-1', timestamp: '1700000000', type: 'text', text: { body: 'hi' } }], business_phone: '919876500001' }),
      });
      expect(res.status).toBe(200);
    }, 180_000);
  });
});
