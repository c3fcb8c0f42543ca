/**
 * @module api/router
 *
 * How `/api` endpoints are declared on the API router: each is an {@link EndpointSpec} (path, zod schemas for
 * its query and path parameters, response schema, words for the docs) plus a handler that
 * receives the parsed values. The same list of specs registers the fastify routes and
 * generates the OpenAPI document, so what is documented is what is validated.
 *
 * Endpoints that change something (`post`, `delete`) take a JSON body described by a zod object;
 * the body is parsed the same way as the query and documented as the operation's request body.
 *
 * Bad parameters are answered 400 with a message that starts with the parameter's name:
 * `{"error":"Bad Request","message":"limit: expected an integer from 1 to 1000","parameter":"limit"}`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { BluetickError, type ErrorCode } from '../errors.js';

const API_CODES: Record<number, ErrorCode> = { 400: 'BT_ERR_API_BAD_REQUEST', 404: 'BT_ERR_API_NOT_FOUND', 409: 'BT_ERR_API_CONFLICT' };

/** An answer other than 2xx (400, 404 or 409), thrown by handlers and the parameter parsing. */
export class ApiError extends BluetickError {
  readonly statusCode: number;
  readonly parameter: string | undefined;

  constructor(statusCode: 400 | 404 | 409, message: string, parameter?: string) {
    super(API_CODES[statusCode]!, message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.parameter = parameter;
  }
}

export function notFound(message: string): ApiError {
  return new ApiError(404, message);
}

type AnyObject = z.ZodObject;

export interface HeaderSpec {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

/** The HTTP methods the router serves. */
export type EndpointMethod = 'get' | 'post' | 'delete';

export interface EndpointSpec<
  Q extends AnyObject | undefined = AnyObject | undefined,
  P extends AnyObject | undefined = AnyObject | undefined,
  B extends AnyObject | undefined = AnyObject | undefined,
> {
  /** Set by the router from the method used to register the route. */
  method?: EndpointMethod;
  /** OpenAPI form: `/api/events/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  query?: Q;
  params?: P;
  /** The JSON request body (`post` and `delete` only). */
  body?: B;
  /** The status of a successful answer, when it is not 200 (201 for a creation, 202 when work starts later). */
  successStatus?: number;
  /** Request headers the route reads (documented only; the handler parses them). */
  headers?: HeaderSpec[];
  /** A registered response schema, or another content type described in words. */
  response: z.ZodType | { contentType: string; description: string };
  /** Can answer 404. */
  notFound?: boolean;
  /** Can answer 409 (the request conflicts with the current state). */
  conflict?: boolean;
}

export interface HandlerContext<Q, P, B = Record<string, never>> {
  query: Q;
  params: P;
  body: B;
  request: FastifyRequest;
  reply: FastifyReply;
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

/** Collects route specs and registers their fastify routes. */
export class ApiRouter {
  readonly routes: EndpointSpec[] = [];
  private readonly app: FastifyInstance;

  constructor(app: FastifyInstance) {
    this.app = app;
  }

  get<Q extends AnyObject | undefined, P extends AnyObject | undefined>(
    spec: EndpointSpec<Q, P, undefined>,
    handler: (ctx: HandlerContext<Out<Q>, Out<P>>) => Promise<unknown>,
  ): void {
    this.add('get', spec, handler);
  }

  post<Q extends AnyObject | undefined, P extends AnyObject | undefined, B extends AnyObject | undefined>(
    spec: EndpointSpec<Q, P, B>,
    handler: (ctx: HandlerContext<Out<Q>, Out<P>, Out<B>>) => Promise<unknown>,
  ): void {
    this.add('post', spec, handler);
  }

  delete<Q extends AnyObject | undefined, P extends AnyObject | undefined, B extends AnyObject | undefined>(
    spec: EndpointSpec<Q, P, B>,
    handler: (ctx: HandlerContext<Out<Q>, Out<P>, Out<B>>) => Promise<unknown>,
  ): void {
    this.add('delete', spec, handler);
  }

  private add<Q extends AnyObject | undefined, P extends AnyObject | undefined, B extends AnyObject | undefined>(
    method: EndpointMethod,
    spec: EndpointSpec<Q, P, B>,
    handler: (ctx: HandlerContext<Out<Q>, Out<P>, Out<B>>) => Promise<unknown>,
  ): void {
    if (method === 'get' && spec.body !== undefined) throw new TypeError(`${spec.operationId}: a GET route takes no body`);
    this.routes.push({ ...spec, method } as EndpointSpec);
    const fastifyPath = spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
    this.app.route({
      method: method.toUpperCase() as 'GET' | 'POST' | 'DELETE',
      url: fastifyPath,
      handler: async (request, reply) => {
        const query = parseQuery(spec.query, request.query) as Out<Q>;
        const params = parseParams(spec.params, request.params) as Out<P>;
        const body = parseBody(spec.body, request.body) as Out<B>;
        if (spec.successStatus !== undefined) reply.code(spec.successStatus);
        return handler({ query, params, body, request, reply });
      },
    });
  }
}

/** Query values as strings: repeated parameters are joined with commas (lists accept both forms). */
function flattenQuery(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(value)) out[key] = value.map(String).join(',');
    else if (value !== undefined) out[key] = String(value);
  }
  return out;
}

function parseQuery(schema: AnyObject | undefined, raw: unknown): unknown {
  const values = flattenQuery(raw);
  if (schema === undefined) {
    const unknown = Object.keys(values)[0];
    if (unknown !== undefined) throw new ApiError(400, `${unknown}: unknown parameter`, unknown);
    return {};
  }
  return parseOrThrow(schema, values);
}

function parseParams(schema: AnyObject | undefined, raw: unknown): unknown {
  if (schema === undefined) return {};
  return parseOrThrow(schema, raw ?? {});
}

/**
 * A route without a body schema refuses any body it is sent; one with a schema reads an absent
 * body as `{}` so that routes whose fields are all optional can be called without one.
 */
function parseBody(schema: AnyObject | undefined, raw: unknown): unknown {
  const absent = raw === undefined || raw === null || raw === '';
  if (schema === undefined) {
    if (absent) return {};
    if (typeof raw === 'object' && Object.keys(raw).length === 0) return {};
    throw new ApiError(400, 'body: this operation takes no request body', 'body');
  }
  if (!absent && (typeof raw !== 'object' || Array.isArray(raw))) throw new ApiError(400, 'body: expected a JSON object', 'body');
  return parseOrThrow(schema, absent ? {} : raw, 'body');
}

/**
 * Parses `value`, or throws a 400 naming the first bad parameter (a field inside a body by
 * its dotted path, `filter.route`; a problem with the whole value by `where`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'query' | 'body' = 'query'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    throw new ApiError(400, `${key}: unknown parameter`, key);
  }
  const name = issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  throw new ApiError(400, `${name}: ${message}`, name);
}
