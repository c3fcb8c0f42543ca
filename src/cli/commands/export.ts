/**
 * @module cli/commands/export
 *
 * `bluetick export`: streams the recorded events, or with `--raw` the journal (the exact
 * bodies as received), out of the store for analysis or a migration. It reads the store
 * itself, like `rebuild` (the SQLite file in the data folder, or PostgreSQL), in pages of
 * 1 000 rows, so a running server keeps working and memory stays flat whatever the size.
 *
 * Formats:
 * - `ndjson` (default): one stored event per line, `{ "seq": …, "event": {…} }`, the shape
 *   `tail --json` prints; with `--raw`, one journal row per line with its body as text, or
 *   as `bodyBase64` when the bytes are not UTF-8.
 * - `csv`: one row per event with the fields people filter on (RFC 4180 quoting). A cell
 *   that a spreadsheet would evaluate as a formula (`=`, `+`, `-`, `@`, tab, carriage return
 *   at the start: message text is written by strangers) is prefixed with `'`.
 *
 * On a terminal, stderr shows a progress line; the output goes to stdout or `--output`.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { BluetickError } from '../../errors.js';
import { stringifyJson } from '../../events/json.js';
import { EVENT_TYPES, type EventType } from '../../events/types.js';
import type { EventFilter, JournalRow, Store, StoredEvent } from '../../store/store.js';
import { loadStoreConfig, openStoreBesideServer, type StoreCommandOptions } from '../store-config.js';

export interface ExportCommandOptions extends StoreCommandOptions {
  since?: string;
  until?: string;
  type?: string;
  channel?: string;
  format?: string;
  raw?: boolean;
  output?: string;
}

export interface ExportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const PAGE = 1000;

/** The CSV columns, in order: what people filter and chart on. */
export const CSV_COLUMNS = [
  'seq',
  'id',
  'type',
  'channel',
  'receivedAt',
  'occurredAt',
  'phoneNumberId',
  'from',
  'recipientId',
  'messageId',
  'status',
  'kind',
  'text',
  'errorCodes',
] as const;

interface Plan {
  format: 'ndjson' | 'csv';
  raw: boolean;
  filter: EventFilter;
}

function usage(message: string): BluetickError {
  return new BluetickError('BT_ERR_CLI_USAGE', message);
}

/** A time flag: ISO-8601 or epoch milliseconds. */
function parseTime(flag: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw usage(`${flag}: expected an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

/** Checks the flags before anything is opened. */
export function planExport(opts: ExportCommandOptions): Plan {
  const format = opts.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'csv') throw usage(`--format: expected ndjson or csv, got ${JSON.stringify(format)}`);
  const raw = opts.raw === true;
  if (raw && format === 'csv') throw usage('--raw: journal bodies are exported as ndjson only (a body is not a row)');
  if (raw && opts.type !== undefined) throw usage('--type: filters events; --raw exports whole bodies, which may hold several types');
  const filter: EventFilter = {};
  if (opts.since !== undefined) filter.since = parseTime('--since', opts.since);
  if (opts.until !== undefined) filter.until = parseTime('--until', opts.until);
  if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) throw usage('--until: must be later than --since');
  if (opts.channel !== undefined) filter.channel = opts.channel;
  if (opts.type !== undefined) {
    const types = opts.type
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) throw usage(`--type: unknown event type ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`);
    filter.type = types as EventType[];
  }
  return { format, raw, filter };
}

/** One CSV cell: quoted when needed, formula starts neutralised. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = Array.isArray(value) ? value.join(' ') : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(stored: StoredEvent): string {
  const e = stored.event as unknown as Record<string, unknown>;
  return CSV_COLUMNS.map((column) => csvCell(column === 'seq' ? stored.seq : e[column])).join(',');
}

/** A journal row as one JSON line. */
export function rawLine(row: JournalRow): string {
  const text = row.body.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(row.body);
  return stringifyJson({
    id: row.id,
    channel: row.channel,
    receivedAt: new Date(row.receivedAt).toISOString(),
    verifiedBy: row.verifiedBy,
    headers: row.headers,
    ...(exact ? { body: text } : { bodyBase64: row.body.toString('base64') }),
  });
}

class Progress {
  private last = 0;
  private readonly started = Date.now();
  private readonly stderr: ExportIo['stderr'];
  private readonly what: string;
  private readonly total: number | undefined;

  constructor(stderr: ExportIo['stderr'], what: string, total: number | undefined) {
    this.stderr = stderr;
    this.what = what;
    this.total = total;
  }

  tick(done: number, force = false): void {
    if (this.stderr.isTTY !== true) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const part = this.total !== undefined && this.total > 0 ? ` of ~${this.total} (${Math.min(100, Math.round((done / this.total) * 100))}%)` : '';
    this.stderr.write(`\rexported ${done}${part} ${this.what}, ${Math.round(done / seconds)}/s   `);
  }

  end(done: number): void {
    if (this.stderr.isTTY !== true) return;
    this.tick(done, true);
    this.stderr.write('\n');
  }
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function exportEvents(store: Store, plan: Plan, out: NodeJS.WritableStream, progress: Progress): Promise<number> {
  if (plan.format === 'csv') await write(out, `${CSV_COLUMNS.join(',')}\n`);
  let after: number | undefined;
  let done = 0;
  for (;;) {
    const page = await store.events.list(plan.filter, { limit: PAGE, ...(after !== undefined ? { after } : {}) });
    let chunk = '';
    for (const stored of page.items) {
      chunk += plan.format === 'csv' ? `${csvRow(stored)}\n` : `${stringifyJson({ seq: stored.seq, event: stored.event })}\n`;
    }
    if (chunk !== '') await write(out, chunk);
    done += page.items.length;
    progress.tick(done);
    if (page.next === undefined || page.items.length === 0) return done;
    after = page.next;
  }
}

async function exportJournal(store: Store, plan: Plan, out: NodeJS.WritableStream, progress: Progress): Promise<number> {
  const { since, until, channel } = plan.filter;
  let after: number | undefined;
  let done = 0;
  for (;;) {
    const page = await store.journal.list(channel !== undefined ? { channel } : {}, { limit: PAGE, ...(after !== undefined ? { after } : {}) });
    let chunk = '';
    for (const row of page.items) {
      if (since !== undefined && row.receivedAt < since) continue;
      if (until !== undefined && row.receivedAt >= until) continue;
      chunk += `${rawLine(row)}\n`;
      done++;
    }
    if (chunk !== '') await write(out, chunk);
    progress.tick(done);
    if (page.next === undefined || page.items.length === 0) return done;
    after = page.next;
  }
}

export async function runExport(opts: ExportCommandOptions, io: ExportIo): Promise<number> {
  const plan = planExport(opts);
  const config = await loadStoreConfig(opts, io);
  const store = await openStoreBesideServer(config);
  const file = opts.output !== undefined ? createWriteStream(opts.output, { mode: 0o600, flags: 'wx' }) : undefined;
  if (file) {
    try {
      await once(file, 'open');
    } catch (error) {
      await store.close();
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST' ? 'the file exists; export never overwrites one' : `cannot create it (${code ?? String(error)})`;
      throw new BluetickError('BT_ERR_CLI_USAGE', `--output ${opts.output}: ${why}`, { cause: error });
    }
  }
  const out = file ?? io.stdout;
  try {
    const unfiltered = Object.keys(plan.filter).length === 0;
    const total = !plan.raw && unfiltered ? (await store.counts()).events : undefined;
    const progress = new Progress(io.stderr, plan.raw ? 'bodies' : 'events', total);
    const done = plan.raw ? await exportJournal(store, plan, out, progress) : await exportEvents(store, plan, out, progress);
    progress.end(done);
    if (file) {
      file.end();
      await once(file, 'finish');
      io.stderr.write(`bluetick: exported ${done} ${plan.raw ? 'bodies' : 'events'} to ${opts.output}\n`);
    }
    return 0;
  } finally {
    if (file && !file.closed) file.destroy();
    await store.close();
  }
}
