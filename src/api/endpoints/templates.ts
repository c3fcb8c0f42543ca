/**
 * @module api/endpoints/templates
 *
 * `GET /api/templates`, `GET /api/templates/{key}`: review status, quality, category, history.
 */
import type { TemplateFilter } from '../../store/projections.js';
import { pageRequest, type RestContext } from '../context.js';
import { notFound, type ApiRouter } from '../router.js';
import { DEFAULT_LIMIT, keyPath, templatePageSchema, templateSchema, templatesQuery } from '../schemas.js';
import { pageView } from '../views.js';

export function registerTemplateEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/templates',
      operationId: 'listTemplates',
      tag: 'templates',
      summary: 'List templates',
      description: 'Message templates with their current status, reason, quality and category, in the order first seen.',
      query: templatesQuery,
      response: templatePageSchema,
    },
    async ({ query }) => {
      const filter: TemplateFilter = {};
      if (query.status) filter.status = query.status;
      if (query.quality) filter.quality = query.quality;
      if (query.category) filter.category = query.category;
      if (query.name !== undefined) filter.name = query.name;
      if (query.language !== undefined) filter.language = query.language;
      return pageView(await ctx.store.projections.listTemplates(filter, pageRequest(query, DEFAULT_LIMIT)), (t) => t);
    },
  );

  router.get(
    {
      path: '/api/templates/{key}',
      operationId: 'getTemplate',
      tag: 'templates',
      summary: 'Get one template with its full history',
      description: 'The key is the template id, or `<name>:<language>` for events that carried no id.',
      params: keyPath,
      response: templateSchema,
      notFound: true,
    },
    async ({ params }) => {
      const row = await ctx.store.projections.getTemplate(params.key);
      if (!row) throw notFound(`no template "${params.key}"`);
      return row;
    },
  );
}
