/**
 * @module api/request-log
 *
 * What fastify writes about each request, without what the URL carries: a request line
 * names the route pattern (`/api/contacts/:id`), never the URL as sent
 * (`/api/contacts/919876543210`, `/api/events?from=...`), because path parameters and query
 * strings hold phone numbers, message ids and search text. A path no route serves is logged
 * as `(no route)`.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** The loggable view of a request. */
export function requestSummary(request: FastifyRequest): { method: string; route: string; remoteAddress: string } {
  return { method: request.method, route: request.routeOptions?.url ?? '(no route)', remoteAddress: request.ip };
}

/** Fastify's per-request log lines, with routes instead of URLs. */
export class RedactingLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.info({ request: requestSummary(request) }, 'incoming request');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (reply.statusCode >= 500) reply.log.error({ request: requestSummary(request), res: reply, err: error }, error?.message);
    else reply.log.info({ res: reply, err: error }, error?.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.info({ request: requestSummary(request) }, 'no route');
  }

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    reply.log.warn({ request: requestSummary(request), res: reply, err: error }, error?.message);
  }
}
