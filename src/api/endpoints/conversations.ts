/**
 * @module api/endpoints/conversations
 *
 * `GET /api/conversations`, `GET /api/conversations/{key}`, `GET /api/conversations/{key}/messages`:
 * who wrote, when, and whether the 24-hour customer-service window is still open.
 */
import type { ConversationFilter } from '../../store/projections.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import {
  conversationMessagesQuery,
  conversationPageSchema,
  conversationSchema,
  conversationsQuery,
  DEFAULT_LIMIT,
  keyPath,
  messagePageSchema,
} from '../schemas.js';
import { conversationView, pageView } from '../views.js';
import { messageFilter } from './messages.js';
import { withOutbound } from './outbound.js';

export function registerConversationEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/conversations',
      operationId: 'listConversations',
      tag: 'conversations',
      summary: 'List conversations',
      description:
        'One row per (business number, contact), in the order first seen. `isWindowOpen` and the `windowOpen` filter are judged at the time of the request.',
      query: conversationsQuery,
      response: conversationPageSchema,
    },
    async ({ query }) => {
      const now = ctx.now();
      const filter: ConversationFilter = {};
      if (query.businessNumber !== undefined) filter.businessNumber = query.businessNumber;
      if (query.contact !== undefined) filter.contact = query.contact;
      if (query.activeSince !== undefined) filter.activeSince = query.activeSince;
      if (query.windowOpen !== undefined) filter.window = { open: query.windowOpen, at: now };
      const page = await ctx.store.projections.listConversations(filter, pageRequest(query, DEFAULT_LIMIT));
      return pageView(page, (row) => conversationView(row, now));
    },
  );

  router.get(
    {
      path: '/api/conversations/{key}',
      operationId: 'getConversation',
      tag: 'conversations',
      summary: 'Get one conversation',
      params: keyPath,
      response: conversationSchema,
      notFound: true,
    },
    async ({ params }) => {
      const row = await ctx.store.projections.getConversation(params.key);
      if (!row) throw notFound(`no conversation "${params.key}"`);
      return conversationView(row, ctx.now());
    },
  );

  router.get(
    {
      path: '/api/conversations/{key}/messages',
      operationId: 'listConversationMessages',
      tag: 'conversations',
      summary: "List a conversation's messages",
      description: 'Inbound and outbound messages filed under the conversation, in the order first seen.',
      params: keyPath,
      query: conversationMessagesQuery,
      response: messagePageSchema,
    },
    async ({ params, query }) => {
      const filter = { ...messageFilter(query), conversationKey: params.key };
      const page = await ctx.store.projections.listMessages(filter, pageRequest(query, DEFAULT_LIMIT));
      return pageView({ ...page, items: await withOutbound(ctx.store, page.items) }, (m) => m);
    },
  );
}
