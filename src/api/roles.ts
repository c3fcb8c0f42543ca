/**
 * @module api/roles
 *
 * Which role may make which `/api` call: a pure rule over the method and the route pattern
 * (`/api/sinks/:name/probe`), so routes added later are covered without a word here, and
 * the rule errs on the safe side: any call that changes state and is not listed below is
 * for `admin` alone.
 *
 * - `admin`: everything.
 * - `operator`: every read except the token list; redrive, replay, drop dead letters and
 *   probe sinks (anything that changes state under `/api/dead-letters`, `/api/replay`,
 *   `/api/sinks`).
 * - `viewer`: reads only, without the token list and the audit log; message text can be
 *   masked per token (`api/mask.ts`).
 * - `sender`: tells bluetick what the business sent (`POST /api/outbound`), nothing else.
 *
 * Every role may ask who it is (`GET /api/whoami`).
 */
import type { Role } from '../store/access.js';

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Prefixes under which an operator may change state. */
const OPERATOR_ACTIONS = ['/api/dead-letters', '/api/replay', '/api/sinks'];

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** True when `role` may call `method` on the route `path` (a pattern or a plain path, no query). */
export function permits(role: Role, method: string, path: string): boolean {
  if (role === 'admin') return true;
  const m = method.toUpperCase();
  const read = READ_METHODS.has(m);
  if (read && path === '/api/whoami') return true;
  if (role === 'sender') return m === 'POST' && path === '/api/outbound';
  if (under(path, '/api/tokens')) return false;
  if (read) return role === 'operator' || !under(path, '/api/audit');
  if (role === 'operator') return OPERATOR_ACTIONS.some((prefix) => under(path, prefix));
  return false;
}

/** What the console should offer a role, in words the UI checks against. */
export function capabilities(role: Role): { read: boolean; operate: boolean; admin: boolean; send: boolean; audit: boolean } {
  return {
    read: role !== 'sender',
    operate: role === 'admin' || role === 'operator',
    admin: role === 'admin',
    send: role === 'admin' || role === 'sender',
    audit: role === 'admin' || role === 'operator',
  };
}
