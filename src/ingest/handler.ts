/**
 * @module ingest/handler
 *
 * The ingest hot path, a plain `node:http` handler for `/webhooks/*`:
 *
 *   route by path -> method (GET handshake, POST ingest, else 405)
 *     -> authenticate (Basic from the header; Meta signature needs the body)
 *     -> read the exact bytes (size limit) -> journal.append (group commit) -> 200
 *
 * Nothing else happens before the answer: no JSON parsing, no normalizing, no logging per
 * request. The 200 is sent only after the journal commit resolved; a journal
 * that cannot commit in time yields 503 + Retry-After so the provider resends.
 *
 * Refused requests (401, 404, 405, 413, 503, ...) are counted and handed to the
 * {@link RejectionLog}, which writes them to the store in the background, in batches, and
 * keeps the newest 10 000. The response to a refused request never says which check failed;
 * the rejection log (visible to the operator only) does.
 *
 * This path is benchmarked against a bare `node:http` server, so it is written with
 * callbacks rather than `async` functions and precomputed header arrays.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthBackoff, clientAddress, retryAfterSeconds } from '../auth-backoff.js';
import type { ChannelConfig } from '../config/resolve.js';
import { BluetickError } from '../errors.js';
import type { Logger } from '../log.js';
import { UNKNOWN_CHANNEL_LABEL, type ChannelCounters, type Metrics } from '../metrics.js';
import type { JournalInput, RejectionCause, RejectionInput, RejectionStore, VerifiedBy } from '../store/store.js';
import { answerChallenge } from './challenge.js';
import { declaredLength, readRawBody } from './raw-body.js';
import { DEFAULT_DRAIN_BUDGET, drainRefused, type DrainBudget } from './refusal-drain.js';
import { createBasicVerifier, type BasicVerifier } from './verify-basic.js';
import { createMetaVerifier, type MetaVerifier } from './verify-meta.js';

/** The part of the journal writer the ingest path uses. */
export interface IngestJournal {
  /** Calls `done` once: with the row's journal id once it is durable, or with why it is not. */
  enqueue(row: JournalInput, done: (err: Error | undefined, id: number) => void): void;
}

/** Where refused requests go (a {@link RejectionLog} in the server). */
export interface RejectionSink {
  add(rejection: RejectionInput): void;
}

export interface IngestOptions {
  channels: readonly ChannelConfig[];
  journal: IngestJournal;
  /** Largest accepted body in bytes. */
  bodyLimit: number;
  metrics: Metrics;
  rejections: RejectionSink;
  /** Called after each durable ack (the server wakes the pipeline). */
  onAcked?: () => void;
  /** A TLS proxy is in front: take the client address from `X-Forwarded-For`. */
  behindProxy?: boolean;
  /** The proxy in front sets `X-Forwarded-For`: its last entry is the address the backoff counts. */
  trustProxy?: boolean;
  /** Per-address backoff after failed authentications (shared with `/api`). */
  backoff?: AuthBackoff;
  /** Seconds in the `Retry-After` of a 503. Default 5. */
  retryAfterSeconds?: number;
  /**
   * How much of a refused body is read and discarded so that the refusal reaches a client
   * still sending it (see `refusal-drain.ts`). Default 8 MiB (at least the body limit) or 3 s.
   */
  refusalDrain?: Partial<DrainBudget>;
  logger?: Logger;
}

/** Path prefix this handler owns. */
export const INGEST_PREFIX = '/webhooks/';

/** True when a request URL belongs to the ingest handler. */
export function isIngestUrl(url: string | undefined): boolean {
  return url !== undefined && url.startsWith(INGEST_PREFIX);
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * The origin form (`/path?query`) of a request target. HTTP/1.1 servers must accept the
 * absolute form (`http://host/path`) too (RFC 9112 section 3.2.2), which some proxies and
 * relays send; anything else (`*`, an origin form) comes back unchanged.
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 0x2f /* / */) return target;
  const match = ABSOLUTE_FORM.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}

/** Headers kept with a journal row. `authorization` is kept as its scheme only. */
export const KEPT_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-hub-signature-256', 'x-forwarded-for'] as const;

/** `Basic ***`: records that credentials were sent, never what they were. */
export function maskAuthorization(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space > 0 ? value.slice(0, space) : 'credentials';
  return `${scheme} ***`;
}

/** The headers worth keeping with a journal row, secrets masked. */
export function keptHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  const auth = headers.authorization;
  if (auth !== undefined) {
    // Every request of a client carries the same value: mask it once.
    if (auth !== lastAuthorization) {
      lastAuthorization = auth;
      lastMasked = maskAuthorization(auth);
    }
    out.authorization = lastMasked;
  }
  return out;
}

let lastAuthorization = '';
let lastMasked = maskAuthorization('');

interface Route {
  channel: ChannelConfig;
  name: string;
  basic: BasicVerifier | undefined;
  meta: MetaVerifier | undefined;
  /**
   * No credentials configured: allowed only on a loopback bind with no proxy in front (the
   * config refuses it elsewhere), and even then a request that came through a proxy is refused.
   */
  open: boolean;
  /** Headers of this channel's 401. */
  unauthorizedHeaders: string[];
  counters: ChannelCounters;
}

const OK_BODY = '{"ok":true}';
const OK_HEADERS = ['Content-Type', 'application/json', 'Content-Length', String(OK_BODY.length)];
const TEXT = 'text/plain; charset=utf-8';

function textHeaders(body: string, extra: string[] = []): string[] {
  return ['Content-Type', TEXT, 'Content-Length', String(Buffer.byteLength(body)), ...extra];
}

const BODY_401 = 'unauthorized\n';
const BODY_404 = 'not found\n';
const BODY_405 = 'method not allowed\n';
const BODY_413 = 'payload too large\n';
const BODY_503 = 'journal unavailable, retry later\n';
const BODY_400 = 'bad request\n';
const BODY_403 = 'forbidden\n';
const HEADERS_404 = textHeaders(BODY_404);
const HEADERS_405 = textHeaders(BODY_405, ['Allow', 'GET, POST']);
const HEADERS_413 = textHeaders(BODY_413, ['Connection', 'close']);
const HEADERS_400 = textHeaders(BODY_400);
const HEADERS_403 = textHeaders(BODY_403);
const BODY_429 = 'too many failed authentications, retry later\n';

function viaProxy(headers: IncomingMessage['headers']): boolean {
  return headers.forwarded !== undefined || headers['x-forwarded-for'] !== undefined || headers['x-real-ip'] !== undefined;
}

function clip(value: string, max = 512): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}

/**
 * The ingest request handler plus what a graceful shutdown needs to know about it.
 *
 * @example
 * ```ts
 * const ingest = new IngestHandler({ channels, journal, bodyLimit, metrics, rejections });
 * http.createServer((req, res) => (isIngestUrl(req.url) ? ingest.handle(req, res) : other(req, res)));
 * ```
 */
export class IngestHandler {
  readonly #routes = new Map<string, Route>();
  readonly #journal: IngestJournal;
  readonly #limit: number;
  readonly #metrics: Metrics;
  readonly #rejections: RejectionSink;
  readonly #onAcked: (() => void) | undefined;
  readonly #behindProxy: boolean;
  readonly #trustProxy: boolean;
  readonly #backoff: AuthBackoff;
  readonly #headers503: string[];
  readonly #unknown: ChannelCounters;
  readonly #logger: Logger | undefined;
  readonly #refusalDrain: DrainBudget;
  #inFlight = 0;
  #closing = false;
  #idleWaiters: Array<() => void> = [];

  constructor(opts: IngestOptions) {
    this.#journal = opts.journal;
    this.#limit = opts.bodyLimit;
    this.#metrics = opts.metrics;
    this.#rejections = opts.rejections;
    this.#onAcked = opts.onAcked;
    this.#behindProxy = opts.behindProxy ?? false;
    this.#trustProxy = opts.trustProxy ?? false;
    this.#backoff = opts.backoff ?? new AuthBackoff({ failures: 0 });
    this.#logger = opts.logger;
    this.#refusalDrain = {
      // A body within the limit is one we would have read anyway: draining it costs no more.
      bytes: opts.refusalDrain?.bytes ?? Math.max(DEFAULT_DRAIN_BUDGET.bytes, opts.bodyLimit),
      ms: opts.refusalDrain?.ms ?? DEFAULT_DRAIN_BUDGET.ms,
    };
    this.#headers503 = textHeaders(BODY_503, ['Retry-After', String(opts.retryAfterSeconds ?? 5)]);
    this.#unknown = opts.metrics.channel(UNKNOWN_CHANNEL_LABEL);
    for (const channel of opts.channels) {
      const basic = channel.basicAuth.length > 0 ? createBasicVerifier(channel.basicAuth) : undefined;
      // The escaped form Meta signs is tried only up to the size accepted from Meta directly.
      const meta = channel.meta.appSecrets.length > 0 ? createMetaVerifier(channel.meta.appSecrets, { maxEscapedBytes: opts.bodyLimit }) : undefined;
      this.#routes.set(channel.path, {
        channel,
        name: channel.name,
        basic,
        meta,
        open: basic === undefined && meta === undefined,
        unauthorizedHeaders: textHeaders(BODY_401, basic ? ['WWW-Authenticate', 'Basic realm="bluetick", charset="UTF-8"'] : []),
        counters: opts.metrics.channel(channel.name),
      });
    }
  }

  /** Requests being answered right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * From now on every answer carries `Connection: close`, so keep-alive clients move on
   * while the server shuts down. Resolves when no request is in flight.
   */
  drain(): Promise<void> {
    this.#closing = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The `node:http` request listener for `/webhooks/*`. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = this.#routes.get(path);
    if (this.#closing) res.setHeader('Connection', 'close');
    if (route === undefined) {
      this.#unknown.not_found++;
      this.#reject(req, undefined, 'unknown-channel', path);
      this.#send(req, res, 404, HEADERS_404, BODY_404, true);
      return;
    }
    const method = req.method;
    if ((method === 'POST' || method === 'GET') && this.#backedOff(route, req, res)) return;
    if (method === 'POST') {
      this.#post(route, req, res);
    } else if (method === 'GET') {
      this.#handshake(route, req, res, q < 0 ? '' : url.slice(q + 1));
    } else {
      route.counters.method_not_allowed++;
      this.#reject(req, route.name, 'method-not-allowed', path, String(method));
      this.#send(req, res, 405, HEADERS_405, BODY_405, true);
    }
  };

  #post(route: Route, req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const receivedAt = Date.now();
    const headers = req.headers;
    let verifiedBy: VerifiedBy | undefined;
    if (route.open) {
      if (viaProxy(headers)) {
        // Loopback is not a credential: this request came through a proxy, tunnel or relay.
        route.counters.forbidden++;
        this.#reject(req, route.name, 'unauthorized', route.channel.path, 'channel has no credentials and refuses requests that came through a proxy');
        this.#send(req, res, 403, HEADERS_403, BODY_403, true);
        return;
      }
      verifiedBy = 'none';
    } else if (route.basic !== undefined && route.basic(headers.authorization)) {
      verifiedBy = 'basic';
      if (this.#backoff.active) this.#backoff.succeed(clientAddress(req, this.#trustProxy));
    } else if (route.meta === undefined || headers['x-hub-signature-256'] === undefined) {
      const detail = headers.authorization === undefined ? 'no credentials' : 'basic credentials did not match';
      this.#unauthorized(route, req, res, detail, true);
      return;
    }

    // Two closures per request (body read, journal commit) and no promise: this path is
    // benchmarked. Each of the paths below calls #done() exactly once.
    this.#inFlight++;
    readRawBody(req, this.#limit, (error, body) => {
      if (error !== undefined) {
        this.#done();
        if (error instanceof BluetickError && error.code === 'BT_ERR_INGEST_TOO_LARGE') {
          route.counters.too_large++;
          this.#reject(req, route.name, 'payload-too-large', route.channel.path, error.message);
          this.#send(req, res, 413, HEADERS_413, BODY_413);
        } else {
          route.counters.aborted++;
          if (!res.headersSent && !res.destroyed) res.destroy();
        }
        return;
      }
      if (verifiedBy === undefined) {
        const result = route.meta!(body, headers['x-hub-signature-256'] as string);
        if (result === undefined) {
          this.#done();
          this.#unauthorized(route, req, res, 'meta signature did not match');
          return;
        }
        verifiedBy = result;
        if (this.#backoff.active) this.#backoff.succeed(clientAddress(req, this.#trustProxy));
      }
      const row: JournalInput = {
        channel: route.name,
        receivedAt,
        headers: keptHeaders(headers),
        body,
        verifiedBy,
      };
      const remote = this.#remoteAddress(req);
      if (remote !== undefined) row.remoteAddress = remote;
      this.#journal.enqueue(row, (err) => {
        if (err === undefined) {
          res.writeHead(200, OK_HEADERS);
          res.end(OK_BODY);
          route.counters.acked++;
          this.#metrics.ackSeconds.observe((performance.now() - started) / 1000);
          this.#done();
          if (this.#onAcked !== undefined) this.#onAcked();
          return;
        }
        route.counters.unavailable++;
        const expected = err instanceof BluetickError && err.code === 'BT_ERR_INGEST_UNAVAILABLE';
        if (!expected) this.#logger?.error({ err, channel: route.name }, 'journal append failed unexpectedly');
        this.#reject(req, route.name, 'journal-unavailable', route.channel.path, err.message);
        this.#send(req, res, 503, this.#headers503, BODY_503);
        this.#done();
      });
    });
  }

  /** One POST that passed authentication is answered (or abandoned). */
  #done(): void {
    if (--this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #handshake(route: Route, req: IncomingMessage, res: ServerResponse, query: string): void {
    const answer = answerChallenge(query, route.channel.meta.verifyTokens);
    if (answer.status === 200) {
      route.counters.challenge++;
      this.#send(req, res, 200, textHeaders(answer.challenge, ['X-Content-Type-Options', 'nosniff']), answer.challenge);
      return;
    }
    if (answer.status === 403) {
      route.counters.forbidden++;
      // A wrong verify token is a guessed secret, like a wrong password.
      this.#backoff.fail(clientAddress(req, this.#trustProxy));
    } else route.counters.bad_request++;
    this.#reject(req, route.name, answer.cause, route.channel.path, answer.detail);
    if (answer.status === 403) this.#send(req, res, 403, HEADERS_403, BODY_403);
    else this.#send(req, res, 400, HEADERS_400, BODY_400);
  }

  /** Answers 429 when the client's address must wait after failed authentications. */
  #backedOff(route: Route, req: IncomingMessage, res: ServerResponse): boolean {
    // Nothing failed yet (the usual case): no address to work out on this hot path.
    if (!this.#backoff.active) return false;
    const wait = this.#backoff.check(clientAddress(req, this.#trustProxy));
    if (wait === 0) return false;
    route.counters.backoff++;
    const retryAfter = String(retryAfterSeconds(wait));
    this.#send(req, res, 429, textHeaders(BODY_429, ['Retry-After', retryAfter]), BODY_429, true);
    return true;
  }

  #unauthorized(route: Route, req: IncomingMessage, res: ServerResponse, detail: string, unread = false): void {
    route.counters.unauthorized++;
    // Only a wrong credential is a guess; a request that carries none is just misconfigured.
    if (req.headers.authorization !== undefined || req.headers['x-hub-signature-256'] !== undefined) {
      this.#backoff.fail(clientAddress(req, this.#trustProxy));
    }
    this.#reject(req, route.name, 'unauthorized', route.channel.path, detail);
    this.#send(req, res, 401, route.unauthorizedHeaders, BODY_401, unread);
  }

  /**
   * `unread`: the request body was not consumed. A small one is read to its end so the
   * connection can be reused; a large or open-ended one is not worth it, so that connection
   * closes. Either way, a body still arriving is discarded within the drain budget before the
   * connection closes, so the client reads this answer rather than a reset.
   */
  #send(req: IncomingMessage, res: ServerResponse, status: number, headers: string[], body: string, unread = false): void {
    if (res.headersSent || res.destroyed) return;
    if (unread) {
      const declared = declaredLength(req);
      if (declared === undefined ? req.headers['transfer-encoding'] !== undefined : declared > this.#limit) {
        res.setHeader('Connection', 'close');
      }
    }
    if (!req.complete) drainRefused(req, this.#refusalDrain);
    res.writeHead(status, headers);
    res.end(body);
  }

  #reject(req: IncomingMessage, channel: string | undefined, cause: RejectionCause, path: string, detail?: string): void {
    const rejection: RejectionInput = { at: Date.now(), cause, method: String(req.method), path: clip(path) };
    if (channel !== undefined) rejection.channel = channel;
    const remote = this.#remoteAddress(req);
    if (remote !== undefined) rejection.remoteAddress = remote;
    if (detail !== undefined) rejection.detail = clip(detail);
    this.#rejections.add(rejection);
  }

  #remoteAddress(req: IncomingMessage): string | undefined {
    if (this.#behindProxy) {
      const forwarded = req.headers['x-forwarded-for'];
      if (typeof forwarded === 'string' && forwarded !== '') {
        // The proxy appends the address it saw; earlier entries are whatever the client claimed.
        const comma = forwarded.lastIndexOf(',');
        return (comma < 0 ? forwarded : forwarded.slice(comma + 1)).trim();
      }
    }
    return req.socket.remoteAddress;
  }
}

export interface RejectionLogOptions {
  /** Rejections kept in the store; older ones are trimmed. Default 10 000. */
  keep?: number;
  /** Delay between a rejection and the batch write that stores it. Default 250 ms. */
  flushMs?: number;
  /** Rejections held in memory while the store is slow or down; the oldest are dropped beyond. Default 1000. */
  maxBuffered?: number;
  metrics?: Metrics;
  logger?: Logger;
}

/**
 * Stores refused requests in the background: counted at once, written in batches a moment
 * later, never on the path of an answer. While the store cannot take them, the newest
 * `maxBuffered` wait in memory. Each flush also logs one summary line per channel and cause.
 */
export class RejectionLog implements RejectionSink {
  readonly #store: { rejections: Pick<RejectionStore, 'add'> };
  readonly #keep: number;
  readonly #flushMs: number;
  readonly #maxBuffered: number;
  readonly #metrics: Metrics | undefined;
  readonly #logger: Logger | undefined;
  #buffer: RejectionInput[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** Rejections dropped because the buffer was full. */
  dropped = 0;

  constructor(store: { rejections: Pick<RejectionStore, 'add'> }, opts: RejectionLogOptions = {}) {
    this.#store = store;
    this.#keep = opts.keep ?? 10_000;
    this.#flushMs = opts.flushMs ?? 250;
    this.#maxBuffered = opts.maxBuffered ?? 1_000;
    this.#metrics = opts.metrics;
    this.#logger = opts.logger;
  }

  add(rejection: RejectionInput): void {
    this.#metrics?.rejections.inc({ cause: rejection.cause });
    if (this.#closed) return;
    if (this.#buffer.length >= this.#maxBuffered) {
      this.#buffer.shift();
      this.dropped++;
    }
    this.#buffer.push(rejection);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Writes what is buffered now. Never rejects. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#buffer.length === 0) return;
    const rows = this.#buffer;
    this.#buffer = [];
    this.#flushing = this.#write(rows);
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Flushes and stops taking rejections (they are still counted). */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #write(rows: RejectionInput[]): Promise<void> {
    try {
      await this.#store.rejections.add(rows, this.#keep);
    } catch (err) {
      if (!this.#closed) {
        // Put them back in front of anything newer, within the bound, and try again later.
        const merged = rows.concat(this.#buffer);
        const excess = Math.max(0, merged.length - this.#maxBuffered);
        this.dropped += excess;
        this.#buffer = merged.slice(excess);
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            void this.flush();
          }, Math.max(this.#flushMs, 1_000));
          this.#timer.unref();
        }
      }
      this.#logger?.warn({ err, rejections: rows.length }, 'could not store rejections; will retry');
    }
    this.#summarize(rows);
  }

  #summarize(rows: RejectionInput[]): void {
    if (this.#logger === undefined) return;
    const groups = new Map<string, { channel?: string; cause: RejectionCause; count: number; detail?: string }>();
    for (const r of rows) {
      const key = `${r.channel ?? ''}\u0000${r.cause}`;
      const g = groups.get(key);
      if (g) g.count++;
      else {
        const group: { channel?: string; cause: RejectionCause; count: number; detail?: string } = { cause: r.cause, count: 1 };
        if (r.channel !== undefined) group.channel = r.channel;
        if (r.detail !== undefined) group.detail = r.detail;
        groups.set(key, group);
      }
    }
    for (const g of groups.values()) this.#logger.warn(g, 'requests rejected');
  }
}
