/**
 * The console's only way to the server: the public `/api`, with the admin token kept for
 * the browser session (sessionStorage: gone when the tab closes).
 */

const TOKEN_KEY = 'bluetick.adminToken';

export function getToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function setToken(token: string | undefined): void {
  try {
    if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage can be disabled; the token then lives only as long as the page.
  }
  memoryToken = token;
}

let memoryToken: string | undefined;

function currentToken(): string | undefined {
  return getToken() ?? memoryToken;
}

export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token === undefined || token === '' ? {} : { Authorization: `Bearer ${token}` };
}

/** An answer other than 2xx. `unavailable` means the server has no such endpoint at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly unavailable: boolean;

  constructor(status: number, message: string, body: unknown, unavailable = false) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.unavailable = unavailable;
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the API answers 401: the token is wrong or was revoked. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(): void {
  for (const l of unauthorizedListeners) l();
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string' && b.message !== '') return b.message;
    if (typeof b.error === 'string' && b.error !== '') return b.error;
  }
  if (typeof body === 'string' && body.trim() !== '' && body.length < 300) return body.trim();
  return fallback;
}

/** fastify's answer for a path no route serves. */
function isMissingRoute(status: number, body: unknown): boolean {
  if (status !== 404 && status !== 405) return false;
  const message = messageOf(body, '');
  return /^Route [A-Z]+:\S+ not found$/.test(message);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null | string[]>;
  signal?: AbortSignal;
  /** Use this token instead of the stored one (sign-in checks it before keeping it). */
  token?: string | null;
  /** Do not broadcast a 401 (the sign-in screen handles it itself). */
  quiet401?: boolean;
}

export function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(key, value.join(','));
    } else params.set(key, String(value));
  }
  const qs = params.toString();
  return qs === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.token === undefined) Object.assign(headers, authHeaders());
  else if (opts.token !== null && opts.token !== '') headers.Authorization = `Bearer ${opts.token}`;
  const init: RequestInit = { method: opts.method ?? 'GET', headers, cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (opts.signal) init.signal = opts.signal;
  const response = await fetch(withQuery(path, opts.query), init);
  const text = await response.text();
  let body: unknown = text;
  if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !opts.quiet401) notifyUnauthorized();
    const missing = isMissingRoute(response.status, body);
    const message = missing
      ? `${init.method} ${path.split('?')[0]} is not available on this server`
      : messageOf(body, `${response.status} ${response.statusText}`);
    throw new ApiError(response.status, message, body, missing);
  }
  return (text === '' ? undefined : body) as T;
}

/** A list answer: `{ items, next }` (the API's cursor pagination). Plain arrays are taken too. */
export interface Page<T> {
  items: T[];
  next?: string | number;
}

export function asPage<T>(body: unknown, key?: string): Page<T> {
  if (Array.isArray(body)) return { items: body as T[] };
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const list = (key !== undefined ? b[key] : undefined) ?? b.items ?? b.data;
    const items = Array.isArray(list) ? (list as T[]) : [];
    const next = b.next ?? b.nextCursor ?? b.cursor;
    return typeof next === 'string' || typeof next === 'number' ? { items, next } : { items };
  }
  return { items: [] };
}
