/**
 * Tokens, roles and the audit log over real HTTP, on a real SQLite store and on the real
 * PostgreSQL: what each role may and may not call, message text masked for a masking viewer
 * (answers and the live stream), revocation taking effect at once, and the audit trail.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTokens } from '../src/cli/commands/tokens.js';
import { parseJsonText } from '../src/events/json.js';
import { http, waitFor } from './helpers/delivery.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const ADMIN = 'access-test-admin-token-0123456789';
const TEXT_BODY = readFileSync(fileURLToPath(new URL('./fixtures/meta/text.json', import.meta.url)), 'utf8');

interface Answer {
  status: number;
  body: any;
}

function accessSuite(store: () => { url?: string }) {
  let server: TempServer;
  const tokens: Record<string, string> = {};

  async function call(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.running.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
  }

  async function auditActions(filter = ''): Promise<Array<{ actor: string; action: string; target?: string; detail?: string }>> {
    const res = await call(ADMIN, 'GET', `/api/audit?limit=1000${filter}`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  beforeAll(async () => {
    const url = store().url;
    server = await startTempServer('bluetick-access-', {
      adminToken: ADMIN,
      channels: [{ name: 'main' }],
      ...(url !== undefined ? { store: { url } } : {}),
    });
    const res = await http(server.running.webhookUrls.main!, { body: TEXT_BODY, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await waitFor('the text message recorded', async () => (await server.running.store.events.list({ type: ['message.received'] }, { limit: 1 })).items[0]);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('lets the admin create tokens, shows each text once and lists them without it', async () => {
    for (const [name, role, maskText] of [
      ['ops', 'operator', false],
      ['watcher', 'viewer', false],
      ['masked', 'viewer', true],
      ['crm', 'sender', false],
    ] as const) {
      const res = await call(ADMIN, 'POST', '/api/tokens', { name, role, maskText });
      expect(res.status, name).toBe(201);
      expect(res.body).toMatchObject({ name, role, maskText, createdBy: 'admin-token' });
      expect(res.body.token).toMatch(/^btk_[A-Za-z0-9_-]{43}$/);
      expect(res.body.prefix).toBe(res.body.token.slice(0, 12));
      tokens[name] = res.body.token;
    }
    const list = await call(ADMIN, 'GET', '/api/tokens');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['ops', 'watcher', 'masked', 'crm']);
    expect(JSON.stringify(list.body)).not.toContain(tokens.ops);
    // The store keeps only digests.
    const stored = await server.running.store.access.listTokens();
    expect(JSON.stringify(stored)).not.toContain(tokens.ops);

    const again = await call(ADMIN, 'POST', '/api/tokens', { name: 'ops', role: 'viewer' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'Conflict', parameter: 'name' });
    const bad = await call(ADMIN, 'POST', '/api/tokens', { name: 'x', role: 'root' });
    expect(bad.status).toBe(400);
    expect(bad.body.parameter).toBe('role');
  });

  it('tells each caller its role and what it may do', async () => {
    expect((await call(ADMIN, 'GET', '/api/whoami')).body).toMatchObject({ name: 'admin-token', role: 'admin', can: { admin: true, operate: true } });
    expect((await call(tokens.ops!, 'GET', '/api/whoami')).body).toMatchObject({ name: 'ops', role: 'operator', can: { admin: false, operate: true, audit: true } });
    expect((await call(tokens.masked!, 'GET', '/api/whoami')).body).toMatchObject({ role: 'viewer', maskText: true, can: { operate: false, audit: false } });
    expect((await call(tokens.crm!, 'GET', '/api/whoami')).body).toMatchObject({ role: 'sender', can: { read: false, send: true } });
  });

  it('lets an operator read, redrive, replay and probe, and refuses token management', async () => {
    const ops = tokens.ops!;
    expect((await call(ops, 'GET', '/api/events')).status).toBe(200);
    expect((await call(ops, 'GET', '/api/audit')).status).toBe(200);
    const redrive = await call(ops, 'POST', '/api/dead-letters/redrive', { all: true });
    expect(redrive.status).toBe(200);
    expect(redrive.body.redriven).toBe(0);
    // No such route: the role allowed the call, the replay itself was refused for its input.
    expect((await call(ops, 'POST', '/api/replay', { route: 'nowhere', since: 0 })).status).toBe(400);
    expect((await call(ops, 'POST', '/api/sinks/none/probe')).status).toBe(404);
    for (const [method, path, body] of [
      ['GET', '/api/tokens', undefined],
      ['POST', '/api/tokens', { name: 'mine', role: 'admin' }],
      ['DELETE', '/api/tokens/watcher', undefined],
    ] as const) {
      const res = await call(ops, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.message).toContain('operator role cannot');
    }
  });

  it('lets a viewer read and nothing else', async () => {
    const viewer = tokens.watcher!;
    const events = await call(viewer, 'GET', '/api/events?type=message.received');
    expect(events.status).toBe(200);
    expect(events.body.items[0].event.text).toBe('Hi, is my order on its way?');
    for (const [method, path, body] of [
      ['POST', '/api/dead-letters/redrive', { all: true }],
      ['POST', '/api/replay', { route: 'x', since: 0 }],
      ['GET', '/api/audit', undefined],
      ['GET', '/api/tokens', undefined],
    ] as const) {
      expect((await call(viewer, method, path, body)).status, `${method} ${path}`).toBe(403);
    }
  });

  it('masks message text, in answers and in the live stream, for a masking viewer', async () => {
    const masked = tokens.masked!;
    const events = await call(masked, 'GET', '/api/events?type=message.received');
    expect(events.status).toBe(200);
    const text = JSON.stringify(events.body);
    expect(text).not.toContain('order on its way');
    expect(events.body.items[0].event.text).toBe('•••');
    expect(events.body.items[0].event.messageId).toMatch(/^wamid\./);
    const messages = await call(masked, 'GET', '/api/messages');
    expect(JSON.stringify(messages.body)).not.toContain('order on its way');

    const frame = await firstFrame(masked, '/api/stream?after=0&type=message.received');
    expect(JSON.stringify(frame)).not.toContain('order on its way');
    expect(frame.event.text).toBe('•••');
  });

  it('lets a sender only record outbound messages', async () => {
    const sender = tokens.crm!;
    expect((await call(sender, 'GET', '/api/events')).status).toBe(403);
    expect((await call(sender, 'POST', '/api/replay', { route: 'x', since: 0 })).status).toBe(403);
    // The role check passes; what the route answers is its own business (tested with the route).
    expect((await call(sender, 'POST', '/api/outbound', {})).status).not.toBe(403);
  });

  it('stops a revoked token at once and refuses unknown ones', async () => {
    expect((await call(tokens.watcher!, 'GET', '/api/events')).status).toBe(200);
    const revoked = await call(ADMIN, 'DELETE', '/api/tokens/watcher');
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeDefined();
    expect((await call(tokens.watcher!, 'GET', '/api/events')).status).toBe(401);
    expect((await call('btk_not-a-token', 'GET', '/api/events')).status).toBe(401);
    expect((await call(ADMIN, 'DELETE', '/api/tokens/nobody')).status).toBe(404);
  });

  it('keeps an audit log of changes, token use and refusals', async () => {
    const entries = await waitFor('the revocation audited', async () => {
      const items = await auditActions();
      // The last audited call of the suite: every earlier one is written by then.
      return items.some((e) => e.action === 'token.revoke' && e.target === 'nobody') ? items : undefined;
    });
    const has = (actor: string, action: string, target?: string) =>
      entries.some((e) => e.actor === actor && e.action === action && (target === undefined || e.target === target));
    const creations = entries.filter((e) => e.action === 'token.create' && e.actor === 'admin-token');
    // Four made, and the two attempts refused (a taken name, an unknown role) with their status.
    expect(creations.filter((e) => e.detail!.startsWith('status 201 '))).toHaveLength(4);
    expect(creations.map((e) => e.detail!.slice(0, 10)).sort()).toEqual(['status 201', 'status 201', 'status 201', 'status 201', 'status 400', 'status 409']);
    expect(has('ops', 'dead-letters.redrive')).toBe(true);
    expect(entries.find((e) => e.action === 'dead-letters.redrive')!.detail).toBe('status 200 {"all":true}');
    expect(has('ops', 'replay')).toBe(true);
    expect(has('ops', 'access.refused', 'POST /api/tokens')).toBe(true);
    expect(has('watcher', 'access.refused', 'POST /api/dead-letters/redrive')).toBe(true);
    expect(has('admin-token', 'token.revoke', 'watcher')).toBe(true);
    for (const who of ['ops', 'watcher', 'masked', 'crm']) expect(has(who, 'token.use'), who).toBe(true);
    // Token use is recorded once a minute per token, not per request.
    expect(entries.filter((e) => e.actor === 'ops' && e.action === 'token.use')).toHaveLength(1);
    const tokensNow = await call(ADMIN, 'GET', '/api/tokens');
    expect(tokensNow.body.items.find((t: { name: string }) => t.name === 'ops').lastUsedAt).toBeDefined();

    const newest = await call(ADMIN, 'GET', '/api/audit?order=desc&limit=1&action=token.revoke');
    expect(newest.body.items).toHaveLength(1);
    expect(newest.body.items[0]).toMatchObject({ target: 'nobody', detail: 'status 404' });
    const byActor = await call(ADMIN, 'GET', '/api/audit?actor=crm');
    expect(byActor.body.items.every((e: { actor: string }) => e.actor === 'crm')).toBe(true);
  });

  it('creates, lists and revokes tokens from the command line', async () => {
    const run = async (action: string, names: string[], extra: Record<string, unknown> = {}) => {
      let text = '';
      const stdout = { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream;
      const code = await runTokens(action, names, { url: server.running.url, token: ADMIN, ...extra }, { stdout, env: {} });
      return { code, text };
    };
    const created = await run('create', ['cli-viewer'], { role: 'viewer', maskText: true });
    expect(created.code).toBe(0);
    const token = /: (btk_\S+)/.exec(created.text)![1]!;
    expect(created.text).toContain('only time the token is shown');
    expect((await call(token, 'GET', '/api/whoami')).body).toMatchObject({ name: 'cli-viewer', role: 'viewer', maskText: true });
    const listed = await run('list', []);
    expect(listed.text).toMatch(/cli-viewer {2}viewer {2}btk_\S{8}… {2}text masked/);
    expect(listed.text).not.toContain(token);
    await expect(run('create', ['x'], { role: 'root' })).rejects.toThrow(/--role must be one of admin, operator, viewer, sender/);
    const revoked = await run('revoke', ['cli-viewer']);
    expect(revoked.text).toContain('cli-viewer: revoked');
    expect((await call(token, 'GET', '/api/whoami')).status).toBe(401);
  });

  /** The first `data:` frame of the live stream at `path`, parsed. */
  function firstFrame(token: string, path: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, server.running.url);
      const req = httpRequest(
        { hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { authorization: `Bearer ${token}` }, agent: false },
        (res) => {
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            const line = buffer.split('\n').find((l) => l.startsWith('data: '));
            if (line !== undefined) {
              resolve(parseJsonText(line.slice('data: '.length)));
              req.destroy();
            }
          });
        },
      );
      req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || error.message.includes('aborted') ? undefined : reject(error)));
      req.end();
    });
  }
}

describe('roles and the audit log on SQLite', () => {
  accessSuite(() => ({}));
});

const schema = schemaName('access');
describePostgres('roles and the audit log on PostgreSQL', () => {
  afterAll(async () => {
    await dropSchema(schema);
  });
  accessSuite(() => ({ url: urlFor(schema) }));
});
