import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import { applyEvent, applyEvents, emptyState, keysTouched, reactionsOn } from './index.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();
const common = { provider: 'meta' as const, channel: 'main', phoneNumberId: 'P1', receivedAt: at(0), data: {} };

const inbound: BluetickEvent = { ...common, id: 'e1', type: 'message.received', messageId: 'wamid.IN1', from: 'C1', kind: 'text', text: 'hi', occurredAt: at(1) };
const sent: BluetickEvent = { ...common, id: 'e2', type: 'message.status', messageId: 'wamid.OUT1', status: 'sent', recipientId: 'C1', occurredAt: at(2) };
const reaction: BluetickEvent = { ...common, id: 'e3', type: 'message.reaction', messageId: 'wamid.RX', from: 'C1', emoji: '👍', targetMessageId: 'wamid.OUT1', occurredAt: at(3) };
const change: BluetickEvent = {
  ...common,
  id: 'e4',
  type: 'message.received',
  messageId: 'wamid.SYS',
  from: 'C1',
  kind: 'system',
  occurredAt: at(4),
  data: { type: 'system', system: { type: 'user_changed_number', wa_id: 'C9' } },
};
const template: BluetickEvent = { ...common, id: 'e5', type: 'template.quality', templateName: 'welcome', language: 'en_US', status: 'GREEN', occurredAt: at(5) };
const unknown: BluetickEvent = { ...common, id: 'e6', type: 'unknown', kind: 'account_update' };

const none = { messages: [], conversations: [], contacts: [], templates: [], reactions: [], consent: [], phoneNumbers: [], businessAccounts: [], flows: [] };

describe('keysTouched', () => {
  it('names the message, its conversation and its sender for a received message', () => {
    expect(keysTouched(inbound)).toEqual({ ...none, messages: ['wamid.IN1'], conversations: ['P1:C1'], contacts: ['C1'] });
  });

  it('names the message and its conversation, but no contact, for a status', () => {
    expect(keysTouched(sent)).toEqual({ ...none, messages: ['wamid.OUT1'], conversations: ['P1:C1'] });
  });

  it('names the reaction row and the reacting contact for a reaction', () => {
    expect(keysTouched(reaction)).toEqual({ ...none, contacts: ['C1'], reactions: ['wamid.OUT1:C1'] });
  });

  it('names both the old and the new contact for a number change', () => {
    expect(keysTouched(change).contacts).toEqual(['C1', 'C9']);
  });

  it('names the template by name and language when it has no id', () => {
    expect(keysTouched(template)).toEqual({ ...none, templates: ['welcome:en_US'] });
  });

  it('names nothing for an unknown event', () => {
    expect(keysTouched(unknown)).toEqual(none);
  });
});

describe('applyEvent', () => {
  it('fills every projection from a mixed batch', () => {
    const state = applyEvents(emptyState(), [inbound, sent, reaction, change, template, unknown]);
    expect([...state.messages.keys()].sort()).toEqual(['wamid.IN1', 'wamid.OUT1', 'wamid.SYS']);
    expect([...state.conversations.keys()]).toEqual(['P1:C1']);
    expect(state.conversations.get('P1:C1')?.counts).toEqual({ inbound: 2, outbound: 1, unreadInbound: 1 });
    expect([...state.contacts.keys()].sort()).toEqual(['C1', 'C9']);
    expect(state.templates.get('welcome:en_US')?.quality).toBe('GREEN');
    expect(reactionsOn(state, 'wamid.OUT1').map((r) => r.emoji)).toEqual(['👍']);
  });

  it('leaves the given state untouched and shares the maps an event does not concern', () => {
    const before = applyEvents(emptyState(), [inbound]);
    const after = applyEvent(before, template);
    expect(before.templates.size).toBe(0);
    expect(after.templates.size).toBe(1);
    expect(after.messages).toBe(before.messages);
    expect(applyEvent(before, unknown).conversations).toBe(before.conversations);
  });

  it('keeps rows as plain JSON: a row survives a JSON round trip unchanged', () => {
    const state = applyEvents(emptyState(), [inbound, sent, reaction, change, template]);
    for (const map of [state.messages, state.conversations, state.contacts, state.templates, state.reactions]) {
      for (const row of map.values()) expect(JSON.parse(JSON.stringify(row))).toStrictEqual(row);
    }
  });

  it('applies an event to a state loaded from JSON rows exactly as to the original', () => {
    const state = applyEvents(emptyState(), [inbound, sent]);
    const revived = emptyState();
    for (const [key, row] of state.messages) revived.messages.set(key, JSON.parse(JSON.stringify(row)));
    for (const [key, row] of state.conversations) revived.conversations.set(key, JSON.parse(JSON.stringify(row)));
    const read: BluetickEvent = { ...sent, id: 'e7', status: 'read', occurredAt: at(9) };
    expect(JSON.stringify(applyEvent(revived, read).messages.get('wamid.OUT1'))).toBe(JSON.stringify(applyEvent(state, read).messages.get('wamid.OUT1')));
  });
});

describe('purity', () => {
  // The normalizer's item mappers are pure too (no IO, no clock); history threads are read with them.
  it('imports nothing but other projection modules, the event types and the pure item mappers', () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const modules = readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
    expect(modules.length).toBeGreaterThan(0);
    for (const name of modules) {
      // Comments may show usage (an @example calling Date.now()); only code counts.
      const source = readFileSync(`${dir}/${name}`, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|\s)\/\/.*$/gm, '$1');
      const specifiers = [...source.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]);
      for (const specifier of specifiers) {
        expect(specifier, `${name} imports ${specifier}`).toMatch(/^(\.\/[a-z-]+\.js|\.\.\/events\/(types|meta-cloud|json)\.js)$/);
      }
      expect(source, `${name} uses a dynamic import`).not.toMatch(/\bimport\s*\(/);
      expect(source, `${name} reads the clock`).not.toMatch(/Date\.now\(|new Date\(\)/);
    }
  });
});

describe('rows an event rebuilds unchanged', () => {
  it('stay the same objects, so a store has nothing to write', () => {
    const delivered: BluetickEvent = { ...sent, id: 'e7', status: 'delivered', occurredAt: at(3) };
    const before = applyEvents(emptyState(), [inbound, sent]);
    const after = applyEvent(before, delivered);
    // The delivery moves the message row, but not its conversation (counted, answered, same times).
    expect(after.messages.get('wamid.OUT1')).not.toBe(before.messages.get('wamid.OUT1'));
    expect(after.messages.get('wamid.OUT1')?.status).toBe('delivered');
    expect(after.conversations.get('P1:C1')).toBe(before.conversations.get('P1:C1'));
    // A later message from the customer does change it.
    const next = applyEvent(after, { ...inbound, id: 'e8', messageId: 'wamid.IN2', occurredAt: at(9) });
    expect(next.conversations.get('P1:C1')).not.toBe(after.conversations.get('P1:C1'));
    expect(next.conversations.get('P1:C1')?.counts.inbound).toBe(2);
  });
});
