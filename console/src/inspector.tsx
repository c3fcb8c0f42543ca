/**
 * Event inspector: the normalized event, the POST it came from exactly as received (body and
 * headers, secrets masked), the journal row, and why that POST produced the events it did.
 */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { Summary, TypeBadge, summaryText } from './events-view.js';
import { formatBytes, formatPhone } from './format.js';
import { HeadersTable, JournalFacts, RawBody, verifiedByText } from './journal-view.js';
import { Link, seg } from './router.js';
import type { ApiEvent, EventDetail, JournalDetail, JournalRow, StoredEvent } from './types.js';
import { Badge, ErrorNote, Facts, JsonBlock, Loaded, Loading, PageHeader, Table, Time, isNotFound, useApi } from './ui.js';

/** One item of a POST body: a message, a status, or a management change. */
interface BodyItem {
  where: string;
  what: string;
  value: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

function describeMessage(m: unknown): string {
  if (!isObject(m)) return 'message';
  return `message (${str(m.type) || 'no type'}) ${str(m.id)}`.trim();
}

function describeStatus(s: unknown): string {
  if (!isObject(s)) return 'status';
  if (s.template_id !== undefined || s.template_name !== undefined) {
    return `template notification ${str(s.template_name) || str(s.template_id)} → ${str(s.status) || str(s.event)}`;
  }
  return `status "${str(s.status)}" for ${str(s.id)}`;
}

/** The items a body carries, in the order the normalizer reads them. */
export function itemsOf(body: unknown): { items: BodyItem[]; shape: string; contacts: number } {
  const items: BodyItem[] = [];
  let contacts = 0;
  if (!isObject(body)) return { items, shape: 'not a JSON object', contacts };
  if (body.object !== undefined || Array.isArray(body.entry)) {
    arr(body.entry).forEach((entry, i) => {
      if (!isObject(entry)) return;
      arr(entry.changes).forEach((change, j) => {
        if (!isObject(change)) return;
        const field = str(change.field);
        const value = change.value;
        const at = `entry[${i}].changes[${j}]`;
        if (field === 'messages' && isObject(value)) {
          contacts += arr(value.contacts).length;
          const messages = arr(value.messages);
          const statuses = arr(value.statuses);
          messages.forEach((m, k) => items.push({ where: `${at}.value.messages[${k}]`, what: describeMessage(m), value: m }));
          statuses.forEach((s, k) => items.push({ where: `${at}.value.statuses[${k}]`, what: describeStatus(s), value: s }));
          if (messages.length === 0 && statuses.length === 0) items.push({ where: `${at}.value`, what: 'messages change without messages or statuses', value });
        } else {
          items.push({ where: `${at}.value`, what: `"${field}" change`, value });
        }
      });
    });
    return { items, shape: 'Meta envelope (whatsapp_business_account)', contacts };
  }
  contacts = arr(body.contacts).length;
  arr(body.messages).forEach((m, k) => items.push({ where: `messages[${k}]`, what: describeMessage(m), value: m }));
  arr(body.statuses).forEach((s, k) => items.push({ where: `statuses[${k}]`, what: describeStatus(s), value: s }));
  return { items, shape: 'EnableX flat body', contacts };
}

/** JSON with sorted keys, to compare an item with an event's `data`. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function Explain({ detail, journal }: { detail: EventDetail; journal: JournalDetail | undefined }): JSX.Element {
  const row: JournalRow | undefined = journal ?? detail.journal;
  const parsed = useMemo(() => {
    const text = row?.body?.text;
    if (text === undefined) return undefined;
    try {
      return itemsOf(JSON.parse(text));
    } catch {
      return undefined;
    }
  }, [row?.body?.text]);

  if (!row) return <p class="muted">The journal row of this event is not available.</p>;
  const own = journal?.events ?? [];
  const byData = new Map<string, StoredEvent[]>();
  for (const s of own) {
    const key = canonical(s.event.data);
    byData.set(key, [...(byData.get(key) ?? []), s]);
  }
  const duplicatesInRow = row.eventCount - row.newEventCount;
  const unknown = own.filter((s) => s.event.type === 'unknown');
  const provider = detail.event.provider === 'meta' ? 'Meta Cloud API' : 'EnableX';

  return (
    <>
      <ol class="explain">
        <li>
          <strong>Received</strong> <Time value={row.receivedAt} ms /> on channel <code>{row.channel}</code>
          {row.remoteAddress ? (
            <>
              {' '}
              from <code>{row.remoteAddress}</code>
            </>
          ) : null}
          ; <strong>verified by</strong> {verifiedByText(row.verifiedBy)}. It was journaled (committed to disk) before the 200.
        </li>
        <li>
          <strong>Body</strong>: {formatBytes(row.body?.size ?? row.size)}
          {parsed ? `, ${/^[AEIOU]/.test(parsed.shape) ? 'an' : 'a'} ${parsed.shape}` : ''}, read as {provider}
          {parsed ? (
            <>
              {' '}
              carrying <strong>{parsed.items.length}</strong> item{parsed.items.length === 1 ? '' : 's'}
              {parsed.contacts > 0 ? ` (and ${parsed.contacts} contacts[] entr${parsed.contacts === 1 ? 'y' : 'ies'}, used for sender names)` : ''}
            </>
          ) : null}
          .
        </li>
        <li>
          <strong>Result</strong>: {row.eventCount} event{row.eventCount === 1 ? '' : 's'}: {row.newEventCount} new
          {duplicatesInRow > 0 ? `, ${duplicatesInRow} already stored from earlier POSTs (a redelivery)` : ''}
          {unknown.length > 0 ? `, ${unknown.length} of type unknown (kept, not modelled)` : ''}; the row is <Badge tone={row.state === 'processed' ? 'ok' : row.state === 'duplicate' ? 'neutral' : 'bad'}>{row.state}</Badge>
          {row.cause ? ` (${row.cause})` : ''}.
        </li>
        {detail.duplicates > 0 && (
          <li>
            <strong>Redeliveries</strong>: this event arrived again in {detail.duplicates} later POST{detail.duplicates === 1 ? '' : 's'}; they were journaled and counted, and added no event.
          </li>
        )}
      </ol>
      {parsed && parsed.items.length > 0 ? (
        <Table label="Items of the POST and the events they became" columns={['Item', 'What', 'Became']}>
          {parsed.items.map((item) => {
            const matches = byData.get(canonical(item.value)) ?? [];
            return (
              <tr key={item.where}>
                <td data-label="Item" class="mono">
                  {item.where}
                </td>
                <td data-label="What">{item.what}</td>
                <td data-label="Became">
                  {matches.length > 0 ? (
                    matches.map((m) => (
                      <div key={m.event.id}>
                        <TypeBadge type={m.event.type} />{' '}
                        {m.event.id === detail.event.id ? (
                          <strong>this event</strong>
                        ) : (
                          <Link href={`/events/${seg(m.event.id)}`}>{summaryText(m.event)}</Link>
                        )}
                        {m.event.type === 'unknown' && <span class="small muted"> · unknown: kept as is</span>}
                      </div>
                    ))
                  ) : duplicatesInRow > 0 ? (
                    <Badge tone="neutral">duplicate: already stored</Badge>
                  ) : (
                    <span class="muted">no event of its own</span>
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      ) : own.length > 0 ? (
        <ul>
          {own.map((s) => (
            <li key={s.event.id}>
              <TypeBadge type={s.event.type} /> <Link href={`/events/${seg(s.event.id)}`}>{summaryText(s.event)}</Link>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function eventFacts(e: ApiEvent): Array<[string, JSX.Element | string | undefined]> {
  return [
    ['Event id', <span class="mono">{e.id}</span>],
    ['Provider', e.provider],
    ['Channel', e.channel],
    ['Occurred', e.occurredAt ? <Time value={e.occurredAt} ms /> : undefined],
    ['Received', <Time value={e.receivedAt} ms />],
    ['Business number', e.displayPhoneNumber ? formatPhone(e.displayPhoneNumber) : undefined],
    ['Phone number id', e.phoneNumberId],
    ['Business account', e.businessAccountId],
    ['From', e.from ? `${formatPhone(e.from)}${e.contactName ? ` (${e.contactName})` : ''}` : undefined],
    ['Recipient', e.recipientId ? formatPhone(e.recipientId) : undefined],
    ['Kind', e.kind],
    ['Status', e.status],
    ['Message', e.messageId ? <Link href={`/messages/${seg(e.messageId)}`}>{e.messageId}</Link> : undefined],
    ['Reacted to', e.targetMessageId ? <Link href={`/messages/${seg(e.targetMessageId)}`}>{e.targetMessageId}</Link> : undefined],
    ['In reply to', e.contextMessageId ? <Link href={`/messages/${seg(e.contextMessageId)}`}>{e.contextMessageId}</Link> : undefined],
    ['Emoji', e.type === 'message.reaction' ? e.emoji || '(removed)' : undefined],
    ['Error codes', e.errorCodes?.length ? e.errorCodes.join(', ') : undefined],
    ['Template', e.templateName ?? e.templateId],
    ['Language', e.language],
    ['Reason', e.reason],
  ];
}

export function Inspector({ id }: { id: string }): JSX.Element {
  const state = useApi<EventDetail>(`/api/events/${seg(id)}`);
  const journalId = state.data?.journalId;
  const journal = useApi<JournalDetail>(journalId === undefined ? null : `/api/journal/${journalId}`);

  if (isNotFound(state.error)) {
    return (
      <>
        <PageHeader title="Event" />
        <p class="state state-empty">
          No event with id <code>{id}</code> is stored. <Link href="/live">Back to the live feed</Link>
        </p>
      </>
    );
  }

  return (
    <>
      <PageHeader title="Event">
        <Link href="/live" class="btn btn-ghost">
          Live feed
        </Link>
      </PageHeader>
      <Loaded state={state} what="the event" endpoint="GET /api/events/{id}">
        {(detail) => {
          const e = detail.event;
          const row = journal.data ?? detail.journal;
          return (
            <>
              <section class="panel" aria-labelledby="ev-summary">
                <div class="panel-head">
                  <h2 id="ev-summary" class="section-title">
                    <TypeBadge type={e.type} /> <Summary event={e} />
                  </h2>
                  {e.messageId && (
                    <Link href={`/messages/${seg(e.messageId)}`} class="btn btn-small">
                      Message timeline
                    </Link>
                  )}
                </div>
                <Facts items={eventFacts(e)} />
              </section>

              <section class="panel" aria-labelledby="ev-explain">
                <h2 id="ev-explain">Explain: why this POST produced these events</h2>
                {journal.loading && !journal.data ? <Loading /> : null}
                {journal.error !== undefined && !isNotFound(journal.error) ? <ErrorNote error={journal.error} what="the journal row" /> : null}
                <Explain detail={detail} journal={journal.data} />
              </section>

              <div class="grid grid-2">
                <section class="panel" aria-labelledby="ev-raw">
                  <h2 id="ev-raw">Raw body</h2>
                  <RawBody body={row?.body} />
                </section>
                <section class="panel" aria-labelledby="ev-headers">
                  <h2 id="ev-headers">Headers</h2>
                  {row ? <HeadersTable headers={row.headers} /> : <p class="muted">Not available.</p>}
                </section>
              </div>

              <div class="grid grid-2">
                <section class="panel" aria-labelledby="ev-journal">
                  <h2 id="ev-journal">Journal row</h2>
                  {row ? <JournalFacts row={row} duplicates={detail.duplicates} /> : <p class="muted">Not available.</p>}
                </section>
                <section class="panel" aria-labelledby="ev-json">
                  <h2 id="ev-json">Normalized event</h2>
                  <JsonBlock value={e} label="Normalized event as JSON" />
                </section>
              </div>
            </>
          );
        }}
      </Loaded>
    </>
  );
}
