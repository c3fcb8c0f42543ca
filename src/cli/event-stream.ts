/**
 * @module cli/event-stream
 *
 * The client side of a running server's live stream (`GET /api/stream`), shared by
 * `bluetick tail` and `bluetick listen`: it parses server-sent events, and follows the stream
 * across disconnects and server restarts, resuming with `Last-Event-ID` after the last message
 * the caller finished with. A message's handler is awaited before the next one is read, so a
 * caller that forwards events sets the pace, and the cursor only moves past an event once its
 * handler resolved: after a reconnect nothing is skipped and nothing handled is sent again.
 */
import { request } from 'undici';
import { ExitError } from '../errors.js';

/** One server-sent message. */
export interface StreamMessage {
  id?: string;
  data: string;
}

/** Splits an event stream into messages (WHATWG event-stream format, the parts bluetick sends). */
export class SseReader {
  private buffer = '';
  private data: string[] = [];
  private id: string | undefined;
  retryMs: number | undefined;

  private readonly onMessage: (message: StreamMessage) => void;

  constructor(onMessage: (message: StreamMessage) => void) {
    this.onMessage = onMessage;
  }

  push(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) return;
      // A lone CR at the end may be half of a CRLF.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onMessage({ ...(this.id !== undefined ? { id: this.id } : {}), data: this.data.join('\n') });
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleepUnlessAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export interface FollowOptions {
  /** The server's origin, e.g. `https://hooks.example.com`. */
  base: string;
  /** `/api/stream` with its query. */
  path: string;
  token: string | undefined;
  /** Resume after this seq. */
  lastId?: string;
  /** Ends the stream (the current handler is awaited first). */
  signal: AbortSignal;
  /** Handles one message; the cursor moves past it when this resolves. */
  onMessage: (message: StreamMessage) => void | Promise<void>;
  /** Progress lines for the user (lost connection, back again). */
  stderr: NodeJS.WritableStream;
}

async function refusal(res: { statusCode: number; body: { text(): Promise<string> } }, path: string): Promise<ExitError> {
  const text = await res.body.text();
  let message = text.slice(0, 300);
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    /* not JSON */
  }
  const hint = res.statusCode === 401 ? " (--token / BLUETICK_ADMIN_TOKEN, or --data naming the server's data folder)" : '';
  return new ExitError(res.statusCode === 400 ? 2 : 1, `GET ${path}: HTTP ${res.statusCode}: ${message}${hint}`);
}

/**
 * Follows the stream until `signal` aborts: reconnects after a drop or while the server is
 * away (growing gaps up to 30 s), resuming after the last message handled. Resolves with that
 * message's id. An answer other than 200 (bad token, bad filter) ends it with an `ExitError`.
 */
export async function followEventStream(opts: FollowOptions): Promise<string | undefined> {
  const { base, path, signal, stderr } = opts;
  let lastId = opts.lastId;
  let retryMs = 1_000;
  let failures = 0;
  while (!signal.aborted) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.token !== undefined && opts.token !== '') headers.authorization = `Bearer ${opts.token}`;
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    let res;
    try {
      res = await request(`${base}${path}`, { headers, signal, bodyTimeout: 0, headersTimeout: 30_000 });
    } catch (error) {
      if (signal.aborted) break;
      const code = (error as { code?: string }).code ?? (error as Error).message;
      if (failures++ === 0) stderr.write(`bluetick: cannot reach ${base} (${code}); retrying\n`);
      await sleepUnlessAborted(Math.min(30_000, retryMs * failures), signal);
      continue;
    }
    if (res.statusCode !== 200) throw await refusal(res, path);
    if (failures > 0) stderr.write('bluetick: connected again; resuming after the last event handled\n');
    failures = 0;
    const queue: StreamMessage[] = [];
    const reader = new SseReader((message) => queue.push(message));
    try {
      res.body.setEncoding('utf8');
      for await (const chunk of res.body) {
        reader.push(chunk as string);
        while (queue.length > 0 && !signal.aborted) {
          const message = queue.shift()!;
          try {
            await opts.onMessage(message);
          } catch (error) {
            throw new HandlerFailure(error);
          }
          if (message.id !== undefined) lastId = message.id;
        }
        if (signal.aborted) break;
      }
    } catch (error) {
      if (signal.aborted) break;
      // A handler's own failure is the caller's to report; a dropped connection is retried.
      if (error instanceof HandlerFailure) throw error.cause;
      stderr.write(`bluetick: stream interrupted (${(error as Error).message}); reconnecting\n`);
    } finally {
      if (signal.aborted) res.body.destroy();
    }
    if (reader.retryMs !== undefined) retryMs = reader.retryMs;
    if (signal.aborted) break;
    failures++;
    await sleepUnlessAborted(retryMs, signal);
  }
  return lastId;
}

/** Carries a message handler's error out of the read loop, apart from the connection's own. */
class HandlerFailure extends Error {
  constructor(cause: unknown) {
    super('message handler failed', { cause });
  }
}
