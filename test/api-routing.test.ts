/**
 * The `/api` router over real HTTP: GET, POST and DELETE routes declared as specs are served
 * with their query, path and body parsed by zod, bad input is refused naming the field, and
 * the OpenAPI document describes each method with its request body and success status.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApiDocument } from '../src/api/openapi.js';
import { ApiError, ApiRouter } from '../src/api/router.js';

const itemSchema = z.object({ id: z.string(), note: z.string().optional(), removed: z.boolean().optional() });

let app: FastifyInstance;
let base: string;
let router: ApiRouter;
const received: unknown[] = [];

beforeAll(async () => {
  app = Fastify();
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof ApiError ? error.statusCode : (error.statusCode ?? 500);
    reply.code(status).send({ message: error.message, ...(error instanceof ApiError && error.parameter ? { parameter: error.parameter } : {}) });
  });
  router = new ApiRouter(app);
  router.get(
    { path: '/api/items/{id}', operationId: 'getItem', summary: 'One item', tag: 'items', params: z.object({ id: z.string() }), response: itemSchema },
    async ({ params }) => ({ id: params.id }),
  );
  router.post(
    {
      path: '/api/items',
      operationId: 'createItem',
      summary: 'Create an item',
      tag: 'items',
      body: z.object({ id: z.string().min(1), note: z.string().max(10).optional() }).strict(),
      successStatus: 201,
      conflict: true,
      response: itemSchema,
    },
    async ({ body }) => {
      received.push(body);
      if (body.id === 'taken') throw new ApiError(409, 'id: already exists', 'id');
      return body;
    },
  );
  router.post(
    { path: '/api/items/{id}/touch', operationId: 'touchItem', summary: 'Touch an item', tag: 'items', params: z.object({ id: z.string() }), response: itemSchema },
    async ({ params }) => ({ id: params.id }),
  );
  router.delete(
    {
      path: '/api/items/{id}',
      operationId: 'deleteItem',
      summary: 'Delete an item',
      tag: 'items',
      params: z.object({ id: z.string() }),
      query: z.object({ dryRun: z.enum(['true', 'false']).optional() }).strict(),
      response: itemSchema,
      notFound: true,
    },
    async ({ params, query }) => ({ id: params.id, removed: query.dryRun !== 'true' }),
  );
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('the router', () => {
  it('serves POST with the parsed body and the declared success status', async () => {
    const res = await call('POST', '/api/items', { id: 'a1', note: 'hello' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: 'a1', note: 'hello' });
    expect(received.at(-1)).toEqual({ id: 'a1', note: 'hello' });
  });

  it('refuses a bad body naming the field, and unknown fields, without calling the handler', async () => {
    const before = received.length;
    const long = await call('POST', '/api/items', { id: 'a2', note: 'far too long a note' });
    expect(long.status).toBe(400);
    expect(long.json.parameter).toBe('note');
    const missing = await call('POST', '/api/items', {});
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ parameter: 'id', message: 'id: is required' });
    const extra = await call('POST', '/api/items', { id: 'a3', colour: 'blue' });
    expect(extra.status).toBe(400);
    expect(extra.json.parameter).toBe('colour');
    const list = await call('POST', '/api/items', [{ id: 'a4' }]);
    expect(list.status).toBe(400);
    expect(list.json.parameter).toBe('body');
    expect(received.length).toBe(before);
  });

  it('lets a handler answer 409', async () => {
    const res = await call('POST', '/api/items', { id: 'taken' });
    expect(res.status).toBe(409);
    expect(res.json.message).toBe('id: already exists');
  });

  it('serves a POST without a body schema with or without an empty body, and refuses a non-empty one', async () => {
    expect((await call('POST', '/api/items/x1/touch')).json).toEqual({ id: 'x1' });
    expect((await call('POST', '/api/items/x1/touch', {})).status).toBe(200);
    const refused = await call('POST', '/api/items/x1/touch', { force: true });
    expect(refused.status).toBe(400);
    expect(refused.json.parameter).toBe('body');
  });

  it('serves DELETE with path and query parameters', async () => {
    expect((await call('DELETE', '/api/items/z9')).json).toEqual({ id: 'z9', removed: true });
    expect((await call('DELETE', '/api/items/z9?dryRun=true')).json).toEqual({ id: 'z9', removed: false });
    const bad = await call('DELETE', '/api/items/z9?dryRun=maybe');
    expect(bad.status).toBe(400);
    expect(bad.json.parameter).toBe('dryRun');
  });

  it('keeps GET working and refuses a GET spec with a body', async () => {
    expect((await call('GET', '/api/items/q')).json).toEqual({ id: 'q' });
    const other = new ApiRouter(Fastify());
    expect(() =>
      other.get(
        { path: '/api/x', operationId: 'x', summary: 'x', tag: 'x', response: itemSchema, body: z.object({}) } as never,
        async () => ({}),
      ),
    ).toThrow(/takes no body/);
  });

  it('documents each method, its request body and its success status', () => {
    const doc = buildOpenApiDocument(router.routes, { title: 't', version: '1' }) as {
      paths: Record<string, Record<string, { requestBody?: { required: boolean; content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths['/api/items/{id}']!).sort()).toEqual(['delete', 'get']);
    const create = doc.paths['/api/items']!.post!;
    expect(create.requestBody?.required).toBe(true);
    expect(Object.keys(create.requestBody!.content['application/json']!.schema.properties!).sort()).toEqual(['id', 'note']);
    expect(Object.keys(create.responses).sort()).toEqual(['201', '400', '401', '403', '409']);
    expect(doc.paths['/api/items/{id}/touch']!.post!.requestBody).toBeUndefined();
    expect(doc.paths['/api/items/{id}']!.delete!.responses).toHaveProperty('404');
  });
});
