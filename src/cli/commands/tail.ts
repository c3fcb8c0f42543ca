/**
 * @module cli/commands/tail
 *
 * `bluetick tail`: follows a running server's live stream (`GET /api/stream`) and prints
 * each event as it is recorded: one readable line, or with `--json` the stored event as
 * one JSON line (NDJSON). When the connection drops, it reconnects with `Last-Event-ID`, so
 * nothing is missed or printed twice. `--count N` stops after N events.
 */
import { request } from 'undici';
import { parseJsonText } from '../../events/json.js';
import type { BluetickEvent } from '../../events/types.js';
import { ExitError } from '../../errors.js';
import { DEFAULT_API_URL, findAdminToken } from '../api-client.js';

export interface TailCommandOptions {
  url?: string;
  token?: string;
  /** The local server's data folder (its generated admin token). */
  data?: string;
  type?: string;
  channel?: string;
  /** Start after this event seq instead of with the next event. */
  after?: string;
  count?: string;
  json?: boolean;
}

export interface TailIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Receives SIGINT / SIGTERM; `process` in the CLI. */
  signals?: NodeJS.EventEmitter;
}

interface StoredEventView {
  seq: number;
  event: BluetickEvent & Record<string, unknown>;
}

/** One readable line for an event. */
export function formatEvent(stored: StoredEventView): string {
  const e = stored.event as Partial<Record<string, unknown>> & BluetickEvent;
  const str = (key: string): string | undefined => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
  const business = e.phoneNumberId ?? e.displayPhoneNumber ?? '?';
  let what: string;
  switch (e.type) {
    case 'message.received': {
      const name = str('contactName');
      const text = str('text');
      what = `${str('from') ?? '?'}${name !== undefined ? ` (${name})` : ''} -> ${business}  [${str('kind') ?? '?'}]${text !== undefined ? ` ${JSON.stringify(text)}` : ''}  ${str('messageId') ?? ''}`;
      break;
    }
    case 'message.status': {
      const codes = Array.isArray(e.errorCodes) && e.errorCodes.length > 0 ? `  errors ${e.errorCodes.join(', ')}` : '';
      what = `${str('messageId') ?? '?'}  ${str('status') ?? '?'}  ${business} -> ${str('recipientId') ?? '?'}${codes}`;
      break;
    }
    case 'message.reaction': {
      const emoji = str('emoji');
      what = `${str('from') ?? '?'} ${emoji ? `reacted ${emoji}` : 'removed a reaction'} on ${str('targetMessageId') ?? '?'}`;
      break;
    }
    case 'template.status':
    case 'template.quality':
    case 'template.category': {
      const reason = str('reason');
      what = `${str('templateName') ?? str('templateId') ?? '?'}${str('language') !== undefined ? `:${str('language')}` : ''}  ${str('status') ?? '?'}${reason !== undefined && reason !== 'NONE' ? `  (${reason})` : ''}`;
      break;
    }
    case 'message.echo':
    case 'message.standby': {
      const text = str('text');
      const who = e.type === 'message.echo' ? `${business} -> ${str('to') ?? '?'}` : `${str('from') ?? str('recipientId') ?? '?'} -> ${business}`;
      what = `${who}  [${str('kind') ?? str('status') ?? '?'}]${text !== undefined ? ` ${JSON.stringify(text)}` : ''}  ${str('messageId') ?? ''}`;
      break;
    }
    default:
      // Account, phone, user, call, group and unknown events: what they are, their status, who.
      what = [str('kind'), str('status'), str('from'), str('reason') !== undefined ? `(${str('reason')})` : undefined].filter((p) => p !== undefined).join('  ');
  }
  return `${e.occurredAt ?? e.receivedAt}  #${stored.seq}  ${e.type.padEnd(21)}  ${what.trimEnd()}  [${e.channel}]`;
}

/** Splits an event stream into messages (WHATWG event-stream format, the parts bluetick sends). */
export class SseReader {
  private buffer = '';
  private data: string[] = [];
  private id: string | undefined;
  retryMs: number | undefined;

  private readonly onMessage: (message: { id?: string; data: string }) => void;

  constructor(onMessage: (message: { id?: string; data: string }) => void) {
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

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

export async function runTail(opts: TailCommandOptions, io: TailIo): Promise<number> {
  const raw = opts.url ?? io.env.BLUETICK_URL ?? DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ExitError(2, `--url: not a valid URL: ${raw}`);
  }
  const base = url.origin;
  const token = findAdminToken(opts, url, io.env);
  let limit = Infinity;
  if (opts.count !== undefined) {
    if (!/^\d+$/.test(opts.count) || Number(opts.count) < 1) throw new ExitError(2, '--count: expected a positive integer');
    limit = Number(opts.count);
  }
  if (opts.after !== undefined && !/^\d+$/.test(opts.after)) throw new ExitError(2, '--after: expected an event seq');

  const query = new URLSearchParams();
  if (opts.type !== undefined) query.set('type', opts.type);
  if (opts.channel !== undefined) query.set('channel', opts.channel);
  const path = `/api/stream${query.size > 0 ? `?${query.toString()}` : ''}`;

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  io.signals?.on('SIGINT', onSignal);
  io.signals?.on('SIGTERM', onSignal);

  let lastId = opts.after;
  let printed = 0;
  let retryMs = 1_000;
  let failures = 0;
  try {
    while (!stop.signal.aborted && printed < limit) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      let res;
      try {
        res = await request(`${base}${path}`, { headers, signal: stop.signal, bodyTimeout: 0, headersTimeout: 30_000 });
      } catch (error) {
        if (stop.signal.aborted) break;
        const code = (error as { code?: string }).code ?? (error as Error).message;
        if (failures++ === 0) io.stderr.write(`bluetick: cannot reach ${base} (${code}); retrying\n`);
        await sleep(Math.min(30_000, retryMs * failures), stop.signal);
        continue;
      }
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message;
        } catch {
          /* not JSON */
        }
        const hint = res.statusCode === 401 ? " (--token / BLUETICK_ADMIN_TOKEN, or --data naming the server's data folder)" : '';
        throw new ExitError(res.statusCode === 400 ? 2 : 1, `GET ${path}: HTTP ${res.statusCode}: ${message}${hint}`);
      }
      if (failures > 0) io.stderr.write('bluetick: connected again; resuming after the last event printed\n');
      failures = 0;
      const reader = new SseReader((message) => {
        if (printed >= limit) return;
        if (message.id !== undefined) lastId = message.id;
        if (opts.json) {
          io.stdout.write(`${message.data}\n`);
        } else {
          io.stdout.write(`${formatEvent(parseJsonText(message.data) as unknown as StoredEventView)}\n`);
        }
        printed++;
        if (printed >= limit) stop.abort();
      });
      try {
        res.body.setEncoding('utf8');
        for await (const chunk of res.body) reader.push(chunk as string);
      } catch (error) {
        if (stop.signal.aborted) break;
        io.stderr.write(`bluetick: stream interrupted (${(error as Error).message}); reconnecting\n`);
      }
      if (reader.retryMs !== undefined) retryMs = reader.retryMs;
      if (stop.signal.aborted || printed >= limit) break;
      failures++;
      await sleep(retryMs, stop.signal);
    }
  } finally {
    io.signals?.off('SIGINT', onSignal);
    io.signals?.off('SIGTERM', onSignal);
  }
  return 0;
}

