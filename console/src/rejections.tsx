/**
 * Rejections and quarantine: what was refused before the journal (with the cause, so a
 * user sees at once why a provider's posts fail) and what was journaled but could not be
 * turned into events.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, asPage } from './api.js';
import { formatBytes, formatRelative } from './format.js';
import { RawBody } from './journal-view.js';
import type { JournalDetail, JournalRow, Rejection } from './types.js';
import { Badge, Empty, ErrorNote, Loaded, Loading, NotAvailable, PageHeader, Table, Time, isUnavailable, useApi } from './ui.js';

const CAUSES: Record<string, { title: string; hint: string }> = {
  unauthorized: {
    title: 'Wrong or missing credentials',
    hint: 'The HTTP Basic user/password set in the EnableX portal, or the Meta app secret, does not match the channel configuration.',
  },
  'payload-too-large': {
    title: 'Body too big',
    hint: 'The body was over the size limit (server.limits.bodyBytes) and was answered 413.',
  },
  'method-not-allowed': { title: 'Wrong HTTP method', hint: 'Webhooks must POST (GET only for the Meta subscription handshake).' },
  'unknown-channel': { title: 'Unknown webhook path', hint: 'No channel is configured at that path: check the webhook URL entered at the provider.' },
  'verify-token-mismatch': { title: 'Handshake token mismatch', hint: "Meta's subscription handshake carried a verify token the channel does not know." },
  'journal-unavailable': {
    title: 'Store busy or failing',
    hint: 'The journal could not commit in time; bluetick answered 503 with Retry-After so the provider resends.',
  },
  'request-timeout': { title: 'Request too slow', hint: 'The client did not send the headers or body within the time limit.' },
  'bad-request': { title: 'Malformed HTTP request', hint: 'The request could not be parsed as HTTP.' },
};

const PAGES = 10;

async function loadRejections(cause: string, signal: AbortSignal): Promise<Rejection[]> {
  // Oldest first on the server; read to the end (the log is bounded) and show newest first.
  let items: Rejection[] = [];
  let after: string | number | undefined;
  for (let i = 0; i < PAGES; i++) {
    const page = asPage<Rejection>(await api('/api/rejections', { signal, query: { limit: 1000, cause: cause || undefined, after } }));
    items = items.concat(page.items);
    if (page.next === undefined) break;
    after = page.next;
  }
  return items.reverse();
}

function RejectionsPanel(): JSX.Element {
  const [cause, setCause] = useState('');
  const [items, setItems] = useState<Rejection[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        setItems(await loadRejections(cause, controller.signal));
        setError(undefined);
      } catch (e) {
        if (controller.signal.aborted) return;
        setError(e);
        if (e instanceof ApiError && (e.unavailable || e.status === 401)) return;
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void run(), 10_000);
    };
    setItems(undefined);
    void run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [cause]);

  const counts = useMemo(() => {
    const map = new Map<string, { n: number; last: string }>();
    for (const r of items ?? []) {
      const c = map.get(r.cause);
      if (c) c.n++;
      else map.set(r.cause, { n: 1, last: r.at });
    }
    return [...map.entries()].sort((a, b) => b[1].n - a[1].n);
  }, [items]);

  if (isUnavailable(error)) return <NotAvailable what="The rejection log" endpoint="GET /api/rejections" />;

  return (
    <>
      <div class="filters">
        <div class="field">
          <label for="rej-cause">Cause</label>
          <select id="rej-cause" value={cause} onChange={(e) => setCause((e.target as HTMLSelectElement).value)}>
            <option value="">Any cause</option>
            {Object.entries(CAUSES).map(([k, v]) => (
              <option key={k} value={k}>
                {v.title} ({k})
              </option>
            ))}
          </select>
        </div>
      </div>
      {error !== undefined && <ErrorNote error={error} what="rejections" />}
      {items === undefined ? (
        error === undefined ? <Loading /> : null
      ) : items.length === 0 ? (
        <Empty>Nothing was refused{cause ? ' for this cause' : ''}. Every request so far was authenticated and within limits.</Empty>
      ) : (
        <>
          <ul class="cause-summary" aria-label="Rejections by cause">
            {counts.map(([c, { n, last }]) => (
              <li key={c} class="panel cause-card">
                <div class="panel-head">
                  <strong>{CAUSES[c]?.title ?? c}</strong>
                  <Badge tone="bad">{n}×</Badge>
                </div>
                <p class="small">{CAUSES[c]?.hint ?? ''}</p>
                <p class="small muted">Latest {formatRelative(last)}</p>
              </li>
            ))}
          </ul>
          <Table label="Refused requests, newest first" columns={['Time', 'Cause', 'Channel', 'Request', 'Remote address', 'Detail']}>
            {items.slice(0, 500).map((r) => (
              <tr key={r.id} data-cause={r.cause}>
                <td data-label="Time" class="nowrap">
                  <Time value={r.at} />
                </td>
                <td data-label="Cause">
                  <Badge tone="bad" title={CAUSES[r.cause]?.hint}>
                    {r.cause}
                  </Badge>
                </td>
                <td data-label="Channel">{r.channel ?? <span class="muted">—</span>}</td>
                <td data-label="Request" class="mono small">
                  {r.method} {r.path}
                </td>
                <td data-label="Remote address" class="mono small">
                  {r.remoteAddress ?? '—'}
                </td>
                <td data-label="Detail">{r.detail ?? ''}</td>
              </tr>
            ))}
          </Table>
          {items.length > 500 && <p class="muted small">Showing the newest 500 of {items.length}.</p>}
        </>
      )}
    </>
  );
}

function QuarantineRow({ row }: { row: JournalRow }): JSX.Element {
  const [open, setOpen] = useState(false);
  const detail = useApi<JournalDetail>(open ? `/api/journal/${row.id}` : null);
  return (
    <li class="quarantine-item">
      <div class="panel-head">
        <div>
          <Badge tone="bad">{row.state}</Badge> <strong>{row.cause ?? 'no cause given'}</strong>
        </div>
        <button type="button" class="btn btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide body' : 'Show body'}
        </button>
      </div>
      <p class="small muted">
        <Time value={row.receivedAt} /> · channel {row.channel} · {formatBytes(row.size ?? row.body?.size)}
        {row.remoteAddress ? ` · from ${row.remoteAddress}` : ''} · journal row #{row.id}
      </p>
      {!open && row.preview !== undefined && <pre class="code code-wrap small">{row.preview}</pre>}
      {open && (
        <Loaded state={detail} what="the body" endpoint="GET /api/journal/{id}">
          {(d) => <RawBody body={d.body} label={`Body of journal row ${row.id}`} />}
        </Loaded>
      )}
    </li>
  );
}

function QuarantinePanel(): JSX.Element {
  const state = useApi<unknown>('/api/quarantine', { query: { limit: 200 }, pollMs: 15_000 });
  return (
    <Loaded state={state} what="quarantine" endpoint="GET /api/quarantine">
      {(body) => {
        const items = asPage<JournalRow>(body).items.slice().reverse();
        if (items.length === 0) return <Empty>Nothing in quarantine: every accepted POST was a JSON object the normalizer could read.</Empty>;
        return (
          <ul class="quarantine" aria-label="Quarantined POSTs, newest first">
            {items.map((r) => (
              <QuarantineRow row={r} key={r.id} />
            ))}
          </ul>
        );
      }}
    </Loaded>
  );
}

export function Rejections(): JSX.Element {
  return (
    <>
      <PageHeader title="Rejections and quarantine" />
      <section class="panel" aria-labelledby="rej-title">
        <h2 id="rej-title">Refused requests</h2>
        <p class="small muted">Answered with an error before anything was journaled: the provider sees the error and may retry.</p>
        <RejectionsPanel />
      </section>
      <section class="panel" aria-labelledby="q-title">
        <h2 id="q-title">Quarantine</h2>
        <p class="small muted">Accepted (answered 200) and kept, but not turned into events: not a JSON object, or the normalizer failed.</p>
        <QuarantinePanel />
      </section>
    </>
  );
}
