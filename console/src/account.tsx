/**
 * Account state screens: "Account health" (phone numbers, business accounts and Flows as Meta
 * last reported them, with a timeline of changes) and "Consent" (each contact's latest
 * stop/resume per category). Both read only `/api/health` and `/api/consent`.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { asPage } from './api.js';
import { formatPhone, plural } from './format.js';
import { Link } from './router.js';
import { statusTone } from './templates.js';
import { Badge, Empty, Facts, Loaded, PageHeader, Table, Time, useApi, type Tone } from './ui.js';

interface Fact {
  value: string;
  at: string;
  eventId: string;
  detail?: string;
  reason?: string;
}

interface Change {
  eventId: string;
  type: string;
  at: string;
  kind?: string;
  status?: string;
  detail?: string;
  reason?: string;
}

interface PhoneNumberHealth {
  key: string;
  displayPhoneNumber: string;
  businessAccountId?: string;
  quality?: Fact;
  messagingLimit?: Fact;
  throughput?: Fact;
  displayName?: Fact;
  updatedAt: string;
  history: Change[];
}

interface BusinessAccountHealth {
  key: string;
  businessAccountId: string;
  status?: Fact;
  review?: Fact;
  alerts: Record<string, Fact>;
  capabilities?: { at: string; limits: Record<string, string | number | boolean> };
  security?: Fact;
  lastError?: Fact;
  updatedAt: string;
  history: Change[];
}

interface FlowHealth {
  key: string;
  flowId: string;
  status?: Fact;
  health: Record<string, Fact>;
  updatedAt: string;
  history: Change[];
}

interface HealthChange extends Change {
  entity: 'phone-number' | 'business-account' | 'flow' | 'template';
  key: string;
}

interface Health {
  phoneNumbers: PhoneNumberHealth[];
  businessAccounts: BusinessAccountHealth[];
  flows: FlowHealth[];
  timeline: HealthChange[];
}

interface Consent {
  key: string;
  businessAccountId?: string;
  contact: string;
  userId?: string;
  category: string;
  state: string;
  optedOut: boolean;
  changedAt: string;
  reason?: string;
  history: Change[];
}

/** How a reported value reads: bad, worth a look, fine. */
export function healthTone(value: string | undefined): Tone {
  const v = (value ?? '').toUpperCase();
  if (['FLAGGED', 'DOWNGRADE', 'REJECTED', 'DISABLED', 'BLOCKED', 'THROTTLED', 'ACCOUNT_VIOLATION', 'ACCOUNT_RESTRICTION', 'ACTIVATED', 'BANNED'].includes(v)) {
    return v === 'FLAGGED' || v === 'THROTTLED' || v === 'DOWNGRADE' || v === 'ACTIVATED' ? 'warn' : 'bad';
  }
  if (['UNFLAGGED', 'UPGRADE', 'APPROVED', 'VERIFIED_ACCOUNT', 'PUBLISHED', 'DEACTIVATED', 'RESOLVED', 'THROUGHPUT_UPGRADE'].includes(v)) return 'ok';
  if (['PENDING', 'ONBOARDING', 'DRAFT', 'ACTIVE', 'INFORMATIONAL'].includes(v)) return 'info';
  return statusTone(value);
}

function FactBadge({ fact, empty = 'not reported' }: { fact: Fact | undefined; empty?: string }): JSX.Element {
  if (!fact) return <span class="muted">{empty}</span>;
  return (
    <span>
      <Badge tone={healthTone(fact.value)}>{fact.value}</Badge>
      {fact.detail ? <span class="muted small"> {fact.detail}</span> : null}
      {fact.reason ? <span class="muted small"> · {fact.reason}</span> : null}{' '}
      <span class="small muted">
        <Time value={fact.at} />
      </span>
    </span>
  );
}

function PhoneCard({ p }: { p: PhoneNumberHealth }): JSX.Element {
  return (
    <article class="template" aria-label={`Phone number ${p.displayPhoneNumber}`} data-entity="phone-number">
      <div class="template-name">{formatPhone(p.displayPhoneNumber)}</div>
      <Facts
        items={[
          ['Quality', <FactBadge fact={p.quality} />],
          ['Messaging limit', <FactBadge fact={p.messagingLimit} />],
          ['Throughput', <FactBadge fact={p.throughput} empty="standard" />],
          ['Display name', <FactBadge fact={p.displayName} />],
          ['Business account', p.businessAccountId],
        ]}
      />
    </article>
  );
}

function AccountCard({ a }: { a: BusinessAccountHealth }): JSX.Element {
  const alerts = Object.entries(a.alerts);
  const limits = a.capabilities ? Object.entries(a.capabilities.limits) : [];
  return (
    <article class="template" aria-label={`Business account ${a.businessAccountId}`} data-entity="business-account">
      <div class="template-name">Business account {a.businessAccountId}</div>
      <Facts
        items={[
          ['Status', <FactBadge fact={a.status} />],
          ['Review', <FactBadge fact={a.review} />],
          ['Security', <FactBadge fact={a.security} empty="no event" />],
          ['Errors', a.lastError ? <FactBadge fact={a.lastError} /> : undefined],
          [
            'Alerts',
            alerts.length === 0 ? (
              <span class="muted">none</span>
            ) : (
              <ul class="plain">
                {alerts.map(([type, f]) => (
                  <li key={type}>
                    {type}: <FactBadge fact={f} />
                  </li>
                ))}
              </ul>
            ),
          ],
          ['Capabilities', limits.length === 0 ? undefined : limits.map(([k, v]) => `${k.replace(/_/g, ' ')} ${String(v)}`).join(' · ')],
        ]}
      />
    </article>
  );
}

function FlowCard({ f }: { f: FlowHealth }): JSX.Element {
  const alerts = Object.entries(f.health);
  return (
    <article class="template" aria-label={`Flow ${f.flowId}`} data-entity="flow">
      <div class="template-name">Flow {f.flowId}</div>
      <Facts
        items={[
          ['Status', <FactBadge fact={f.status} />],
          ...alerts.map(([kind, fact]): [string, JSX.Element] => [kind.replace(/_/g, ' ').toLowerCase(), <FactBadge fact={fact} />]),
        ]}
      />
    </article>
  );
}

const ENTITY_LABEL: Record<HealthChange['entity'], string> = {
  'phone-number': 'phone number',
  'business-account': 'business account',
  flow: 'Flow',
  template: 'template',
};

function Timeline({ changes }: { changes: HealthChange[] }): JSX.Element {
  if (changes.length === 0) return <Empty>No changes reported yet.</Empty>;
  return (
    <Table label="Timeline of account health changes" columns={['When', 'What', 'Event', 'Value', 'Detail']}>
      {changes.map((c) => (
        <tr key={`${c.entity}:${c.eventId}`}>
          <td>
            <Time value={c.at} />
          </td>
          <td>
            {ENTITY_LABEL[c.entity]} {c.entity === 'template' ? <Link href={`/templates/${encodeURIComponent(c.key)}`}>{c.key}</Link> : c.key}
          </td>
          <td>
            <Link href={`/events/${encodeURIComponent(c.eventId)}`}>{c.kind ?? c.type}</Link>
          </td>
          <td>{c.status ? <Badge tone={healthTone(c.status)}>{c.status}</Badge> : <span class="muted">—</span>}</td>
          <td class="small">{[c.detail, c.reason].filter(Boolean).join(' · ')}</td>
        </tr>
      ))}
    </Table>
  );
}

export function AccountHealth(): JSX.Element {
  const state = useApi<Health>('/api/health', { pollMs: 30_000 });
  return (
    <>
      <PageHeader title="Account health">
        {state.data && (
          <span class="muted small">
            {plural(state.data.phoneNumbers.length, 'phone number')} · {plural(state.data.businessAccounts.length, 'business account')} ·{' '}
            {plural(state.data.flows.length, 'Flow')}
          </span>
        )}
      </PageHeader>
      <Loaded state={state} what="account health" endpoint="GET /api/health">
        {(h) => (
          <>
            <section aria-labelledby="h-now" class="grid">
              <h2 id="h-now">Now</h2>
              {h.phoneNumbers.length + h.businessAccounts.length + h.flows.length === 0 ? (
                <Empty>No account, phone number or Flow updates yet. Subscribe the app to the management fields to see them here.</Empty>
              ) : (
                <div class="template-grid">
                  {h.businessAccounts.map((a) => (
                    <AccountCard a={a} key={a.key} />
                  ))}
                  {h.phoneNumbers.map((p) => (
                    <PhoneCard p={p} key={p.key} />
                  ))}
                  {h.flows.map((f) => (
                    <FlowCard f={f} key={f.key} />
                  ))}
                </div>
              )}
            </section>
            <section aria-labelledby="h-timeline" class="grid">
              <h2 id="h-timeline">Timeline</h2>
              <Timeline changes={h.timeline} />
            </section>
          </>
        )}
      </Loaded>
    </>
  );
}

export function ConsentList(): JSX.Element {
  const [stateFilter, setStateFilter] = useState('');
  const [contact, setContact] = useState('');
  const query: Record<string, string | number> = { limit: 1000 };
  if (stateFilter !== '') query.state = stateFilter;
  if (contact.trim() !== '') query.contact = contact.trim();
  const state = useApi<unknown>('/api/consent', { query, pollMs: 30_000 });
  const rows = useMemo(() => (state.data === undefined ? [] : asPage<Consent>(state.data).items), [state.data]);
  const stopped = rows.filter((r) => r.optedOut).length;
  return (
    <>
      <PageHeader title="Consent">
        {state.data !== undefined && (
          <span class="muted small">
            {plural(rows.length, 'choice')} · {stopped} opted out
          </span>
        )}
      </PageHeader>
      <form class="panel filters" role="search" aria-label="Filter consent" onSubmit={(e) => e.preventDefault()}>
        <div class="field field-grow">
          <label for="c-contact">Contact</label>
          <input id="c-contact" value={contact} onChange={(e) => setContact((e.target as HTMLInputElement).value)} placeholder="wa_id or user id" />
        </div>
        <div class="field">
          <label for="c-state">Choice</label>
          <select id="c-state" value={stateFilter} onChange={(e) => setStateFilter((e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="stop">stop (opted out)</option>
            <option value="resume">resume</option>
          </select>
        </div>
      </form>
      <Loaded state={state} what="consent" endpoint="GET /api/consent">
        {() =>
          rows.length === 0 ? (
            <Empty>No stop or resume from any contact yet (Meta `user_preferences`).</Empty>
          ) : (
            <Table label="Consent per contact and category" columns={['Contact', 'Category', 'Choice', 'Since', 'Detail', 'Changes']}>
              {rows.map((r) => (
                <tr key={r.key} data-opted-out={String(r.optedOut)}>
                  <td>{formatPhone(r.contact)}</td>
                  <td>{r.category.replace(/_/g, ' ')}</td>
                  <td>
                    <Badge tone={r.optedOut ? 'bad' : 'ok'}>{r.optedOut ? 'opted out' : r.state === 'resume' ? 'resumed' : r.state}</Badge>
                  </td>
                  <td>
                    <Time value={r.changedAt} />
                  </td>
                  <td class="small">{r.reason ?? ''}</td>
                  <td class="small">
                    {r.history
                      .slice()
                      .reverse()
                      .map((h) => `${h.status ?? '?'} ${new Date(h.at).toISOString().slice(0, 16).replace('T', ' ')}`)
                      .join(' ← ')}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
    </>
  );
}
