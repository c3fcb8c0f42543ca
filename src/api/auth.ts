/**
 * @module api/auth
 *
 * Who may use `/api` and the console, and through which names:
 *
 * - Every `/api` request carries `Authorization: Bearer <admin token>`; anything else gets
 *   401. There is always a token (configured, or generated at the first start: see
 *   `admin-token.ts`): no network position counts as a credential, because behind a proxy,
 *   tunnel or port-forward every request arrives from loopback. Tokens are compared over
 *   SHA-256 digests with `timingSafeEqual`, so neither content nor length shows in timing.
 * - An address with too many failed attempts must wait (429 + `Retry-After`, `auth-backoff.ts`),
 *   before its token is looked at.
 * - `Host` must be a loopback name or one of the server's public names, so a page on another
 *   site cannot reach the API by pointing its own DNS name at this machine (DNS rebinding);
 *   an `Origin` from anywhere else is refused on requests that change state.
 * - `/metrics` takes the metrics token or the admin token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthBackoff, clientAddress, retryAfterSeconds } from '../auth-backoff.js';
import { isLoopbackHost } from '../config/hosts.js';

export interface AdminGuardOptions {
  /** The admin token. Without one (a bug: the server always has one) every request is refused. */
  token?: string | undefined;
  /** More tokens accepted by this guard (the metrics token for `/metrics`). */
  alsoAccept?: ReadonlyArray<string | undefined>;
  /** Per-address backoff after failed attempts, shared with ingest. */
  backoff?: AuthBackoff;
  /** Count attempts under the last `X-Forwarded-For` entry (a trusted proxy sets it). */
  trustProxy?: boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The bearer token of an `Authorization` header, if it has one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** An `onRequest` hook enforcing the token and the backoff. */
export function createAdminGuard(opts: AdminGuardOptions) {
  const expected = [opts.token, ...(opts.alsoAccept ?? [])].filter((t): t is string => t !== undefined && t !== '').map(digest);
  const backoff = opts.backoff;
  const trustProxy = opts.trustProxy ?? false;
  return async function adminGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const address = backoff ? clientAddress(request.raw, trustProxy) : undefined;
    const wait = backoff?.check(address) ?? 0;
    if (wait > 0) {
      reply.code(429).header('Retry-After', String(retryAfterSeconds(wait)));
      reply.send({ error: 'Too Many Requests', message: 'too many failed attempts from this address; retry later' });
      return reply;
    }
    const given = bearerToken(request.headers.authorization);
    // Hash even when absent, so a missing header costs the same as a wrong one.
    const got = digest(given ?? '');
    let ok = false;
    for (const e of expected) if (timingSafeEqual(got, e)) ok = true;
    if (ok && given !== undefined) {
      backoff?.succeed(address);
      return undefined;
    }
    // A request without a token guesses nothing (a browser opening the console): only wrong tokens count.
    if (given !== undefined) backoff?.fail(address);
    reply.code(401).header('WWW-Authenticate', 'Bearer realm="bluetick"');
    reply.send({ error: 'Unauthorized', message: 'send Authorization: Bearer <admin token> (printed at the first start; kept in <data>/admin-token, or BLUETICK_ADMIN_TOKEN)' });
    return reply;
  };
}

/** The host name of a `Host` header value, lower-case, without port, brackets or final dot. */
export function hostName(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end < 0 ? v : v.slice(1, end);
  }
  const colon = v.indexOf(':');
  const name = colon >= 0 && colon === v.lastIndexOf(':') ? v.slice(0, colon) : v;
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An `onRequest` hook: `Host` must be a loopback name or one of `publicHosts`; on requests
 * that change state, `Origin` (when sent) must be too. 421 / 403 otherwise, with the fix.
 */
export function createHostGuard(publicHosts: readonly string[]) {
  const allowed = new Set(publicHosts.map((h) => hostName(h)));
  const known = (name: string): boolean => allowed.has(name) || isLoopbackHost(name);
  return async function hostGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const host = request.headers.host;
    if (host === undefined || !known(hostName(host))) {
      reply.code(421);
      reply.send({
        error: 'Misdirected Request',
        message:
          `this server does not answer to the name "${String(host ?? '').slice(0, 100)}"; ` +
          'if clients reach it by that name, add it to server.publicHosts (--public-host, BLUETICK_PUBLIC_HOSTS)',
      });
      return reply;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(request.method)) {
      let name: string | undefined;
      try {
        name = hostName(new URL(origin).host);
      } catch {
        name = undefined;
      }
      if (name === undefined || name === '' || !known(name)) {
        reply.code(403);
        reply.send({ error: 'Forbidden', message: `cross-origin request from ${origin.slice(0, 100)} refused` });
        return reply;
      }
    }
    return undefined;
  };
}
