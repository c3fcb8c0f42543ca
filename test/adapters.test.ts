/**
 * The framework adapters, each inside a real app of its framework listening on loopback:
 * signed Meta bodies and Basic-auth EnableX bodies become typed events, forgeries get 401
 * without a handler call, Meta's handshake answers, and a JSON body parser installed before
 * the adapter either leaves the exact bytes to it or fails with the documented error.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookHandler as expressHandler, keepRawBody, type ExpressWebhookHandler } from '../src/adapters/express.js';
import { createWebhookHandler as fastifyHandler, type FastifyWebhookPlugin } from '../src/adapters/fastify.js';
import { createWebhookHandler as honoHandler, type HonoWebhookHandler } from '../src/adapters/hono.js';
import { createWebhookHandler as nodeHandler } from '../src/adapters/node.js';
import type { WebhookHandler, WebhookHandlerOptions } from '../src/adapters/core.js';
import type { BluetickEvent } from '../src/events/types.js';
import { buildWebhookBody } from '../src/testing/index.js';
import { adminQuery, describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';

const SECRET = 'meta-app-secret-for-tests';
const BASIC = 'enablex:a-long-enough-password';
const OPTIONS: WebhookHandlerOptions = { basicAuth: [BASIC], meta: { appSecrets: [SECRET], verifyTokens: ['verify-me'] } };

interface RunningApp {
  url: string;
  /** Errors the framework's own error path received. */
  errors: Array<{ code?: string }>;
  close(): Promise<void>;
}

type Setup = 'plain' | 'json-first' | 'json-first-keeping-bytes';

interface Framework {
  name: string;
  create(options: WebhookHandlerOptions): WebhookHandler;
  start(handler: WebhookHandler, setup: Setup): Promise<RunningApp>;
  /** What a JSON parser installed first leads to. */
  jsonFirst: 'works' | 'documented-error';
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`)));
}

function closing(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Reads the body and parses it the way a JSON middleware does, then passes the request on. */
function jsonMiddleware(req: IncomingMessage & { body?: unknown; rawBody?: Buffer }, keep: boolean): Promise<void> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      req.body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      if (keep) req.rawBody = raw;
      resolve();
    });
  });
}

const FRAMEWORKS: Framework[] = [
  {
    name: 'express',
    create: expressHandler,
    jsonFirst: 'documented-error',
    async start(handler, setup) {
      const app = express();
      const errors: RunningApp['errors'] = [];
      if (setup === 'json-first') app.use(express.json());
      if (setup === 'json-first-keeping-bytes') app.use(express.json({ verify: keepRawBody }));
      app.all('/webhook', handler as ExpressWebhookHandler);
      app.use((err: { code?: string; status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        errors.push(err);
        res.status(err.status ?? 500).json({ error: err.code });
      });
      const server = createServer(app);
      return { url: await listening(server), errors, close: () => closing(server) };
    },
  },
  {
    name: 'fastify',
    create: fastifyHandler,
    jsonFirst: 'works',
    async start(handler, setup) {
      const app = Fastify();
      const errors: RunningApp['errors'] = [];
      app.setErrorHandler((err: { code?: string; statusCode?: number }, _req, reply) => {
        errors.push(err);
        return reply.code(err.statusCode ?? 500).send({ error: err.code });
      });
      if (setup !== 'plain') {
        // An app-wide JSON parser of the user's own, besides Fastify's built-in one.
        app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, JSON.parse(body as string)));
      }
      await app.register(handler as FastifyWebhookPlugin, { prefix: '/webhook' });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhook`, errors, close: () => app.close() };
    },
  },
  {
    name: 'hono',
    create: honoHandler,
    jsonFirst: 'documented-error',
    async start(handler, setup) {
      const app = new Hono();
      const errors: RunningApp['errors'] = [];
      app.onError((err, c) => {
        errors.push(err as { code?: string });
        return c.json({ error: (err as { code?: string }).code }, 500);
      });
      if (setup === 'json-first') {
        app.use('/webhook', async (c, next) => {
          if (c.req.method === 'POST') await c.req.json();
          await next();
        });
      }
      if (setup === 'json-first-keeping-bytes') {
        app.use('/webhook', async (c, next) => {
          if (c.req.method === 'POST') JSON.parse(new TextDecoder().decode(await c.req.arrayBuffer()));
          await next();
        });
      }
      app.all('/webhook', handler as HonoWebhookHandler);
      const server = await new Promise<Server>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
      });
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`, errors, close: () => closing(server) };
    },
  },
  {
    name: 'node',
    create: nodeHandler,
    jsonFirst: 'documented-error',
    async start(handler, setup) {
      const run = handler as unknown as (req: IncomingMessage, res: ServerResponse) => Promise<void>;
      const server = createServer((req, res) => {
        if (setup === 'plain' || req.method !== 'POST') return void run(req, res);
        void jsonMiddleware(req, setup === 'json-first-keeping-bytes').then(() => run(req, res));
      });
      return { url: await listening(server), errors: [], close: () => closing(server) };
    },
  },
];

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function startWith(fw: Framework, setup: Setup = 'plain', options: WebhookHandlerOptions = OPTIONS) {
  const handler = fw.create(options);
  const received: BluetickEvent[] = [];
  const texts: string[] = [];
  const statuses: string[] = [];
  handler.on('message.received', (event) => {
    received.push(event);
    // Typed: a received message has `kind`, a text one its `text`.
    if (event.kind === 'text' && event.text !== undefined) texts.push(event.text);
  });
  handler.on(['message.status'], (event) => {
    received.push(event);
    statuses.push(`${event.messageId}:${event.status}`);
  });
  const app = await fw.start(handler, setup);
  running.push(app, handler);
  return { app, handler, received, texts, statuses };
}

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new Uint8Array(body), headers });
}

describe.each(FRAMEWORKS)('bluetick/$name', (fw) => {
  it('turns a signed Meta body and a Basic-auth EnableX body into typed events', async () => {
    const { app, received, texts, statuses } = await startWith(fw);
    const meta = buildWebhookBody(['text', 'status-read'], { shape: 'meta', metaSecret: SECRET, seed: `${fw.name}-meta` });
    const res = await post(app.url, meta.body, meta.headers);
    expect(res.status).toBe(200);
    expect(received.map((e) => [e.type, e.provider])).toEqual([
      ['message.received', 'meta'],
      ['message.status', 'meta'],
    ]);
    expect(texts).toHaveLength(1);
    expect(statuses).toEqual([`${meta.refs[1]}:read`]);

    const enablex = buildWebhookBody('text', { shape: 'enablex', basic: BASIC, seed: `${fw.name}-enablex` });
    expect((await post(app.url, enablex.body, enablex.headers)).status).toBe(200);
    expect(received.slice(2).map((e) => [e.type, e.provider])).toEqual([['message.received', 'enablex']]);
    expect(texts).toHaveLength(2);

    // The same body again (a provider's redelivery): answered, not handed over twice.
    expect((await post(app.url, meta.body, meta.headers)).status).toBe(200);
    expect(received).toHaveLength(3);
  });

  it('answers 401 to a wrong signature or wrong credentials, and never calls the handler', async () => {
    const { app, received } = await startWith(fw);
    const forged = buildWebhookBody('text', { shape: 'meta', metaSecret: 'not-the-secret' });
    const res = await post(app.url, forged.body, forged.headers);
    expect(res.status).toBe(401);
    const wrongUser = buildWebhookBody('text', { shape: 'enablex', basic: 'enablex:wrong-password-here' });
    expect((await post(app.url, wrongUser.body, wrongUser.headers)).status).toBe(401);
    const unsigned = buildWebhookBody('text', { shape: 'meta' });
    expect((await post(app.url, unsigned.body, unsigned.headers)).status).toBe(401);
    expect(received).toEqual([]);
  });

  it("answers Meta's GET handshake with the challenge, and 403 to a wrong verify token", async () => {
    const { app } = await startWith(fw);
    const ok = await fetch(`${app.url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${app.url}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1`);
    expect(wrong.status).toBe(403);
  });

  it('with a JSON body parser installed first: verifies the exact bytes, or fails with BT_ERR_ADAPTER_BODY_CONSUMED (never a 401)', async () => {
    const { app, received } = await startWith(fw, 'json-first');
    const meta = buildWebhookBody('text', { shape: 'meta', metaSecret: SECRET, seed: 'json-first' });
    const res = await post(app.url, meta.body, meta.headers);
    if (fw.jsonFirst === 'works') {
      expect(res.status).toBe(200);
      expect(received.map((e) => e.type)).toEqual(['message.received']);
    } else {
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error?: string }).error).toBe('BT_ERR_ADAPTER_BODY_CONSUMED');
      expect(received).toEqual([]);
      if (fw.name !== 'node') expect(app.errors.map((e) => e.code)).toEqual(['BT_ERR_ADAPTER_BODY_CONSUMED']);
    }
  });

  it('with a parser first that keeps the bytes, verifies them', async () => {
    const { app, received } = await startWith(fw, 'json-first-keeping-bytes');
    const meta = buildWebhookBody('status-delivered', { shape: 'meta', metaSecret: SECRET, seed: 'keeping' });
    expect((await post(app.url, meta.body, meta.headers)).status).toBe(200);
    expect(received.map((e) => e.type)).toEqual(['message.status']);
    const forged = buildWebhookBody('text', { shape: 'meta', metaSecret: 'nope' });
    expect((await post(app.url, forged.body, forged.headers)).status).toBe(401);
    expect(received).toHaveLength(1);
  });

  it('answers 500 when a handler throws, and hands over only the events not yet handled when the body comes again', async () => {
    const handler = fw.create({ ...OPTIONS, onError: () => {} });
    const seen: string[] = [];
    let failOnce = true;
    handler.on('message.status', (event) => {
      if (event.status === 'read' && failOnce) {
        failOnce = false;
        throw new Error('downstream is down');
      }
      seen.push(event.status);
    });
    const app = await fw.start(handler, 'plain');
    running.push(app, handler);
    const meta = buildWebhookBody(['status-delivered', 'status-read'], { shape: 'meta', metaSecret: SECRET, seed: 'retry' });
    expect((await post(app.url, meta.body, meta.headers)).status).toBe(500);
    expect((await post(app.url, meta.body, meta.headers)).status).toBe(200);
    expect(seen).toEqual(['delivered', 'read']);
  });
});

describe('durable mode (a store)', () => {
  it('journals the body before the 200 and runs the handler from a durable delivery', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-adapter-durable-'));
    running.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const handler = nodeHandler({ ...OPTIONS, store: join(dir, 'webhooks.db') });
    const got: BluetickEvent[] = [];
    let resolveFirst!: () => void;
    const first = new Promise<void>((resolve) => (resolveFirst = resolve));
    handler.on('message.received', (event) => {
      got.push(event);
      resolveFirst();
    });
    const server = createServer((req, res) => void handler(req, res));
    const url = await listening(server);
    running.push(handler, { close: () => closing(server) });

    const meta = buildWebhookBody('text', { shape: 'meta', metaSecret: SECRET, seed: 'durable' });
    expect((await post(url, meta.body, meta.headers)).status).toBe(200);
    // Committed before the answer: another connection sees the row.
    const db = new Database(join(dir, 'webhooks.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT verified_by AS v, length(body) AS n FROM journal').all()).toEqual([{ v: 'meta-signature', n: meta.body.length }]);
    } finally {
      db.close();
    }
    await first;
    expect(got.map((e) => e.type)).toEqual(['message.received']);
    expect(got[0]!.channel).toBe('default');
  });

  it('refuses to build a handler without credentials', () => {
    expect(() => nodeHandler({})).toThrow(expect.objectContaining({ code: 'BT_ERR_CONFIG_UNSAFE' }));
  });
});

describePostgres('durable mode on PostgreSQL', () => {
  it('journals in the schema of the URL before the 200 and runs the handler from a delivery', async () => {
    const schema = schemaName('adapter');
    running.push({ close: () => dropSchema(schema) });
    const handler = fastifyHandler({ ...OPTIONS, store: urlFor(schema) });
    const got: string[] = [];
    let resolveFirst!: () => void;
    const first = new Promise<void>((resolve) => (resolveFirst = resolve));
    handler.on('message.status', (event) => {
      got.push(event.status);
      resolveFirst();
    });
    const app = await FRAMEWORKS.find((f) => f.name === 'fastify')!.start(handler, 'plain');
    running.push(handler, app);

    const enablex = buildWebhookBody('status-read', { shape: 'enablex', basic: BASIC, seed: 'durable-pg' });
    expect((await post(app.url, enablex.body, enablex.headers)).status).toBe(200);
    expect(await adminQuery(`SELECT verified_by AS v FROM "${schema}".journal`)).toEqual([{ v: 'basic' }]);
    await first;
    expect(got).toEqual(['read']);
  });
});
