/**
 * @module acme/http
 *
 * acme-client's HTTP layer as bluetick uses it: one timeout and, for a CA with a private
 * root, one trusted agent per ACME origin, with none of the library's own retries; and the
 * readable reason of whatever the library threw.
 */
import { Agent as HttpsAgent } from 'node:https';
import { axios as acmeAxios } from 'acme-client';

/** Per ACME origin: the agent trusting its extra CA (if any) and the request timeout. */
const originSettings = new Map<string, { agent?: HttpsAgent; timeoutMs: number }>();
let axiosConfigured = false;

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * acme-client talks to the CA through one shared axios instance whose interceptors retry
 * each failed request up to 5 times, 5 to 25 s apart, and once out of retries on a network
 * error fail with a TypeError that hides the cause. The manager retries whole orders with its
 * own backoff, so those interceptors are replaced, once, by one that only sets a timeout and,
 * for a CA with a private root (a test CA), an agent trusting that root for that CA alone.
 * Errors then arrive as they happened (`connect ECONNREFUSED ...`).
 */
function configureAcmeHttp(): void {
  if (axiosConfigured) return;
  axiosConfigured = true;
  acmeAxios.interceptors.request.clear();
  acmeAxios.interceptors.response.clear();
  acmeAxios.interceptors.request.use((request) => {
    const origin = originOf(request.url);
    const settings = origin === undefined ? undefined : originSettings.get(origin);
    if (settings?.agent) request.httpsAgent = settings.agent;
    if (!request.timeout) request.timeout = settings?.timeoutMs ?? 30_000;
    return request;
  });
}

/** A readable reason from whatever acme-client threw (it flattens CA problems into JSON text). */
export function describeAcmeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('{')) {
    try {
      const parsed = JSON.parse(message) as { status?: string; challenges?: Array<{ type?: string; error?: { detail?: string } }>; detail?: string };
      const detail = parsed.challenges?.find((c) => c.error?.detail)?.error?.detail ?? parsed.detail;
      if (detail) return detail;
    } catch {
      // Not JSON after all.
    }
  }
  const code = (error as { code?: string } | undefined)?.code;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** One manager's settings for its CA's origin. */
export interface OriginEntry {
  key: string;
  settings: { agent?: HttpsAgent; timeoutMs: number };
}

/**
 * Takes over acme-client's HTTP layer (once) and sets the timeout and, with `directoryCa`,
 * the trusted agent for requests to the directory's origin. Undefined for a URL without one.
 */
export function registerOrigin(directoryUrl: string, directoryCa: string | Buffer | undefined, timeoutMs: number): OriginEntry | undefined {
  configureAcmeHttp();
  const origin = originOf(directoryUrl);
  if (origin === undefined) return undefined;
  const settings = {
    ...(directoryCa !== undefined ? { agent: new HttpsAgent({ ca: directoryCa, keepAlive: false }) } : {}),
    timeoutMs,
  };
  originSettings.set(origin, settings);
  return { key: origin, settings };
}

/** Drops an origin's settings again (unless a later manager replaced them) and closes its agent. */
export function unregisterOrigin(entry: OriginEntry): void {
  entry.settings.agent?.destroy();
  if (originSettings.get(entry.key) === entry.settings) originSettings.delete(entry.key);
}
