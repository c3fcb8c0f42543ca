/**
 * @module acme/challenges
 *
 * The two ways bluetick proves to an ACME CA that it controls a domain:
 *
 * - **HTTP-01** ({@link Http01Responder}): a small plain-HTTP listener (port 80 for a public
 *   CA) answers `GET /.well-known/acme-challenge/<token>`. Everything else on it is refused
 *   or redirected: `GET`/`HEAD` get a 301 to the same path over HTTPS, any other method a 403,
 *   so no webhook is ever taken over plain HTTP.
 * - **TLS-ALPN-01** ({@link TlsAlpnResponder}, RFC 8737): on the TLS port itself. The CA opens
 *   a connection that offers only the ALPN protocol `acme-tls/1` and expects a self-signed
 *   certificate carrying the key authorization. The first bytes of each connection are
 *   peeked (only while a challenge is pending) and such a connection is handed to a separate
 *   TLS server holding the challenge certificates; every other connection goes to the HTTPS
 *   server untouched, so clients never see a challenge certificate, even mid-renewal.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer } from 'node:tls';
import { BluetickError } from '../errors.js';
import type { Logger } from '../log.js';
import { MAX_CLIENT_HELLO_BYTES, peekClientHello, type ClientHelloPeek } from './client-hello.js';

export const ACME_TLS_ALPN = 'acme-tls/1';
const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The host name of a `Host` header, without the port; `undefined` when it is not a plain name or address. */
function hostOnly(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m?.[1];
}

export interface Http01ResponderOptions {
  host: string;
  port: number;
  /** The HTTPS port redirects point at. */
  httpsPort: number;
  /**
   * The certificate's names. A redirect goes to the requested name only when it is one of
   * them, else to the first: a redirect never points at a name someone else chose.
   */
  domains?: readonly string[];
  logger?: Logger;
}

export class Http01Responder {
  readonly #opts: Http01ResponderOptions;
  readonly #tokens = new Map<string, string>();
  readonly #server: Server;
  #address: AddressInfo | undefined;

  constructor(opts: Http01ResponderOptions) {
    this.#opts = opts;
    this.#server = createHttpServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 5_000;
  }

  /** The bound address once listening. */
  get address(): AddressInfo | undefined {
    return this.#address;
  }

  /** @throws BluetickError naming the port and how to get it. */
  listen(): Promise<AddressInfo> {
    const { host, port } = this.#opts;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const hint =
          error.code === 'EACCES'
            ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE; or forward port 80 to server.acme.httpPort, or use the tls-alpn-01 challenge)'
            : error.code === 'EADDRINUSE'
              ? ' (another program holds it; stop it, or set server.acme.httpPort and forward port 80 there)'
              : '';
        reject(
          new BluetickError('BT_ERR_CONFIG_INVALID', `cannot listen on ${formatHost(host)}:${port} for the ACME HTTP-01 challenge: ${error.code ?? error.message}${hint}`, {
            cause: error,
          }),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.removeListener('error', onError);
        this.#address = this.#server.address() as AddressInfo;
        resolve(this.#address);
      });
    });
  }

  set(token: string, keyAuthorization: string): void {
    this.#tokens.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#tokens.delete(token);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const readOnly = method === 'GET' || method === 'HEAD';
    if (url.startsWith(CHALLENGE_PREFIX) && readOnly) {
      const token = url.slice(CHALLENGE_PREFIX.length).split('?', 1)[0] ?? '';
      const answer = this.#tokens.get(token);
      this.#opts.logger?.debug({ token, found: answer !== undefined, remoteAddress: req.socket.remoteAddress }, 'ACME HTTP-01 validation request');
      if (answer === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such challenge\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(method === 'HEAD' ? undefined : answer);
      return;
    }
    const asked = hostOnly(req.headers.host)?.toLowerCase();
    const domains = this.#opts.domains ?? [];
    const host = asked === undefined || domains.length === 0 || domains.includes(asked) ? asked : domains[0];
    const port = this.#opts.httpsPort === 443 ? '' : `:${this.#opts.httpsPort}`;
    const secure = host !== undefined && url.startsWith('/') ? `https://${host}${port}${url}` : undefined;
    if (readOnly && secure !== undefined) {
      res.writeHead(301, { location: secure, connection: 'close', 'content-type': 'text/plain' }).end(`moved to ${secure}\n`);
      return;
    }
    res
      .writeHead(403, { connection: 'close', 'content-type': 'text/plain' })
      .end(`bluetick does not take requests over plain HTTP; use ${secure ?? 'https://'}\n`);
  }
}

export interface TlsAlpnResponderOptions {
  logger?: Logger;
  /** How long to wait for a ClientHello while a challenge is pending. Default 5000 ms. */
  peekTimeoutMs?: number;
}

type ConnectionListener = (socket: Socket) => void;

export class TlsAlpnResponder {
  readonly #opts: TlsAlpnResponderOptions;
  readonly #contexts = new Map<string, SecureContext>();
  readonly #challengeServer: TlsServer;
  #target: TlsServer | undefined;
  #original: ConnectionListener[] = [];
  readonly #onConnection = (socket: Socket): void => this.#dispatch(socket);

  constructor(opts: TlsAlpnResponderOptions = {}) {
    this.#opts = opts;
    this.#challengeServer = createTlsServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (servername, cb) => {
        const context = this.#contexts.get(servername.toLowerCase());
        if (context) cb(null, context);
        else cb(new Error(`no TLS-ALPN-01 challenge pending for ${servername}`));
      },
    });
    this.#challengeServer.on('secureConnection', (socket) => {
      opts.logger?.debug({ servername: (socket as { servername?: string }).servername, remoteAddress: socket.remoteAddress }, 'ACME TLS-ALPN-01 validation handshake');
      socket.end();
    });
    this.#challengeServer.on('tlsClientError', (err, socket) => {
      opts.logger?.debug({ err }, 'ACME TLS-ALPN-01 handshake failed');
      socket.destroy();
    });
  }

  /** Takes over `server`'s incoming connections (its own handler still gets every ordinary one). */
  attach(server: TlsServer): void {
    if (this.#target) throw new Error('TlsAlpnResponder is already attached');
    this.#target = server;
    this.#original = server.listeners('connection') as ConnectionListener[];
    server.removeAllListeners('connection');
    server.on('connection', this.#onConnection);
  }

  /** Gives `server` its own connection handling back. */
  detach(): void {
    const server = this.#target;
    if (!server) return;
    server.removeListener('connection', this.#onConnection);
    for (const listener of this.#original) server.on('connection', listener);
    this.#target = undefined;
    this.#original = [];
  }

  /** Serves `cert`/`key` (the RFC 8737 challenge certificate) to `acme-tls/1` connections for `domain`. */
  set(domain: string, pair: { cert: string | Buffer; key: string | Buffer }): void {
    this.#contexts.set(domain.toLowerCase(), createSecureContext({ cert: pair.cert, key: pair.key }));
  }

  delete(domain: string): void {
    this.#contexts.delete(domain.toLowerCase());
  }

  get pending(): number {
    return this.#contexts.size;
  }

  #pass(socket: Socket): void {
    const server = this.#target;
    if (!server) {
      socket.destroy();
      return;
    }
    for (const listener of this.#original) listener.call(server, socket);
  }

  #dispatch(socket: Socket): void {
    // Without a pending challenge there is nothing to tell apart: no peeking, no cost.
    if (this.#contexts.size === 0) {
      this.#pass(socket);
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const finish = (peek: ClientHelloPeek | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      if (socket.destroyed) return;
      socket.pause();
      if (chunks.length > 0) socket.unshift(Buffer.concat(chunks));
      const name = peek?.kind === 'hello' ? peek.serverName : undefined;
      if (peek?.kind === 'hello' && peek.alpn.includes(ACME_TLS_ALPN) && name !== undefined && this.#contexts.has(name)) {
        this.#challengeServer.emit('connection', socket);
      } else {
        this.#pass(socket);
      }
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
      const peek = peekClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (peek.kind === 'need-more' && bytes < MAX_CLIENT_HELLO_BYTES) return;
      finish(peek);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (): void => {
      done = true;
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(() => finish(undefined), this.#opts.peekTimeoutMs ?? 5_000);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
  }
}
