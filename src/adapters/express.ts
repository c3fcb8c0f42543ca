/**
 * @module bluetick/express
 *
 * The webhook handler as Express middleware (Express 4 and 5): verification over the exact
 * bytes, Meta's GET handshake, typed and deduplicated events. See `adapters/core` for what
 * happens to a POST, and docs/reference/adapters.md.
 *
 * The exact body comes from, in order: `express.raw()` having run (`req.body` is a Buffer),
 * `req.rawBody` (set by {@link keepRawBody} in `express.json({ verify: keepRawBody })`), or
 * the unread request stream. When a JSON parser ran first without keeping the bytes, the
 * middleware calls `next(error)` with a `BluetickError` of code
 * `BT_ERR_ADAPTER_BODY_CONSUMED` (status 500): mount it before `express.json()` or use
 * `keepRawBody`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createWebhookHandler } from 'bluetick/express';
 *
 * const app = express();
 * const webhook = createWebhookHandler({ basicAuth: [process.env.ENABLEX_WEBHOOK_AUTH!] });
 * webhook.on('message.status', (event) => statuses.set(event.messageId, event.status));
 * app.all('/webhook', webhook); // before app.use(express.json())
 * app.use(express.json());
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebhookCore, failureResponse, withHandlerMethods, type WebhookHandler, type WebhookHandlerOptions } from './core.js';
import { BluetickError } from '../errors.js';
import { nodeAdapterRequest, nodeRequestBody, sendNodeResponse } from './node.js';

export type { EventHandler, WebhookHandler, WebhookHandlerOptions } from './core.js';

type ExpressLikeRequest = IncomingMessage & { body?: unknown; rawBody?: unknown };
type Next = (error?: unknown) => void;

export type ExpressWebhookHandler = ((req: IncomingMessage, res: ServerResponse, next: Next) => void) & WebhookHandler;

/**
 * A `verify` function for `express.json()` / `express.text()` that keeps the exact bytes on
 * `req.rawBody`, so the webhook handler works behind a parser installed app-wide.
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, buf: Buffer): void {
  (req as ExpressLikeRequest).rawBody = buf;
}

function expressBody(req: ExpressLikeRequest, limit: number): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body);
  return nodeRequestBody(req, limit);
}

/** Express middleware; mount it with `app.all(path, handler)` (GET handshake and POST). */
export function createWebhookHandler(options: WebhookHandlerOptions): ExpressWebhookHandler {
  const core = new WebhookCore(options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    core.handle(nodeAdapterRequest(req, (limit) => expressBody(req, limit))).then(
      (answer) => sendNodeResponse(res, answer),
      (error: unknown) => {
        // The documented errors go to Express's error handlers, which see `code` and `status`.
        if (error instanceof BluetickError) next(error);
        else sendNodeResponse(res, failureResponse(core, error));
      },
    );
  };
  return withHandlerMethods(middleware, core);
}
