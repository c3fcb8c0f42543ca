/**
 * @module bluetick/node
 *
 * The webhook handler for a plain `node:http` server (and anything that hands you Node's
 * `IncomingMessage` and `ServerResponse`): verification, Meta's GET handshake, typed and
 * deduplicated events. See `adapters/core` for what happens to a POST, and
 * docs/reference/adapters.md.
 *
 * The exact body is read from the request stream. When something read the stream first, a
 * `rawBody` Buffer on the request is used if present; otherwise the answer is a 500 carrying
 * `BT_ERR_ADAPTER_BODY_CONSUMED`, never a 401.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createWebhookHandler } from 'bluetick/node';
 *
 * const webhook = createWebhookHandler({ meta: { appSecrets: [process.env.META_APP_SECRET!], verifyTokens: ['my-token'] } });
 * webhook.on('message.received', (event) => console.log(event.from, event.text));
 * createServer((req, res) => (req.url?.startsWith('/webhook') ? webhook(req, res) : res.writeHead(404).end())).listen(3000);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRawBodyAsync } from '../ingest/raw-body.js';
import { WebhookCore, bodyConsumed, failureResponse, withHandlerMethods, type AdapterRequest, type AdapterResponse, type WebhookHandler, type WebhookHandlerOptions } from './core.js';

export type { EventHandler, WebhookHandler, WebhookHandlerOptions } from './core.js';

/** A request some middleware may have decorated with the bytes it read. */
type MaybeRawRequest = IncomingMessage & { rawBody?: unknown };

/** The exact body of a Node request: its `rawBody` Buffer, or the unread stream. */
export function nodeRequestBody(req: MaybeRawRequest, limit: number): Promise<Buffer> {
  if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(req.rawBody);
  if (req.readableDidRead || req.readableEnded) {
    return Promise.reject(bodyConsumed('the request stream was already read (a body parser ran first)'));
  }
  return readRawBodyAsync(req, limit);
}

/** The core's view of a Node request. */
export function nodeAdapterRequest(req: IncomingMessage, body: (limit: number) => Promise<Buffer>): AdapterRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    query: q < 0 ? '' : url.slice(q + 1),
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    body,
    ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
  };
}

/** Writes a core answer to a Node response. */
export function sendNodeResponse(res: ServerResponse, answer: AdapterResponse): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

export type NodeWebhookHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & WebhookHandler;

/** A `(req, res)` handler; mount it on the path you gave the provider. */
export function createWebhookHandler(options: WebhookHandlerOptions): NodeWebhookHandler {
  const core = new WebhookCore(options);
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let answer: AdapterResponse;
    try {
      answer = await core.handle(nodeAdapterRequest(req, (limit) => nodeRequestBody(req, limit)));
    } catch (error) {
      answer = failureResponse(core, error);
    }
    if (!res.headersSent) sendNodeResponse(res, answer);
  };
  return withHandlerMethods(handler, core);
}
