/**
 * @module api/endpoints/console
 *
 * Serves the web console (built by `vite build --config console/vite.config.ts` into
 * `dist/console/`) from the same fastify app, and so the same port, as the API.
 *
 * - `/assets/<file>`: the hashed bundle files. Their names change whenever their content
 *   does, so they are cached for a year as `immutable`.
 * - `index.html` for `/` and every console screen path (client-side routing): `no-cache`
 *   with an ETag, so a new build is picked up on the next load and an unchanged one costs
 *   a 304.
 * - Compressible files are sent gzip-compressed when the browser accepts it (compressed
 *   once per file version, then kept in memory: the bundle is small).
 *
 * Only names of the form `[A-Za-z0-9._-]+` directly inside `assets/` are ever read, so a
 * path cannot climb out of the folder. The console talks to the server only through the
 * public `/api`; nothing here reads the store.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleEndpointsOptions {
  /** The built console. Default: `dist/console` in the package folder. */
  dir?: string;
}

/** The package folder: this file sits at `src/api/endpoints/` (tests) or `dist/api/endpoints/` (built). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where `npm run build` puts the console. */
export const DEFAULT_CONSOLE_DIR = join(PACKAGE_ROOT, 'dist', 'console');

/**
 * Paths the console's client-side router owns. Each serves `index.html`; anything else
 * that is not a route of its own stays a 404, so a mistyped `/api/...` URL is not
 * answered with a page.
 */
export const CONSOLE_SCREEN_PATHS = [
  '/',
  '/login',
  '/live',
  '/events/*',
  '/messages',
  '/messages/*',
  '/conversations',
  '/conversations/*',
  '/templates',
  '/templates/*',
  '/deliveries',
  '/rejections',
  '/access',
  '/search',
] as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The page may load only what it was built with and talk only to its own origin: no inline
 * script, nothing from a CDN. Inline `style` attributes are not allowed either; the console
 * sets dynamic sizes through the CSSOM, which this policy does not restrict.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

interface CachedFile {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip?: Buffer;
  etag: string;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return /(?:^|,)\s*gzip\s*(?:;\s*q=(?!0(?:\.0+)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(value);
}

function etagMatches(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}

/**
 * Registers the console routes.
 *
 * @example
 * ```ts
 * app.register(consoleEndpoints, { dir: '/srv/bluetick/dist/console' });
 * ```
 */
export async function consoleEndpoints(app: FastifyInstance, opts: ConsoleEndpointsOptions): Promise<void> {
  const root = resolve(opts.dir ?? DEFAULT_CONSOLE_DIR);
  const assetsDir = join(root, 'assets');
  const cache = new Map<string, CachedFile>();

  /** The file as it is on disk now, or undefined when it does not exist. */
  async function load(path: string, compressible: boolean): Promise<CachedFile | undefined> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const cached = cache.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(path);
    const file: CachedFile = {
      mtimeMs: info.mtimeMs,
      size: info.size,
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    // Tiny files gain nothing from compression.
    if (compressible && body.length > 512) file.gzip = gzipSync(body, { level: 9 });
    cache.set(path, file);
    return file;
  }

  function send(request: FastifyRequest, reply: FastifyReply, file: CachedFile, contentType: string): FastifyReply {
    reply.header('Content-Type', contentType);
    reply.header('ETag', file.etag);
    reply.header('X-Content-Type-Options', 'nosniff');
    if (file.gzip) reply.header('Vary', 'Accept-Encoding');
    if (etagMatches(request, file.etag)) return reply.code(304).send();
    if (file.gzip && acceptsGzip(request)) {
      reply.header('Content-Encoding', 'gzip');
      return reply.send(file.gzip);
    }
    return reply.send(file.body);
  }

  async function sendIndex(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const file = await load(join(root, 'index.html'), true);
    reply.header('Cache-Control', 'no-cache');
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    if (!file) {
      reply.code(503).type('text/plain; charset=utf-8');
      return reply.send(`The web console is not built (no ${join(root, 'index.html')}). Run \`npm run build\`.\n`);
    }
    return send(request, reply, file, CONTENT_TYPES['.html']!);
  }

  const screenHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => sendIndex(request, reply);
  for (const path of CONSOLE_SCREEN_PATHS) {
    app.get(path, screenHandler);
  }

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const name = request.params.file;
    const ext = extensionOf(name);
    const contentType = CONTENT_TYPES[ext];
    const path = join(assetsDir, name);
    // SAFE_NAME already excludes separators and "..": the check below only states the intent.
    if (!SAFE_NAME.test(name) || name.includes('..') || contentType === undefined || !path.startsWith(assetsDir + sep)) {
      return reply.code(404).send({ error: 'not found' });
    }
    const file = await load(path, COMPRESSIBLE.has(ext));
    if (!file) return reply.code(404).send({ error: 'not found' });
    reply.header('Cache-Control', 'public, max-age=31536000, immutable');
    return send(request, reply, file, contentType);
  });

  // A browser asking for a path no one serves gets the console's own not-found screen (status
  // 404); API clients and other paths keep the JSON answer.
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    const wantsPage = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html') && !path.startsWith('/api/') && !path.startsWith('/assets/');
    if (!wantsPage) return reply.code(404).send({ error: 'Not Found', message: `Route ${request.method}:${path} not found` });
    reply.code(404);
    return sendIndex(request, reply);
  });

  // Browsers ask for it whatever the page says; an empty answer keeps the log quiet.
  app.get('/favicon.ico', async (_request, reply) => {
    reply.header('Cache-Control', 'public, max-age=86400');
    return reply.code(204).send();
  });
}
