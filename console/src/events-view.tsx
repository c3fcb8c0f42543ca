/** How one event reads in a list: its type badge, the number it concerns, a one-line summary. */
import type { JSX } from 'preact';
import { formatPhone } from './format.js';
import type { ApiEvent } from './types.js';
import { Ticks } from './ui.js';

export function TypeBadge({ type }: { type: string }): JSX.Element {
  return <span class={`type-badge type-${type.replace(/\./g, '-')}`}>{type}</span>;
}

/** The customer's number the event is about, if any. */
export function contactNumber(e: ApiEvent): string | undefined {
  return e.from ?? e.recipientId;
}

/** Every number an event carries, for the phone filter. */
export function numbersOf(e: ApiEvent): string[] {
  return [e.from, e.recipientId, e.displayPhoneNumber, e.phoneNumberId].filter((v): v is string => v !== undefined && v !== '');
}

export function templateLabel(e: { templateName?: string; templateId?: string; language?: string }): string {
  const name = e.templateName ?? e.templateId ?? 'template';
  return e.language ? `${name} (${e.language})` : name;
}

/** A coordinate as shown: five decimals (about a metre). */
function coordinate(value: number): string {
  return value.toFixed(5).replace(/\.?0+$/, '');
}

/** What a received message says, in one line: its text, or what kind of message it is with its details. */
export function messageBody(e: Pick<ApiEvent, 'kind' | 'text' | 'latitude' | 'longitude'>): string {
  if (e.kind === 'text') return e.text ?? '';
  if (e.kind === 'location') {
    const at = e.latitude !== undefined && e.longitude !== undefined ? `${coordinate(e.latitude)}, ${coordinate(e.longitude)}` : undefined;
    const parts = [e.text, at !== undefined ? `(${at})` : undefined].filter((p) => p !== undefined);
    return `Location${parts.length > 0 ? `: ${parts.join(' ')}` : ''}`;
  }
  if (e.kind === 'contacts') return `Shared contact${e.text ? `: ${e.text}` : ''}`;
  return `[${e.kind ?? 'message'}]${e.text ? ` ${e.text}` : ''}`;
}

export function summaryText(e: ApiEvent): string {
  switch (e.type) {
    case 'message.received': {
      const who = e.contactName ?? formatPhone(e.from);
      return `${who}: ${messageBody(e)}`;
    }
    case 'message.status':
      return `${e.status ?? '?'} · ${e.messageId ?? 'unknown message'}${e.errorCodes?.length ? ` · error ${e.errorCodes.join(', ')}` : ''}`;
    case 'message.reaction':
      return `${e.contactName ?? formatPhone(e.from)} ${e.emoji ? `reacted ${e.emoji}` : 'removed a reaction'} on ${e.targetMessageId ?? '?'}`;
    case 'template.status':
      return `${templateLabel(e)} → ${e.status ?? '?'}${e.reason && e.reason !== 'NONE' ? ` (${e.reason})` : ''}`;
    case 'template.quality':
      return `${templateLabel(e)} quality → ${e.status ?? '?'}`;
    case 'template.category':
      return `${templateLabel(e)} category → ${e.status ?? '?'}`;
    default:
      return e.kind ? `unmodelled item: ${e.kind}` : 'unmodelled item';
  }
}

export function Summary({ event }: { event: ApiEvent }): JSX.Element {
  if (event.type === 'message.status') {
    return (
      <span class="summary-line">
        <Ticks status={event.status} label={false} /> {summaryText(event)}
      </span>
    );
  }
  return <span class="summary-line">{summaryText(event)}</span>;
}
