/**
 * Serving the built console: content types, caching headers, gzip, ETags, the client-side
 * routing fallback, and paths that try to leave the assets folder. Uses a small stand-in
 * build in a temp folder, so it runs without building the console or a browser.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleEndpoints } from '../src/api/endpoints/console.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('console static files', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-console-serve-'));
    await mkdir(join(dir, 'console', 'assets'), { recursive: true });
    await writeFile(join(dir, 'console', 'index.html'), INDEX);
    await writeFile(join(dir, 'console', 'assets', 'index-abc123.js'), SCRIPT);
    await writeFile(join(dir, 'console', 'assets', 'index-abc123.css'), 'body{margin:0}');
    await writeFile(join(dir, 'secret.txt'), 'outside the console folder');
    app = Fastify();
    await app.register(consoleEndpoints, { dir: join(dir, 'console') });
    app.get('/api/stats', async () => ({ ok: true }));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache, an ETag and a strict content security policy', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toBe(INDEX);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('answers every console screen path with index.html, and nothing else', async () => {
    for (const url of ['/live', '/events/evt_1', '/messages', '/messages/wamid.A%3D%3D', '/conversations/1:2', '/templates/x', '/deliveries', '/rejections', '/login']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
    }
    for (const url of ['/api/nothing', '/nope', '/deliveries/1']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
    // Routes of their own keep working.
    expect((await app.inject({ url: '/api/stats' })).json()).toEqual({ ok: true });
  });

  it('serves hashed assets as immutable, gzip-compressed when accepted', async () => {
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);
    const gz = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(SCRIPT);
    const refused = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const css = await app.inject({ url: '/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('never reads outside the assets folder', async () => {
    for (const url of [
      '/assets/..%2F..%2Fsecret.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/assets/../index.html',
      '/assets/.%2e/index.html',
      '/assets/%00index-abc123.js',
      '/assets/.hidden.js',
      '/assets/index-abc123.exe',
      '/assets/missing.js',
      '/assets/',
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).not.toBe(200);
      expect(res.body, url).not.toContain('outside the console folder');
      expect(res.body, url).not.toBe(INDEX);
    }
  });

  it('says how to build the console when it is missing', async () => {
    const bare = Fastify();
    await bare.register(consoleEndpoints, { dir: join(dir, 'not-built') });
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    await bare.close();
  });
});
