/** Whether the API lets this browser in, with a given token or none, and as whom. */
import { ApiError, api } from './api.js';
import { setWhoami, type Whoami } from './role.js';

export type ProbeResult = 'ok' | 'refused' | 'too-many' | 'no-api';

/**
 * Asks who the token belongs to (`/api/whoami`), else a cheap endpoint of an older server.
 * `no-api`: the server has no `/api` at all (the console still opens, and every screen says
 * what is missing).
 */
export async function probe(token: string | null): Promise<ProbeResult> {
  for (const path of ['/api/whoami', '/api/stats', '/api/events?limit=1']) {
    try {
      const body = await api<unknown>(path, { token, quiet401: true });
      setWhoami(path === '/api/whoami' ? (body as Whoami) : undefined);
      return 'ok';
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return 'refused';
      if (error instanceof ApiError && error.status === 429) return 'too-many';
      if (error instanceof ApiError && error.unavailable) continue;
      throw error;
    }
  }
  return 'no-api';
}
