/**
 * @module server/client-errors
 *
 * Node's `clientError` answers, replaced so that slow or malformed requests land in the
 * rejection log and never take the place of an answer a committed POST is still waiting for.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RejectionLog } from '../ingest/handler.js';
import type { RejectionInput } from '../store/store.js';

const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** The response Node has attached to a connection: the one being answered now. */
type AttachedResponse = ServerResponse & { req?: IncomingMessage };

/** Connections whose bad request has been (or is about to be) answered; Node may report the same one again. */
const answeredClientErrors = new WeakSet<Duplex>();

/**
 * Replaces Node's default `clientError` answer so slow or malformed requests also land in
 * the rejection log. A reset by the client is not worth recording.
 *
 * A connection can carry a complete request whose answer is still on its way (waiting for
 * its journal commit) when the bytes after it turn out to be malformed (a pipelined
 * request, a body longer than its Content-Length). That request is answered first: an
 * error written now would take its place, so a POST that was committed would read as
 * refused. Only then is the bad request answered and the connection closed.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Duplex, rejections: RejectionLog): void {
  if (answeredClientErrors.has(socket)) return;
  answeredClientErrors.add(socket);
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  if (!socket.writable) {
    // Already closing after an earlier answer: let that answer flush.
    if (!socket.writableEnded) socket.destroy();
    return;
  }
  const attached = (socket as { _httpMessage?: AttachedResponse | null })._httpMessage;
  if (attached && !attached.writableFinished) {
    // Written in full and flushing, or complete and waiting for its commit: it will finish soon.
    if (attached.writableEnded || (!attached.headersSent && attached.req?.complete === true)) {
      let waited = false;
      const next = (): void => {
        if (waited) return;
        waited = true;
        // Node attaches the next pipelined response (if any) before this runs.
        answeredClientErrors.delete(socket);
        onClientError(err, socket, rejections);
      };
      attached.once('finish', next);
      attached.once('close', next);
      return;
    }
    // An answer streaming without end (server-sent events): cut it, as Node does.
    if (attached.headersSent) {
      socket.destroy();
      return;
    }
  }
  const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const rejection: RejectionInput = {
    at: Date.now(),
    cause: timeout ? 'request-timeout' : 'bad-request',
    method: '-',
    path: '-',
    detail: code || err.message,
  };
  const remote = (socket as Socket).remoteAddress;
  if (remote !== undefined) rejection.remoteAddress = remote;
  rejections.add(rejection);
  const status = CLIENT_ERROR_ANSWERS[code] ?? '400 Bad Request';
  try {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}
