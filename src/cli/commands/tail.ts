/**
 * @module cli/commands/tail
 *
 * `bluetick tail`: follows a running server's live stream (`GET /api/stream`) and prints
 * each event as it is recorded: one readable line, or with `--json` the stored event as
 * one JSON line (NDJSON). When the connection drops, it reconnects with `Last-Event-ID`, so
 * nothing is missed or printed twice. `--count N` stops after N events.
 */
import { parseJsonText } from '../../events/json.js';
import type { BluetickEvent } from '../../events/types.js';
import { ExitError } from '../../errors.js';
import { DEFAULT_API_URL, findAdminToken } from '../api-client.js';
import { followEventStream } from '../event-stream.js';

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

export interface StoredEventView {
  seq: number;
  event: BluetickEvent & Record<string, unknown>;
}

/** ` @12.97160,77.59460` for an event with both coordinates (location messages), else empty. */
function coordinatesOf(e: Partial<Record<string, unknown>>): string {
  const { latitude, longitude } = e;
  return typeof latitude === 'number' && typeof longitude === 'number' ? ` @${latitude.toFixed(5)},${longitude.toFixed(5)}` : '';
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
      what = `${str('from') ?? '?'}${name !== undefined ? ` (${name})` : ''} -> ${business}  [${str('kind') ?? '?'}]${text !== undefined ? ` ${JSON.stringify(text)}` : ''}${coordinatesOf(e)}  ${str('messageId') ?? ''}`;
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

export { SseReader } from '../event-stream.js';

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

  let printed = 0;
  try {
    await followEventStream({
      base,
      path,
      token,
      ...(opts.after !== undefined ? { lastId: opts.after } : {}),
      signal: stop.signal,
      stderr: io.stderr,
      onMessage: (message) => {
        if (printed >= limit) return;
        if (opts.json) io.stdout.write(`${message.data}\n`);
        else io.stdout.write(`${formatEvent(parseJsonText(message.data) as unknown as StoredEventView)}\n`);
        printed++;
        if (printed >= limit) stop.abort();
      },
    });
  } finally {
    io.signals?.off('SIGINT', onSignal);
    io.signals?.off('SIGTERM', onSignal);
  }
  return 0;
}
