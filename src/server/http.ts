/**
 * @module server/http
 *
 * The one node:http (or https) server: `/webhooks/*` to the lean ingest handler, everything
 * else to fastify; its limits and timeouts from the config; and listening on the configured
 * address.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/types.js';
import { BluetickError } from '../errors.js';
import { isIngestUrl, originForm, type IngestHandler, type RejectionLog } from '../ingest/handler.js';
import type { Logger } from '../log.js';
import { onClientError } from './client-errors.js';

export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The server, and the same object as an https.Server when it serves TLS. */
export interface ServerSocket {
  server: Server;
  httpsServer: HttpsServer | undefined;
}

export interface HttpServerParts {
  config: Config;
  ingest: IngestHandler;
  api: FastifyInstance;
  rejections: RejectionLog;
  logger: Logger;
  /** Own certificate or ACME's SNI callback; absent: plain HTTP. */
  tlsOptions: HttpsOptions | undefined;
}

/** The server with its request listener; not listening yet. */
export function createServerSocket(parts: HttpServerParts): ServerSocket {
  const { config, ingest, api, rejections, logger, tlsOptions } = parts;
  const sc = config.server;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url !== undefined && req.url.charCodeAt(0) !== 0x2f /* / */) req.url = originForm(req.url);
    if (isIngestUrl(req.url)) ingest.handle(req, res);
    else api.routing(req, res);
  };
  const httpOptions = {
    requestTimeout: sc.limits.requestTimeoutMs,
    headersTimeout: sc.limits.headersTimeoutMs,
    keepAliveTimeout: sc.limits.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above; its 30 s default would blunt them.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(sc.limits.headersTimeoutMs / 4))),
  };
  const httpsServer = tlsOptions ? createHttpsServer({ ...httpOptions, ...tlsOptions }, listener) : undefined;
  // An https.Server is an http.Server on top of TLS; one type keeps the rest of this simple.
  const server: Server = httpsServer ? (httpsServer as unknown as Server) : createHttpServer(httpOptions, listener);
  server.keepAliveTimeout = sc.limits.keepAliveTimeoutMs;
  server.maxConnections = sc.limits.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, rejections));
  // Without a listener Node drops CONNECT requests without a word; this is no proxy.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  if (httpsServer) {
    server.on('tlsClientError', (err: Error) => logger.debug({ err }, 'TLS handshake failed'));
  }
  return { server, httpsServer };
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.removeListener('listening', onListening);
      reject(
        new BluetickError('BT_ERR_CONFIG_INVALID', `cannot listen on ${formatHost(host)}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host });
  });
}

/** Stops accepting and cuts every connection at once: the undo of a start that failed after listening. */
export function closeAtOnce(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
