/**
 * Property tests for the normalizer: whatever arrives, `normalize`
 * answers (never throws), and every event it gives keeps the contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRuns } from '../../test/support/property.js';
import type { HashMeter } from './ids.js';
import { parseJsonText, stringifyJson } from './json.js';
import { normalize, parseEventJson, serializeEvent, type NormalizeContext, type NormalizeResult } from './normalize.js';
import { EVENT_TYPES, type BluetickEvent, type JsonValue } from './types.js';

const CTX: NormalizeContext = { channel: 'prop', receivedAt: 1_700_000_000_000 };
const LATER: NormalizeContext = { channel: 'elsewhere', receivedAt: 1_800_000_000_123, provider: 'meta' };
// BLUETICK_PROPERTY_RUNS=20000 runs a longer search (give it a longer --testTimeout). Every run
// completes its cases or fails: no time box that would quietly run fewer on a slow machine.
const RUN_COUNT = Number(process.env.BLUETICK_PROPERTY_RUNS ?? 400);
const RUNS = { numRuns: RUN_COUNT };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const EVENT_ID = /^evt_[0-9a-f]{64}$/;
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
const STRING_KEYS = [
  'id', 'channel', 'businessAccountId', 'phoneNumberId', 'displayPhoneNumber', 'field', 'messageId', 'from', 'to', 'userId', 'username',
  'contactName', 'kind', 'text', 'replyId', 'contextMessageId', 'emoji', 'targetMessageId', 'status', 'recipientId', 'pricingModel',
  'pricingCategory', 'pricingType', 'conversationId', 'conversationOrigin', 'conversationExpiresAt', 'bizOpaqueCallbackData', 'ctwaClid',
  'referralSourceId', 'referralSourceType', 'flowToken', 'templateId', 'templateName', 'language', 'reason', 'currentLimit', 'oldLimit',
] as const;
/** Every key an event may carry; anything else is a contract breach. */
const KNOWN_KEYS: ReadonlySet<string> = new Set([...STRING_KEYS, 'type', 'provider', 'latitude', 'longitude', 'billable', 'errorCodes', 'occurredAt', 'receivedAt', 'data']);

/**
 * Hashing work allowed for a body: a bounded number of passes over its text, plus a
 * constant per event. A normalizer that hashes a container once per item breaks it
 * as soon as the container holds a few items.
 */
const HASH_PASSES = 8;
const HASH_PER_EVENT = 512;

/** Everything the contract promises about one event. */
function checkEvent(event: BluetickEvent, ctx: NormalizeContext): void {
  expect(TYPES.has(event.type), event.type).toBe(true);
  expect(event.id).toMatch(EVENT_ID);
  expect(['meta', 'enablex']).toContain(event.provider);
  expect(event.channel).toBe(ctx.channel);
  expect(event.receivedAt).toBe(new Date(ctx.receivedAt).toISOString());
  expect(Object.hasOwn(event, 'data')).toBe(true);
  for (const [key, value] of Object.entries(event)) {
    expect(value, `key ${key}`).not.toBeUndefined();
    expect(value, `key ${key}`).not.toBeNull();
  }
  const record = event as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) expect(KNOWN_KEYS.has(key), `key ${key}`).toBe(true);
  for (const key of STRING_KEYS) if (key in record) expect(typeof record[key], key).toBe('string');
  for (const key of ['latitude', 'longitude']) if (key in record) expect(Number.isFinite(record[key]), key).toBe(true);
  if ('billable' in record) expect(typeof record.billable).toBe('boolean');
  if (event.provider === 'meta' && event.type !== 'unknown') expect(typeof event.field).toBe('string');
  if (event.type === 'group.update') expect(event.kind).toBe(event.field);
  if (event.occurredAt !== undefined) expect(event.occurredAt).toMatch(ISO);
  if (event.type === 'message.received') expect(typeof event.kind).toBe('string');
  if (event.type === 'message.reaction') expect(typeof event.emoji).toBe('string');
  if (event.type === 'message.status' || event.type === 'template.status') expect(typeof event.status).toBe('string');
  if (event.type === 'message.echo') expect(typeof event.kind).toBe('string');
  if ('errorCodes' in event && event.errorCodes !== undefined) {
    expect(event.errorCodes.length).toBeGreaterThan(0);
    for (const code of event.errorCodes) expect(Number.isFinite(code)).toBe(true);
  }
  expect(parseEventJson(serializeEvent(event))).toEqual(event);
}

function checkResult(result: NormalizeResult, ctx: NormalizeContext): void {
  if (!result.ok) {
    expect(typeof result.cause).toBe('string');
    expect(result.cause.length).toBeGreaterThan(0);
    expect(result.cause).not.toContain('\n');
    return;
  }
  for (const event of result.events) checkEvent(event, ctx);
}

/** A JSON object the normalizer reads as a batch (which may be empty and then yields no event). */
function isBatch(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const body = value as Record<string, unknown>;
  return (
    Array.isArray(body.entry) ||
    Array.isArray(body.messages) ||
    Array.isArray(body.statuses) ||
    typeof body.business_phone === 'string' ||
    typeof body.business_phone === 'number'
  );
}

/** Normalize with a meter and check the hashing work stays within a linear budget of the body. */
function checkLinear(raw: string): NormalizeResult {
  const meter: HashMeter = { chars: 0, calls: 0 };
  const result = normalize(raw, { ...CTX, meter });
  const events = result.ok ? result.events.length : 0;
  expect(meter.chars).toBeLessThanOrEqual(HASH_PASSES * raw.length + HASH_PER_EVENT * (events + 1));
  expect(meter.calls).toBeLessThanOrEqual(3 * events + 8);
  return result;
}

/** Redelivery: a different receive time and channel give the same ids. */
function checkStableIds(raw: string, first: NormalizeResult): void {
  const again = normalize(raw, LATER);
  expect(again.ok).toBe(first.ok);
  if (first.ok && again.ok) expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
}

function safeNormalize(raw: string | Buffer, ctx: NormalizeContext): NormalizeResult {
  // The property under test: this call never throws.
  return normalize(raw, ctx);
}

// ---------------------------------------------------------------------------

describe('normalize on arbitrary input', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789-.eE tfnrul\\') })), (text) => {
        checkResult(safeNormalize(text, CTX), CTX);
      }),
      RUNS,
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        checkResult(safeNormalize(Buffer.from(bytes), CTX), CTX);
      }),
      RUNS,
    );
  });

  it('gives at least one valid event for every JSON object and a cause for every other JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const raw = JSON.stringify(value);
        const result = safeNormalize(raw, CTX);
        checkResult(result, CTX);
        const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
        expect(result.ok).toBe(isObject);
        if (result.ok && !isBatch(value)) expect(result.events.length).toBeGreaterThan(0);
        checkStableIds(raw, result);
      }),
      RUNS,
    );
  });

  it('never throws on deep nesting, with or without big numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120_000 }), fc.boolean(), fc.constantFrom('[', '{"a":'), (depth, big, open) => {
        const close = open === '[' ? ']' : '}';
        const raw = `{"x":${big ? '12345678901234567890' : '1'},"y":${open.repeat(depth)}0${close.repeat(depth)}}`;
        checkResult(safeNormalize(raw, CTX), CTX);
      }),
      { numRuns: 30 },
    );
  });
});

// ---------------------------------------------------------------------------
// Mutations of the real fixture payloads: the shapes the normalizer knows, broken
// in every place one at a time (and a few at a time).

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const payloads: JsonValue[] = ['meta', 'enablex'].flatMap((provider) =>
  readdirSync(FIXTURES + provider)
    .filter((file) => file.endsWith('.json') && !file.endsWith('.events.json'))
    .map((file) => parseJsonText(readFileSync(`${FIXTURES}${provider}/${file}`, 'utf8'))),
);

type Slot = { parent: JsonValue[] | { [key: string]: JsonValue }; key: string | number };

function slotsOf(root: JsonValue): Slot[] {
  const slots: Slot[] = [];
  const stack: JsonValue[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        slots.push({ parent: node, key: index });
        stack.push(child);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const key of Object.keys(node)) {
        slots.push({ parent: node, key });
        stack.push(node[key] as JsonValue);
      }
    }
  }
  return slots;
}

const interesting: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    null, '', 0, -1, 1.5, true, [], {}, [null], '1717171717', 1717171717, 'not-a-time', '99999999999999',
    'text', 'reaction', 'interactive', 'button', 'edit', 'button_reply', 'nfm_reply', 'constructor', '__proto__', 'toString',
    'messages', 'statuses', 'message_template_status_update', 'message_template_quality_update', 'template_category_update',
    'APPROVED', 'sent', 'failed', { code: 131026 }, [{ code: '131000' }], { body: 'x' }, { emoji: '' },
    // The typed fields of contract v2, so mutations move items between them.
    'standby', 'smb_message_echoes', 'message_echoes', 'messaging_handovers', 'history', 'smb_app_state_sync', 'user_preferences',
    'user_id_update', 'message_template_components_update', 'account_update', 'account_alerts', 'account_review_update',
    'business_capability_update', 'phone_number_quality_update', 'phone_number_name_update', 'security', 'flows', 'calls',
    'group_lifecycle_update', 'group_participants_update', 'state_sync', 'threads', 'message_echoes', 'referral', 'location', 'revoke',
    { ctwa_clid: 'c', source_id: 1, source_type: 'ad' }, { flow_token: 't' }, '{"flow_token":"t"}', { alert_type: 'X' },
  ),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
);

const mutation = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'duplicate', 'wrap'),
  value: interesting,
});

function mutate(payload: JsonValue, steps: ReadonlyArray<{ pick: number; op: string; value: JsonValue }>): JsonValue {
  const copy = structuredClone(payload);
  for (const step of steps) {
    const slots = slotsOf(copy);
    if (slots.length === 0) break;
    const { parent, key } = slots[step.pick % slots.length] as Slot;
    const target = parent as Record<string | number, JsonValue>;
    const current = target[key] as JsonValue;
    switch (step.op) {
      case 'replace':
        target[key] = structuredClone(step.value);
        break;
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete target[key];
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(current));
        else target[key] = [structuredClone(current), structuredClone(current)];
        break;
      default:
        target[key] = [current];
    }
  }
  return copy;
}

describe('normalize on mutated fixture payloads', () => {
  it('never throws, and every event keeps the contract', () => {
    fc.assert(
      fc.property(fc.nat({ max: payloads.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (index, steps, asBytes) => {
        const mutated = mutate(payloads[index] as JsonValue, steps);
        const raw = stringifyJson(mutated);
        const result = safeNormalize(asBytes ? Buffer.from(raw, 'utf8') : raw, CTX);
        checkResult(result, CTX);
        expect(result.ok).toBe(true);
        checkStableIds(raw, result);
        checkLinear(raw);
      }),
      RUNS,
    );
  });

  it('gives as many events as before when only non-item keys are reordered or respaced', () => {
    fc.assert(
      fc.property(fc.nat({ max: payloads.length - 1 }), fc.nat({ max: 4 }), (index, indent) => {
        const payload = payloads[index] as JsonValue;
        const a = normalize(stringifyJson(payload), CTX);
        const b = normalize(stringifyJson(payload, indent), CTX);
        expect(a.ok && b.ok).toBe(true);
        if (a.ok && b.ok) expect(b.events).toEqual(a.events);
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------
// Linear in the body: a body of many items costs a bounded number of passes over it,
// whatever the items are (valid, malformed, null) and wherever they sit.

const CONTAINERS: Record<string, (items: JsonValue[]) => JsonValue> = {
  'enablex statuses': (items) => ({ business_phone: '1', statuses: items }),
  'enablex messages': (items) => ({ business_phone: '1', messages: items }),
  'meta messages': (items) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messages: items } }] }] }),
  'meta statuses': (items) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'standby', value: { statuses: items } }] }] }),
  'meta entries': (items) => ({ object: 'whatsapp_business_account', entry: items }),
  'meta changes': (items) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: items }] }),
  'meta list field': (items) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'user_preferences', value: { user_preferences: items } }] }] }),
  'meta history threads': (items) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'history', value: { history: [{ threads: items }] } }] }] }),
};

const anyItem: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(null, 5, 'x', [], {}, { status: 1 }, { id: 'wamid.A', status: 'sent' }, { type: 'text' }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
);

describe('normalize stays linear in the body', () => {
  // Counts cases, not seconds: up to 100 when time allows, at least 25 or the test fails.
  it('hashes every container a bounded number of times, whatever its items', () => {
    checkRuns(
      fc.property(fc.constantFrom(...Object.keys(CONTAINERS)), fc.array(anyItem, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 30 }), (name, items, copies) => {
        const build = CONTAINERS[name] as (items: JsonValue[]) => JsonValue;
        const list = Array.from({ length: copies }, () => items).flat();
        checkResult(checkLinear(stringifyJson(build(list))), CTX);
      }),
      { runs: Math.min(RUN_COUNT, 100), minRuns: Math.min(RUN_COUNT, 25) },
    );
  });
});
