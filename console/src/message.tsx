/**
 * Message timeline: the status steps of one message with their times and the gaps between
 * them, failures with their error codes and titles, and the reactions on it. Plus a lookup
 * screen listing recent and failed messages.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { asPage } from './api.js';
import { errorTitle, errorsOfItem, type ItemError } from './errors-catalog.js';
import { formatDuration, formatPhone, formatTime, toMs } from './format.js';
import { Link, navigate, seg } from './router.js';
import type { EventDetail, Message, MessageDetail, Reaction, StatusEntry } from './types.js';
import { Badge, Empty, Facts, Loaded, PageHeader, Table, Ticks, Time, isNotFound, useApi } from './ui.js';

const STEPS = ['sent', 'delivered', 'read', 'played'] as const;

/** `{ ...message, reactions }`, or `{ message, reactions }`. */
function messageDetail(body: MessageDetail | (Message & { reactions?: Reaction[] })): MessageDetail {
  if ('message' in body && body.message && typeof body.message === 'object') return body as MessageDetail;
  const { reactions, ...message } = body as Message & { reactions?: Reaction[] };
  return { message, reactions: reactions ?? [] };
}

function Steps({ message }: { message: Message }): JSX.Element {
  // A failed message will not reach the steps it has not reached: show the ones it did, then the failure.
  const failed = message.status === 'failed';
  const shown = STEPS.filter((s) => (s !== 'played' || message.steps.played !== undefined) && (!failed || message.steps[s] !== undefined));
  let previous: { name: string; at: number } | undefined;
  return (
    <ol class="steps" aria-label="Status steps">
      {shown.map((name) => {
        const step = message.steps[name];
        const at = toMs(step?.at);
        const gap = at !== undefined && previous !== undefined ? at - previous.at : undefined;
        const gapFrom = previous?.name;
        const item = (
          <li class={`step${step ? ' reached' : ''}`} key={name} data-step={name} data-reached={step ? 'true' : 'false'}>
            <div class="step-mark">
              <span class="step-dot">
                <Ticks status={step ? name : 'pending'} label={false} />
              </span>
              <span class="step-line" aria-hidden="true" />
            </div>
            <div class="step-name">{name[0]!.toUpperCase() + name.slice(1)}</div>
            <div class="step-time">
              {step ? (
                <>
                  <Time value={step.at} />
                  {step.implied && <span class="muted small"> (implied by a later step)</span>}
                </>
              ) : (
                <span class="muted">not yet</span>
              )}
            </div>
            <div class="step-gap">{gap !== undefined && gapFrom !== undefined ? `+${formatDuration(gap)} after ${gapFrom}` : '\u00a0'}</div>
          </li>
        );
        if (at !== undefined) previous = { name, at };
        return item;
      })}
      {failed && (
        <li class="step step-failed" data-step="failed" data-reached="true">
          <div class="step-mark">
            <span class="step-dot">
              <Ticks status="failed" label={false} />
            </span>
          </div>
          <div class="step-name">Failed</div>
          <div class="step-time">{message.failure ? <Time value={message.failure.at} /> : null}</div>
          <div class="step-gap">{message.failure && message.failure.errorCodes.length > 0 ? `error ${message.failure.errorCodes.join(', ')}` : '\u00a0'}</div>
        </li>
      )}
    </ol>
  );
}

function FailureDetails({ entry }: { entry: StatusEntry }): JSX.Element {
  const state = useApi<EventDetail>(`/api/events/${seg(entry.eventId)}`);
  const fromItem = errorsOfItem(state.data?.event.data);
  const codes = entry.errorCodes ?? [];
  const errors: ItemError[] =
    fromItem.length > 0
      ? fromItem
      : codes.map((code) => {
          const title = errorTitle(code);
          return title === undefined ? { code } : { code, title };
        });
  return (
    <div class="failure" data-testid="failure">
      <h3>
        Failed <Time value={entry.occurredAt ?? entry.receivedAt} />
      </h3>
      {errors.length === 0 ? (
        <p class="small">No error code was given.</p>
      ) : (
        <ul class="error-list">
          {errors.map((e, i) => (
            <li key={i}>
              <strong class="mono">{e.code ?? '?'}</strong> {e.title ?? (e.code !== undefined ? errorTitle(e.code) : undefined) ?? 'Unknown error'}
              {e.message && e.message !== e.title ? <span class="muted"> · {e.message}</span> : null}
              {e.details ? <div class="small">{e.details}</div> : null}
            </li>
          ))}
        </ul>
      )}
      <p class="small">
        <Link href={`/events/${seg(entry.eventId)}`}>Inspect the failed status</Link>
      </p>
    </div>
  );
}

function Reactions({ reactions }: { reactions: Reaction[] }): JSX.Element {
  if (reactions.length === 0) return <p class="muted">No reactions.</p>;
  return (
    <ul class="reactions" aria-label="Reactions">
      {reactions.map((r) => (
        <li class="reaction" key={r.key}>
          <span class="emoji" role="img" aria-label={`reaction ${r.emoji}`}>
            {r.emoji}
          </span>
          <span>
            {formatPhone(r.from)} · <Time value={r.at} />
          </span>
        </li>
      ))}
    </ul>
  );
}

function TimelineTable({ entries }: { entries: StatusEntry[] }): JSX.Element {
  if (entries.length === 0) return <Empty>No status notification yet.</Empty>;
  return (
    <Table label="Every status notification" columns={['Status', 'Occurred', 'Received', 'Notice delay', 'Errors', 'Event']}>
      {entries.map((e) => {
        const occurred = toMs(e.occurredAt);
        const received = toMs(e.receivedAt);
        return (
          <tr key={e.eventId} data-status={e.status}>
            <td data-label="Status">
              <Ticks status={e.status} />
            </td>
            <td data-label="Occurred" class="nowrap">
              <Time value={e.occurredAt} />
            </td>
            <td data-label="Received" class="nowrap">
              <Time value={e.receivedAt} />
            </td>
            <td data-label="Notice delay" class="num">
              {occurred !== undefined && received !== undefined ? formatDuration(received - occurred) : '—'}
            </td>
            <td data-label="Errors">{e.errorCodes?.length ? e.errorCodes.join(', ') : ''}</td>
            <td data-label="Event">
              <Link href={`/events/${seg(e.eventId)}`} class="mono small">
                {e.eventId.slice(0, 14)}…
              </Link>
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

export function MessageTimeline({ id }: { id: string }): JSX.Element {
  const state = useApi<MessageDetail | (Message & { reactions?: Reaction[] })>(`/api/messages/${seg(id)}`, { pollMs: 5_000 });
  if (isNotFound(state.error)) {
    return (
      <>
        <PageHeader title="Message" />
        <Empty>
          No message with id <code>{id}</code> is known yet. <Link href="/messages">Look up another</Link>
        </Empty>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Message">
        <Link href="/messages" class="btn btn-ghost">
          All messages
        </Link>
      </PageHeader>
      <Loaded state={state} what="the message" endpoint="GET /api/messages/{id}">
        {(body) => {
          const { message: m, reactions } = messageDetail(body);
          const failures = m.timeline.filter((e) => e.status === 'failed');
          const contact = m.inbound?.from ?? m.recipientId;
          return (
            <>
              <section class="panel" aria-labelledby="msg-head">
                <div class="panel-head">
                  <h2 id="msg-head" class="section-title">
                    <Badge tone={m.direction === 'inbound' ? 'info' : 'neutral'}>{m.direction}</Badge>
                    <span class="mono">{m.id}</span>
                  </h2>
                  {m.direction === 'outbound' && (
                    <span data-testid="current-status">
                      <Ticks status={m.status} />
                    </span>
                  )}
                </div>
                <Facts
                  items={[
                    ['Sent at', <Time value={m.occurredAt} />],
                    [m.direction === 'inbound' ? 'From' : 'To', contact ? `${formatPhone(contact)}${m.inbound?.contactName ? ` (${m.inbound.contactName})` : ''}` : undefined],
                    ['Conversation', m.conversationKey ? <Link href={`/conversations/${seg(m.conversationKey)}`}>{m.conversationKey}</Link> : undefined],
                    ['Kind', m.inbound?.kind],
                    ['Text', m.inbound?.text ?? m.outbound?.text ?? m.tracked?.text],
                    ['Template', m.tracked?.templateName !== undefined ? `${m.tracked.templateName}${m.tracked.templateLanguage !== undefined ? ` (${m.tracked.templateLanguage})` : ''}` : undefined],
                    ['Callback data', m.tracked?.bizOpaqueCallbackData !== undefined ? <span class="mono">{m.tracked.bizOpaqueCallbackData}</span> : undefined],
                    ['Tags', m.tracked?.tags !== undefined && m.tracked.tags.length > 0 ? m.tracked.tags.join(', ') : undefined],
                    ['Recorded by', m.tracked !== undefined ? <>{m.tracked.recordedBy}, <Time value={m.tracked.recordedAt} /></> : undefined],
                    ['In reply to', m.inbound?.contextMessageId ? <Link href={`/messages/${seg(m.inbound.contextMessageId)}`}>{m.inbound.contextMessageId}</Link> : undefined],
                    ['Received event', m.inbound ? <Link href={`/events/${seg(m.inbound.eventId)}`}>inspect</Link> : undefined],
                  ]}
                />
              </section>
              {m.direction === 'outbound' && (
                <section class="panel" aria-labelledby="msg-steps">
                  <h2 id="msg-steps">Status steps</h2>
                  <Steps message={m} />
                </section>
              )}
              {failures.length > 0 && (
                <section class="panel" aria-labelledby="msg-fail">
                  <h2 id="msg-fail">Failures</h2>
                  {failures.map((f) => (
                    <FailureDetails entry={f} key={f.eventId} />
                  ))}
                </section>
              )}
              <section class="panel" aria-labelledby="msg-reactions">
                <h2 id="msg-reactions">Reactions</h2>
                <Reactions reactions={reactions} />
              </section>
              {m.direction === 'outbound' && (
                <section class="panel" aria-labelledby="msg-timeline">
                  <h2 id="msg-timeline">Every notification ({m.timeline.length})</h2>
                  <TimelineTable entries={m.timeline} />
                </section>
              )}
            </>
          );
        }}
      </Loaded>
    </>
  );
}

function MessageList({ status, title }: { status?: string; title: string }): JSX.Element {
  const [after, setAfter] = useState<string | number | undefined>(undefined);
  const state = useApi<unknown>('/api/messages', { query: { limit: 50, status, after } });
  const page = state.data === undefined ? undefined : asPage<Message>(state.data);
  return (
    <section class="panel" aria-label={title}>
      <div class="panel-head">
        <h2>{title}</h2>
        {page?.next !== undefined && (
          <button type="button" class="btn btn-small" onClick={() => setAfter(page.next)}>
            Next page
          </button>
        )}
      </div>
      <Loaded state={state} what={title.toLowerCase()} endpoint="GET /api/messages">
        {(body) => {
          const items = asPage<Message>(body).items;
          if (items.length === 0) return <Empty>None.</Empty>;
          return (
            <Table label={title} columns={['Message', 'Direction', 'Contact', 'Status', 'Time']}>
              {items.map((m) => (
                <tr key={m.id}>
                  <td data-label="Message" class="truncate">
                    <Link href={`/messages/${seg(m.id)}`} class="mono small">
                      {m.id}
                    </Link>
                  </td>
                  <td data-label="Direction">{m.direction}</td>
                  <td data-label="Contact">{formatPhone(m.inbound?.from ?? m.recipientId)}</td>
                  <td data-label="Status">{m.direction === 'outbound' ? <Ticks status={m.status} /> : m.inbound?.kind}</td>
                  <td data-label="Time" class="nowrap">
                    {formatTime(m.occurredAt)}
                  </td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Loaded>
    </section>
  );
}

export function MessageLookup(): JSX.Element {
  const [id, setId] = useState('');
  const go = (e: Event): void => {
    e.preventDefault();
    if (id.trim() !== '') navigate(`/messages/${seg(id.trim())}`);
  };
  return (
    <>
      <PageHeader title="Messages" />
      <form class="panel lookup" role="search" onSubmit={go}>
        <div class="field field-grow">
          <label for="msg-id">Message id</label>
          <input id="msg-id" value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} placeholder="wamid.… or the provider's message id" spellcheck={false} />
        </div>
        <button class="btn btn-primary" type="submit" disabled={id.trim() === ''}>
          Show timeline
        </button>
      </form>
      <MessageList status="failed" title="Failed messages" />
      <MessageList title="Messages" />
    </>
  );
}
