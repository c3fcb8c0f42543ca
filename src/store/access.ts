/**
 * @module store/access
 *
 * What the store keeps for access control (migration 0008): API tokens with a role, kept
 * only as digests, and the audit log of what was done through `/api` (redrives, replays,
 * erasures, token creation and revocation, token use, refused calls). The rules that say
 * which role may do what live in `api/roles.ts`; this module only stores and lists.
 *
 * Both tables stay small per action: a token row is updated in place (its last use), and an
 * audit row is written once and never changed. Token use is recorded at most once per
 * token per {@link TOKEN_USE_EVERY_MS}, so a busy script does not write a row per request.
 */
import type { Page, PageRequest } from './store.js';

/** What a token may do (see `api/roles.ts`). */
export type Role = 'admin' | 'operator' | 'viewer' | 'sender';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer', 'sender'];

/** Token use is recorded (last use and an audit row) at most this often per token. */
export const TOKEN_USE_EVERY_MS = 60_000;

export interface NewApiToken {
  name: string;
  role: Role;
  /** Hex SHA-256 of the token text. */
  hash: string;
  /** The first characters of the token text, to tell tokens apart. */
  prefix: string;
  /** `viewer` only: message text is masked in every answer. */
  maskText: boolean;
  createdAt: number;
  createdBy?: string;
}

export interface ApiToken extends Omit<NewApiToken, 'hash'> {
  id: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

export interface AuditInput {
  at: number;
  /** The token's name, or `admin-token` for the configured admin token. */
  actor: string;
  role: Role;
  /** `dead-letters.redrive`, `replay`, `token.create`, `token.use`, `access.refused`, ... */
  action: string;
  /** What the action applied to (a token name, a route, a contact). */
  target?: string;
  /** A short account in words or JSON (ids, counts). */
  detail?: string;
}

export interface AuditEntry extends AuditInput {
  id: number;
}

export interface AuditFilter {
  action?: string[];
  actor?: string;
}

export interface AuditPageRequest extends PageRequest {
  /** `desc`: newest first, `after` then means "ids below". Default `asc`. */
  order?: 'asc' | 'desc';
}

/** `Store.access`: API tokens and the audit trail. */
export interface AccessStore {
  /** Stores a token. Rejects with `BT_ERR_TOKEN_EXISTS` when the name is taken. */
  createToken(token: NewApiToken): Promise<ApiToken>;
  /** Every token, revoked ones too, oldest first. */
  listTokens(): Promise<ApiToken[]>;
  /** The token (revoked or not) whose text has this digest. */
  tokenByHash(hash: string): Promise<ApiToken | undefined>;
  /** Marks the named token revoked (once); `undefined` when there is no such token. */
  revokeToken(name: string, at: number): Promise<ApiToken | undefined>;
  /** Sets the token's last use. */
  touchToken(id: number, at: number): Promise<void>;
  addAudit(rows: AuditInput[]): Promise<void>;
  listAudit(page: AuditPageRequest, filter?: AuditFilter): Promise<Page<AuditEntry>>;
}

/** A row of `api_tokens` as either driver returns it. */
export interface ApiTokenRecord {
  id: number | string;
  name: string;
  role: string;
  prefix: string;
  mask_text: number | boolean;
  created_at: number | string;
  created_by: string | null;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

export const API_TOKEN_COLUMNS = 'id, name, role, prefix, mask_text, created_at, created_by, last_used_at, revoked_at';

export function toApiToken(r: ApiTokenRecord): ApiToken {
  const t: ApiToken = {
    id: Number(r.id),
    name: r.name,
    role: r.role as Role,
    prefix: r.prefix,
    maskText: r.mask_text === true || r.mask_text === 1,
    createdAt: Number(r.created_at),
  };
  if (r.created_by !== null) t.createdBy = r.created_by;
  if (r.last_used_at !== null) t.lastUsedAt = Number(r.last_used_at);
  if (r.revoked_at !== null) t.revokedAt = Number(r.revoked_at);
  return t;
}

export interface AuditRecord {
  id: number | string;
  at: number | string;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  detail: string | null;
}

export const AUDIT_COLUMNS = 'id, at, actor, role, action, target, detail';

export function toAuditEntry(r: AuditRecord): AuditEntry {
  const e: AuditEntry = { id: Number(r.id), at: Number(r.at), actor: r.actor, role: r.role as Role, action: r.action };
  if (r.target !== null) e.target = r.target;
  if (r.detail !== null) e.detail = r.detail;
  return e;
}
