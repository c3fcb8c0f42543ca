/**
 * @module api/endpoints/openapi
 *
 * `GET /api/openapi.json`: the OpenAPI 3.1 document of every `/api` route, built once on
 * first request from the route specs registered before it.
 */
import { buildOpenApiDocument, type OpenApiInfo } from '../openapi.js';
import type { ApiRouter } from '../router.js';

export function registerOpenApiEndpoint(router: ApiRouter, info: OpenApiInfo): void {
  let document: Record<string, unknown> | undefined;
  router.get(
    {
      path: '/api/openapi.json',
      operationId: 'getOpenApi',
      tag: 'meta',
      summary: 'This document',
      response: { contentType: 'application/json', description: 'The OpenAPI 3.1 document of /api.' },
    },
    async () => (document ??= buildOpenApiDocument(router.routes, info)),
  );
}
