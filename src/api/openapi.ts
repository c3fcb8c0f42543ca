/**
 * @module api/openapi
 *
 * The OpenAPI 3.1 document of `/api`, generated from the route specs and the zod schemas
 * (`z.toJSONSchema`, JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect). Registered
 * schemas become `components.schemas` and are referenced by `$ref`.
 */
import { z } from 'zod';
import type { EndpointSpec } from './router.js';
import { apiComponents, apiRegistry, errorSchema } from './schemas.js';

type Json = Record<string, unknown>;

const SCHEMA_PREFIX = '#/components/schemas/';

function clean(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function ref(id: string): Json {
  return { $ref: `${SCHEMA_PREFIX}${id}` };
}

function schemaRef(schema: z.ZodType): Json {
  const id = apiRegistry.get(schema)?.id;
  if (id !== undefined) return ref(id);
  return clean(z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Json);
}

function parametersOf(where: 'query' | 'path', object: z.ZodObject | undefined): Json[] {
  if (object === undefined) return [];
  const out: Json[] = [];
  for (const [name, field] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    const schema = clean(z.toJSONSchema(field, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Json);
    const { description, ...rest } = schema;
    const param: Json = { name, in: where, required: where === 'path' || !field.safeParse(undefined).success, schema: rest };
    if (typeof description === 'string') param.description = description;
    out.push(param);
  }
  return out;
}

const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref(apiRegistry.get(errorSchema)!.id) } },
});

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export function buildOpenApiDocument(routes: readonly EndpointSpec[], info: OpenApiInfo): Json {
  const generated = z.toJSONSchema(apiRegistry, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `${SCHEMA_PREFIX}${id}`,
  }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const description = apiComponents.get(id)?.description;
    schemas[id] = description === undefined ? clean(schema) : { description, ...clean(schema) };
  }

  const paths: Record<string, Json> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    tags.add(route.tag);
    const parameters = [
      ...parametersOf('path', route.params),
      ...parametersOf('query', route.query),
      ...(route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: h.schema })),
    ];
    const ok =
      'contentType' in route.response
        ? { description: route.response.description, content: { [route.response.contentType]: { schema: { type: 'string' } } } }
        : { description: 'OK', content: { 'application/json': { schema: schemaRef(route.response as z.ZodType) } } };
    const responses: Json = { [String(route.successStatus ?? 200)]: ok };
    if (route.query !== undefined || route.params !== undefined || route.headers !== undefined || route.body !== undefined) {
      responses['400'] = errorResponse('A parameter is invalid; `parameter` names it.');
    }
    responses['401'] = errorResponse('An admin token is configured and the request did not carry it.');
    responses['403'] = errorResponse('No admin token is configured and the request is not from a loopback address.');
    if (route.notFound) responses['404'] = errorResponse('Not found.');
    if (route.conflict) responses['409'] = errorResponse('The request conflicts with the current state; `message` says how.');
    const operation: Json = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description !== undefined ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body !== undefined
        ? { requestBody: { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: schemaRef(route.body) } } } }
        : {}),
      responses,
    };
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method ?? 'get']: operation };
  }

  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description !== undefined ? { description: info.description } : {}) },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearerAuth: [] }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The admin token (BLUETICK_ADMIN_TOKEN).' },
      },
      schemas,
    },
  };
}
