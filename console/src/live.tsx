/**
 * Live feed: the events of the last few minutes, then every new one as the server records
 * it (`GET /api/stream`). Type and channel filter on the server; phone number and kind
 * filter here. Pausing holds new events back (still received, so nothing is missed) until
 * resumed.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, asPage } from './api.js';
import { Summary, TypeBadge, contactNumber, numbersOf } from './events-view.js';
import { formatClock, formatPhone } from './format.js';
import { Link, navigate, seg } from './router.js';
import { openStream, type StreamState } from './sse.js';
import { EVENT_TYPES, type ApiEvent, type StoredEvent } from './types.js';
import { ErrorNote, NotAvailable, PageHeader, Table, Time } from './ui.js';

const MAX_ROWS = 500;
const BACKLOG_MS = 15 * 60_000;
const BACKLOG_PAGES = 4;
const KINDS = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'order', 'system', 'unsupported'];

interface Row {
  seq: number;
  event: ApiEvent;
  fresh: boolean;
}

interface Filters {
  type: string;
  channel: string;
  phone: string;
  kind: string;
}

/** An SSE message's event: `{ seq, event }` (the stored form) or the bare event with the seq as the SSE id. */
function rowOf(data: string, id: string | undefined): Row | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const p = parsed as Partial<StoredEvent> & Partial<ApiEvent>;
  if (p.event && typeof p.event === 'object' && typeof p.event.id === 'string') {
    return { seq: typeof p.seq === 'number' ? p.seq : Number(id ?? 0), event: p.event, fresh: true };
  }
  if (typeof p.id === 'string' && typeof p.type === 'string') {
    return { seq: Number(id ?? 0), event: p as ApiEvent, fresh: true };
  }
  return undefined;
}

function matchesLocal(e: ApiEvent, f: Filters): boolean {
  if (f.type !== '' && e.type !== f.type) return false;
  if (f.channel !== '' && e.channel !== f.channel) return false;
  if (f.phone !== '') {
    const digits = f.phone.replace(/[^\d]/g, '');
    if (digits === '' || !numbersOf(e).some((n) => n.replace(/[^\d]/g, '').includes(digits))) return false;
  }
  if (f.kind !== '') {
    const kind = (e.kind ?? '').toLowerCase();
    if (!kind.includes(f.kind.trim().toLowerCase())) return false;
  }
  return true;
}

function streamLabel(state: StreamState, paused: boolean): { text: string; dot: string } {
  if (paused) return { text: 'Paused', dot: 'dot-paused' };
  switch (state) {
    case 'open':
      return { text: 'Live', dot: 'dot-open' };
    case 'connecting':
      return { text: 'Connecting…', dot: '' };
    case 'reconnecting':
      return { text: 'Reconnecting…', dot: 'dot-bad' };
    case 'unauthorized':
      return { text: 'Token refused', dot: 'dot-bad' };
    case 'unavailable':
      return { text: 'Not available', dot: 'dot-bad' };
    default:
      return { text: 'Closed', dot: '' };
  }
}

export function LiveFeed(): JSX.Element {
  const [filters, setFilters] = useState<Filters>({ type: '', channel: '', phone: '', kind: '' });
  const [rows, setRows] = useState<Row[]>([]);
  const [held, setHeld] = useState<Row[]>([]);
  const [paused, setPaused] = useState(false);
  const [streamState, setStreamState] = useState<StreamState>('connecting');
  const [backlogError, setBacklogError] = useState<unknown>(undefined);
  const [streamDetail, setStreamDetail] = useState<string | undefined>(undefined);
  const pausedRef = useRef(paused);
  const lastSeq = useRef<number | undefined>(undefined);
  pausedRef.current = paused;

  // The server-side part of the filters: changing it reconnects, resuming after the last event seen.
  const serverType = filters.type;
  const serverChannel = filters.channel.trim();

  useEffect(() => {
    let cancelled = false;
    let handle: { close(): void } | undefined;
    const query = { type: serverType || undefined, channel: serverChannel || undefined };
    setRows((current) => current.filter((r) => matchesLocal(r.event, { type: serverType, channel: serverChannel, phone: '', kind: '' })));
    setHeld([]);

    const start = async (): Promise<void> => {
      if (lastSeq.current === undefined) {
        // Recent history first, so the feed is not empty; the stream then resumes after it.
        try {
          const since = new Date(Date.now() - BACKLOG_MS).toISOString();
          let after: string | number | undefined;
          let items: StoredEvent[] = [];
          for (let i = 0; i < BACKLOG_PAGES; i++) {
            const page = asPage<StoredEvent>(
              await api('/api/events', { query: { ...query, since, limit: 500, ...(after !== undefined ? { after } : {}) } }),
            );
            items = items.concat(page.items).slice(-MAX_ROWS);
            if (page.next === undefined) break;
            after = page.next;
          }
          if (cancelled) return;
          const last = items[items.length - 1];
          if (last) lastSeq.current = last.seq;
          setRows(items.reverse().map((s) => ({ seq: s.seq, event: s.event, fresh: false })));
        } catch (error) {
          if (cancelled) return;
          if (!(error instanceof ApiError && error.status === 401)) setBacklogError(error);
        }
      }
      if (cancelled) return;
      handle = openStream('/api/stream', {
        query,
        ...(lastSeq.current !== undefined ? { lastEventId: String(lastSeq.current) } : {}),
        onState: (state, detail) => {
          if (cancelled) return;
          setStreamState(state);
          setStreamDetail(detail);
        },
        onMessage: (message) => {
          const row = rowOf(message.data, message.id);
          if (!row || cancelled) return;
          if (lastSeq.current !== undefined && row.seq <= lastSeq.current) return;
          lastSeq.current = row.seq;
          if (pausedRef.current) setHeld((h) => [row, ...h].slice(0, MAX_ROWS));
          else setRows((r) => [row, ...r].slice(0, MAX_ROWS));
        },
      });
    };
    void start();
    return () => {
      cancelled = true;
      handle?.close();
    };
  }, [serverType, serverChannel]);

  const resume = (): void => {
    setRows((r) => [...held, ...r].slice(0, MAX_ROWS));
    setHeld([]);
    setPaused(false);
  };

  const visible = useMemo(() => rows.filter((r) => matchesLocal(r.event, filters)), [rows, filters]);
  const label = streamLabel(streamState, paused);
  const set = (key: keyof Filters) => (e: Event) => setFilters((f) => ({ ...f, [key]: (e.target as HTMLInputElement).value }));

  return (
    <>
      <PageHeader title="Live feed">
        <span class="stream-state" role="status" aria-live="polite">
          <span class={`dot ${label.dot}`} aria-hidden="true" />
          {label.text}
          {paused && held.length > 0 ? ` · ${held.length} new` : ''}
        </span>
        {paused ? (
          <button type="button" class="btn btn-primary" onClick={resume}>
            Resume{held.length > 0 ? ` (${held.length} new)` : ''}
          </button>
        ) : (
          <button type="button" class="btn" onClick={() => setPaused(true)}>
            Pause
          </button>
        )}
        <button type="button" class="btn btn-ghost" onClick={() => setRows([])} disabled={rows.length === 0}>
          Clear
        </button>
      </PageHeader>

      <form class="panel filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" value={filters.type} onChange={set('type')}>
            <option value="">All types</option>
            {EVENT_TYPES.map((t) => (
              <option value={t} key={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-channel">Channel</label>
          <input id="f-channel" value={filters.channel} onChange={set('channel')} placeholder="any" spellcheck={false} />
        </div>
        <div class="field">
          <label for="f-phone">Phone number</label>
          <input id="f-phone" value={filters.phone} onInput={set('phone')} placeholder="any" inputMode="tel" />
        </div>
        <div class="field">
          <label for="f-kind">Kind</label>
          <input id="f-kind" value={filters.kind} onInput={set('kind')} placeholder="any" list="kinds" spellcheck={false} />
          <datalist id="kinds">
            {KINDS.map((k) => (
              <option value={k} key={k} />
            ))}
          </datalist>
        </div>
        <EventIdJump />
      </form>

      {streamState === 'unavailable' && <NotAvailable what="The live stream" endpoint="GET /api/stream" />}
      {streamState === 'reconnecting' && streamDetail && <p class="notice small">Connection lost ({streamDetail}); reconnecting and resuming where it stopped.</p>}
      {backlogError !== undefined && <ErrorNote error={backlogError} what="recent events" />}

      {visible.length === 0 ? (
        <p class="state state-empty">
          {rows.length === 0 ? 'Waiting for events… New notifications appear here as soon as they are recorded.' : 'No event matches these filters yet.'}
        </p>
      ) : (
        <Table label="Events, newest first" class="stack feed" columns={['Received', 'Type', 'Channel', 'Number', 'Event']}>
          {visible.map((r) => (
            <tr key={r.event.id} class={r.fresh ? 'row-new' : undefined} data-event-id={r.event.id}>
              <td data-label="Received" class="nowrap">
                <Time value={r.event.receivedAt}>{formatClock(r.event.receivedAt)}</Time>
              </td>
              <td data-label="Type">
                <TypeBadge type={r.event.type} />
              </td>
              <td data-label="Channel">{r.event.channel}</td>
              <td data-label="Number" class="nowrap">
                {formatPhone(contactNumber(r.event))}
              </td>
              <td data-label="Event">
                <Link href={`/events/${seg(r.event.id)}`} class="summary">
                  <Summary event={r.event} />
                </Link>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <p class="muted small">
        Showing {visible.length} of {rows.length} events kept in this view (at most {MAX_ROWS}; the {BACKLOG_MS / 60_000} minutes before
        opening, then live).
      </p>
    </>
  );
}

function EventIdJump(): JSX.Element {
  const [id, setId] = useState('');
  const open = (): void => {
    if (id.trim() !== '') navigate(`/events/${seg(id.trim())}`);
  };
  return (
    <div class="field field-grow">
      <label for="f-event">Open an event by id</label>
      <div class="inline-field">
        <input
          id="f-event"
          value={id}
          onInput={(e) => setId((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              open();
            }
          }}
          spellcheck={false}
          placeholder="evt_…"
        />
        <button type="button" class="btn" disabled={id.trim() === ''} onClick={open}>
          Open
        </button>
      </div>
    </div>
  );
}
