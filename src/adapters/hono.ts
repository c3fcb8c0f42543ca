/**
 * @module bluetick/hono
 *
 * The webhook handler for Hono and for any runtime that speaks the Web `Request` ->
 * `Response` (Next.js route handlers, Bun, Deno, Cloudflare-style workers on Node):
 * verification over the exact bytes, Meta's GET handshake, typed and deduplicated events.
 * See `adapters/core` for what happens to a POST, and docs/reference/adapters.md.
 *
 * - `app.all('/webhook', webhook)`: the handler is a Hono handler. When a middleware already
 *   read the body with `c.req.arrayBuffer()` (or `.bytes()`, `.blob()`), those cached bytes
 *   are used. When it read it only as JSON, the bytes are gone (Hono would hand back
 *   re-serialized JSON, which no longer matches a signature): the handler throws a
 *   `BluetickError` of code `BT_ERR_ADAPTER_BODY_CONSUMED` (status 500) to `app.onError`.
 * - `webhook.fetch(request)`: plain `Request` -> `Response` (export it as `POST` and `GET` of a
 *   Next.js route). A used body answers 500 with that code as JSON.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createWebhookHandler } from 'bluetick/hono';
 *
 * const webhook = createWebhookHandler({ meta: { appSecrets: [process.env.META_APP_SECRET!], verifyTokens: ['my-token'] } });
 * webhook.on('message.received', (event) => console.log(event.from, event.kind));
 * const app = new Hono().all('/webhook', webhook);
 * ```
 */
import { BluetickError } from '../errors.js';
import { WebhookCore, bodyConsumed, failureResponse, withHandlerMethods, type AdapterRequest, type AdapterResponse, type WebhookHandler, type WebhookHandlerOptions } from './core.js';

export type { EventHandler, WebhookHandler, WebhookHandlerOptions } from './core.js';

/** The part of Hono's context the handler uses (kept structural so Hono stays optional). */
export interface HonoLikeContext {
  req: { raw: Request; bodyCache: object };
}

export type HonoWebhookHandler = ((c: HonoLikeContext) => Promise<Response>) & {
  /** Web-standard entry point: `Request` -> `Response`. */
  fetch(request: Request): Promise<Response>;
} & WebhookHandler;

function tooLarge(limit: number): BluetickError {
  return new BluetickError('BT_ERR_INGEST_TOO_LARGE', `the body is larger than the limit of ${limit} bytes`);
}

/** Reads a Web request body with a size limit. */
export async function readWebBody(request: Request, limit: number): Promise<Buffer> {
  if (request.bodyUsed) throw bodyConsumed('the request body was already read');
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (request.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

async function honoBody(c: HonoLikeContext, limit: number): Promise<Buffer> {
  // Hono keeps each form it read as a promise under its name (`json`, `text`, `arrayBuffer`, ...).
  const cache = c.req.bodyCache as Partial<Record<string, Promise<unknown>>>;
  const cached = cache.arrayBuffer;
  if (cached !== undefined) return Buffer.from((await cached) as ArrayBuffer);
  if (cache.blob !== undefined) return Buffer.from(await ((await cache.blob) as Blob).arrayBuffer());
  if (Object.keys(cache).some((k) => cache[k] !== undefined)) {
    throw bodyConsumed(`the body was read as ${Object.keys(cache).join(', ')} before the webhook handler`);
  }
  const body = await readWebBody(c.req.raw, limit);
  // Later readers (c.req.json(), ...) find the bytes here.
  cache.arrayBuffer = Promise.resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return body;
}

function webRequest(request: Request, body: (limit: number) => Promise<Buffer>): AdapterRequest {
  const url = new URL(request.url);
  return { method: request.method, query: url.search, header: (name) => request.headers.get(name) ?? undefined, body };
}

function toResponse(answer: AdapterResponse): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** A Hono handler that also has a Web-standard `fetch(request)`. */
export function createWebhookHandler(options: WebhookHandlerOptions): HonoWebhookHandler {
  const core = new WebhookCore(options);
  const hono = async (c: HonoLikeContext): Promise<Response> => {
    try {
      return toResponse(await core.handle(webRequest(c.req.raw, (limit) => honoBody(c, limit))));
    } catch (error) {
      if (error instanceof BluetickError) throw error;
      return toResponse(failureResponse(core, error));
    }
  };
  const fetch = async (request: Request): Promise<Response> => {
    try {
      return toResponse(await core.handle(webRequest(request, (limit) => readWebBody(request, limit))));
    } catch (error) {
      return toResponse(failureResponse(core, error));
    }
  };
  return withHandlerMethods(Object.assign(hono, { fetch }), core);
}
