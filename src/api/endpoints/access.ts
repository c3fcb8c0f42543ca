/**
 * @module api/endpoints/access
 *
 * Tokens, roles and the audit log under `/api` (who may call these: `api/roles.ts`):
 *
 * - `GET    /api/whoami`          the caller's name, role and what the console may offer it
 * - `GET    /api/tokens`          every token (never its text), revoked ones too
 * - `POST   /api/tokens`          `{ name, role, maskText? }` -> 201 with the token's text, shown once
 * - `DELETE /api/tokens/{name}`   revokes the token; it stops working at once
 * - `GET    /api/audit`           redrives, replays, erasures, token changes, token use, refusals
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BluetickError } from '../../errors.js';
import { ROLES, type ApiToken, type AuditEntry } from '../../store/access.js';
import { ADMIN_TOKEN_ACTOR, principalOf, tokenDigest } from '../access.js';
import type { RestContext } from '../context.js';
import { capabilities } from '../roles.js';
import { ApiError, type ApiRouter } from '../router.js';
import { component, cursorParam, limitParam, pageOf, stringListParam } from '../schemas.js';
import { isoOf } from '../views.js';

const iso = () => z.string().meta({ format: 'date-time' });
const roleSchema = z.enum(ROLES as [string, ...string[]]);

export const tokenSchema = component(
  'ApiToken',
  z.strictObject({
    name: z.string(),
    role: roleSchema,
    prefix: z.string().meta({ description: 'The first characters of the token, to tell tokens apart.' }),
    maskText: z.boolean().meta({ description: 'Message text is masked in every answer to this token.' }),
    createdAt: iso(),
    createdBy: z.string().optional(),
    lastUsedAt: iso().optional().meta({ description: 'Recorded at most once a minute.' }),
    revokedAt: iso().optional(),
  }),
);
const tokenListSchema = component('ApiTokenList', z.strictObject({ items: z.array(tokenSchema) }));
const createdTokenSchema = component(
  'CreatedApiToken',
  z.strictObject({ ...tokenSchema.shape, token: z.string().meta({ description: 'The token text. Shown this once; only its digest is kept.' }) }),
);
const whoamiSchema = component(
  'Whoami',
  z.strictObject({
    name: z.string(),
    role: roleSchema,
    maskText: z.boolean(),
    can: z.strictObject({ read: z.boolean(), operate: z.boolean(), admin: z.boolean(), send: z.boolean(), audit: z.boolean() }),
  }),
);
const auditEntrySchema = component(
  'AuditEntry',
  z.strictObject({
    id: z.number().int(),
    at: iso(),
    actor: z.string().meta({ description: 'The token name; `admin-token` for the admin token.' }),
    role: roleSchema,
    action: z.string().meta({ description: '`dead-letters.redrive`, `replay`, `sink.probe`, `token.create`, `token.revoke`, `contact.erase`, `token.use`, `access.refused`, or `METHOD /api/route`.' }),
    target: z.string().optional(),
    detail: z.string().optional(),
  }),
);
const auditPageSchema = pageOf('AuditPage', auditEntrySchema);

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const createTokenBody = z.strictObject({
  name: z
    .string()
    .regex(TOKEN_NAME, { error: 'expected 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit' })
    .refine((n) => n !== ADMIN_TOKEN_ACTOR, { error: `"${ADMIN_TOKEN_ACTOR}" is the configured admin token's name` })
    .meta({ description: 'A name to know the token by in lists and the audit log.' }),
  role: roleSchema.meta({ description: 'admin (everything), operator (read, redrive, replay, drop, probe), viewer (read only), sender (POST /api/outbound only).' }),
  maskText: z.boolean().optional().meta({ description: 'Mask message text in every answer (meant for viewers). Default false.' }),
});
const tokenParams = z.strictObject({ name: z.string().regex(TOKEN_NAME, { error: 'expected a token name' }) });
const auditQuery = z.strictObject({
  after: cursorParam,
  limit: limitParam,
  order: z.enum(['asc', 'desc'], { error: 'expected asc or desc' }).optional().meta({ description: '`desc` lists the newest first (`after` then means older than). Default `asc`.' }),
  action: stringListParam('Only these actions.'),
  actor: z.string().min(1).max(64).optional().meta({ description: 'Only this token name.' }),
});

function tokenView(t: ApiToken): z.input<typeof tokenSchema> {
  return {
    name: t.name,
    role: t.role,
    prefix: t.prefix,
    maskText: t.maskText,
    createdAt: isoOf(t.createdAt),
    ...(t.createdBy !== undefined ? { createdBy: t.createdBy } : {}),
    ...(t.lastUsedAt !== undefined ? { lastUsedAt: isoOf(t.lastUsedAt) } : {}),
    ...(t.revokedAt !== undefined ? { revokedAt: isoOf(t.revokedAt) } : {}),
  };
}

function auditView(e: AuditEntry): z.input<typeof auditEntrySchema> {
  return {
    id: e.id,
    at: isoOf(e.at),
    actor: e.actor,
    role: e.role,
    action: e.action,
    ...(e.target !== undefined ? { target: e.target } : {}),
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
  };
}

/** A new token's text: `btk_` and 43 base64url characters (256 random bits). */
function newTokenText(): string {
  return `btk_${randomBytes(32).toString('base64url')}`;
}

export function registerAccessEndpoints(router: ApiRouter, ctx: RestContext): void {
  router.get(
    {
      path: '/api/whoami',
      operationId: 'whoami',
      tag: 'access',
      summary: 'Who the token belongs to',
      description: 'The token name, its role, and what that role may do (the console hides the rest).',
      response: whoamiSchema,
    },
    async ({ request }) => {
      const who = principalOf(request) ?? { name: ADMIN_TOKEN_ACTOR, role: 'admin' as const, maskText: false };
      return { name: who.name, role: who.role, maskText: who.maskText, can: capabilities(who.role) };
    },
  );

  router.get(
    { path: '/api/tokens', operationId: 'listTokens', tag: 'access', summary: 'List API tokens', description: 'Admin only. Revoked tokens stay listed.', response: tokenListSchema },
    async () => ({ items: (await ctx.store.access.listTokens()).map(tokenView) }),
  );

  router.post(
    {
      path: '/api/tokens',
      operationId: 'createToken',
      tag: 'access',
      summary: 'Create an API token',
      description: 'Admin only. The answer carries the token text once; the store keeps only its SHA-256 digest.',
      body: createTokenBody,
      successStatus: 201,
      conflict: true,
      response: createdTokenSchema,
    },
    async ({ body, request }) => {
      const text = newTokenText();
      try {
        const created = await ctx.store.access.createToken({
          name: body.name,
          role: body.role as ApiToken['role'],
          hash: tokenDigest(text),
          prefix: text.slice(0, 12),
          maskText: body.maskText ?? false,
          createdAt: ctx.now(),
          createdBy: principalOf(request)?.name ?? ADMIN_TOKEN_ACTOR,
        });
        return { ...tokenView(created), token: text };
      } catch (err) {
        if (err instanceof BluetickError && err.code === 'BT_ERR_TOKEN_EXISTS') throw new ApiError(409, `name: ${err.message}`, 'name');
        throw err;
      }
    },
  );

  router.delete(
    {
      path: '/api/tokens/{name}',
      operationId: 'revokeToken',
      tag: 'access',
      summary: 'Revoke an API token',
      description: 'Admin only. The token stops working at once, in every process sharing the store.',
      params: tokenParams,
      notFound: true,
      response: tokenSchema,
    },
    async ({ params }) => {
      const revoked = await ctx.store.access.revokeToken(params.name, ctx.now());
      if (revoked === undefined) throw new ApiError(404, `no token named ${params.name}`);
      return tokenView(revoked);
    },
  );

  router.get(
    {
      path: '/api/audit',
      operationId: 'listAudit',
      tag: 'access',
      summary: 'Read the audit log',
      description:
        'Admins and operators. Every call that changed state (redrive, replay, probe, token creation and revocation, erasure), with its answer status; each token\'s use (at most once a minute); calls a role was refused.',
      query: auditQuery,
      response: auditPageSchema,
    },
    async ({ query }) => {
      const page = await ctx.store.access.listAudit(
        { limit: query.limit ?? 50, ...(query.after !== undefined ? { after: query.after } : {}), ...(query.order !== undefined ? { order: query.order } : {}) },
        { ...(query.action !== undefined ? { action: query.action } : {}), ...(query.actor !== undefined ? { actor: query.actor } : {}) },
      );
      return { items: page.items.map(auditView), ...(page.next !== undefined ? { next: String(page.next) } : {}) };
    },
  );
}
