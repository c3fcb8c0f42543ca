/**
 * @module api/endpoints/stream
 *
 * `GET /api/stream`: server-sent events of new events as they are recorded.
 *
 * The stream tails the events table by `seq`, the store's insertion order: each client
 * keeps the last `seq` it was sent and asks `store.listEvents` for what follows. Nothing is
 * shared in memory with the pipeline, so the stream works the same when the pipeline runs
 * in another thread or another process. It reads again when
 * - the pipeline reports a recorded batch (the `notify` source, when there is one here),
 * - a short poll fires (`pollMs`), which covers a pipeline this process does not hear from.
 *
 * Every message carries `id: <seq>`. A client that reconnects with `Last-Event-ID` (as
 * `EventSource` does) continues right after that event: no gap, no duplicate. Without it the
 * stream starts with the next event recorded (or after `?after=`). Comment lines keep idle
 * connections open through proxies (`heartbeatMs`).
 */
import type { ServerResponse } from 'node:http';
import type { EventFilter, Store, StoredEvent } from '../../store/store.js';
import { stringifyJson } from '../../events/json.js';
import type { JsonValue } from '../../events/types.js';
import { principalOf } from '../access.js';
import { maskText } from '../mask.js';
import { ApiError, type ApiRouter } from '../router.js';
import { streamQuery } from '../schemas.js';

export interface StreamOptions {
  /** Fallback poll while idle. Default 500 ms. */
  pollMs?: number;
  /** Comment line sent when nothing else was. Default 15 000 ms. */
  heartbeatMs?: number;
  /** Events read per store call. Default 200. */
  batchSize?: number;
  /** Reconnection delay suggested to clients (`retry:`). Default 1000 ms. */
  retryMs?: number;
}

export interface StreamDeps {
  store: Store;
  /**
   * Subscribes to "events may have been recorded" (the pipeline's `batch`). Returns an
   * unsubscribe function. Optional: without it, the poll alone finds new events.
   */
  notify?: (listener: () => void) => () => void;
  /** Aborted when the server shuts down: every open stream ends. */
  shutdown?: AbortSignal;
  onError?: (err: unknown) => void;
  options?: StreamOptions;
}

/** One subscription to the notify source, shared by every open stream. */
class StreamHub {
  private readonly clients = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;
  private readonly source: StreamDeps['notify'];

  constructor(source: StreamDeps['notify']) {
    this.source = source;
  }

  add(wake: () => void): () => void {
    this.clients.add(wake);
    if (this.source && this.unsubscribe === undefined) {
      this.unsubscribe = this.source(() => {
        for (const client of this.clients) client();
      });
    }
    return () => {
      this.clients.delete(wake);
      if (this.clients.size === 0 && this.unsubscribe) {
        this.unsubscribe();
        this.unsubscribe = undefined;
      }
    };
  }

  get size(): number {
    return this.clients.size;
  }
}

/** The `data:` of one message: the stored event as `/api/events` lists it. */
function frame(stored: StoredEvent, masked: boolean): string {
  // A viewer whose token masks message text gets it masked here too (`api/mask.ts`).
  const data = masked ? maskText(stored as unknown as JsonValue) : stored;
  return `id: ${stored.seq}\ndata: ${stringifyJson(data)}\n\n`;
}

class StreamSession {
  private cursor: number;
  private running = false;
  private again = false;
  private closed = false;
  private lastWrite = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: Array<() => void> = [];
  /** Message text masked in every frame (the caller's token says so). */
  masked = false;

  private readonly res: ServerResponse;
  private readonly store: Store;
  private readonly filter: EventFilter;
  private readonly opts: Required<StreamOptions>;
  private readonly onError: ((err: unknown) => void) | undefined;

  constructor(
    res: ServerResponse,
    store: Store,
    filter: EventFilter,
    start: number,
    opts: Required<StreamOptions>,
    onError: ((err: unknown) => void) | undefined,
  ) {
    this.res = res;
    this.store = store;
    this.filter = filter;
    this.cursor = start;
    this.opts = opts;
    this.onError = onError;
  }

  start(hub: StreamHub, shutdown: AbortSignal | undefined): void {
    const close = (): void => this.close();
    this.res.on('close', close);
    this.res.on('error', close);
    this.cleanups.push(hub.add(() => this.pump()));
    if (shutdown) {
      if (shutdown.aborted) return this.close();
      shutdown.addEventListener('abort', close, { once: true });
      this.cleanups.push(() => shutdown.removeEventListener('abort', close));
    }
    this.timers.push(setInterval(() => this.pump(), this.opts.pollMs));
    this.timers.push(
      setInterval(() => {
        if (Date.now() - this.lastWrite >= this.opts.heartbeatMs) this.write(': keep-alive\n\n');
      }, Math.max(10, Math.min(this.opts.heartbeatMs, 1_000))),
    );
    this.pump();
  }

  /** Reads and sends what follows the cursor; coalesces calls made while it runs. */
  pump(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain()
      .catch((err: unknown) => {
        this.onError?.(err);
        // The client reconnects with Last-Event-ID and resumes where this stopped.
        this.close();
      })
      .finally(() => {
        this.running = false;
        if (this.again && !this.closed) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      const page = await this.store.events.list(this.filter, { after: this.cursor, limit: this.opts.batchSize });
      if (this.closed) return;
      if (page.items.length > 0) {
        let chunk = '';
        for (const stored of page.items) chunk += frame(stored, this.masked);
        this.cursor = page.items[page.items.length - 1]!.seq;
        if (!this.write(chunk)) await this.drained();
      }
      if (page.next === undefined) return;
    }
  }

  private write(text: string): boolean {
    if (this.closed) return true;
    this.lastWrite = Date.now();
    return this.res.write(text);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of this.cleanups) c();
    if (!this.res.writableEnded) this.res.end();
  }
}

function lastEventIdOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if (value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new ApiError(400, 'Last-Event-ID: expected the id (seq) of an event this stream sent', 'Last-Event-ID');
  return Number(value);
}

export function registerStreamEndpoints(router: ApiRouter, deps: StreamDeps): { openStreams: () => number } {
  const opts: Required<StreamOptions> = {
    pollMs: Math.max(10, deps.options?.pollMs ?? 500),
    heartbeatMs: Math.max(10, deps.options?.heartbeatMs ?? 15_000),
    batchSize: Math.max(1, deps.options?.batchSize ?? 200),
    retryMs: Math.max(0, deps.options?.retryMs ?? 1_000),
  };
  const hub = new StreamHub(deps.notify);

  router.get(
    {
      path: '/api/stream',
      operationId: 'streamEvents',
      tag: 'events',
      summary: 'Live events (server-sent events)',
      description:
        'New events as they are recorded, as `text/event-stream`. Each message has `id: <seq>` and `data:` the stored event as /api/events lists it. ' +
        'Reconnect with `Last-Event-ID` to continue right after the last event received, with no gap and no duplicate. ' +
        'Comment lines (`: keep-alive`) are sent while idle.',
      query: streamQuery,
      headers: [
        {
          name: 'Last-Event-ID',
          description: 'Resume after this event seq (sent by EventSource on reconnect).',
          schema: { type: 'string', pattern: '^\\d{1,15}$' },
        },
      ],
      response: { contentType: 'text/event-stream', description: 'An endless stream of `id:` / `data:` messages.' },
    },
    async ({ query, request, reply }) => {
      const resume = lastEventIdOf(request.headers['last-event-id']);
      const start = resume ?? query.after ?? (await deps.store.events.lastSeq());
      const filter: EventFilter = {};
      if (query.type) filter.type = query.type;
      if (query.channel !== undefined) filter.channel = query.channel;

      reply.hijack();
      const res = reply.raw;
      request.raw.socket.setTimeout(0);
      request.raw.socket.setNoDelay(true);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        // nginx: pass messages through as they come.
        'X-Accel-Buffering': 'no',
      });
      res.write(`retry: ${opts.retryMs}\n: streaming events after seq ${start}\n\n`);
      const session = new StreamSession(res, deps.store, filter, start, opts, deps.onError);
      session.masked = principalOf(request)?.maskText === true;
      session.start(hub, deps.shutdown);
      return reply;
    },
  );
  return { openStreams: () => hub.size };
}
