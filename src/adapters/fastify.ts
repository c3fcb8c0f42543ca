/**
 * @module bluetick/fastify
 *
 * The webhook handler as a Fastify plugin: verification over the exact bytes, Meta's GET
 * handshake, typed and deduplicated events. See `adapters/core` for what happens to a POST,
 * and docs/reference/adapters.md.
 *
 * The plugin is encapsulated (register it with a `prefix`): inside it every content type is
 * read as a Buffer by a parser of its own, so a JSON parser registered on the app (Fastify's
 * built-in one, or your own) never touches the webhook body. If a hook replaced the body with
 * something else, the route throws a `BluetickError` of code `BT_ERR_ADAPTER_BODY_CONSUMED`
 * (status 500).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createWebhookHandler } from 'bluetick/fastify';
 *
 * const app = Fastify();
 * const webhook = createWebhookHandler({ meta: { appSecrets: [process.env.META_APP_SECRET!], verifyTokens: ['my-token'] } });
 * webhook.on('message.received', (event) => console.log(event.from, event.kind));
 * await app.register(webhook, { prefix: '/webhook' });
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebhookCore, bodyConsumed, failureResponse, withHandlerMethods, type AdapterResponse, type WebhookHandler, type WebhookHandlerOptions } from './core.js';
import { BluetickError } from '../errors.js';

export type { EventHandler, WebhookHandler, WebhookHandlerOptions } from './core.js';

export type FastifyWebhookPlugin = ((instance: FastifyInstance) => Promise<void>) & WebhookHandler;

function bodyOf(request: FastifyRequest): Buffer {
  if (Buffer.isBuffer(request.body)) return request.body;
  if (request.body === undefined || request.body === null) return Buffer.alloc(0);
  throw bodyConsumed('the request body is no longer a Buffer (a hook replaced it)');
}

function send(reply: FastifyReply, answer: AdapterResponse): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** A plugin serving GET and POST at its prefix. */
export function createWebhookHandler(options: WebhookHandlerOptions): FastifyWebhookPlugin {
  const core = new WebhookCore(options);
  const plugin = async (instance: FastifyInstance): Promise<void> => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: core.bodyLimit }, (_req, body, done) => done(null, body));
    instance.route({
      method: ['GET', 'POST'],
      url: '/',
      handler: async (request, reply) => {
        try {
          const answer = await core.handle({
            method: request.method,
            query: request.raw.url?.includes('?') ? request.raw.url.slice(request.raw.url.indexOf('?') + 1) : '',
            header: (name) => {
              const value = request.headers[name];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            body: async () => bodyOf(request),
            remoteAddress: request.socket.remoteAddress ?? request.ip,
          });
          return send(reply, answer);
        } catch (error) {
          if (error instanceof BluetickError) throw error;
          return send(reply, failureResponse(core, error));
        }
      },
    });
  };
  return withHandlerMethods(plugin, core);
}
