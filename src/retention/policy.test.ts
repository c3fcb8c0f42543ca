import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../events/types.js';
import {
  CONTENT_EVENT_TYPES,
  contentMessageIds,
  formatRetentionDuration,
  parseRetentionDuration,
  redactConversationRow,
  redactEventContent,
  redactMessageRow,
} from './policy.js';

type Obj = { [key: string]: JsonValue };
const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');

/** Every message event of the golden fixture files (both providers). */
function contentEvents(): Array<{ file: string; event: Obj }> {
  const out: Array<{ file: string; event: Obj }> = [];
  for (const provider of ['meta', 'enablex']) {
    for (const name of readdirSync(join(FIXTURES, provider)).filter((f) => f.endsWith('.events.json'))) {
      for (const event of JSON.parse(readFileSync(join(FIXTURES, provider, name), 'utf8')) as Obj[]) {
        if ((CONTENT_EVENT_TYPES as readonly JsonValue[]).includes(event.type!)) out.push({ file: `${provider}/${name}`, event });
      }
    }
  }
  return out;
}

/** The strings of a value that read like content: words, media ids, coordinates. */
function contentStrings(event: Obj): string[] {
  const out: string[] = [];
  if (typeof event.text === 'string' && event.text.length >= 3) out.push(event.text);
  const data = event.data;
  if (data && typeof data === 'object' && !Array.isArray(data) && typeof data.type === 'string') {
    const inner = data[data.type];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const k of ['id', 'caption', 'body', 'latitude', 'address', 'response_json']) {
        const v = inner[k];
        if ((typeof v === 'string' && v.length >= 3) || typeof v === 'number') out.push(String(v));
      }
    }
  }
  return out;
}

describe('redacting message content', () => {
  const events = contentEvents();

  it('finds message events with text, captions, media, locations and replies among the fixtures', () => {
    const kinds = new Set(events.map((e) => e.event.kind));
    for (const kind of ['text', 'image', 'location', 'contacts', 'interactive']) expect(kinds).toContain(kind);
  });

  it('drops every piece of content and keeps ids, type, parties and times', () => {
    for (const { file, event } of events) {
      const redacted = redactEventContent(event);
      const secrets = contentStrings(event);
      if (secrets.length === 0 && redacted === undefined) continue;
      expect(redacted, file).toBeDefined();
      const text = JSON.stringify(redacted);
      for (const secret of secrets) expect(text.includes(secret), `${file}: ${secret}`).toBe(false);
      for (const key of ['text', 'latitude', 'longitude', 'replyId', 'flowToken']) expect(redacted, file).not.toHaveProperty(key);
      for (const key of ['id', 'type', 'provider', 'channel', 'messageId', 'from', 'to', 'kind', 'contactName', 'occurredAt', 'receivedAt', 'contextMessageId']) {
        expect(redacted![key], `${file}: ${key}`).toEqual(event[key]);
      }
      // Redacting again changes nothing.
      expect(redactEventContent(redacted!)).toBeUndefined();
    }
  });

  it('names the messages of a history thread, so their rows lose content too', () => {
    const history = { type: 'history.sync', data: { id: 't1', messages: [{ id: 'wamid.a' }, { id: 'wamid.b' }, { nope: 1 }] } } as Obj;
    expect(contentMessageIds(history)).toEqual(['wamid.a', 'wamid.b']);
    expect(contentMessageIds({ type: 'message.received', messageId: 'wamid.c', data: {} })).toEqual(['wamid.c']);
  });

  it('takes the text out of message and conversation rows, and leaves rows without content alone', () => {
    const row = {
      id: 'wamid.x',
      direction: 'inbound' as const,
      occurredAt: '2026-01-01T00:00:00.000Z',
      inbound: { eventId: 'e', receivedAt: '2026-01-01T00:00:00.000Z', channel: 'c', kind: 'text', text: 'secret', replyId: 'r1' },
      steps: {},
      timeline: [],
    };
    expect(redactMessageRow(row as never)!.inbound).toEqual({ eventId: 'e', receivedAt: '2026-01-01T00:00:00.000Z', channel: 'c', kind: 'text' });
    expect(redactMessageRow({ ...row, inbound: { ...row.inbound, text: undefined, replyId: undefined } } as never)).toBeUndefined();
    const conversation = { key: 'k', businessNumber: 'b', contact: 'c', counts: {}, unanswered: [], lastInbound: { messageId: 'wamid.x', at: 't', kind: 'text', text: 'secret' } };
    expect(redactConversationRow(conversation as never, ['wamid.x'])!.lastInbound).toEqual({ messageId: 'wamid.x', at: 't', kind: 'text' });
    expect(redactConversationRow(conversation as never, ['wamid.other'])).toBeUndefined();
  });
});

describe('retention durations', () => {
  it('reads days, hours, minutes and none, and writes them back', () => {
    expect(parseRetentionDuration('30d')).toBe(30 * 86_400_000);
    expect(parseRetentionDuration('12h')).toBe(12 * 3_600_000);
    expect(parseRetentionDuration('45m')).toBe(45 * 60_000);
    expect(parseRetentionDuration('none')).toBeNull();
    for (const bad of ['0d', '30', '30 d', '1w', '-1d', '']) expect(parseRetentionDuration(bad)).toBeUndefined();
    expect(formatRetentionDuration(30 * 86_400_000)).toBe('30d');
    expect(formatRetentionDuration(36 * 3_600_000)).toBe('36h');
    expect(formatRetentionDuration(null)).toBe('none');
  });
});
