/**
 * @module cli/commands/listen
 *
 * `bluetick listen --forward http://localhost:3000/hook`: real WhatsApp webhooks on a
 * developer's laptop without a tunnel. It follows a remote bluetick's live stream
 * (`/api/stream`, through `cli/event-stream`) and POSTs each event to the local URL, signed
 * per Standard Webhooks (`webhook-id` = the event id, so a receiver can drop repeats), one at
 * a time in the order the server recorded them, so every conversation's events arrive in
 * order. The public bluetick is the tunnel.
 *
 * - A POST not answered 2xx (or not answered) is retried with growing gaps until it is; the
 *   next event waits, so nothing overtakes it.
 * - Progress is a cursor file (`--state`, 0600): the seq of the last event the receiver
 *   acknowledged, written after each 2xx. A restarted listener, or one that lost the server,
 *   resumes right after it with `Last-Event-ID`: nothing acknowledged is sent again (except
 *   the one event whose 2xx came just before a kill, before the cursor was written), and
 *   nothing is skipped.
 * - `--raw` forwards the provider's original body instead (from `/api/journal/{id}`), byte
 *   for byte with its `Content-Type` and `X-Hub-Signature-256`, once per provider POST that
 *   brought new events (the stream carries events: a redelivery that added none, or a body
 *   that was quarantined, is not sent), so the user's own Meta or EnableX handler can be
 *   developed against real traffic. EnableX's Basic credentials are not kept, so not sent.
 * - `--type` / `--channel` filter on the server; one line per event shows what went where.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { request } from 'undici';
import { Signer } from '../../dispatch/sink-http.js';
import { parseJsonText, stringifyJson } from '../../events/json.js';
import { ExitError } from '../../errors.js';
import { DEFAULT_API_URL, findAdminToken } from '../api-client.js';
import { followEventStream, sleepUnlessAborted } from '../event-stream.js';
import { formatEvent, type StoredEventView } from './tail.js';

export interface ListenCommandOptions {
  url?: string;
  token?: string;
  data?: string;
  forward?: string;
  /** `whsec_...` to sign with; default: one generated once and kept in the state file. */
  secret?: string;
  type?: string;
  channel?: string;
  raw?: boolean;
  /** The cursor file. Default: under `~/.bluetick/listen/`, one per server, target and filter. */
  state?: string;
  /** Start after this seq instead of the state file's cursor (or the next event). */
  after?: string;
  /** Exit after forwarding this many events (tests, scripts). */
  count?: string;
}

export interface ListenIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  signals?: NodeJS.EventEmitter;
}

/** What the cursor file holds. */
interface ListenState {
  /** Seq of the last event the receiver acknowledged. */
  lastId?: string;
  /** `--raw`: the journal row last forwarded (its other events are not sent again). */
  lastJournalId?: number;
  secret: string;
}

interface StoredEvent extends StoredEventView {
  journalId: number;
}

interface JournalView {
  headers: Record<string, string>;
  body: { base64: string };
}

/** Longest gap between two tries of the same POST. */
const MAX_RETRY_MS = 30_000;
/** Headers of the provider's POST that `--raw` passes on (the rest are hop-by-hop or masked). */
const RAW_HEADERS = ['content-type', 'user-agent', 'x-hub-signature-256'];

function defaultStatePath(base: string, forward: string, filter: string, raw: boolean): string {
  const key = createHash('sha256').update(`${base}\n${forward}\n${filter}\n${raw ? 'raw' : 'events'}`).digest('hex').slice(0, 16);
  return join(homedir(), '.bluetick', 'listen', `${key}.json`);
}

function readState(file: string): Partial<ListenState> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<ListenState>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ExitError(1, `--state: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Replaces the file in one step (write, fsync, rename), mode 0600. */
function writeState(file: string, state: ListenState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600, flush: true });
  renameSync(tmp, file);
}

function parseUrl(raw: string, flag: string): URL {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new ExitError(2, `${flag}: not an http(s) URL: ${raw}`);
  }
}

/** POSTs until a 2xx (or the user stops); returns the status and time of the last try. */
async function postUntilAcked(
  target: string,
  body: Buffer | string,
  headers: () => Record<string, string>,
  signal: AbortSignal,
  stderr: NodeJS.WritableStream,
): Promise<{ status: number; ms: number } | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    const started = performance.now();
    let outcome: string;
    try {
      const res = await request(target, { method: 'POST', headers: headers(), body, signal, headersTimeout: 30_000, bodyTimeout: 30_000 });
      await res.body.dump();
      const ms = Math.round(performance.now() - started);
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, ms };
      outcome = `HTTP ${res.statusCode}`;
    } catch (error) {
      if (signal.aborted) return undefined;
      outcome = (error as { code?: string }).code ?? (error as Error).message;
    }
    const wait = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(attempt - 1, 7));
    stderr.write(`bluetick: ${target} answered ${outcome}; trying again in ${(wait / 1000).toFixed(1)} s (later events wait)\n`);
    await sleepUnlessAborted(wait, signal);
  }
  return undefined;
}

export async function runListen(opts: ListenCommandOptions, io: ListenIo): Promise<number> {
  if (opts.forward === undefined) throw new ExitError(2, '--forward: name the local URL to POST events to, e.g. http://localhost:3000/hook');
  const forward = parseUrl(opts.forward, '--forward').toString();
  const server = parseUrl(opts.url ?? io.env.BLUETICK_URL ?? DEFAULT_API_URL, '--url');
  const base = server.origin;
  const token = findAdminToken(opts, server, io.env);
  if (opts.after !== undefined && !/^\d+$/.test(opts.after)) throw new ExitError(2, '--after: expected an event seq');
  let limit = Infinity;
  if (opts.count !== undefined) {
    if (!/^\d+$/.test(opts.count) || Number(opts.count) < 1) throw new ExitError(2, '--count: expected a positive integer');
    limit = Number(opts.count);
  }
  const secret = opts.secret ?? io.env.BLUETICK_LISTEN_SECRET;
  if (secret !== undefined && !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(secret)) {
    throw new ExitError(2, '--secret: expected whsec_ followed by the base64 of at least 24 random bytes');
  }

  const query = new URLSearchParams();
  if (opts.type !== undefined) query.set('type', opts.type);
  if (opts.channel !== undefined) query.set('channel', opts.channel);
  const path = `/api/stream${query.size > 0 ? `?${query.toString()}` : ''}`;
  const stateFile = resolve(opts.state ?? defaultStatePath(base, forward, query.toString(), opts.raw === true));
  mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
  const saved = readState(stateFile);
  const state: ListenState = { secret: secret ?? saved.secret ?? `whsec_${randomBytes(32).toString('base64')}` };
  const startAfter = opts.after ?? saved.lastId;
  if (startAfter !== undefined) state.lastId = startAfter;
  if (opts.after === undefined && saved.lastJournalId !== undefined) state.lastJournalId = saved.lastJournalId;
  writeState(stateFile, state);
  const signer = new Signer(state.secret);

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  io.signals?.on('SIGINT', onSignal);
  io.signals?.on('SIGTERM', onSignal);
  io.stderr.write(
    `bluetick: forwarding ${opts.raw ? 'provider bodies' : 'events'} from ${base} to ${forward}` +
      `${state.lastId !== undefined ? ` after event #${state.lastId}` : ''}\n` +
      (opts.raw ? '' : `bluetick: signed with ${state.secret} (Standard Webhooks; kept in ${stateFile})\n`),
  );

  const api = async (apiPath: string): Promise<JournalView> => {
    const res = await request(`${base}${apiPath}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: stop.signal });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ExitError(1, `GET ${apiPath}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as JournalView;
  };

  let forwarded = 0;
  const forwardEvent = async (stored: StoredEvent): Promise<string | undefined> => {
    const body = stringifyJson(stored.event as never);
    const id = stored.event.id;
    const acked = await postUntilAcked(
      forward,
      body,
      () => {
        const seconds = Math.floor(Date.now() / 1000);
        return {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(seconds),
          'webhook-signature': signer.sign(id, seconds, body),
        };
      },
      stop.signal,
      io.stderr,
    );
    return acked && `${acked.status} ${acked.ms} ms`;
  };
  const forwardRaw = async (stored: StoredEvent): Promise<string | undefined> => {
    if (stored.journalId === state.lastJournalId) return 'same POST, sent already';
    const row = await api(`/api/journal/${stored.journalId}`);
    const headers: Record<string, string> = {};
    for (const name of RAW_HEADERS) if (row.headers[name] !== undefined) headers[name] = row.headers[name]!;
    const acked = await postUntilAcked(forward, Buffer.from(row.body.base64, 'base64'), () => headers, stop.signal, io.stderr);
    return acked && `${acked.status} ${acked.ms} ms, provider body of POST ${stored.journalId}`;
  };

  try {
    await followEventStream({
      base,
      path,
      token,
      ...(state.lastId !== undefined ? { lastId: state.lastId } : {}),
      signal: stop.signal,
      stderr: io.stderr,
      onMessage: async (message) => {
        if (message.id === undefined) return;
        const stored = parseJsonText(message.data) as unknown as StoredEvent;
        const outcome = opts.raw ? await forwardRaw(stored) : await forwardEvent(stored);
        // Stopped before the receiver acknowledged: the cursor stays, the event comes again.
        if (outcome === undefined) return;
        state.lastId = message.id;
        if (opts.raw) state.lastJournalId = stored.journalId;
        writeState(stateFile, state);
        io.stdout.write(`${formatEvent(stored)}  -> ${outcome}\n`);
        if (++forwarded >= limit) stop.abort();
      },
    });
  } finally {
    io.signals?.off('SIGINT', onSignal);
    io.signals?.off('SIGTERM', onSignal);
  }
  return 0;
}
