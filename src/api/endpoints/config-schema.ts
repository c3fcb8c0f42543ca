/**
 * @module api/endpoints/config-schema
 *
 * `GET /api/config-schema.json`: the JSON Schema of `bluetick.config.json` (see
 * `config/json-schema.ts`), the same document the package ships in `schema/`.
 */
import { configJsonSchema } from '../../config/json-schema.js';
import type { ApiRouter } from '../router.js';

export function registerConfigSchemaEndpoint(router: ApiRouter): void {
  let document: Record<string, unknown> | undefined;
  router.get(
    {
      path: '/api/config-schema.json',
      operationId: 'getConfigSchema',
      tag: 'meta',
      summary: 'The JSON Schema of the config file',
      response: { contentType: 'application/json', description: 'The JSON Schema (draft 2020-12) of bluetick.config.json.' },
    },
    async () => (document ??= configJsonSchema()),
  );
}
