/**
 * Every `/api` route the server registers is in the OpenAPI document and in
 * docs/reference/api.md, and the document names no route that is not served.
 *
 * The routes are the ones fastify registered on the real server's app (`registeredEndpoints`),
 * not the router's list, so a route added outside the router (a raw `app.post('/api/...')`)
 * fails here with its name and what to do.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredEndpoints } from '../src/api/app.js';
import { startTempServer, type TempServer } from './helpers/server.js';

let server: TempServer;
let documented: Set<string>;

/** `GET /api/events/:id` -> `GET /api/events/{id}`, the OpenAPI form. */
const openApiForm = (method: string, url: string): string => `${method.toUpperCase()} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;

beforeAll(async () => {
  server = await startTempServer('bluetick-api-coverage-', { channels: [{ name: 'main' }] });
  const res = await fetch(`${server.running.url}/api/openapi.json`, { headers: server.auth });
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => openApiForm(method, path))));
});

afterAll(async () => {
  await server?.close();
});

function servedApiRoutes(): string[] {
  const routes = registeredEndpoints(server.running.api).filter((r) => r.url === '/api' || r.url.startsWith('/api/'));
  return [...new Set(routes.map((r) => openApiForm(r.method, r.url)))].sort();
}

describe('the /api routes and their documents', () => {
  it('finds the routes the server registers (the check below is not vacuous)', () => {
    const served = servedApiRoutes();
    expect(served).toContain('GET /api/events');
    expect(served).toContain('POST /api/dead-letters/redrive');
    expect(served).toContain('POST /api/sinks/{name}/probe');
  });

  it('documents every registered /api route in the OpenAPI document', () => {
    const missing = servedApiRoutes().filter((r) => !documented.has(r));
    expect(missing, `registered but missing from /api/openapi.json (declare them on the router in src/api/router.ts): ${missing.join(', ')}`).toEqual([]);
  });

  it('serves every route the OpenAPI document names', () => {
    const served = new Set(servedApiRoutes());
    const extra = [...documented].filter((r) => !served.has(r));
    expect(extra, `in /api/openapi.json but not served: ${extra.join(', ')}`).toEqual([]);
  });

  it('names every route in docs/reference/api.md', () => {
    const text = readFileSync(new URL('../docs/reference/api.md', import.meta.url), 'utf8');
    // A route is named as `METHOD /api/path`; a GET may also be listed as `/api/path` after another in the same row.
    const named = (route: string): boolean => {
      const [method, path] = route.split(' ') as [string, string];
      return text.includes(`\`${method} ${path}\``) || (method === 'GET' && text.includes(`\`${path}\``));
    };
    const missing = [...documented].filter((r) => !named(r)).sort();
    expect(missing, `not named in docs/reference/api.md (write them as \`METHOD /api/path\`): ${missing.join(', ')}`).toEqual([]);
  });
});
