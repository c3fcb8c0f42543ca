/**
 * @module api/endpoints/search
 *
 * `GET /api/search?q=`: messages (text, sender, id), contacts (name, number), templates (name)
 * and what your code recorded as sent, newest first. Every word of `q` must match the start of
 * a word of the document, so `anita`, `98123` and `wamid.HBgL` all find what they begin.
 * Events are indexed moments after they are recorded (`search/indexer.ts`).
 */
import { z } from 'zod';
import { queryTerms, SEARCH_KINDS, type SearchKind } from '../../search/documents.js';
import type { RestContext } from '../context.js';
import { ApiError, type ApiRouter } from '../router.js';
import { component, enumListParam } from '../schemas.js';
import { isoOf } from '../views.js';

const searchQuery = z.strictObject({
  q: z.string().min(1, { error: 'expected the words to search for' }).max(200, { error: 'expected at most 200 characters' }).meta({ description: 'Words to find (each matches the start of a word).' }),
  kind: enumListParam(SEARCH_KINDS, 'Only these kinds of result.'),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, { error: 'expected an integer from 1 to 100' })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: 'expected an integer from 1 to 100' }).max(100, { error: 'expected an integer from 1 to 100' }))
    .optional()
    .meta({ description: 'At most this many results, 1 to 100 (default 20).' }),
});

const searchResultSchema = component(
  'SearchResults',
  z.strictObject({
    items: z.array(
      z.strictObject({
        kind: z.enum(SEARCH_KINDS as [SearchKind, ...SearchKind[]]),
        ref: z.string().meta({ description: 'message id, wa_id, template key, or the outbound message id' }),
        title: z.string(),
        at: z.string().meta({ format: 'date-time' }),
        path: z.string().meta({ description: 'The API resource to read next.' }),
      }),
    ),
  }),
);

function pathOf(kind: SearchKind, ref: string): string {
  const id = encodeURIComponent(ref);
  switch (kind) {
    case 'message':
      return `/api/messages/${id}`;
    case 'outbound':
      return `/api/outbound/${id}`;
    case 'contact':
      return `/api/contacts/${id}`;
    case 'template':
      return `/api/templates/${id}`;
  }
}

export function registerSearchEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/search',
      operationId: 'search',
      tag: 'search',
      summary: 'Search messages, contacts, templates and outbound records',
      description: 'Newest first. SQLite: FTS5; PostgreSQL: full-text search (`simple` configuration), both by word prefix.',
      query: searchQuery,
      response: searchResultSchema,
    },
    async ({ query }) => {
      const terms = queryTerms(query.q);
      if (terms.length === 0) throw new ApiError(400, 'q: expected at least one letter or digit', 'q');
      const hits = await ctx.store.search.query(terms, query.kind, query.limit ?? 20);
      return { items: hits.map((h) => ({ kind: h.kind, ref: h.ref, title: h.title, at: isoOf(h.at), path: pathOf(h.kind, h.ref) })) };
    },
  );
}
