/**
 * The account-state half of the projection contract: consent and account health rows are
 * kept exactly as the reducers build them, listed with their filters, and rebuilt from the
 * events to the same bytes. Called from `store.contract.ts` inside each backend's suite.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, expect, it } from 'vitest';
import { stringifyJson } from '../src/events/json.js';
import { normalize } from '../src/events/normalize.js';
import type { BluetickEvent } from '../src/events/types.js';
import { applyEvents, emptyState } from '../src/projections/index.js';
import type { JournalOutcome, Page, PageRequest, Store } from '../src/store/store.js';
import { journalInput } from './store.contract.js';

/** Management-field fixtures whose events feed the account-state rows. */
const FIXTURES = [
  'user-preferences',
  'account-update',
  'account-alerts',
  'account-review-update',
  'business-capability-update',
  'security',
  'phone-number-quality-update',
  'phone-number-limit-update',
  'phone-number-name-update',
  'flows-endpoint-error-rate',
  'template-components-update',
];

/** The fixtures' events (each normalized as received on channel `main`), one list per POST. */
export function accountStateBatches(receivedAt = Date.UTC(2024, 5, 1, 2)): BluetickEvent[][] {
  return FIXTURES.map((name) => {
    const body = readFileSync(new URL(`./fixtures/meta/${name}.json`, import.meta.url));
    const result = normalize(body, { channel: 'main', receivedAt });
    if (!result.ok) throw new Error(`${name}: ${result.cause}`);
    return result.events;
  });
}

/** A stop that happened before the fixture's resume but arrives after it. */
export function lateStop(): BluetickEvent {
  return {
    id: 'evt_late_stop',
    type: 'user.preferences',
    provider: 'meta',
    channel: 'main',
    businessAccountId: '102290129340398',
    phoneNumberId: '106540352242922',
    field: 'user_preferences',
    from: '16315551181',
    kind: 'marketing_messages',
    status: 'stop',
    occurredAt: '2024-06-01T00:55:00.000Z',
    receivedAt: '2024-06-01T03:00:00.000Z',
    data: { wa_id: '16315551181', category: 'marketing_messages', value: 'stop', timestamp: 1717203300 },
  };
}

export function accountStateContract(getStore: () => Store): void {
  let store: Store;

  beforeEach(() => {
    store = getStore();
  });

  async function record(batches: BluetickEvent[][]): Promise<void> {
    const ids = await store.journal.append(batches.map(() => journalInput()));
    await store.journal.claim(batches.length);
    const outcomes: JournalOutcome[] = batches.map((events, i) => ({ journalId: ids[i]!, state: 'processed', events }));
    await store.journal.record(outcomes);
  }

  async function all<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let after: number | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await list(after === undefined ? { limit: 1 } : { after, limit: 1 });
      items.push(...page.items);
      if (page.next === undefined) return items;
      after = page.next;
    }
    throw new Error('pagination did not end');
  }

  async function snapshot(): Promise<string> {
    return stringifyJson({
      consent: await all((p) => store.projections.listConsent({}, p)),
      phoneNumbers: await all((p) => store.projections.listHealth('phoneNumbers', p)),
      businessAccounts: await all((p) => store.projections.listHealth('businessAccounts', p)),
      flows: await all((p) => store.projections.listHealth('flows', p)),
      template: await store.projections.getTemplate('1203443834149263'),
    });
  }

  it('keeps consent and health rows exactly as the reducers build them', async () => {
    const batches = accountStateBatches();
    await record([...batches, [lateStop()]]);
    const expected = applyEvents(emptyState(), [...batches.flat(), lateStop()]);
    expect(expected.consent.size).toBe(1);
    const [consentKey, consentRow] = [...expected.consent][0]!;
    expect(consentKey).toBe('102290129340398:16315551181:marketing_messages');
    // The resume at 01:25 is later than the stop at 00:55 that arrived last.
    expect(consentRow).toMatchObject({ state: 'resume', optedOut: false, changedAt: '2024-06-01T01:25:00.000Z' });
    expect(await store.projections.listConsent({}, { limit: 10 })).toEqual({ items: [consentRow] });
    for (const kind of ['phoneNumbers', 'businessAccounts', 'flows'] as const) {
      for (const [key, row] of expected[kind]) expect(await store.projections.getHealth(kind, key)).toEqual(row);
    }
    expect(await store.projections.getHealth('phoneNumbers', '15550783881')).toMatchObject({
      messagingLimit: { value: 'TIER_10K', detail: 'UPGRADE' },
      quality: { value: 'FLAGGED' },
      displayName: { value: 'REJECTED', reason: 'NAME_FORMAT_UNACCEPTABLE' },
    });
    expect(await store.projections.getHealth('businessAccounts', '102290129340398')).toMatchObject({
      status: { value: 'VERIFIED_ACCOUNT' },
      review: { value: 'APPROVED' },
      alerts: { OBA_APPROVED: { value: 'ACTIVE' } },
      security: { value: 'PIN_CHANGED' },
    });
    expect((await all((p) => store.projections.listHealth('flows', p))).map((f) => f.key)).toEqual(['2873019564410292', '1172387227285717']);
    expect((await store.projections.getTemplate('1203443834149263'))?.components?.buttons).toEqual(['URL: Track order']);
    expect(await store.projections.getHealth('flows', 'nope')).toBeUndefined();
  });

  it('filters consent by category, state and contact', async () => {
    await record(accountStateBatches());
    const keys = async (filter: Parameters<Store['projections']['listConsent']>[0]) => (await store.projections.listConsent(filter, { limit: 10 })).items.map((r) => r.state);
    expect(await keys({ state: ['resume'] })).toEqual(['resume']);
    expect(await keys({ state: ['stop'] })).toEqual([]);
    expect(await keys({ category: ['marketing_messages'], contact: '16315551181' })).toEqual(['resume']);
    expect(await keys({ contact: '1999' })).toEqual([]);
    expect(await keys({ businessAccountId: '102290129340398' })).toEqual(['resume']);
  });

  it('rebuilds consent and health to exactly the incremental rows', async () => {
    const batches = accountStateBatches();
    await record(batches.slice(0, 4));
    await record([[lateStop()], ...batches.slice(4)]);
    const incremental = await snapshot();
    await store.projections.rebuild({ batchSize: 2 });
    expect(await snapshot()).toBe(incremental);
  });
}
