/**
 * @module api/access
 *
 * Who is calling `/api`, and whether their role allows the call.
 *
 * - A request carries `Authorization: Bearer <token>`. The configured (or generated) admin
 *   token is role `admin`; any other token is looked up by its SHA-256 digest in the store
 *   (`bluetick tokens create`, `POST /api/tokens`), and counts only while not revoked.
 *   Tokens are random 256-bit strings, so a plain digest is as strong as a slow one, and the
 *   text itself is never stored.
 * - Failed attempts count against the client address (`auth-backoff.ts`), as before.
 * - The role must allow the call (`roles.ts`): 403 otherwise, and the refusal is audited.
 * - Calls that change state are audited when they are answered (who, what, the answer's
 *   status and the request body, clipped), so redrives, replays, erasures and token changes
 *   added by any route land in the log without the route doing anything. `POST /api/outbound`
 *   is data, not an operator action: it is not audited per call.
 * - A token's use is audited (and its last use stored) at most once a minute per token.
 *
 * The caller is kept per request ({@link principalOf}) for the routes and the text mask.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { AuthBackoff, clientAddress, retryAfterSeconds } from '../auth-backoff.js';
import { TOKEN_USE_EVERY_MS, type AuditInput, type Role } from '../store/access.js';
import type { Store } from '../store/store.js';
import { bearerToken } from './auth.js';
import { permits } from './roles.js';

/** The caller of one request. */
export interface Principal {
  /** The token's name; `admin-token` for the configured admin token. */
  name: string;
  role: Role;
  /** Message text is masked in answers. */
  maskText: boolean;
  /** The stored token's id; absent for the admin token. */
  tokenId?: number;
}

export const ADMIN_TOKEN_ACTOR = 'admin-token';

const principals = new WeakMap<IncomingMessage, Principal>();

/** The caller of `request`, once the access guard has let it through. */
export function principalOf(request: FastifyRequest | IncomingMessage): Principal | undefined {
  return principals.get('raw' in request ? request.raw : request);
}

/** Hex SHA-256 of a token's text: what the store keeps. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface AccessGuardOptions {
  /** The admin token (configured or generated). */
  adminToken: string;
  store: Pick<Store, 'access'>;
  backoff?: AuthBackoff;
  trustProxy?: boolean;
  now?: () => number;
  /** A failed audit write (the call itself is answered regardless). */
  onError?: (err: unknown) => void;
}

/** Known state-changing calls, by `METHOD pattern`, with the name the audit log uses. */
const ACTION_NAMES: Record<string, string> = {
  'POST /api/dead-letters/redrive': 'dead-letters.redrive',
  'POST /api/dead-letters/drop': 'dead-letters.drop',
  'POST /api/replay': 'replay',
  'POST /api/sinks/:name/probe': 'sink.probe',
  'POST /api/tokens': 'token.create',
  'DELETE /api/tokens/:name': 'token.revoke',
  'DELETE /api/contacts/:id': 'contact.erase',
};

/** Calls that change state but are data, not operator actions. */
const NOT_AUDITED = new Set(['POST /api/outbound']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const DETAIL_MAX = 1_000;
const SECRET_KEY = /secret|token|password|authorization/i;

function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? request.url.split('?', 1)[0] ?? request.url;
}

/** The audit name of a call: a known one, else `METHOD pattern`. */
export function actionName(method: string, route: string): string {
  const key = `${method.toUpperCase()} ${route}`;
  return ACTION_NAMES[key] ?? key;
}

function clip(text: string): string {
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX - 1)}…` : text;
}

function targetOf(request: FastifyRequest): string | undefined {
  const params = request.params;
  if (params === null || typeof params !== 'object') return undefined;
  const values = Object.values(params as Record<string, unknown>).filter((v) => typeof v === 'string' && v !== '');
  return values.length > 0 ? values.join('/') : undefined;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  try {
    // Credentials never reach the log, whatever a route takes in its body.
    return JSON.stringify(body, (key, value: unknown) => (SECRET_KEY.test(key) ? '***' : typeof value === 'bigint' ? String(value) : value));
  } catch {
    return undefined;
  }
}

/** An `onRequest` hook: the caller, the backoff, the role check and the audit trail. */
export function createAccessGuard(opts: AccessGuardOptions) {
  const adminDigest = createHash('sha256').update(opts.adminToken, 'utf8').digest();
  const now = opts.now ?? Date.now;
  const backoff = opts.backoff;
  const trustProxy = opts.trustProxy ?? false;
  const lastUse = new Map<string, number>();

  const audit = (row: AuditInput): void => {
    opts.store.access.addAudit([row]).catch((err: unknown) => opts.onError?.(err));
  };

  const resolve = async (given: string): Promise<Principal | undefined> => {
    const digest = createHash('sha256').update(given, 'utf8').digest();
    if (timingSafeEqual(digest, adminDigest)) return { name: ADMIN_TOKEN_ACTOR, role: 'admin', maskText: false };
    const token = await opts.store.access.tokenByHash(digest.toString('hex'));
    if (token === undefined || token.revokedAt !== undefined) return undefined;
    return { name: token.name, role: token.role, maskText: token.maskText, tokenId: token.id };
  };

  const noteUse = (who: Principal, request: FastifyRequest, at: number): void => {
    const last = lastUse.get(who.name);
    if (last !== undefined && at - last < TOKEN_USE_EVERY_MS) return;
    lastUse.set(who.name, at);
    if (who.tokenId !== undefined) opts.store.access.touchToken(who.tokenId, at).catch((err: unknown) => opts.onError?.(err));
    audit({ at, actor: who.name, role: who.role, action: 'token.use', target: `${request.method} ${routeOf(request)}` });
  };

  const auditWhenAnswered = (who: Principal, request: FastifyRequest, reply: FastifyReply, route: string): void => {
    reply.raw.once('finish', () => {
      const detail = [`status ${reply.raw.statusCode}`, bodyText(request.body)].filter((p) => p !== undefined).join(' ');
      const action = actionName(request.method, route);
      // An erasure must not leave the person's identifier behind in the audit log.
      const target = action === 'contact.erase' ? undefined : targetOf(request);
      audit({
        at: now(),
        actor: who.name,
        role: who.role,
        action,
        ...(target !== undefined ? { target } : {}),
        detail: clip(detail),
      });
    });
  };

  return async function accessGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const address = backoff ? clientAddress(request.raw, trustProxy) : undefined;
    const wait = backoff?.check(address) ?? 0;
    if (wait > 0) {
      reply.code(429).header('Retry-After', String(retryAfterSeconds(wait)));
      reply.send({ error: 'Too Many Requests', message: 'too many failed attempts from this address; retry later' });
      return reply;
    }
    const given = bearerToken(request.headers.authorization);
    const who = given === undefined ? undefined : await resolve(given);
    if (who === undefined) {
      // A request without a token guesses nothing (a browser opening the console): only wrong tokens count.
      if (given !== undefined) backoff?.fail(address);
      reply.code(401).header('WWW-Authenticate', 'Bearer realm="bluetick"');
      reply.send({
        error: 'Unauthorized',
        message: 'send Authorization: Bearer <token> (the admin token is printed at the first start and kept in <data>/admin-token, or BLUETICK_ADMIN_TOKEN; other tokens come from `bluetick tokens create`)',
      });
      return reply;
    }
    backoff?.succeed(address);
    const route = routeOf(request);
    const at = now();
    if (!permits(who.role, request.method, route)) {
      audit({ at, actor: who.name, role: who.role, action: 'access.refused', target: `${request.method} ${route}` });
      reply.code(403);
      reply.send({
        error: 'Forbidden',
        message: `the ${who.role} role cannot call ${request.method} ${route}; ask an admin for a token with a role that can (bluetick tokens create --role ...)`,
      });
      return reply;
    }
    principals.set(request.raw, who);
    noteUse(who, request, at);
    if (!SAFE_METHODS.has(request.method) && !NOT_AUDITED.has(`${request.method} ${route}`)) auditWhenAnswered(who, request, reply, route);
    return undefined;
  };
}
