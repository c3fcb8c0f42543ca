/**
 * Conversations: the list (last message, unread inbound count, time left in the 24-hour
 * customer-service window) and one conversation read like a chat: inbound and outbound
 * bubbles, ticks, reactions, media as cards.
 */
import { Fragment, type JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, asPage } from './api.js';
import { errorTitle } from './errors-catalog.js';
import { formatClock, formatDuration, formatPhone, formatRelative, formatTime, plural, toMs } from './format.js';
import { Link, seg } from './router.js';
import type { ApiEvent, Contact, Conversation, Message, StoredEvent } from './types.js';
import { messageBody } from './events-view.js';
import { Empty, ErrorNote, Loading, NotAvailable, PageHeader, Ticks, Time, isUnavailable, useApi } from './ui.js';

const MEDIA_KINDS = new Set(['image', 'video', 'audio', 'document', 'sticker', 'voice']);
const MAX_PAGES = 10;
const MEDIA_LABELS: Record<string, string> = { image: 'IMG', video: 'VID', audio: 'AUD', voice: 'AUD', document: 'DOC', sticker: 'STK' };

/** Reads every page of a list (bounded), following `next`. */
async function readAll<T>(path: string, query: Record<string, string | number | undefined>, signal: AbortSignal, maxPages = MAX_PAGES): Promise<T[]> {
  let items: T[] = [];
  let after: string | number | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = asPage<T>(await api(path, { signal, query: { ...query, limit: query.limit ?? 500, ...(after !== undefined ? { after } : {}) } }));
    items = items.concat(page.items);
    if (page.next === undefined) break;
    after = page.next;
  }
  return items;
}

interface Loadable<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
}

function useLoader<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>, pollMs?: number): Loadable<T> {
  const [state, setState] = useState<Loadable<T>>({ loading: key !== null });
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    if (key === null) return;
    setState({ loading: true });
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const data = await loader.current(controller.signal);
        if (!controller.signal.aborted) setState({ data, loading: false });
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, error, loading: false }));
        if (error instanceof ApiError && (error.unavailable || error.status === 401)) return;
      }
      if (pollMs !== undefined && !controller.signal.aborted) timer = setTimeout(() => void run(), pollMs);
    };
    void run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, pollMs]);
  return state;
}

function windowInfo(c: Pick<Conversation, 'windowOpenUntil'>, now: number): { text: string; cls: string; open: boolean } {
  const until = toMs(c.windowOpenUntil);
  if (until === undefined) return { text: 'No customer message yet: templates only', cls: 'window-closed', open: false };
  const left = until - now;
  if (left <= 0) return { text: `Window closed ${formatDuration(-left)} ago`, cls: 'window-closed', open: false };
  return { text: `${formatDuration(left)} left`, cls: left < 2 * 3_600_000 ? 'window-closing' : 'window-open', open: true };
}

function initials(name: string): string {
  const letters = name
    .split(/\s+/)
    .filter((w) => /\p{L}/u.test(w[0] ?? ''))
    .map((w) => w[0]!.toUpperCase());
  if (letters.length > 0) return letters.slice(0, 2).join('');
  return name.replace(/\D/g, '').slice(-2) || '?';
}

function lastText(c: Conversation): string {
  const inbound = c.lastInbound;
  const outboundAt = toMs(c.lastOutbound?.at);
  const inboundAt = toMs(inbound?.at);
  if (outboundAt !== undefined && (inboundAt === undefined || outboundAt > inboundAt)) return 'You: outbound message';
  if (!inbound) return '';
  return messageBody(inbound);
}

/** The configured name per business phone number (`GET /api/labels`). */
type Labels = Readonly<Record<string, string>>;

/**
 * How a business number is shown: its configured label, then its display number (Meta's
 * phone-number id is an id, never shown as if it were a phone number).
 */
export function businessTitle(businessNumber: string, displayNumber: string | undefined, labels: Labels): string {
  const label = labels[businessNumber] ?? (displayNumber !== undefined ? (labels[displayNumber] ?? labels[`+${displayNumber}`]) : undefined);
  const number = displayNumber !== undefined ? formatPhone(displayNumber) : formatPhone(businessNumber);
  return label !== undefined ? `${label} · ${number}` : number;
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

function ConversationList({ list, names, selected, now }: { list: Conversation[]; names: Map<string, string>; selected?: string; now: number }): JSX.Element {
  if (list.length === 0) return <Empty>No conversations yet. They start with the first message to or from a customer.</Empty>;
  return (
    <ul class="conv-list" aria-label="Conversations, most recent first">
      {list.map((c) => {
        const name = names.get(c.contact) ?? formatPhone(c.contact);
        const w = windowInfo(c, now);
        return (
          <li key={c.key}>
            <Link href={`/conversations/${seg(c.key)}`} class="conv-item" aria-current={c.key === selected ? 'page' : undefined}>
              <span class="avatar" aria-hidden="true">
                {initials(name)}
              </span>
              <span class="conv-name">{name}</span>
              <span class="conv-time">{c.lastActivityAt ? formatRelative(c.lastActivityAt, now) : ''}</span>
              <span class="conv-last">{lastText(c) || ' '}</span>
              <span class="conv-meta">
                <span class={`window ${w.cls}`}>{w.open ? w.text : 'closed'}</span>
                {c.counts.unreadInbound > 0 && (
                  <span class="unread" aria-label={`${c.counts.unreadInbound} unanswered`}>
                    {c.counts.unreadInbound}
                  </span>
                )}
              </span>
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

interface MediaInfo {
  mime?: string;
  filename?: string;
  caption?: string;
}

function mediaOf(event: ApiEvent | undefined): MediaInfo {
  const data = event?.data;
  if (!data || typeof data !== 'object' || !event?.kind) return {};
  const media = (data as Record<string, unknown>)[event.kind];
  if (!media || typeof media !== 'object') return {};
  const m = media as Record<string, unknown>;
  const out: MediaInfo = {};
  if (typeof m.mime_type === 'string') out.mime = m.mime_type;
  if (typeof m.filename === 'string') out.filename = m.filename;
  if (typeof m.caption === 'string') out.caption = m.caption;
  return out;
}

function MediaCard({ kind, info }: { kind: string; info: MediaInfo }): JSX.Element {
  return (
    <div class="media-card" data-kind={kind}>
      <span class="media-icon" aria-hidden="true">
        {MEDIA_LABELS[kind] ?? kind.slice(0, 3)}
      </span>
      <span class="media-info">
        <span class="media-kind">{kind}</span>
        {info.filename && <span class="small">{info.filename}</span>}
        <span class="small muted">{info.mime ?? 'type not given'}</span>
      </span>
    </div>
  );
}

function LocationOrOther({ event }: { event: ApiEvent | undefined }): JSX.Element | null {
  const data = event?.data as Record<string, unknown> | undefined;
  if (!data || event?.kind !== 'location') return null;
  const loc = data.location as Record<string, unknown> | undefined;
  if (!loc) return null;
  return (
    <div class="media-card" data-kind="location">
      <span class="media-icon" aria-hidden="true">
        loc
      </span>
      <span class="media-info">
        <span class="media-kind">{typeof loc.name === 'string' ? loc.name : 'Location'}</span>
        <span class="small muted">
          {String(loc.latitude ?? '?')}, {String(loc.longitude ?? '?')}
          {typeof loc.address === 'string' ? ` · ${loc.address}` : ''}
        </span>
      </span>
    </div>
  );
}

function Bubble({ m, event, reactions }: { m: Message; event: ApiEvent | undefined; reactions: string[] }): JSX.Element {
  const inbound = m.direction === 'inbound';
  const kind = m.inbound?.kind ?? '';
  const failed = m.status === 'failed';
  const codes = m.failure?.errorCodes ?? [];
  return (
    <div
      class={`bubble ${inbound ? 'bubble-in' : 'bubble-out'}${failed ? ' bubble-failed' : ''}${reactions.length > 0 ? ' has-reactions' : ''}`}
      data-message-id={m.id}
      role="article"
      aria-label={`${inbound ? 'Customer' : 'Business'} message at ${formatClock(m.occurredAt)}`}
    >
      {inbound ? (
        <>
          {MEDIA_KINDS.has(kind) && <MediaCard kind={kind} info={mediaOf(event)} />}
          <LocationOrOther event={event} />
          {m.inbound?.text ? (
            <div class="bubble-text">{m.inbound.text}</div>
          ) : !MEDIA_KINDS.has(kind) && kind !== 'location' ? (
            <div class="bubble-placeholder">[{kind || 'message'}]</div>
          ) : null}
        </>
      ) : m.outbound ? (
        <>
          <div class="bubble-source small muted">{m.outbound.source === 'echo' ? 'Sent from the WhatsApp Business app' : 'From chat history'}</div>
          {m.outbound.text ? <div class="bubble-text">{m.outbound.text}</div> : <div class="bubble-placeholder">[{m.outbound.kind}]</div>}
        </>
      ) : (
        <div class={m.tracked?.text !== undefined ? 'bubble-outbound' : 'bubble-placeholder'}>
          {m.tracked?.templateName !== undefined && (
            <div class="small bubble-template">
              Template <strong>{m.tracked.templateName}</strong>
              {m.tracked.templateLanguage !== undefined ? ` (${m.tracked.templateLanguage})` : ''}
            </div>
          )}
          {m.tracked?.text !== undefined ? (
            <div class="bubble-text">{m.tracked.text}</div>
          ) : (
            <>
              Outbound message <span class="mono small">{m.id.length > 18 ? `${m.id.slice(0, 18)}…` : m.id}</span>
            </>
          )}
          {m.tracked?.tags !== undefined && m.tracked.tags.length > 0 && <div class="small muted bubble-tags">{m.tracked.tags.join(' · ')}</div>}
          {failed && codes.length > 0 && (
            <div class="small">
              Failed: {codes.map((c) => `${c} ${errorTitle(c) ?? ''}`.trim()).join('; ')}
            </div>
          )}
        </div>
      )}
      <div class="bubble-meta">
        <Link href={`/messages/${seg(m.id)}`} aria-label={`Timeline of message ${m.id}`}>
          <time dateTime={m.occurredAt} title={formatTime(m.occurredAt)}>
            {formatClock(m.occurredAt).slice(0, 5)}
          </time>
        </Link>
        {/* An echo was sent by the business app itself: no pending clock while no status came. */}
        {!inbound && (m.status !== undefined || !m.outbound) && <Ticks status={m.status} label={false} />}
      </div>
      {reactions.length > 0 && (
        <span class="bubble-reactions" role="img" aria-label={`Reactions: ${reactions.join(' ')}`}>
          {reactions.join('')}
        </span>
      )}
    </div>
  );
}

interface ChatData {
  conversation?: Conversation;
  messages: Message[];
  inbound: Map<string, ApiEvent>;
  reactions: Map<string, string[]>;
}

async function loadChat(key: string, signal: AbortSignal): Promise<ChatData> {
  const [conversation, messages] = await Promise.all([
    api<Conversation>(`/api/conversations/${seg(key)}`, { signal }).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404 && !error.unavailable) return undefined;
      throw error;
    }),
    readAll<Message>(`/api/conversations/${seg(key)}/messages`, {}, signal),
  ]);
  const contact = conversation?.contact ?? key.slice(key.indexOf(':') + 1);
  const business = conversation?.businessNumber ?? key.slice(0, key.indexOf(':'));
  const ofThisBusiness = (e: ApiEvent): boolean => (e.phoneNumberId ?? e.displayPhoneNumber) === business;
  // The customer's own events give media details and reactions (one request each, not one per message).
  const [received, reacted] = await Promise.all([
    readAll<StoredEvent>('/api/events', { type: 'message.received', from: contact }, signal, 4).catch(() => [] as StoredEvent[]),
    readAll<StoredEvent>('/api/events', { type: 'message.reaction', from: contact }, signal, 4).catch(() => [] as StoredEvent[]),
  ]);
  const inbound = new Map<string, ApiEvent>();
  for (const s of received) if (s.event.messageId && ofThisBusiness(s.event)) inbound.set(s.event.messageId, s.event);
  // The latest reaction of the customer per message; an empty emoji removes it.
  const latest = new Map<string, ApiEvent>();
  for (const s of reacted) {
    const e = s.event;
    if (!e.targetMessageId || !ofThisBusiness(e)) continue;
    const prev = latest.get(e.targetMessageId);
    if (!prev || (toMs(e.occurredAt ?? e.receivedAt) ?? 0) >= (toMs(prev.occurredAt ?? prev.receivedAt) ?? 0)) latest.set(e.targetMessageId, e);
  }
  const reactions = new Map<string, string[]>();
  for (const [target, e] of latest) if (e.emoji) reactions.set(target, [e.emoji]);
  const sorted = [...messages].sort((a, b) => (toMs(a.occurredAt) ?? 0) - (toMs(b.occurredAt) ?? 0));
  return { ...(conversation ? { conversation } : {}), messages: sorted, inbound, reactions };
}

/** The 72-hour free-entry-point window of a conversation begun from an ad, and who owns the thread. */
function FreeEntryAndOwner({ c, now }: { c: Conversation; now: number }): JSX.Element | null {
  const until = toMs(c.freeEntryWindowOpenUntil);
  const left = until === undefined ? undefined : until - now;
  if (left === undefined && !c.owner) return null;
  return (
    <>
      {left !== undefined && (
        <span class={`window ${left > 0 ? 'window-open' : 'window-closed'}`} title={c.ctwaClid ? `Ad click id ${c.ctwaClid}` : undefined}>
          {left > 0 ? `Ad entry 72 h: ${formatDuration(left)} left` : 'Ad entry window closed'}
        </span>
      )}
      {c.owner && (
        <span class="owner-badge small muted" title={`Handover ${c.owner.kind ?? ''} at ${formatTime(c.owner.at)}`}>
          Owner: {c.owner.role ?? c.owner.kind ?? 'changed'}
        </span>
      )}
    </>
  );
}

function dayLabel(ms: number): string {
  return new Date(ms).toLocaleDateString('en-US', { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
}

function Chat({ conversationKey, names, now, labels }: { conversationKey: string; names: Map<string, string>; now: number; labels: Labels }): JSX.Element {
  const chat = useLoader(conversationKey, (signal) => loadChat(conversationKey, signal), 10_000);
  const body = useRef<HTMLDivElement>(null);
  const count = chat.data?.messages.length ?? 0;
  useEffect(() => {
    if (body.current) body.current.scrollTop = body.current.scrollHeight;
  }, [count, conversationKey]);

  const contact = chat.data?.conversation?.contact ?? conversationKey.slice(conversationKey.indexOf(':') + 1);
  const name = names.get(contact);
  const w = chat.data?.conversation ? windowInfo(chat.data.conversation, now) : undefined;
  let lastDay = '';

  return (
    <section class="chat" aria-label={`Conversation with ${name ?? formatPhone(contact)}`}>
      <header class="chat-head">
        <Link href="/conversations" class="btn btn-small back-link">
          ← All
        </Link>
        <span class="avatar" aria-hidden="true">
          {initials(name ?? contact)}
        </span>
        <div class="grow">
          <h2>{name ?? formatPhone(contact)}</h2>
          <div class="small muted">
            {name ? `${formatPhone(contact)} · ` : ''}business{' '}
            <span data-testid="business-title">
              {businessTitle(chat.data?.conversation?.businessNumber ?? conversationKey.slice(0, conversationKey.indexOf(':')), chat.data?.conversation?.displayNumber, labels)}
            </span>
          </div>
        </div>
        {w && (
          <span class={`window ${w.cls}`} title={chat.data?.conversation?.windowOpenUntil ? `Open until ${formatTime(chat.data.conversation.windowOpenUntil)}` : undefined}>
            {w.open ? `24 h window: ${w.text}` : w.text}
          </span>
        )}
        {chat.data?.conversation && <FreeEntryAndOwner c={chat.data.conversation} now={now} />}
      </header>
      <div class="chat-body" ref={body} tabIndex={0} aria-label="Messages, oldest first">
        {chat.loading && !chat.data ? (
          <Loading />
        ) : isUnavailable(chat.error) ? (
          <NotAvailable what="Conversation messages" endpoint="GET /api/conversations/{key}/messages" />
        ) : chat.error !== undefined && !chat.data ? (
          <ErrorNote error={chat.error} what="the conversation" />
        ) : count === 0 ? (
          <p class="chat-empty">No messages in this conversation.</p>
        ) : (
          chat.data!.messages.map((m) => {
            const at = toMs(m.occurredAt) ?? 0;
            const day = dayLabel(at);
            const divider = day !== lastDay;
            lastDay = day;
            return (
              <Fragment key={m.id}>
                {divider && <div class="day">{day}</div>}
                <Bubble m={m} event={chat.data!.inbound.get(m.id)} reactions={chat.data!.reactions.get(m.id) ?? []} />
              </Fragment>
            );
          })
        )}
      </div>
    </section>
  );
}

export function Conversations({ selected }: { selected?: string }): JSX.Element {
  const now = useNow(30_000);
  const list = useLoader('list', (signal) => readAll<Conversation>('/api/conversations', {}, signal), 15_000);
  const contacts = useApi<unknown>('/api/contacts', { query: { limit: 1000 } });
  const labelState = useApi<{ labels: Labels }>('/api/labels');
  const labels = labelState.data?.labels ?? {};
  const names = useMemo(() => {
    const map = new Map<string, string>();
    if (contacts.data !== undefined) for (const c of asPage<Contact>(contacts.data).items) if (c.profile?.name) map.set(c.waId, c.profile.name);
    return map;
  }, [contacts.data]);
  const sorted = useMemo(
    () => [...(list.data ?? [])].sort((a, b) => (toMs(b.lastActivityAt) ?? 0) - (toMs(a.lastActivityAt) ?? 0)),
    [list.data],
  );
  const open = sorted.filter((c) => windowInfo(c, now).open).length;

  return (
    <>
      <PageHeader title="Conversations">
        {list.data && (
          <span class="muted small">
            {plural(sorted.length, 'conversation')} · {open} with an open 24 h window
          </span>
        )}
      </PageHeader>
      {isUnavailable(list.error) ? (
        <NotAvailable what="Conversations" endpoint="GET /api/conversations" />
      ) : (
        <div class={`conversations${selected ? ' has-selection' : ''}`}>
          <div class="conv-list-wrap">
            {list.loading && !list.data ? (
              <Loading />
            ) : list.error !== undefined && !list.data ? (
              <ErrorNote error={list.error} what="conversations" />
            ) : (
              <ConversationList list={sorted} names={names} now={now} {...(selected !== undefined ? { selected } : {})} />
            )}
          </div>
          <div class="chat-wrap">
            {selected ? (
              <Chat conversationKey={selected} names={names} now={now} labels={labels} />
            ) : (
              <div class="chat">
                <p class="chat-empty">Choose a conversation to read it.</p>
              </div>
            )}
          </div>
        </div>
      )}
    </>
  );
}
