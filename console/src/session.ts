/** Whether the API lets this browser in, with a given token or none. */
import { ApiError, api } from './api.js';

export type ProbeResult = 'ok' | 'refused' | 'too-many' | 'no-api';

/**
 * Asks a cheap endpoint. `no-api`: the server has no `/api` at all (the console still opens,
 * and every screen says what is missing).
 */
export async function probe(token: string | null): Promise<ProbeResult> {
  for (const path of ['/api/stats', '/api/events?limit=1']) {
    try {
      await api(path, { token, quiet401: true });
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
