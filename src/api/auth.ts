/**
 * @module api/auth
 *
 * Who may use `/api`:
 * - With an admin token configured (`adminToken`, `BLUETICK_ADMIN_TOKEN`): requests that
 *   carry `Authorization: Bearer <token>`. Anything else gets 401. The comparison is over
 *   SHA-256 digests with `timingSafeEqual`, so neither the token's content nor its length
 *   shows in the answer time.
 * - Without a token: requests from a loopback address only; others get 403. A request that
 *   came through a proxy (it carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`) is not
 *   treated as local even when the proxy itself connects over loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface AdminGuardOptions {
  /** The admin token; `undefined` or empty serves loopback clients only. */
  token?: string | undefined;
}

const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The bearer token of an `Authorization` header, if it has one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** An `onRequest` hook enforcing the rules above. */
export function createAdminGuard(opts: AdminGuardOptions) {
  const expected = opts.token !== undefined && opts.token !== '' ? digest(opts.token) : undefined;
  return async function adminGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (expected !== undefined) {
      const given = bearerToken(request.headers.authorization);
      // Hash even when absent, so a missing header costs the same as a wrong one.
      const ok = timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
      if (ok) return undefined;
      reply.code(401).header('WWW-Authenticate', 'Bearer realm="bluetick"');
      reply.send({ error: 'Unauthorized', message: 'send Authorization: Bearer <admin token>' });
      return reply;
    }
    const proxied = PROXY_HEADERS.some((h) => request.headers[h] !== undefined);
    if (!proxied && isLoopbackAddress(request.socket.remoteAddress)) return undefined;
    reply.code(403);
    reply.send({
      error: 'Forbidden',
      message: 'no admin token is configured, so the API answers loopback clients only; set BLUETICK_ADMIN_TOKEN',
    });
    return reply;
  };
}
