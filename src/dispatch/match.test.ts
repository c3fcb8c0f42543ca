import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import { matchRoutes, orderingKey, type RouteConfig } from './match.js';

const base = { provider: 'meta', channel: 'sales', receivedAt: '2025-01-01T00:00:00.000Z', data: {} } as const;

const text: BluetickEvent = {
  ...base,
  id: 'e1',
  type: 'message.received',
  phoneNumberId: '106540352242922',
  displayPhoneNumber: '15550001234',
  from: '447700900123',
  kind: 'text',
  text: 'hi',
};
const status: BluetickEvent = {
  ...base,
  id: 'e2',
  type: 'message.status',
  phoneNumberId: '106540352242922',
  recipientId: '447700900123',
  status: 'read',
};
const reaction: BluetickEvent = {
  ...base,
  id: 'e3',
  type: 'message.reaction',
  phoneNumberId: '106540352242922',
  from: '447700900123',
  emoji: '👍',
};
const enablexText: BluetickEvent = {
  ...base,
  id: 'e4',
  provider: 'enablex',
  channel: 'support',
  type: 'message.received',
  displayPhoneNumber: '919876543210',
  from: '919000000001',
  kind: 'image',
};
const template: BluetickEvent = {
  ...base,
  id: 'e5',
  type: 'template.status',
  businessAccountId: '102290129340398',
  templateId: '18446744073709551617',
  templateName: 'order_update',
  language: 'en_US',
  status: 'APPROVED',
};
const unknown: BluetickEvent = { ...base, id: 'e6', type: 'unknown', kind: 'account_update' };

describe('matchRoutes', () => {
  const routes: RouteConfig[] = [
    { name: 'all', sink: 'audit' },
    { name: 'inbound-text', sink: 'crm', match: { type: ['message.received'], kind: ['text', 'button'] } },
    { name: 'statuses', sink: 'crm', match: { type: ['message.status', 'message.reaction'] } },
    { name: 'support', sink: 'desk', match: { channel: ['support'] } },
    { name: 'number', sink: 'crm', match: { phoneNumberId: ['106540352242922'] } },
    { name: 'empty-lists', sink: 'x', match: { type: [], channel: [] } },
  ];
  const names = (event: BluetickEvent) => matchRoutes(event, routes).map((r) => r.name);

  it('returns every matching route in config order', () => {
    expect(names(text)).toEqual(['all', 'inbound-text', 'number', 'empty-lists']);
    expect(names(status)).toEqual(['all', 'statuses', 'number', 'empty-lists']);
  });

  it('requires every key present to match and any value within a key', () => {
    expect(names(enablexText)).toEqual(['all', 'support', 'empty-lists']);
    expect(names(reaction)).toContain('statuses');
  });

  it('never matches a phoneNumberId or kind constraint against an event that lacks the key', () => {
    expect(names(enablexText)).not.toContain('number');
    expect(matchRoutes(status, [{ name: 'k', sink: 's', match: { kind: ['text'] } }])).toEqual([]);
  });

  it('matches kind on unknown events too', () => {
    expect(matchRoutes(unknown, [{ name: 'k', sink: 's', match: { kind: ['account_update'] } }])).toHaveLength(1);
  });

  it('returns nothing when no route matches', () => {
    expect(matchRoutes(template, [{ name: 'r', sink: 's', match: { type: ['message.received'] } }])).toEqual([]);
  });
});

describe('orderingKey', () => {
  it('puts a message, its reaction and the statuses of replies to the same contact in one conversation lane', () => {
    expect(orderingKey(text)).toBe('conversation:106540352242922:447700900123');
    expect(orderingKey(status)).toBe(orderingKey(text));
    expect(orderingKey(reaction)).toBe(orderingKey(text));
  });

  it('keys the business by phoneNumberId, then displayPhoneNumber, then channel', () => {
    expect(orderingKey(enablexText)).toBe('conversation:919876543210:919000000001');
    const bare: BluetickEvent = { ...base, id: 'x', type: 'message.received', kind: 'text', from: '1' };
    expect(orderingKey(bare)).toBe('conversation:sales:1');
  });

  it('gives different contacts of one number different lanes', () => {
    expect(orderingKey({ ...text, from: '447700900999' })).not.toBe(orderingKey(text));
  });

  it('falls back to a per-business lane when the contact is missing', () => {
    const { from: _from, ...noFrom } = text as Extract<BluetickEvent, { type: 'message.received' }>;
    expect(orderingKey(noFrom as BluetickEvent)).toBe('business:106540352242922');
    const { recipientId: _r, ...noRecipient } = status as Extract<BluetickEvent, { type: 'message.status' }>;
    expect(orderingKey(noRecipient as BluetickEvent)).toBe('business:106540352242922');
  });

  it('gives a user known only by a business-scoped user id the lane of that id', () => {
    const { from: _from, ...noFrom } = text as Extract<BluetickEvent, { type: 'message.received' }>;
    expect(orderingKey({ ...noFrom, userId: 'US.13491208655302741918' } as BluetickEvent)).toBe('conversation:106540352242922:US.13491208655302741918');
    const { recipientId: _r, ...noRecipient } = status as Extract<BluetickEvent, { type: 'message.status' }>;
    expect(orderingKey({ ...noRecipient, userId: 'US.13491208655302741918' } as BluetickEvent)).toBe('conversation:106540352242922:US.13491208655302741918');
  });

  it('keys template events by template id, keeping every digit', () => {
    expect(orderingKey(template)).toBe('template:18446744073709551617');
    expect(orderingKey({ ...template, type: 'template.quality', status: 'RED' })).toBe(orderingKey(template));
  });

  it('keys template events without an id by account, name and language', () => {
    const { templateId: _t, ...noId } = template as Extract<BluetickEvent, { type: 'template.status' }>;
    expect(orderingKey(noId as BluetickEvent)).toBe('template:102290129340398:order_update:en_US');
  });

  it('gives unknown events a per-channel lane', () => {
    expect(orderingKey(unknown)).toBe('channel:sales');
  });

  it('encodes parts so a separator inside a value cannot make two keys collide', () => {
    const a: BluetickEvent = { ...base, channel: 'a:b', id: 'x', type: 'message.received', kind: 'text', from: 'c' };
    const b: BluetickEvent = { ...base, channel: 'a', id: 'y', type: 'message.received', kind: 'text', from: 'b:c' };
    expect(orderingKey(a)).not.toBe(orderingKey(b));
    expect(orderingKey(a)).toBe('conversation:a%3Ab:c');
  });
});

describe('contract v2 types', () => {
  const standby: BluetickEvent = { ...base, id: 's1', type: 'message.standby', phoneNumberId: '106540352242922', from: '447700900123', kind: 'text' };
  const standbyStatus: BluetickEvent = { ...base, id: 's2', type: 'message.standby', phoneNumberId: '106540352242922', recipientId: '447700900124', status: 'read' };
  const echo: BluetickEvent = { ...base, id: 'x1', type: 'message.echo', phoneNumberId: '106540352242922', from: '15550001234', to: '447700900123', kind: 'text' };
  const alert: BluetickEvent = { ...base, id: 'a1', type: 'account.alert', businessAccountId: '1029', kind: 'OBA_APPROVED', status: 'ACTIVE' };
  const quality: BluetickEvent = { ...base, id: 'q1', type: 'phone.quality', phoneNumberId: '106540352242922', status: 'FLAGGED' };
  const names = (event: BluetickEvent, routes: RouteConfig[]) => matchRoutes(event, routes).map((r) => r.name);

  it('never gives message.standby to a catch-all, a `*` or a `message.*` route, or a type list that does not name it', () => {
    const routes: RouteConfig[] = [
      { name: 'no-match', sink: 'a' },
      { name: 'empty-match', sink: 'a', match: {} },
      { name: 'empty-types', sink: 'a', match: { type: [] } },
      { name: 'star', sink: 'a', match: { type: ['*'] } },
      { name: 'family', sink: 'a', match: { type: ['message.*'] } },
      { name: 'inbound', sink: 'a', match: { type: ['message.received'] } },
      { name: 'by-channel', sink: 'a', match: { channel: ['sales'] } },
      { name: 'by-kind', sink: 'a', match: { kind: ['text'] } },
    ];
    expect(names(standby, routes)).toEqual([]);
    expect(names(standbyStatus, routes)).toEqual([]);
    // The same routes take every other type they allow.
    expect(names(text, routes)).toEqual(['no-match', 'empty-match', 'empty-types', 'star', 'family', 'inbound', 'by-channel', 'by-kind']);
    expect(names(echo, routes)).toEqual(['no-match', 'empty-match', 'empty-types', 'star', 'family', 'by-channel', 'by-kind']);
  });

  it('gives message.standby to a route that names it, with its other keys still applied', () => {
    const routes: RouteConfig[] = [
      { name: 'standby', sink: 'a', match: { type: ['message.standby'] } },
      { name: 'standby-and-star', sink: 'a', match: { type: ['*', 'message.standby'] } },
      { name: 'standby-other-channel', sink: 'a', match: { type: ['message.standby'], channel: ['support'] } },
      { name: 'standby-text', sink: 'a', match: { type: ['message.standby'], kind: ['text'] } },
    ];
    expect(names(standby, routes)).toEqual(['standby', 'standby-and-star', 'standby-text']);
  });

  it('gives history.sync only to a route that names it: never to a catch-all, `*` or `history.*`', () => {
    const history: BluetickEvent = { ...base, id: 'h1', type: 'history.sync', phoneNumberId: '106540352242922' };
    const routes: RouteConfig[] = [
      { name: 'no-match', sink: 'a' },
      { name: 'star', sink: 'a', match: { type: ['*'] } },
      { name: 'family', sink: 'a', match: { type: ['history.*'] } },
      { name: 'by-channel', sink: 'a', match: { channel: [base.channel] } },
      { name: 'history', sink: 'a', match: { type: ['history.sync'] } },
    ];
    expect(names(history, routes)).toEqual(['history']);
  });

  it('matches a family pattern and the kinds of the new types', () => {
    const routes: RouteConfig[] = [
      { name: 'account', sink: 'a', match: { type: ['account.*'] } },
      { name: 'oba', sink: 'a', match: { type: ['account.alert'], kind: ['OBA_APPROVED'] } },
      { name: 'phone', sink: 'a', match: { type: ['phone.*', 'account.review'] } },
    ];
    expect(names(alert, routes)).toEqual(['account', 'oba']);
    expect(names(quality, routes)).toEqual(['phone']);
  });

  it('keeps echoes and standby copies in their conversation lane, account events on the channel', () => {
    expect(orderingKey(echo)).toBe('conversation:106540352242922:447700900123');
    expect(orderingKey(standby)).toBe('conversation:106540352242922:447700900123');
    expect(orderingKey(standbyStatus)).toBe('conversation:106540352242922:447700900124');
    expect(orderingKey(alert)).toBe('channel:sales');
    expect(orderingKey(quality)).toBe('business:106540352242922');
  });
});
