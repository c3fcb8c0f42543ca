/**
 * Server-sent events over `fetch()`. `EventSource` cannot send an `Authorization` header,
 * and putting the admin token in a URL would leave it in logs, so the stream is read with
 * a `ReadableStream` reader and parsed here (the WHATWG event-stream format). On a dropped
 * connection it reconnects with `Last-Event-ID` set to the last id seen, so the server
 * resumes right after it.
 */
import { authHeaders, notifyUnauthorized, withQuery } from './api.js';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized' | 'unavailable';

export interface StreamOptions {
  query?: Record<string, string | undefined>;
  /** Resume after this event id. */
  lastEventId?: string;
  onMessage: (message: SseMessage) => void;
  onState?: (state: StreamState, detail?: string) => void;
}

export interface StreamHandle {
  close(): void;
  readonly lastEventId: string | undefined;
}

/**
 * Splits a chunked text stream into SSE messages. Exported for tests of the parser alone.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last id the stream set (it persists across messages, as the spec says). */
  lastEventId: string | undefined;
  retryMs: number | undefined;

  private readonly emit: (message: SseMessage) => void;

  constructor(emit: (message: SseMessage) => void) {
    this.emit = emit;
  }

  push(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (lf === -1 && cr === -1) break;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone CR at the very end may be the first half of CRLF: wait for more.
        if (cr === this.buffer.length - 1) break;
        end = cr;
        next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.line(this.buffer.slice(start, end));
      start = next;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    if (this.id !== undefined) this.lastEventId = this.id;
    if (this.data.length > 0) {
      const message: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.lastEventId !== undefined) message.id = this.lastEventId;
      this.emit(message);
    }
    this.data = [];
    this.event = '';
    this.id = undefined;
  }
}

/** Opens `path` as an event stream and keeps it open until `close()`. */
export function openStream(path: string, opts: StreamOptions): StreamHandle {
  let closed = false;
  let controller: AbortController | undefined;
  let lastEventId = opts.lastEventId;
  let retryMs = 1_000;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const setState = (state: StreamState, detail?: string): void => opts.onState?.(state, detail);

  const connect = async (): Promise<void> => {
    if (closed) return;
    controller = new AbortController();
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    setState(failures === 0 ? 'connecting' : 'reconnecting');
    let response: Response;
    try {
      response = await fetch(withQuery(path, opts.query), { headers, signal: controller.signal, cache: 'no-store' });
    } catch (error) {
      if (!closed) schedule(error instanceof Error ? error.message : 'network error');
      return;
    }
    if (response.status === 401) {
      closed = true;
      setState('unauthorized');
      notifyUnauthorized();
      return;
    }
    if (response.status === 404 || response.status === 405) {
      closed = true;
      setState('unavailable', `GET ${path} is not available on this server`);
      return;
    }
    if (!response.ok || !response.body) {
      schedule(`${response.status} ${response.statusText}`);
      return;
    }
    failures = 0;
    setState('open');
    const parser = new SseParser((message) => {
      if (message.id !== undefined) lastEventId = message.id;
      opts.onMessage(message);
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
        if (parser.retryMs !== undefined) retryMs = parser.retryMs;
      }
      if (!closed) schedule('the server closed the stream');
    } catch (error) {
      if (!closed) schedule(error instanceof Error ? error.message : 'stream error');
    }
  };

  const schedule = (reason: string): void => {
    failures++;
    setState('reconnecting', reason);
    // Back off up to 15 s while the server stays away.
    const wait = Math.min(15_000, retryMs * Math.min(8, 2 ** (failures - 1)));
    timer = setTimeout(() => void connect(), wait);
  };

  void connect();

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      controller?.abort();
      setState('closed');
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
