/**
 * @module api/endpoints/messages
 *
 * `GET /api/messages`, `GET /api/messages/{id}`: message state and status timelines.
 */
import type { MessageFilter } from '../../store/projections.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import { DEFAULT_LIMIT, idPath, messageDetailSchema, messagePageSchema, messagesQuery } from '../schemas.js';
import { pageView } from '../views.js';
import { withOutbound } from './outbound.js';

export function messageFilter(query: { direction?: 'inbound' | 'outbound' | undefined; status?: string[] | undefined }): MessageFilter {
  const filter: MessageFilter = {};
  if (query.direction !== undefined) filter.direction = query.direction;
  if (query.status) filter.status = query.status;
  return filter;
}

export function registerMessageEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/messages',
      operationId: 'listMessages',
      tag: 'messages',
      summary: 'List messages',
      description: 'Message rows in the order they were first seen.',
      query: messagesQuery,
      response: messagePageSchema,
    },
    async ({ query }) => {
      const filter = messageFilter(query);
      if (query.conversation !== undefined) filter.conversationKey = query.conversation;
      const page = await ctx.store.projections.listMessages(filter, pageRequest(query, DEFAULT_LIMIT));
      return pageView({ ...page, items: await withOutbound(ctx.store, page.items) }, (m) => m);
    },
  );

  router.get(
    {
      path: '/api/messages/{id}',
      operationId: 'getMessage',
      tag: 'messages',
      summary: 'Get a message: status, step times, timeline, reactions',
      description:
        'Was it delivered, was it read, and when. The status never goes down the lattice sent < delivered < read < played; ' +
        '`failed` carries its error codes. `reactions` are the ones currently on the message.',
      params: idPath,
      response: messageDetailSchema,
      notFound: true,
    },
    async ({ params }) => {
      const message = await ctx.store.projections.getMessage(params.id);
      if (!message) throw notFound(`no message with id "${params.id}"`);
      const [withRecord] = await withOutbound(ctx.store, [message]);
      return { ...withRecord, reactions: await ctx.store.projections.listReactions(params.id) };
    },
  );
}
