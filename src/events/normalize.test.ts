import { describe, expect, it } from 'vitest';
import type { HashMeter } from './ids.js';
import { normalize, normalizePayload, parseBody, parseEventJson, serializeEvent, type NormalizeContext } from './normalize.js';
import type { BluetickEvent, EventOfType, JsonObject } from './types.js';

const CTX: NormalizeContext = { channel: 'default', receivedAt: 1_700_000_000_000 };

function events(body: unknown, ctx: NormalizeContext = CTX): BluetickEvent[] {
  const result = normalize(typeof body === 'string' ? body : JSON.stringify(body), ctx);
  if (!result.ok) throw new Error(result.cause);
  return result.events;
}

function only<T extends BluetickEvent['type']>(list: BluetickEvent[], type: T): EventOfType<T> {
  expect(list).toHaveLength(1);
  expect(list[0]?.type).toBe(type);
  return list[0] as EventOfType<T>;
}

function envelope(changes: unknown[], entry: Record<string, unknown> = {}): unknown {
  return { object: 'whatsapp_business_account', entry: [{ id: '1029', ...entry, changes }] };
}

function messagesValue(value: Record<string, unknown>): unknown {
  return envelope([{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '77', display_phone_number: '15550001' }, ...value } }]);
}

describe('parseBody', () => {
  it('names why a body is not a JSON object', () => {
    expect(parseBody(Buffer.alloc(0))).toEqual({ ok: false, cause: 'body is empty' });
    expect(parseBody('')).toEqual({ ok: false, cause: 'body is empty' });
    expect(parseBody(' \r\n\t')).toEqual({ ok: false, cause: 'body is empty' });
    expect(parseBody('[1]')).toEqual({ ok: false, cause: 'body is JSON but not an object (array)' });
    expect(parseBody('"x"')).toEqual({ ok: false, cause: 'body is JSON but not an object (string)' });
    expect(parseBody('12345678901234567890')).toEqual({ ok: false, cause: 'body is JSON but not an object (number)' });
    expect(parseBody('null')).toEqual({ ok: false, cause: 'body is JSON but not an object (null)' });
    expect(parseBody('true')).toEqual({ ok: false, cause: 'body is JSON but not an object (boolean)' });
    const invalid = parseBody('{"a":');
    expect(invalid.ok).toBe(false);
    expect(!invalid.ok && invalid.cause).toMatch(/^body is not valid JSON: /);
  });

  it('refuses bytes that are not UTF-8', () => {
    for (const bytes of [[0x7b, 0xff, 0x7d], [0x7b, 0xc0, 0xaf, 0x7d], [0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]]) {
      expect(parseBody(Buffer.from(bytes))).toEqual({ ok: false, cause: 'body is not valid UTF-8' });
    }
  });

  it('tolerates a UTF-8 byte order mark', () => {
    expect(parseBody(Buffer.from('\ufeff{"a":1}', 'utf8'))).toEqual({ ok: true, value: { a: 1 } });
    expect(parseBody('\ufeff{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('keeps the cause to one short line', () => {
    const result = parseBody(`{"text":"${'x'.repeat(5000)}"\n\n}}`);
    expect(!result.ok && result.cause.length).toBeLessThanOrEqual(200);
    expect(!result.ok && result.cause).not.toContain('\n');
  });
});

describe('normalize never throws', () => {
  it('refuses a body nested 100k levels deep with a cause', () => {
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(normalize(deep, CTX)).toEqual({ ok: false, cause: 'body is nested more than 512 levels deep' });
    const deepWithBigNumber = `{"n":12345678901234567890,"a":${'{"b":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    expect(normalize(deepWithBigNumber, CTX).ok).toBe(false);
  });

  it('reads a body nested just within the limit and can write its events', () => {
    const nested = `${'['.repeat(500)}12345678901234567890${']'.repeat(500)}`;
    const list = events(`{"object":"x","entry":[{"id":"1","changes":[{"field":"some_future_field","value":{"deep":${nested}}}]}]}`);
    const event = only(list, 'unknown');
    expect(parseEventJson(serializeEvent(event))).toEqual(event);
  });

  it('returns a cause instead of throwing when the receive time is unusable', () => {
    expect(normalize('{}', { channel: 'c', receivedAt: Number.NaN })).toEqual({
      ok: false,
      cause: 'body could not be normalized: receivedAt is not a valid epoch-ms time: NaN',
    });
    expect(() => normalizePayload({}, { channel: 'c', receivedAt: Number.NaN })).toThrow(RangeError);
  });

  it('answers for input that is neither bytes nor text', () => {
    expect(normalize(42 as never, CTX)).toEqual({ ok: false, cause: 'body is neither bytes nor text' });
  });
});

describe('body shapes and provider', () => {
  const meta = messagesValue({ messages: [{ id: 'wamid.A', from: '1', timestamp: '1', type: 'text', text: { body: 'hi' } }] });
  const flat = { business_phone: '9198', messages: [{ id: 'A1', from: '1', timestamp: '1', type: 'text', text: { body: 'hi' } }] };

  it('reads each body by its shape and sets provider from it, whatever the channel is configured for', () => {
    expect(events(meta, { ...CTX, provider: 'enablex' })[0]?.provider).toBe('meta');
    expect(events(flat, { ...CTX, provider: 'meta' })[0]?.provider).toBe('enablex');
  });

  it('makes any other JSON object one unknown event with the body as data', () => {
    const body = { hello: 'world', n: 12345678901234567890n };
    const text = '{"hello":"world","n":12345678901234567890}';
    const event = only(events(text), 'unknown');
    expect(event).toMatchObject({ provider: 'enablex', kind: 'unrecognized body', data: body });
    expect(only(events(text, { ...CTX, provider: 'meta' }), 'unknown').provider).toBe('meta');
  });

  it('recognises an EnableX body by business_phone alone, and gives an empty batch no event', () => {
    // A body of neither shape gives one event; these give none because they are recognised batches with no item.
    expect(events({ business_phone: '9198' })).toEqual([]);
    expect(events({ business_phone: '9198', messages: [], statuses: [] })).toEqual([]);
    expect(events({ object: 'whatsapp_business_account', entry: [] })).toEqual([]);
    expect(events(envelope([]))).toEqual([]);
    expect(events(messagesValue({ messages: [] }))).toEqual([]);
    expect(events(messagesValue({ contacts: [], messages: [], statuses: [] }))).toEqual([]);
  });

  it('never writes channel or receive time into an id', () => {
    const a = events(meta);
    const b = events(meta, { channel: 'other', receivedAt: 1_800_000_000_000 });
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id));
    expect(b[0]).toMatchObject({ channel: 'other', receivedAt: '2027-01-15T08:00:00.000Z' });
  });

  it('gives the same message from the two providers different ids', () => {
    const sameId = { ...flat, messages: [{ ...flat.messages[0], id: 'wamid.A' }] };
    expect(events(sameId)[0]?.id).not.toBe(events(meta)[0]?.id);
  });
});

describe('malformed pieces still become events, and data is never null', () => {
  it('keeps odd entries, changes and items as unknown events in payload order', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        null,
        7,
        { id: '1' },
        {
          id: '2',
          changes: [
            null,
            { value: { a: 1 } },
            { field: 'account_update', value: null },
            { field: 'messages', value: { messages: [null, 'x', { id: 'wamid.Q', type: 'text', text: { body: 'ok' } }], statuses: [5, { id: 'wamid.S' }] } },
            { field: 'messages', value: { messages: { not: 'a list' }, statuses: 'nope' } },
            { field: 'messages', value: { contacts: [] } },
          ],
        },
      ],
    };
    const list = events(body);
    expect(list.map((e) => [e.type, 'kind' in e ? e.kind : undefined])).toEqual([
      ['unknown', 'malformed entry'],
      ['unknown', 'malformed entry'],
      ['unknown', 'entry without changes'],
      ['unknown', 'malformed change'],
      ['unknown', 'change without field'],
      ['unknown', 'account_update'],
      ['unknown', 'malformed message'],
      ['unknown', 'malformed message'],
      ['message.received', 'text'],
      ['unknown', 'malformed status'],
      ['unknown', 'malformed status'],
      ['unknown', 'malformed messages'],
      ['unknown', 'malformed statuses'],
      ['unknown', 'messages'],
    ]);
    for (const event of list) {
      expect(event.data).not.toBeNull();
      expect(event.data).not.toBeUndefined();
    }
    expect(list[0]?.data).toEqual({ index: 0, item: null }); // a null entry: where it sat, not the whole body
    expect(list[6]?.data).toEqual({ index: 0, item: null });
    expect(list[5]?.data).toEqual({ field: 'account_update', value: null });
  });

  it('gives a message without a type the kind "unknown"', () => {
    const event = only(events(messagesValue({ messages: [{ id: 'wamid.N', from: '1' }] })), 'message.received');
    expect(event.kind).toBe('unknown');
  });

  it('does not read inherited properties for attacker-chosen types', () => {
    const event = only(events(messagesValue({ messages: [{ id: 'wamid.C', type: 'constructor' }] })), 'message.received');
    expect(event.kind).toBe('constructor');
    expect(event).not.toHaveProperty('text');
    const interactive = only(
      events(messagesValue({ messages: [{ id: 'wamid.I', type: 'interactive', interactive: { type: '__proto__' } }] })),
      'message.received',
    );
    expect(interactive).not.toHaveProperty('text');
  });

  it('omits keys that do not apply instead of writing null', () => {
    const event = only(events(messagesValue({ messages: [{ id: 'wamid.X', from: null, timestamp: null, type: 'text', text: { body: null }, context: null }] })), 'message.received');
    expect(Object.keys(event)).toEqual(['id', 'type', 'provider', 'channel', 'businessAccountId', 'phoneNumberId', 'displayPhoneNumber', 'field', 'messageId', 'kind', 'receivedAt', 'data']);
  });
});

describe('messages', () => {
  it('takes contactName from the contact whose wa_id matches the sender, not from another one', () => {
    const list = events(
      messagesValue({
        contacts: [
          { profile: { name: 'Ann' }, wa_id: '111' },
          { profile: { name: 'Bob' }, wa_id: '222' },
        ],
        messages: [
          { id: 'wamid.1', from: '222', type: 'text', text: { body: 'a' } },
          { id: 'wamid.2', from: '333', type: 'text', text: { body: 'b' } },
        ],
      }),
    );
    expect(list.map((e) => ('contactName' in e ? e.contactName : undefined))).toEqual(['Bob', undefined]);
  });

  it('uses a single unmatched contact as the sender, but not when it belongs to another message', () => {
    const mismatch = events(messagesValue({ contacts: [{ profile: { name: 'Ann' }, wa_id: '5511912345678' }], messages: [{ id: 'wamid.1', from: '551112345678', type: 'text' }] }));
    expect(only(mismatch, 'message.received').contactName).toBe('Ann');
    const taken = events(
      messagesValue({
        contacts: [{ profile: { name: 'Ann' }, wa_id: '111' }],
        messages: [
          { id: 'wamid.1', from: '111', type: 'text' },
          { id: 'wamid.2', from: '999', type: 'text' },
        ],
      }),
    );
    expect(taken.map((e) => ('contactName' in e ? e.contactName : undefined))).toEqual(['Ann', undefined]);
  });

  it('maps every reply-like shape to text and replyId', () => {
    const cases: Array<[Record<string, unknown>, { text?: string; replyId?: string }]> = [
      [{ type: 'text', text: { body: 'hello' } }, { text: 'hello' }],
      [{ type: 'image', image: { id: 'm', caption: 'look' } }, { text: 'look' }],
      [{ type: 'audio', audio: { id: 'm', voice: true } }, {}],
      [{ type: 'button', button: { text: 'Yes', payload: 'P1' } }, { text: 'Yes', replyId: 'P1' }],
      [{ type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'b1', title: 'Go' } } }, { text: 'Go', replyId: 'b1' }],
      [{ type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'l1', title: 'Row', description: 'd' } } }, { text: 'Row', replyId: 'l1' }],
      [{ type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{}' } } }, { text: 'Sent' }],
      [{ type: 'order', order: { catalog_id: 'c', text: 'note', product_items: [] } }, { text: 'note' }],
      [{ type: 'edit', edit: { original_message_id: 'wamid.O', message: { type: 'image', image: { caption: 'new caption' } } } }, { text: 'new caption' }],
      [{ type: 'edit', edit: { original_message_id: 'wamid.O', message: { text: { body: 'untyped' } } } }, { text: 'untyped' }],
      [{ type: 'system', system: { type: 'user_changed_number', body: 'changed', wa_id: '2' } }, {}],
      [{ type: 'location', location: { latitude: 1, longitude: 2, name: 'HQ' } }, { text: 'HQ' }],
      [{ type: 'contacts', contacts: [{ name: { formatted_name: 'Ann Lee' } }, { name: { first_name: 'x' } }, { name: { formatted_name: 'Bo' } }] }, { text: 'Ann Lee, Bo' }],
    ];
    for (const [message, expected] of cases) {
      const event = only(events(messagesValue({ messages: [{ id: 'wamid.M', from: '1', ...message }] })), 'message.received');
      expect({ text: event.text, replyId: event.replyId }, JSON.stringify(message)).toEqual({ text: undefined, replyId: undefined, ...expected });
    }
  });

  it('reads a reaction whose emoji is absent, empty or not a string as removed', () => {
    for (const reaction of [{ message_id: 'wamid.T' }, { message_id: 'wamid.T', emoji: '' }, { message_id: 'wamid.T', emoji: 5 }]) {
      const event = only(events(messagesValue({ messages: [{ id: 'wamid.R', from: '1', type: 'reaction', reaction }] })), 'message.reaction');
      expect(event).toMatchObject({ emoji: '', targetMessageId: 'wamid.T', messageId: 'wamid.R' });
    }
  });

  it('gives an id-less message a content-derived id that ignores key order', () => {
    const a = events(messagesValue({ messages: [{ from: '1', type: 'text', text: { body: 'x' } }] }))[0];
    const b = events(messagesValue({ messages: [{ text: { body: 'x' }, type: 'text', from: '1' }] }))[0];
    const c = events(messagesValue({ messages: [{ from: '1', type: 'text', text: { body: 'y' } }] }))[0];
    expect(a?.id).toBe(b?.id);
    expect(a?.id).not.toBe(c?.id);
  });
});

describe('statuses', () => {
  const status = (extra: Record<string, unknown>) => messagesValue({ statuses: [{ id: 'wamid.S', status: 'sent', timestamp: '1700000000', recipient_id: '1', ...extra }] });

  it('reads error codes sent as numbers or digit strings', () => {
    const event = only(events(status({ status: 'failed', errors: [{ code: 131026 }, { code: '131049' }, { code: 'x' }, null] })), 'message.status');
    expect(event.errorCodes).toEqual([131026, 131049]);
  });

  it('gives different ids to different steps of one message and the same id to a redelivery', () => {
    const sent = events(status({}))[0]?.id;
    expect(events(status({}))[0]?.id).toBe(sent);
    expect(events(status({ status: 'delivered' }))[0]?.id).not.toBe(sent);
    expect(events(status({ timestamp: '1700000001' }))[0]?.id).not.toBe(sent);
    expect(events(status({ timestamp: 1700000000 }))[0]?.id).toBe(sent); // same time, spelled as a number
    expect(events(status({ recipient_id: '2' }))[0]?.id).not.toBe(sent);
  });

  it('makes a status without a status string an unknown event', () => {
    expect(only(events(status({ status: undefined })), 'unknown').kind).toBe('malformed status');
  });

  it('keeps two identical statuses in one POST under one id (the store keeps one)', () => {
    const item = { id: 'wamid.S', status: 'read', timestamp: '1', recipient_id: '1' };
    const list = events(messagesValue({ statuses: [item, item] }));
    expect(list).toHaveLength(2);
    expect(list[0]?.id).toBe(list[1]?.id);
  });
});

describe('templates', () => {
  const template = (field: string, value: Record<string, unknown>, time = 1717200000) => envelope([{ field, value }], { time });

  it('keeps the digits of a template id above 2^53, sent as a number or a string', () => {
    const asNumber = '{"object":"whatsapp_business_account","entry":[{"id":"1","time":1717200000,"changes":[{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":123456789012345678901234567890}}]}]}';
    expect(only(events(asNumber), 'template.status').templateId).toBe('123456789012345678901234567890');
    const asString = template('message_template_status_update', { event: 'APPROVED', message_template_id: '9007199254740993' });
    expect(only(events(asString), 'template.status').templateId).toBe('9007199254740993');
  });

  it('keeps a reason as sent, NONE included, and omits a null one', () => {
    expect(only(events(template('message_template_status_update', { event: 'APPROVED', reason: 'NONE' })), 'template.status').reason).toBe('NONE');
    expect(only(events(template('message_template_status_update', { event: 'PENDING_DELETION', reason: null })), 'template.status')).not.toHaveProperty('reason');
  });

  it('reads a quality payload under the status field as template.quality', () => {
    const event = only(events(template('message_template_status_update', { previous_quality_score: 'GREEN', new_quality_score: 'RED', message_template_id: 5 })), 'template.quality');
    expect(event).toMatchObject({ status: 'RED', templateId: '5' });
  });

  it('makes a status-field value with neither event nor score an unknown event of that field', () => {
    expect(only(events(template('message_template_status_update', { message_template_id: 5 })), 'unknown').kind).toBe('message_template_status_update');
  });

  it('tells an impending category change from the completed one by id', () => {
    const impending = events(template('template_category_update', { message_template_id: 5, correct_category: 'MARKETING', new_category: 'UTILITY' }))[0];
    const completed = events(template('template_category_update', { message_template_id: 5, previous_category: 'UTILITY', new_category: 'MARKETING' }))[0];
    expect(impending).toMatchObject({ type: 'template.category', status: 'UTILITY' });
    expect(completed).toMatchObject({ type: 'template.category', status: 'MARKETING' });
    expect(impending?.id).not.toBe(completed?.id);
  });

  it('reads EnableX template items as template events, never as message statuses', () => {
    const list = events({
      business_phone: '9198',
      statuses: [
        { template_id: 42, template_name: 'a', template_language: 'en', status: 'APPROVED' },
        { template_name: 'b', event: 'REJECTED', reason: 'SCAM' },
        { template_id: 43, new_quality_score: 'YELLOW' },
        { template_id: 44 },
        { id: 'r1', status: 'sent', recipient_id: '1', timestamp: '1' },
      ],
    });
    expect(list.map((e) => [e.type, 'status' in e ? e.status : undefined])).toEqual([
      ['template.status', 'APPROVED'],
      ['template.status', 'REJECTED'],
      ['template.quality', 'YELLOW'],
      ['unknown', undefined],
      ['message.status', 'sent'],
    ]);
    expect(list[1]).toMatchObject({ templateName: 'b', reason: 'SCAM' });
    expect(list[0]).not.toHaveProperty('occurredAt');
  });
});

describe('value-level errors', () => {
  it('become one account.error event after the messages and statuses of the value', () => {
    const list = events(
      messagesValue({
        errors: [{ code: 130429, title: 'Rate limit hit' }],
        statuses: [{ id: 'wamid.S', status: 'sent', timestamp: '1', recipient_id: '1' }],
        messages: [{ id: 'wamid.M', from: '1', type: 'text', text: { body: 'x' } }],
      }),
    );
    expect(list.map((e) => e.type)).toEqual(['message.received', 'message.status', 'account.error']);
    expect(list[2]).toMatchObject({ field: 'messages', errorCodes: [130429], phoneNumberId: '77', data: [{ code: 130429, title: 'Rate limit hit' }] });
    expect(list[2]).not.toHaveProperty('kind');
  });

  it('are not emitted for an empty errors list', () => {
    const list = events(messagesValue({ errors: [], messages: [{ id: 'wamid.M', type: 'text' }] }));
    expect(list.map((e) => e.type)).toEqual(['message.received']);
  });
});

describe('serializeEvent and parseEventJson', () => {
  it('round-trip big integers in data as bare digits', () => {
    const text = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.B","type":"order","order":{"n":-123456789012345678901234}}]}}]}]}';
    const event = events(text)[0] as BluetickEvent;
    const line = serializeEvent(event);
    expect(line).toContain('"n":-123456789012345678901234');
    expect(line).not.toContain('\n');
    expect(parseEventJson(line)).toEqual(event);
  });

  it('reject text that is not an event', () => {
    expect(() => parseEventJson('{"type":"nope","id":"x"}')).toThrow(SyntaxError);
    expect(() => parseEventJson('[1]')).toThrow(SyntaxError);
  });

  it('leave duplicate keys to the last one, as JSON.parse does, with or without big numbers', () => {
    const dup = (extra: string) => `{"business_phone":"1","statuses":[{"id":"a","status":"sent","status":"read"${extra}}]}`;
    expect(only(events(dup('')), 'message.status').status).toBe('read');
    expect(only(events(dup(',"n":12345678901234567890')), 'message.status').status).toBe('read');
  });

  it('do not share objects between events and the payload beyond data', () => {
    const payload = JSON.parse(JSON.stringify(messagesValue({ messages: [{ id: 'wamid.M', type: 'text' }] }))) as JsonObject;
    const [event] = normalizePayload(payload, CTX);
    const entry = (payload.entry as JsonObject[])[0] as JsonObject;
    const value = ((entry.changes as JsonObject[])[0] as JsonObject).value as JsonObject;
    expect(event?.data).toBe((value.messages as JsonObject[])[0]);
  });
});

describe('ids of bodies nobody recognises', () => {
  it('do not depend on the provider the channel is configured for', () => {
    const body = { hello: 'world' };
    const ids = [undefined, 'meta', 'enablex'].map((provider) => events(body, { ...CTX, ...(provider ? { provider: provider as 'meta' } : {}) })[0]?.id);
    expect(new Set(ids).size).toBe(1);
  });
});

describe('linear in the body size', () => {
  /** Characters hashed for ids and characters of event JSON written, for one body. */
  function work(body: unknown): { hashed: number; written: number; events: number } {
    const meter: HashMeter = { chars: 0, calls: 0 };
    const result = normalize(JSON.stringify(body), { ...CTX, meter });
    if (!result.ok) throw new Error(result.cause);
    return { hashed: meter.chars, written: result.events.reduce((n, e) => n + serializeEvent(e).length, 0), events: result.events.length };
  }

  const poisons: Record<string, (n: number) => unknown> = {
    'null statuses (EnableX)': (n) => ({ business_phone: '1', statuses: Array.from({ length: n }, () => null) }),
    'number statuses (EnableX)': (n) => ({ business_phone: '1', statuses: Array.from({ length: n }, (_, i) => i) }),
    'statuses without a status (Meta)': (n) => messagesValue({ statuses: Array.from({ length: n }, (_, i) => ({ id: `w${i}` })) }),
    'null messages (Meta)': (n) => messagesValue({ messages: Array.from({ length: n }, () => null) }),
    'null entries': (n) => ({ object: 'whatsapp_business_account', entry: Array.from({ length: n }, () => null) }),
    'null changes': (n) => envelope(Array.from({ length: n }, () => null)),
    'null list items': (n) => envelope([{ field: 'calls', value: { calls: Array.from({ length: n }, () => null) } }]),
  };

  for (const [name, build] of Object.entries(poisons)) {
    it(`hashes and writes ${name} in linear time (4x the items, about 4x the work)`, () => {
      const small = work(build(4_000));
      const large = work(build(16_000));
      expect(large.events).toBe(4 * small.events);
      // Linear gives a ratio of 4; hashing the container once per item gives 16.
      expect(large.hashed / small.hashed).toBeLessThan(4.5);
      expect(large.written / small.written).toBeLessThan(4.5);
    });
  }
});

describe('fields whose value lacks its list', () => {
  it('give one event for the change, of the field type, group updates still naming their field', () => {
    const [group] = events(envelope([{ field: 'group_status_update', value: { messaging_product: 'whatsapp' } }]));
    expect(group).toMatchObject({ type: 'group.update', kind: 'group_status_update', field: 'group_status_update' });
    const [prefs] = events(envelope([{ field: 'user_preferences', value: { messaging_product: 'whatsapp' } }]));
    expect(prefs).toMatchObject({ type: 'user.preferences', field: 'user_preferences', data: { messaging_product: 'whatsapp' } });
  });
});
