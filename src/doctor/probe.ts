/**
 * @module doctor/probe
 *
 * The network half of `bluetick doctor`: one TLS handshake (what certificates the server
 * sends, which protocol it agrees to) and plain HTTP(S) requests, each bounded by a timeout.
 * A target can be dialled at another address than its name resolves to (`--resolve`), so a
 * host can be checked before DNS points at it, and tests can use real names on loopback.
 */
import { X509Certificate } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate, type SecureVersion } from 'node:tls';

export interface Target {
  /** The URL as providers see it. */
  url: URL;
  /** Where to connect: the URL's host, or the address given with `--resolve`. */
  connectHost: string;
  port: number;
  /** SNI name: the URL's host when it is a name (never sent for an IP address). */
  servername?: string;
}

export function targetFor(url: URL, resolve: ReadonlyMap<string, string>, port?: number): Target {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  return {
    url,
    connectHost: resolve.get(hostname.toLowerCase()) ?? hostname,
    port: port ?? (url.port === '' ? defaultPort : Number(url.port)),
    ...(isIP(hostname) === 0 ? { servername: hostname } : {}),
  };
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code && e.message && !e.message.includes(e.code)) return `${e.message} (${e.code})`;
  return e?.message ?? String(error);
}

export type HandshakeResult =
  | {
      ok: true;
      protocol: string;
      /** Leaf first, then the rest of what the server sent (and the root, when known here). */
      chain: X509Certificate[];
      authorized: boolean;
      authorizationError?: string;
    }
  | { ok: false; error: string; code?: string };

/** Collects the certificates of a detailed peer certificate, leaf first, without repeats. */
function chainOf(peer: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    out.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return out;
}

export function tlsHandshake(
  target: Target,
  opts: { ca: readonly string[]; minVersion?: SecureVersion; maxVersion?: SecureVersion; timeoutMs: number },
): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: HandshakeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({
      host: target.connectHost,
      port: target.port,
      ...(target.servername !== undefined ? { servername: target.servername } : {}),
      ca: [...opts.ca],
      rejectUnauthorized: false,
      minVersion: opts.minVersion ?? 'TLSv1.2',
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => done({ ok: false, error: `no TLS handshake within ${opts.timeoutMs} ms`, code: 'ETIMEDOUT' }), opts.timeoutMs);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate(true);
      const error = socket.authorizationError;
      done({
        ok: true,
        protocol: socket.getProtocol() ?? 'unknown',
        chain: peer && 'raw' in peer && peer.raw ? chainOf(peer) : [],
        authorized: socket.authorized,
        ...(error ? { authorizationError: String(error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : error) } : {}),
      });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, error: errorText(error), ...(error.code ? { code: error.code } : {}) }));
  });
}

export interface HttpOutcome {
  status?: number;
  headers?: IncomingHttpHeaders;
  /** The first 4 KiB of the answer. */
  body?: string;
  error?: string;
}

export function sendRequest(
  target: Target,
  opts: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    /** For https: roots to verify against; verification is on unless `insecure`. */
    ca?: readonly string[];
    insecure?: boolean;
    /** Force plain HTTP even when the URL is https (the plain-HTTP probe). */
    plain?: boolean;
    timeoutMs: number;
  },
): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const secure = !opts.plain && target.url.protocol === 'https:';
    const hostHeader = target.url.port === '' || opts.plain ? target.url.hostname : target.url.host;
    const headers: Record<string, string> = { host: hostHeader, ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    let settled = false;
    const finish = (outcome: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const common = { host: target.connectHost, port: target.port, path: opts.path, method: opts.method, headers, agent: false as const };
    const req = secure
      ? httpsRequest({
          ...common,
          ...(target.servername !== undefined ? { servername: target.servername } : {}),
          ca: [...(opts.ca ?? [])],
          rejectUnauthorized: !opts.insecure,
          minVersion: 'TLSv1.2',
        })
      : httpRequest(common);
    const timer = setTimeout(() => {
      req.destroy();
      finish({ error: `no answer within ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 4096) parts.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).subarray(0, 4096).toString('utf8') }));
      res.on('error', (error) => finish({ status: res.statusCode ?? 0, headers: res.headers, error: errorText(error) }));
    });
    req.on('error', (error) => finish({ error: errorText(error) }));
    req.end(opts.body);
  });
}
