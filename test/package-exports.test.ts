/**
 * The built package as a user's project sees it: `bluetick`, `bluetick/express`,
 * `bluetick/fastify`, `bluetick/hono`, `bluetick/node` and `bluetick/testing` resolve through
 * the `exports` map of package.json to `dist/` (built here first), each with its type
 * declarations, and nothing else of `dist/` is reachable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './helpers/dist.js';

const SUBPATHS = ['express', 'fastify', 'hono', 'node', 'testing'] as const;

/** A script a user might write: every entry point, then one signed POST through `bluetick/node`. */
const USER_SCRIPT = `
import { createServer } from 'node:http';
import * as root from 'bluetick';
import * as ex from 'bluetick/express';
import * as fa from 'bluetick/fastify';
import * as ho from 'bluetick/hono';
import * as no from 'bluetick/node';
import * as testing from 'bluetick/testing';

const out = {
  root: typeof root.createBluetick,
  adapters: [ex, fa, ho, no].map((m) => typeof m.createWebhookHandler),
  keepRawBody: typeof ex.keepRawBody,
  testing: [typeof testing.buildWebhookBody, typeof testing.FakeProvider, testing.NOTIFICATION_KINDS.length > 10],
};
try {
  await import('bluetick/dist/server.js');
  out.internal = 'reachable';
} catch (error) {
  out.internal = error.code;
}

const webhook = no.createWebhookHandler({ meta: { appSecrets: ['s3cret'] } });
const events = [];
webhook.on('message.received', (event) => events.push(event.type + ':' + event.kind));
const server = createServer((req, res) => webhook(req, res));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { body, headers } = testing.buildWebhookBody('text', { metaSecret: 's3cret' });
const res = await fetch('http://127.0.0.1:' + server.address().port + '/webhook', { method: 'POST', body, headers });
out.post = [res.status, events];
server.close();

// Without a socket: the fake provider straight into the Web-standard handler.
const hono = ho.createWebhookHandler({ basicAuth: ['enablex:password-of-16+chars'] });
let statuses = 0;
hono.on('message.status', () => void statuses++);
const provider = new testing.FakeProvider({ target: hono.fetch, shape: 'enablex', basic: 'enablex:password-of-16+chars', batch: 2 });
const report = await provider.send({ kinds: ['status-sent', 'status-delivered', 'status-read'] });
out.provider = [report.failed.length, statuses];
console.log(JSON.stringify(out));
`;

describe('the built package, imported by subpath', () => {
  let project: string;

  beforeAll(async () => {
    await ensureBuilt();
    project = await mkdtemp(join(tmpdir(), 'bt-package-user-'));
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'user-app', type: 'module', private: true }));
    await mkdir(join(project, 'node_modules'));
    // What `npm install` of a local path makes: a link to the package folder.
    await symlink(ROOT, join(project, 'node_modules', 'bluetick'), 'dir');
    await writeFile(join(project, 'app.mjs'), USER_SCRIPT);
  }, 240_000);

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('maps every subpath to built JavaScript and its type declarations', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; import: string }>;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    for (const sub of SUBPATHS) {
      const entry = pkg.exports[`./${sub}`];
      expect(entry, sub).toBeDefined();
      expect(existsSync(join(ROOT, entry!.import)), entry!.import).toBe(true);
      expect(existsSync(join(ROOT, entry!.types)), entry!.types).toBe(true);
    }
    expect(pkg.peerDependenciesMeta.express?.optional).toBe(true);
    expect(pkg.peerDependenciesMeta.hono?.optional).toBe(true);
  });

  it('imports each subpath from a user project, and a signed POST becomes an event', () => {
    const run = spawnSync(process.execPath, ['app.mjs'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      root: 'function',
      adapters: ['function', 'function', 'function', 'function'],
      keepRawBody: 'function',
      testing: ['function', 'function', true],
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      post: [200, ['message.received:text']],
      provider: [0, 3],
    });
  });
});
