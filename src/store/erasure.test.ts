import { describe, expect, it } from 'vitest';
import { parseJsonText } from '../events/json.js';
import type { BluetickEvent } from '../events/types.js';
import { ERASED, identifierForms, isPersonsEvent, matcherOf, redactJsonText, tombstoneMatcher, tombstoneOf } from './erasure.js';

const ERIN = '16315550144';
const OTTO = '16315550233';

describe('redacting a body that holds several people', () => {
  const body = JSON.stringify({
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              metadata: { display_phone_number: '15550783881' },
              contacts: [{ wa_id: ERIN, profile: { name: 'Erin' } }, { wa_id: OTTO, profile: { name: 'Otto' } }],
              messages: [
                { from: ERIN, id: 'wamid.e1', text: { body: 'secret' } },
                { from: OTTO, id: 'wamid.o1', text: { body: 'kept' }, context: { from: ERIN } },
              ],
              statuses: [{ recipient_id: ERIN, id: 'wamid.s1', status: 'read' }],
            },
          },
        ],
      },
    ],
  });

  it("drops the person's items, blanks other mentions and keeps everyone else", () => {
    const out = parseJsonText(redactJsonText(body, matcherOf([`+${ERIN}`]))!) as any;
    const value = out.entry[0].changes[0].value;
    expect(value.contacts).toEqual([{ wa_id: OTTO, profile: { name: 'Otto' } }]);
    expect(value.messages).toEqual([{ from: OTTO, id: 'wamid.o1', text: { body: 'kept' }, context: { from: ERASED } }]);
    expect(value.statuses).toEqual([]);
    expect(value.metadata.display_phone_number).toBe('15550783881');
  });

  it('answers undefined when nothing names the person, and for text that is not JSON', () => {
    expect(redactJsonText(body, matcherOf(['19999999999']))).toBeUndefined();
    expect(redactJsonText('not json', matcherOf([ERIN]))).toBeUndefined();
  });

  it('keeps integers beyond 2^53 exactly', () => {
    const out = redactJsonText(`{"n":12345678901234567890,"messages":[{"from":"${ERIN}"}]}`, matcherOf([ERIN]));
    expect(out).toBe('{"n":12345678901234567890,"messages":[]}');
  });
});

describe('tombstones', () => {
  const key = 'ab'.repeat(32);

  it('hash a number the same with and without +, and differ by key', () => {
    expect(tombstoneOf(key, `+${ERIN}`)).toBe(tombstoneOf(key, ERIN));
    expect(tombstoneOf(key, ERIN)).not.toBe(tombstoneOf('cd'.repeat(32), ERIN));
    expect(tombstoneOf(key, ERIN)).not.toContain(ERIN);
  });

  it("recognise the person's events, echoes to them, and statuses of messages sent to them", () => {
    const isErased = tombstoneMatcher(key, new Set(identifierForms(ERIN).map((f) => tombstoneOf(key, f))));
    const base = { id: 'x', provider: 'meta', channel: 'main', receivedAt: '2026-01-01T00:00:00.000Z', data: {} } as const;
    expect(isPersonsEvent({ ...base, type: 'message.received', from: ERIN, kind: 'text' } as BluetickEvent, isErased)).toBe(true);
    expect(isPersonsEvent({ ...base, type: 'message.echo', from: '15550783881', to: ERIN } as unknown as BluetickEvent, isErased)).toBe(true);
    expect(isPersonsEvent({ ...base, type: 'message.status', recipientId: ERIN } as unknown as BluetickEvent, isErased)).toBe(true);
    expect(isPersonsEvent({ ...base, type: 'message.received', from: OTTO, kind: 'text' } as BluetickEvent, isErased)).toBe(false);
  });

  it('knows usernames with and without @', () => {
    expect(identifierForms('@erin.q')).toEqual(['@erin.q', 'erin.q']);
    expect(identifierForms(' +1631 '.trim())).toEqual(['1631', '+1631']);
  });
});
