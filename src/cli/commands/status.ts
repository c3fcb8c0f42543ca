/**
 * @module cli/commands/status
 *
 * `bluetick status MESSAGE_ID`: was the message delivered, was it read, and when. Asks a
 * running server (`GET /api/messages/{id}`) and prints the status, each step's time (marked
 * when implied by a higher step), a failure with its error codes, the timeline and the
 * reactions on the message.
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

export async function runStatus(messageId: string, opts: StatusCommandOptions, io: StatusIo): Promise<number> {
  const client = new ApiClient(opts, io.env);
  const message = await client.get<MessageView>(`/api/messages/${encodeURIComponent(messageId)}`);
  if (opts.json) io.stdout.write(`${JSON.stringify(message)}\n`);
  else io.stdout.write(`${formatMessage(message).join('\n')}\n`);
  return 0;
}
