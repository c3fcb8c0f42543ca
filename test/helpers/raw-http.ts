/**
 * HTTP/1.1 over a bare `node:net` socket, for requests an HTTP client would refuse to
 * send or would quietly fix: malformed framing, lying lengths, pipelines, slow writers.
 * Responses are parsed just enough to check them (status, headers, body by
 * Content-Length or chunked).
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** The HTTP version of the status line, e.g. `HTTP/1.1`. */
  version: string;
}

export interface RawResult {
  /** Final responses in order (interim 1xx answers are in `interim`). */
  responses: RawResponse[];
  interim: RawResponse[];
  /** The server closed the connection (or reset it) before the exchange ended. */
  closed: boolean;
  /** The connection was reset rather than closed cleanly. */
  reset: boolean;
  /** Everything the server sent. */
  raw: Buffer;
}

/** A pause between writes. */
export interface Pause {
  pause: number;
}

export interface RawOptions {
  /** Stop once this many final responses arrived (default: wait for the server to close). */
  responses?: number;
  /** Give up (and report what arrived) after this long. Default 8000 ms. */
  timeoutMs?: number;
  /** Half-close the socket after the last write. */
  end?: boolean;
  /**
   * Read nothing until every part is written, as a client that sends its whole request before
   * looking at the answer does. A write that fails (the server reset the connection) ends the
   * exchange with whatever could be read.
   */
  readAfterWriting?: boolean;
}

/** Parses as many complete responses as `buf` holds. */
export function parseResponses(buf: Buffer): { responses: RawResponse[]; interim: RawResponse[] } {
  const responses: RawResponse[] = [];
  const interim: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) break;
    const head = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const match = /^(HTTP\/\d\.\d) (\d{3})/.exec(head[0] ?? '');
    if (!match) break;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(match[2]);
    let bodyStart = headEnd + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status >= 200 && status !== 204 && status !== 304) {
      if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
        const parts: Buffer[] = [];
        let p = bodyStart;
        let complete = false;
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', p, 'latin1');
          if (lineEnd < 0) break;
          const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
          if (Number.isNaN(size)) break;
          if (size === 0) {
            const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd - 2, 'latin1');
            if (trailerEnd < 0) break;
            p = trailerEnd + 4;
            complete = true;
            break;
          }
          if (lineEnd + 2 + size + 2 > buf.length) break;
          parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          p = lineEnd + 2 + size + 2;
        }
        if (!complete) break;
        body = Buffer.concat(parts);
        bodyStart = p;
      } else {
        const length = Number(headers['content-length'] ?? 0);
        if (bodyStart + length > buf.length) break;
        body = buf.subarray(bodyStart, bodyStart + length);
        bodyStart += length;
      }
    }
    const response = { status, headers, body: body.toString('utf8'), version: match[1]! };
    if (status < 200) interim.push(response);
    else responses.push(response);
    at = bodyStart;
  }
  return { responses, interim };
}

/**
 * Writes `parts` in order on a fresh connection (a {@link Pause} waits between writes) and
 * collects what comes back.
 */
export function rawExchange(port: number, parts: ReadonlyArray<string | Buffer | Pause>, opts: RawOptions = {}): Promise<RawResult> {
  const timeoutMs = opts.timeoutMs ?? 8_000;
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    if (opts.readAfterWriting) socket.pause();
    const chunks: Buffer[] = [];
    let closed = false;
    let reset = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ ...parseResponses(raw), closed, reset, raw });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (opts.responses !== undefined && parseResponses(Buffer.concat(chunks)).responses.length >= opts.responses) finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      closed = true;
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('end', () => {
      closed = true;
    });
    socket.once('connect', async () => {
      for (const part of parts) {
        if (finished || socket.destroyed) return;
        if (typeof part === 'object' && !Buffer.isBuffer(part)) {
          await new Promise((r) => setTimeout(r, part.pause));
          continue;
        }
        await new Promise<void>((r) => {
          socket.write(part, () => r());
        });
      }
      if (opts.end && !socket.destroyed) socket.end();
      if (opts.readAfterWriting && !socket.destroyed) socket.resume();
    });
  });
}

/** `POST <path>` with a Content-Length body and `Connection: close`, as raw text. */
export function rawPost(path: string, body: string | Buffer, headers: Record<string, string> = {}, version = 'HTTP/1.1'): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = [`POST ${path} ${version}`, 'Host: 127.0.0.1', ...Object.entries({ 'Content-Length': String(bytes.length), Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}
