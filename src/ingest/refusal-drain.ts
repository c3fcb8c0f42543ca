/**
 * @module ingest/refusal-drain
 *
 * A refusal given before the body was read (413, 401 on Basic credentials, 404, ...) must
 * still reach a client that is busy sending that body. Closing the socket at once does not
 * do that: the bytes still arriving (or still queued in the kernel, unread) make our TCP
 * stack answer with a reset, and a client that gets a reset while writing usually never
 * reads the answer that was already on its way. A provider would see a network error where
 * it should have seen the 413.
 *
 * So the close after such a refusal goes in three steps (the "lingering close" of RFC 9112
 * section 9.6):
 *
 *   1. the answer is written (with `Connection: close` when we will not keep the connection);
 *   2. the rest of the body is read and thrown away as it arrives, counted, never kept;
 *      once the answer is out, our side is half-closed (FIN);
 *   3. the socket is destroyed when the client closes its side, or when the budget runs
 *      out (bytes or time, whichever comes first), so one client cannot hold a socket.
 *
 * When the answer keeps the connection (a small body on a keep-alive connection), step 2
 * reads the body to its end and the connection serves the next request; the budget still
 * bounds it.
 *
 * Node closes a `Connection: close` response by calling `socket.destroySoon()` once the
 * answer is flushed, which ends our side and destroys the socket right after, whatever is
 * still arriving. For the connections drained here that call is replaced, on that socket
 * only, by step 2's half-close; the budget timer does the destroy.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How much of a refused body is read and discarded before the socket is cut anyway. */
export interface DrainBudget {
  /** Bytes of body read after the refusal. */
  bytes: number;
  /** Milliseconds from the refusal until the socket is destroyed whatever happens. */
  ms: number;
}

/** 8 MiB or 3 s: a provider's upload fits easily; a client cannot hold the socket for long. */
export const DEFAULT_DRAIN_BUDGET: DrainBudget = { bytes: 8 * 1024 * 1024, ms: 3_000 };

/**
 * Call before writing the refusal (before `res.end()`): from now on the rest of `req`'s
 * body is discarded within `budget`, and a close of the connection waits for it. Nothing
 * happens when the body was already read in full.
 */
export function drainRefused(req: IncomingMessage, budget: DrainBudget): void {
  if (req.complete || req.destroyed) return;
  const socket: Socket = req.socket;
  let seen = 0;
  let closing = false;
  let settled = false;

  const cut = (): void => {
    settle();
    socket.destroy();
  };
  const timer = setTimeout(cut, budget.ms);
  timer.unref();

  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > budget.bytes) cut();
  };
  const onBodyEnd = (): void => {
    req.removeListener('data', onData);
    // Kept alive: the next request on this connection is none of this drain's business.
    if (!closing) settle();
  };
  const settle = (): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    req.removeListener('data', onData);
    req.removeListener('end', onBodyEnd);
    socket.removeListener('close', settle);
    // Back to the prototype's close: the body was read in full, nothing is left to reset.
    if (!closing) Reflect.deleteProperty(socket, 'destroySoon');
  };

  // A flowing request with a listener: Node will not dump it, and the socket keeps reading.
  req.on('data', onData);
  req.once('end', onBodyEnd);
  req.resume();
  socket.once('close', settle);
  socket.destroySoon = (): void => {
    closing = true;
    // Our FIN follows the answer; the client's FIN (or the budget) ends the connection.
    if (socket.writable) socket.end();
    socket.once('end', () => {
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    });
  };
}
