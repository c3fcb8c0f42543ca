/**
 * @module cli/commands/status
 *
 * `bluetick status MESSAGE_ID`: was the message delivered, was it read, and when. Asks a
 * running server (`GET /api/messages/{id}`) and prints the status, each step's time (marked
 * when implied by a higher step), a failure with its error codes, the timeline and the
 * reactions on the message.
 *
 * `bluetick status` without an id: what the store takes on disk (`GET /api/storage`), a table
 * of data class / size / rows / oldest item, then the data folder's files and free space.
 */
import { ApiClient } from '../api-client.js';

export interface StatusCommandOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export interface StatusIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface StepTime {
  at: string;
  eventId: string;
  implied?: true;
}

interface MessageView {
  id: string;
  direction: 'inbound' | 'outbound';
  occurredAt: string;
  conversationKey?: string;
  inbound?: { from?: string; contactName?: string; kind: string; text?: string; channel: string };
  recipientId?: string;
  status?: string;
  steps: Partial<Record<'sent' | 'delivered' | 'read' | 'played', StepTime>>;
  failure?: { at: string; errorCodes: number[] };
  timeline: Array<{ eventId: string; status: string; occurredAt?: string; receivedAt: string; errorCodes?: number[] }>;
  reactions: Array<{ from: string; emoji: string; at: string }>;
}

/** The lines `bluetick status` prints for one message. */
export function formatMessage(m: MessageView): string[] {
  const lines: string[] = [];
  lines.push(`${m.id}  ${m.direction}${m.status !== undefined ? `  ${m.status}` : ''}`);
  if (m.conversationKey !== undefined) lines.push(`  conversation  ${m.conversationKey}`);
  if (m.inbound) {
    const who = m.inbound.contactName !== undefined ? `${m.inbound.from ?? '?'} (${m.inbound.contactName})` : (m.inbound.from ?? '?');
    lines.push(`  from          ${who}`);
    lines.push(`  received      ${m.occurredAt}  [${m.inbound.kind}]${m.inbound.text !== undefined ? ` ${m.inbound.text}` : ''}`);
  }
  if (m.recipientId !== undefined) lines.push(`  to            ${m.recipientId}`);
  for (const step of ['sent', 'delivered', 'read', 'played'] as const) {
    const t = m.steps[step];
    if (t) lines.push(`  ${step.padEnd(12)}  ${t.at}${t.implied ? '  (implied by a later step)' : ''}`);
  }
  if (m.failure) lines.push(`  failed        ${m.failure.at}  error codes ${m.failure.errorCodes.join(', ') || '-'}`);
  if (m.timeline.length > 0) {
    lines.push('  timeline:');
    for (const t of m.timeline) {
      const codes = t.errorCodes && t.errorCodes.length > 0 ? `  codes ${t.errorCodes.join(', ')}` : '';
      lines.push(`    ${t.occurredAt ?? t.receivedAt}  ${t.status.padEnd(9)}  ${t.eventId}${codes}`);
    }
  }
  if (m.reactions.length > 0) {
    lines.push(`  reactions:    ${m.reactions.map((r) => `${r.emoji} ${r.from}`).join(', ')}`);
  }
  return lines;
}

interface StorageView {
  measuredAt: string;
  dialect: string;
  sizing: string;
  totalBytes: number;
  freeBytes?: number;
  classes: Array<{ name: string; label: string; bytes: number; bytesEstimated: boolean; rows?: number; oldestAt?: string; retention?: { rule: string; keep: string; action: string } }>;
  files: Array<{ name: string; role: string; bytes: number }>;
  disk?: { totalBytes: number; freeBytes: number; minFreeBytes: number; low: boolean };
}

/** `1536` -> `1.5 KiB`; bytes below 1 KiB as they are. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `30d`, `90d, then redacted`, `for ever`; empty for a class no retention rule covers. */
function keptFor(retention: { keep: string; action: string } | undefined): string {
  if (retention === undefined) return '';
  if (retention.keep === 'none') return 'for ever';
  return retention.action === 'redacted' ? `${retention.keep}, then redacted` : retention.keep;
}

/** The lines `bluetick status` prints for the store's disk use. */
export function formatStorage(s: StorageView): string[] {
  const rows = s.classes.map((c) => [
    c.label,
    `${c.bytesEstimated ? '~' : ''}${s.sizing === 'unavailable' ? '?' : formatBytes(c.bytes)}`,
    c.rows === undefined ? '' : String(c.rows),
    c.oldestAt ?? (c.rows === 0 ? '-' : ''),
    keptFor(c.retention),
  ]);
  const head = ['class', 'size', 'rows', 'oldest', 'kept'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [`${s.dialect} store: ${formatBytes(s.totalBytes)}${s.freeBytes ? ` (${formatBytes(s.freeBytes)} of it free pages)` : ''}, measured ${s.measuredAt}`];
  lines.push(line(head), ...rows.map(line));
  if (s.classes.some((c) => c.bytesEstimated)) lines.push('~ a share of the events table, estimated from a sample of bodies');
  if (s.files.length > 0) {
    lines.push('files:');
    for (const f of s.files) lines.push(`  ${f.name.padEnd(Math.max(...s.files.map((x) => x.name.length)))}  ${formatBytes(f.bytes).padStart(9)}`);
  }
  if (s.disk) {
    const pct = s.disk.totalBytes > 0 ? ` (${((100 * s.disk.freeBytes) / s.disk.totalBytes).toFixed(1)}%)` : '';
    const warn = s.disk.low ? `  LOW: under server.minFreeDiskBytes (${formatBytes(s.disk.minFreeBytes)})` : '';
    lines.push(`disk free: ${formatBytes(s.disk.freeBytes)} of ${formatBytes(s.disk.totalBytes)}${pct}${warn}`);
  }
  return lines;
}

export async function runStatus(messageId: string | undefined, opts: StatusCommandOptions, io: StatusIo): Promise<number> {
  const client = new ApiClient(opts, io.env);
  if (messageId === undefined) {
    const storage = await client.get<StorageView>('/api/storage');
    io.stdout.write(opts.json ? `${JSON.stringify(storage)}\n` : `${formatStorage(storage).join('\n')}\n`);
    return 0;
  }
  const message = await client.get<MessageView>(`/api/messages/${encodeURIComponent(messageId)}`);
  if (opts.json) io.stdout.write(`${JSON.stringify(message)}\n`);
  else io.stdout.write(`${formatMessage(message).join('\n')}\n`);
  return 0;
}
