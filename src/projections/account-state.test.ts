/**
 * Consent and account health (consent.ts, health.ts, template components in templates.ts):
 * what each row says, that it does not depend on arrival order or duplicates (so a rebuild
 * equals the incremental rows, byte for byte), and that it stays bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../events/types.js';
import { applyEvents, emptyState, type ProjectionState } from './index.js';
import { reduceConsent, type ConsentRow } from './consent.js';
import { CHANGE_LIMIT } from './facts.js';
import { reduceBusinessAccount, reduceFlow, reducePhoneNumber } from './health.js';
import { compareText } from './order.js';
import { reduceTemplate } from './templates.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 9, 0) + minute * 60_000).toISOString();
const meta = { provider: 'meta' as const, channel: 'main', businessAccountId: 'WABA1', receivedAt: at(0) };

function preference(id: string, minute: number, value: string, extra: Partial<BluetickEvent> = {}): BluetickEvent {
  return {
    ...meta,
    id,
    type: 'user.preferences',
    field: 'user_preferences',
    phoneNumberId: 'P1',
    from: '15550001111',
    kind: 'marketing_messages',
    status: value,
    reason: `User requested to ${value} marketing messages`,
    occurredAt: at(minute),
    data: { wa_id: '15550001111', category: 'marketing_messages', value },
    ...extra,
  } as BluetickEvent;
}

function fold<R>(reduce: (row: R | undefined, event: BluetickEvent) => R | undefined, events: readonly BluetickEvent[]): R | undefined {
  let row: R | undefined;
  for (const event of events) {
    // Through JSON, as a store keeps rows between events.
    const next = reduce(row === undefined ? undefined : (JSON.parse(JSON.stringify(row)) as R), event);
    row = next;
  }
  return row;
}

const phoneQuality = (id: string, minute: number, status: string, currentLimit?: string): BluetickEvent =>
  ({
    ...meta,
    id,
    type: 'phone.quality',
    field: 'phone_number_quality_update',
    displayPhoneNumber: '15550783881',
    status,
    ...(currentLimit ? { currentLimit } : {}),
    occurredAt: at(minute),
    data: { display_phone_number: '15550783881', event: status, ...(currentLimit ? { current_limit: currentLimit } : {}) },
  }) as BluetickEvent;

const phoneName = (id: string, minute: number, decision: string): BluetickEvent =>
  ({
    ...meta,
    id,
    type: 'phone.name',
    field: 'phone_number_name_update',
    displayPhoneNumber: '15550783881',
    status: decision,
    ...(decision === 'REJECTED' ? { reason: 'NAME_FORMAT_UNACCEPTABLE' } : {}),
    occurredAt: at(minute),
    data: { display_phone_number: '15550783881', decision, requested_verified_name: 'Lucky Shrub' },
  }) as BluetickEvent;

const account = (id: string, minute: number, type: BluetickEvent['type'], fields: Record<string, unknown>, data: Record<string, unknown> = {}): BluetickEvent =>
  ({ ...meta, id, type, occurredAt: at(minute), data, ...fields }) as BluetickEvent;

const flow = (id: string, minute: number, kind: string, fields: Record<string, unknown>, data: Record<string, unknown>): BluetickEvent =>
  ({ ...meta, id, type: 'flow.status', field: 'flows', kind, occurredAt: at(minute), data: { event: kind, flow_id: 'FLOW1', ...data }, ...fields }) as BluetickEvent;

const components = (id: string, minute: number, body: string): BluetickEvent =>
  ({
    ...meta,
    id,
    type: 'template.components',
    field: 'message_template_components_update',
    templateId: '1203443834149263',
    templateName: 'order_confirmation',
    language: 'en_US',
    occurredAt: at(minute),
    data: {
      message_template_id: 1203443834149263n,
      message_template_element: body,
      message_template_footer: 'Reply STOP to opt out',
      message_template_buttons: [{ message_template_button_type: 'URL', message_template_button_text: 'Track order' }],
    },
  }) as BluetickEvent;

/** Every account-state table as JSON text, rows sorted by key. */
function snapshot(state: ProjectionState): string {
  const table = <T>(map: Map<string, T>): [string, T][] => [...map.entries()].sort(([a], [b]) => compareText(a, b));
  return JSON.stringify({
    consent: table(state.consent),
    phoneNumbers: table(state.phoneNumbers),
    businessAccounts: table(state.businessAccounts),
    flows: table(state.flows),
    templates: table(state.templates),
  });
}

describe('consent', () => {
  const stop = preference('e1', 10, 'stop');
  const resume = preference('e2', 20, 'resume');

  it('records a stop, then a later resume', () => {
    const row = fold(reduceConsent, [stop, resume]) as ConsentRow;
    expect(row).toMatchObject({
      key: 'WABA1:15550001111:marketing_messages',
      contact: '15550001111',
      category: 'marketing_messages',
      state: 'resume',
      optedOut: false,
      changedAt: at(20),
      eventId: 'e2',
    });
    expect(row.history.map((c) => c.status)).toEqual(['stop', 'resume']);
  });

  it('keeps the later choice when the earlier one arrives last', () => {
    const inOrder = fold(reduceConsent, [stop, resume]);
    const late = fold(reduceConsent, [resume, stop]);
    expect(JSON.stringify(late)).toBe(JSON.stringify(inOrder));
    expect(late?.optedOut).toBe(false);
    // And the other way round: a resume older than the stop does not opt the user back in.
    const oldResume = preference('e0', 5, 'resume');
    const row = fold(reduceConsent, [stop, oldResume]);
    expect(row).toMatchObject({ state: 'stop', optedOut: true, changedAt: at(10) });
  });

  it('ignores a duplicate', () => {
    const row = fold(reduceConsent, [stop]);
    expect(reduceConsent(row, stop)).toBe(row);
  });

  it('keys a user known only by a business-scoped id by that id, and keeps categories apart', () => {
    const bsuid = preference('e3', 1, 'stop', { from: undefined, userId: 'US.1234' } as Partial<BluetickEvent>);
    expect(fold(reduceConsent, [bsuid])).toMatchObject({ key: 'WABA1:US.1234:marketing_messages', contact: 'US.1234', userId: 'US.1234' });
    const other = preference('e4', 1, 'stop', { kind: 'promotions' } as Partial<BluetickEvent>);
    const state = applyEvents(emptyState(), [stop, other]);
    expect([...state.consent.keys()].sort()).toEqual(['WABA1:15550001111:marketing_messages', 'WABA1:15550001111:promotions']);
  });

  it(`keeps the latest ${CHANGE_LIMIT} choices only`, () => {
    const events = Array.from({ length: CHANGE_LIMIT * 3 }, (_, i) => preference(`c${String(i).padStart(3, '0')}`, i, i % 2 === 0 ? 'stop' : 'resume'));
    const row = fold(reduceConsent, [...events].reverse()) as ConsentRow;
    expect(row.history).toHaveLength(CHANGE_LIMIT);
    expect(row.history[0]!.at).toBe(at(CHANGE_LIMIT * 2));
    expect(row).toMatchObject({ state: 'resume', changedAt: at(CHANGE_LIMIT * 3 - 1) });
  });
});

describe('phone number health', () => {
  it('tracks quality, messaging limit, throughput and display name separately', () => {
    const row = fold(reducePhoneNumber, [
      phoneQuality('p1', 1, 'ONBOARDING', 'TIER_250'),
      phoneQuality('p2', 2, 'FLAGGED', 'TIER_250'),
      phoneQuality('p3', 3, 'UPGRADE', 'TIER_1K'),
      phoneQuality('p4', 4, 'THROUGHPUT_UPGRADE', 'TIER_UNLIMITED'),
      phoneQuality('p5', 5, 'UNFLAGGED', 'TIER_1K'),
      phoneName('p6', 6, 'REJECTED'),
    ]);
    expect(row).toMatchObject({
      key: '15550783881',
      businessAccountId: 'WABA1',
      quality: { value: 'UNFLAGGED', at: at(5) },
      messagingLimit: { value: 'TIER_1K', detail: 'UNFLAGGED', at: at(5) },
      throughput: { value: 'THROUGHPUT_UPGRADE', detail: 'TIER_UNLIMITED' },
      displayName: { value: 'REJECTED', detail: 'Lucky Shrub', reason: 'NAME_FORMAT_UNACCEPTABLE' },
      updatedAt: at(6),
    });
    expect(row?.history).toHaveLength(6);
  });

  it('does not let a late, older flag override a newer unflag', () => {
    const row = fold(reducePhoneNumber, [phoneQuality('p5', 5, 'UNFLAGGED'), phoneQuality('p2', 2, 'FLAGGED')]);
    expect(row?.quality?.value).toBe('UNFLAGGED');
  });
});

describe('business account health', () => {
  it('keeps status, review, alerts by type, capabilities, security and errors', () => {
    const row = fold(reduceBusinessAccount, [
      account('a1', 1, 'account.update', { status: 'VERIFIED_ACCOUNT' }),
      account('a2', 2, 'account.review', { status: 'APPROVED' }),
      account('a3', 3, 'account.alert', { kind: 'OBA_APPROVED', status: 'ACTIVE', reason: 'approved' }, { alert_info: { alert_severity: 'INFORMATIONAL' } }),
      account('a4', 4, 'account.alert', { kind: 'OBA_APPROVED', status: 'RESOLVED' }),
      account('a5', 5, 'account.capability', {}, { max_daily_conversation_per_phone: 2000, max_phone_numbers_per_waba: 25, nested: { x: 1 } }),
      account('a6', 6, 'account.security', { status: 'PIN_CHANGED', displayPhoneNumber: '15550783881' }),
      account('a7', 7, 'account.error', { errorCodes: [130429] }),
    ]);
    expect(row).toMatchObject({
      key: 'WABA1',
      status: { value: 'VERIFIED_ACCOUNT' },
      review: { value: 'APPROVED' },
      alerts: { OBA_APPROVED: { value: 'RESOLVED', at: at(4) } },
      capabilities: { at: at(5), limits: { max_daily_conversation_per_phone: 2000, max_phone_numbers_per_waba: 25 } },
      security: { value: 'PIN_CHANGED', detail: '15550783881' },
      lastError: { value: '130429' },
      updatedAt: at(7),
    });
    expect(row?.history.map((c) => c.type)).toEqual([
      'account.update',
      'account.review',
      'account.alert',
      'account.alert',
      'account.capability',
      'account.security',
      'account.error',
    ]);
  });

  it(`keeps at most ${CHANGE_LIMIT} alert types, the latest`, () => {
    const events = Array.from({ length: CHANGE_LIMIT + 5 }, (_, i) => account(`k${String(i).padStart(3, '0')}`, i, 'account.alert', { kind: `TYPE_${i}`, status: 'ACTIVE' }));
    const row = fold(reduceBusinessAccount, [...events].reverse());
    expect(Object.keys(row!.alerts)).toHaveLength(CHANGE_LIMIT);
    expect(row!.alerts.TYPE_0).toBeUndefined();
    expect(row!.alerts[`TYPE_${CHANGE_LIMIT + 4}`]).toBeDefined();
  });
});

describe('Flow health', () => {
  it('keeps the status and the latest state of each health alert', () => {
    const row = fold(reduceFlow, [
      flow('f1', 1, 'FLOW_STATUS_CHANGE', { status: 'PUBLISHED' }, { old_status: 'DRAFT', new_status: 'PUBLISHED' }),
      flow('f2', 2, 'ENDPOINT_ERROR_RATE', {}, { alert_state: 'ACTIVATED', error_rate: 14.7, threshold: 10 }),
      flow('f3', 3, 'ENDPOINT_ERROR_RATE', {}, { alert_state: 'DEACTIVATED', error_rate: 2.1, threshold: 10 }),
      flow('f4', 4, 'FLOW_STATUS_CHANGE', { status: 'THROTTLED' }, { old_status: 'PUBLISHED', new_status: 'THROTTLED' }),
    ]);
    expect(row).toMatchObject({
      key: 'FLOW1',
      status: { value: 'THROTTLED', detail: 'PUBLISHED' },
      health: { ENDPOINT_ERROR_RATE: { value: 'DEACTIVATED', detail: '2.1', at: at(3) } },
      updatedAt: at(4),
    });
  });
});

describe('template components', () => {
  it('keeps the latest content and its history', () => {
    const row = fold(reduceTemplate, [components('t2', 2, 'Hi {{1}}, order {{2}} shipped.'), components('t1', 1, 'Hi {{1}}')]);
    expect(row).toMatchObject({
      key: '1203443834149263',
      components: { body: 'Hi {{1}}, order {{2}} shipped.', footer: 'Reply STOP to opt out', buttons: ['URL: Track order'] },
      componentsAt: at(2),
    });
    expect(row?.history.map((h) => h.type)).toEqual(['template.components', 'template.components']);
  });
});

describe('rebuild equals incremental', () => {
  const pool: BluetickEvent[] = [
    preference('e1', 10, 'stop'),
    preference('e2', 20, 'resume'),
    preference('e3', 20, 'stop', { userId: 'US.1' } as Partial<BluetickEvent>),
    preference('e4', 15, 'stop', { phoneNumberId: 'P2' } as Partial<BluetickEvent>),
    phoneQuality('p1', 1, 'FLAGGED', 'TIER_250'),
    phoneQuality('p2', 1, 'UNFLAGGED', 'TIER_1K'),
    phoneQuality('p3', 3, 'THROUGHPUT_UPGRADE', 'TIER_UNLIMITED'),
    phoneName('p4', 2, 'APPROVED'),
    phoneName('p5', 2, 'REJECTED'),
    account('a1', 1, 'account.update', { status: 'VERIFIED_ACCOUNT' }),
    account('a2', 1, 'account.update', { status: 'ACCOUNT_VIOLATION' }),
    account('a3', 3, 'account.alert', { kind: 'A', status: 'ACTIVE' }),
    account('a4', 2, 'account.alert', { kind: 'B', status: 'ACTIVE' }),
    account('a5', 4, 'account.capability', {}, { max_phone_numbers_per_waba: 25 }),
    account('a6', 4, 'account.capability', {}, { max_phone_numbers_per_waba: 20 }),
    flow('f1', 1, 'FLOW_STATUS_CHANGE', { status: 'PUBLISHED' }, {}),
    flow('f2', 1, 'ENDPOINT_LATENCY', {}, { alert_state: 'ACTIVATED', p90_latency: 1200 }),
    components('t1', 1, 'one'),
    components('t2', 1, 'two'),
  ];

  it('gives the same rows whatever the arrival order and duplicates', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(pool, { minLength: 1 }), fc.array(fc.nat({ max: pool.length - 1 }), { maxLength: 6 }), fc.nat(), (events, dups, seed) => {
        const incremental = snapshot(applyEvents(emptyState(), events));
        // Another order, with duplicates, event by event (as a live store applies them).
        const shuffled = [...events, ...dups.map((i) => events[i % events.length]!)];
        let s = seed;
        for (let i = shuffled.length - 1; i > 0; i--) {
          s = (s * 1103515245 + 12345) % 2147483648;
          const j = s % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        let state = emptyState();
        for (const event of shuffled) state = applyEvents(state, [event]);
        expect(snapshot(state)).toBe(incremental);
      }),
      { numRuns: 200 },
    );
  });
});

describe('bounded rows', () => {
  it('a consent row and a business account row stay the same size over 10 000 events', () => {
    let consentText = '';
    let accountText = '';
    let consent: ConsentRow | undefined;
    let row: ReturnType<typeof reduceBusinessAccount>;
    for (let i = 0; i < 10_000; i++) {
      const minute = i % 7 === 0 ? i - 500 : i;
      consent = reduceConsent(consent, preference(`c${i}`, minute, i % 2 ? 'stop' : 'resume'));
      row = reduceBusinessAccount(row, account(`a${i}`, minute, 'account.alert', { kind: `T${i % 50}`, status: 'ACTIVE', reason: 'x'.repeat(40) }));
      if (i === 100) {
        consentText = JSON.stringify(consent);
        accountText = JSON.stringify(row);
      }
    }
    expect(JSON.stringify(consent).length).toBeLessThanOrEqual(consentText.length + 64);
    expect(JSON.stringify(row).length).toBeLessThanOrEqual(accountText.length + 256);
  });
});
