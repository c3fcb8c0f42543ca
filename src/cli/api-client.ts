/**
 * @module cli/api-client
 *
 * The few lines the operator commands (`dead-letters`, `replay`) need to talk to a running
 * bluetick's `/api`: base URL from `--url` or `BLUETICK_URL`, bearer token from `--token`
 * or `BLUETICK_ADMIN_TOKEN`, JSON in and out, and errors that say what the server said.
 *
 * Without a token, a server on this machine (a loopback URL) is asked with the token it
 * generated and keeps in its data folder (`--data`, `BLUETICK_DATA_DIR`, else `./data`). That
 * file is never read for a remote URL, so a local token is not sent elsewhere.
 */
import { resolve as resolvePath } from 'node:path';
import { request as undiciRequest } from 'undici';
import { readAdminTokenFile } from '../api/admin-token.js';
import { isLoopbackHost } from '../config/hosts.js';
import { ExitError } from '../errors.js';

export interface ApiClientOptions {
  url?: string;
  token?: string;
  /** The local server's data folder. */
  data?: string;
}

/** The admin token to send: `--token`, `BLUETICK_ADMIN_TOKEN`, or the local server's token file. */
export function findAdminToken(opts: ApiClientOptions, url: URL, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | undefined {
  const given = opts.token ?? env.BLUETICK_ADMIN_TOKEN;
  if (given !== undefined && given !== '') return given;
  if (!isLoopbackHost(url.hostname)) return undefined;
  const dir = opts.data ?? (env.BLUETICK_DATA_DIR !== undefined && env.BLUETICK_DATA_DIR !== '' ? env.BLUETICK_DATA_DIR : './data');
  return readAdminTokenFile(resolvePath(cwd, dir));
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export class ApiClient {
  readonly base: string;
  readonly #token: string | undefined;

  constructor(opts: ApiClientOptions, env: NodeJS.ProcessEnv = process.env) {
    const raw = opts.url ?? env.BLUETICK_URL ?? DEFAULT_API_URL;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ExitError(2, `--url: not a valid URL: ${raw}`);
    }
    this.base = url.origin;
    this.#token = findAdminToken(opts, url, env);
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const suffix = qs.size > 0 ? `?${qs.toString()}` : '';
    return this.#send<T>('GET', `${path}${suffix}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.#send<T>('DELETE', path);
  }

  async #send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await undiciRequest(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      throw new ExitError(1, `cannot reach bluetick at ${this.base} (${code}); is it running? (--url / BLUETICK_URL)`);
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.statusCode >= 400) {
      const message = (parsed as { message?: string } | undefined)?.message ?? text.slice(0, 300);
      const hint = res.statusCode === 401 ? ' (--token / BLUETICK_ADMIN_TOKEN, or --data naming the server\'s data folder)' : '';
      throw new ExitError(1, `${method} ${path}: HTTP ${res.statusCode}: ${message}${hint}`);
    }
    return parsed as T;
  }
}
