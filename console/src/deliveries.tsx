/**
 * Deliveries: health per sink (breaker, success rate, latency, backlog) with a "Probe now"
 * button while a breaker holds deliveries back, the unfinished deliveries listed with why each
 * one waits (due, retrying, behind an earlier one of its conversation, held by a dead letter,
 * or its sink paused), dead letters with their attempt history and
 * a redrive button, and replay by filter with a dry-run list
 * shown before anything is sent.
 */
import { Fragment, type JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, asPage } from './api.js';
import { useSinks, type SinkStatus } from './delivery-data.js';
import { TypeBadge } from './events-view.js';
import { formatDuration, formatNumber, formatPercent, formatRelative, toMs } from './format.js';
import { can } from './role.js';
import { Link, seg } from './router.js';
import { EVENT_TYPES } from './types.js';
import { Badge, Empty, ErrorNote, Loaded, Loading, MoreButton, NotAvailable, PageHeader, Table, Time, isUnavailable, useApi, type Tone } from './ui.js';

interface Delivery {
  id: number;
  eventId: string;
  eventSeq: number;
  eventType: string;
  route: string;
  sink: string;
  orderingKey: string;
  origin: 'event' | 'replay';
  state: 'pending' | 'in_flight' | 'succeeded' | 'dead';
  blocked: boolean;
  attempts: number;
  redrives: number;
  nextAttemptAt?: string;
  createdAt: string;
  updatedAt: string;
  lastAttemptAt?: string;
  completedAt?: string;
  lastStatusCode?: number;
  lastError?: string;
  /** A dead letter that keeps the rest of its conversation waiting (`onDeadLetter: "hold"`). */
  holdsLane?: boolean;
}

interface Attempt {
  id: number;
  startedAt: string;
  latencyMs: number;
  outcome: 'success' | 'retry' | 'fail';
  statusCode?: number;
  errorCode?: string;
  error?: string;
  detail?: string;
  retryAfterMs?: number;
  owner: string;
}

interface ReplayResult {
  route: string;
  sink: string;
  dryRun: boolean;
  events: Array<{ eventId: string; seq: number; type: string; receivedAt: string; orderingKey: string }>;
  deliveries: number[];
  skipped: Array<{ eventId: string; reason: string }>;
  truncated: boolean;
}

function breakerTone(state: string | undefined): Tone {
  if (state === undefined || state === 'closed') return 'ok';
  if (state === 'half-open' || state === 'half_open') return 'warn';
  return 'bad';
}

function stateTone(state: Delivery['state']): Tone {
  return state === 'succeeded' ? 'ok' : state === 'dead' ? 'bad' : state === 'in_flight' ? 'info' : 'neutral';
}

/**
 * Ends the sink's circuit-breaker wait (`POST /api/sinks/{name}/probe`): its next delivery
 * goes now as the probe. Shown while the breaker holds deliveries back; the answer goes to
 * `onAnswer`, so the card can keep showing it after a quick probe closed the breaker and
 * took this button away.
 */
function ProbeButton({ sink, onAnswer }: { sink: string; onAnswer: (message: string) => void }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const probe = async (): Promise<void> => {
    setBusy(true);
    try {
      const answer = await api<{ message: string }>(`/api/sinks/${encodeURIComponent(sink)}/probe`, { method: 'POST', body: {} });
      onAnswer(answer.message);
    } catch (e) {
      onAnswer(e instanceof Error ? `Probe failed: ${e.message}` : 'Probe failed.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class="btn btn-small btn-primary" disabled={busy} onClick={() => void probe()} aria-label={`Probe ${sink} now`}>
      {busy ? 'Probing…' : 'Probe now'}
    </button>
  );
}

function SinkCard({ s, onProbed }: { s: SinkStatus; onProbed: () => void }): JSX.Element {
  const breaker = s.breaker?.state ?? 'closed';
  /** The last probe's answer, kept while the card lives (the breaker may close at once). */
  const [probeAnswer, setProbeAnswer] = useState<string | undefined>(undefined);
  const answered = (message: string): void => {
    setProbeAnswer(message);
    onProbed();
  };
  const rate = s.recent?.successRate;
  const rateTone: Tone = rate === undefined ? 'neutral' : rate >= 0.99 ? 'ok' : rate >= 0.9 ? 'warn' : 'bad';
  return (
    <article class="sink" aria-labelledby={`sink-${s.name}`} data-sink={s.name}>
      <div class="sink-head">
        <span class="sink-name" id={`sink-${s.name}`}>
          {s.name}
        </span>
        <Badge tone={breakerTone(s.breaker?.state)} title="Circuit breaker">
          breaker {breaker}
        </Badge>
      </div>
      <div class="small muted">{s.type}</div>
      <dl class="facts">
        <div class="fact">
          <dt>Success rate</dt>
          <dd>
            {rate === undefined ? (
              <span class="muted">no attempts yet</span>
            ) : (
              <Badge tone={rateTone}>{formatPercent(rate, 1)}</Badge>
            )}
            {s.recent ? <span class="small muted"> of last {s.recent.attempts}</span> : null}
          </dd>
        </div>
        <div class="fact">
          <dt>Latency p50 / p95</dt>
          <dd>{s.recent ? `${formatDuration(s.recent.latencyMs.p50)} / ${formatDuration(s.recent.latencyMs.p95)}` : '—'}</dd>
        </div>
        <div class="fact">
          <dt>Backlog</dt>
          <dd>
            {formatNumber(s.backlog.pending)} due · {formatNumber(s.backlog.blocked)} waiting · {formatNumber(s.backlog.inFlight)} in flight
          </dd>
        </div>
        <div class="fact">
          <dt>Dead letters</dt>
          <dd>{s.backlog.dead > 0 ? <Badge tone="bad">{formatNumber(s.backlog.dead)}</Badge> : '0'}</dd>
        </div>
        {s.lastSuccessAt && (
          <div class="fact">
            <dt>Last success</dt>
            <dd>{formatRelative(s.lastSuccessAt)}</dd>
          </div>
        )}
        {s.breaker?.nextProbeAt && breaker !== 'closed' && (
          <div class="fact">
            <dt>Next probe</dt>
            <dd>{formatRelative(s.breaker.nextProbeAt)}</dd>
          </div>
        )}
      </dl>
      {s.lastError &&
        // The latest attempt succeeded: the error is history, not the state of the sink.
        (s.lastSuccessAt !== undefined && s.lastSuccessAt === s.lastAttemptAt ? (
          <p class="small muted stale-error" title="The latest attempt succeeded">
            Earlier error (recovered {formatRelative(s.lastSuccessAt)}): {s.lastError}
          </p>
        ) : (
          <p class="small field-error">Last error: {s.lastError}</p>
        ))}
      {(probeAnswer !== undefined || (breaker !== 'closed' && can().operate)) && (
        <div class="confirm-row">
          {breaker !== 'closed' && can().operate && <ProbeButton sink={s.name} onAnswer={answered} />}
          {probeAnswer !== undefined && (
            <span class="small" role="status">
              {probeAnswer}
            </span>
          )}
        </div>
      )}
    </article>
  );
}

const WAITING_LIMIT = 100;

/** Why an unfinished delivery has not gone out yet, in words, with a tone for its badge. */
export function waitingReason(
  d: Pick<Delivery, 'id' | 'state' | 'blocked' | 'attempts' | 'route' | 'orderingKey'>,
  holds: ReadonlyMap<string, number>,
  pausedSinks: ReadonlySet<string>,
  sink: string,
): { label: string; tone: Tone; detail: string } {
  if (d.state === 'in_flight') return { label: 'sending', tone: 'info', detail: 'An attempt is under way.' };
  const holder = holds.get(`${d.route}\u0000${d.orderingKey}`);
  if (d.blocked && holder !== undefined) {
    return { label: 'held', tone: 'bad', detail: `Held by dead letter #${holder} of its conversation until it is redriven or dropped.` };
  }
  if (pausedSinks.has(sink)) return { label: 'sink paused', tone: 'warn', detail: `The circuit breaker of ${sink} is open: it goes out after the next successful probe.` };
  if (d.blocked) return { label: 'in order', tone: 'neutral', detail: 'Waits for an earlier delivery of its conversation.' };
  if (d.attempts > 0) return { label: 'retrying', tone: 'warn', detail: 'Failed before; the next attempt is scheduled.' };
  return { label: 'due', tone: 'info', detail: 'Goes out at the next poll.' };
}

/** The oldest unfinished deliveries, each with why it waits. */
function Waiting({ sinks }: { sinks: SinkStatus[] }): JSX.Element {
  const state = useApi<unknown>('/api/deliveries', { pollMs: 5_000, query: { state: 'pending,in_flight', limit: WAITING_LIMIT } });
  const dead = useApi<unknown>('/api/dead-letters', { pollMs: 5_000, query: { limit: 500 } });
  const holds = useMemo(() => {
    const map = new Map<string, number>();
    if (dead.data !== undefined) {
      for (const d of asPage<Delivery>(dead.data).items) if (d.holdsLane) map.set(`${d.route}\u0000${d.orderingKey}`, d.id);
    }
    return map;
  }, [dead.data]);
  const paused = useMemo(() => new Set(sinks.filter((s) => s.breaker !== undefined && s.breaker.state !== 'closed').map((s) => s.name)), [sinks]);
  return (
    <Loaded state={state} what="unfinished deliveries" endpoint="GET /api/deliveries">
      {(data) => {
        const page = asPage<Delivery>(data);
        if (page.items.length === 0) return <Empty>Nothing is waiting: every delivery has succeeded or is a dead letter.</Empty>;
        return (
          <>
            <div class="table-wrap">
              <table class="stack waiting" aria-label="Pending and blocked deliveries">
                <thead>
                  <tr>
                    <th scope="col">Delivery</th>
                    <th scope="col">Event</th>
                    <th scope="col">Route → sink</th>
                    <th scope="col">Conversation</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">Waiting</th>
                    <th scope="col">Next attempt</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((d) => {
                    const why = waitingReason(d, holds, paused, d.sink);
                    return (
                      <tr key={d.id} data-delivery-id={d.id} data-waiting={why.label}>
                        <td data-label="Delivery" class="mono">
                          #{d.id}
                        </td>
                        <td data-label="Event">
                          <TypeBadge type={d.eventType} />{' '}
                          <Link href={`/events/${seg(d.eventId)}`} class="mono small">
                            {d.eventId.slice(0, 12)}…
                          </Link>
                        </td>
                        <td data-label="Route → sink">
                          {d.route} → {d.sink}
                        </td>
                        <td data-label="Conversation" class="mono small truncate w-key" title={d.orderingKey}>
                          {d.orderingKey}
                        </td>
                        <td data-label="Attempts" class="num">
                          {d.attempts}
                        </td>
                        <td data-label="Waiting">
                          <Badge tone={why.tone} title={why.detail}>
                            {why.label}
                          </Badge>
                          {d.lastError ? <div class="small muted truncate" title={d.lastError}>{d.lastError}</div> : null}
                        </td>
                        <td data-label="Next attempt" class="nowrap">
                          {d.state === 'pending' && !d.blocked && d.nextAttemptAt ? <Time value={d.nextAttemptAt} /> : <span class="muted">—</span>}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {page.next !== undefined && (
              <p class="small muted">The oldest {WAITING_LIMIT} are listed; the sink cards above count them all.</p>
            )}
          </>
        );
      }}
    </Loaded>
  );
}

function AttemptLog({ id }: { id: number }): JSX.Element {
  const state = useApi<Delivery & { attemptLog: Attempt[] }>(`/api/deliveries/${id}`);
  return (
    <Loaded state={state} what="attempts" endpoint="GET /api/deliveries/{id}">
      {(d) =>
        d.attemptLog.length === 0 ? (
          <Empty>No attempt recorded.</Empty>
        ) : (
          <table class="attempts stack" aria-label={`Attempts of delivery ${id}`}>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Started</th>
                <th scope="col">Outcome</th>
                <th scope="col">HTTP</th>
                <th scope="col">Latency</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {d.attemptLog.map((a, i) => (
                <tr key={a.id}>
                  <td data-label="#">{i + 1}</td>
                  <td data-label="Started" class="nowrap">
                    <Time value={a.startedAt} ms />
                  </td>
                  <td data-label="Outcome">
                    <Badge tone={a.outcome === 'success' ? 'ok' : a.outcome === 'retry' ? 'warn' : 'bad'}>{a.outcome}</Badge>
                  </td>
                  <td data-label="HTTP">{a.statusCode ?? '—'}</td>
                  <td data-label="Latency" class="num">
                    {formatDuration(a.latencyMs)}
                  </td>
                  <td data-label="Error">
                    {[a.errorCode, a.error, a.detail].filter(Boolean).join(' · ')}
                    {a.retryAfterMs ? <span class="muted"> (Retry-After {formatDuration(a.retryAfterMs)})</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loaded>
  );
}

/** Follows redriven deliveries until they finish, so the result shows without a reload. */
function Redriven({ ids }: { ids: number[] }): JSX.Element | null {
  const [rows, setRows] = useState<Map<number, Delivery>>(new Map());
  const key = ids.join(',');
  useEffect(() => {
    if (ids.length === 0) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      const found = await Promise.all(ids.slice(0, 50).map((id) => api<Delivery>(`/api/deliveries/${id}`).catch(() => undefined)));
      if (stop) return;
      const map = new Map<number, Delivery>();
      for (const d of found) if (d) map.set(d.id, d);
      setRows(map);
      if ([...map.values()].some((d) => d.state === 'pending' || d.state === 'in_flight')) timer = setTimeout(() => void poll(), 1_000);
    };
    void poll();
    return () => {
      stop = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key]);
  if (ids.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="redriven" aria-live="polite">
      <h2 id="redriven">Redriven</h2>
      <ul class="plain-list">
        {ids.slice(0, 50).map((id) => {
          const d = rows.get(id);
          return (
            <li key={id} data-delivery-id={id} data-state={d?.state ?? 'unknown'}>
              Delivery <span class="mono">#{id}</span>{' '}
              {d ? (
                <>
                  to <strong>{d.sink}</strong>: <Badge tone={stateTone(d.state)}>{d.state === 'succeeded' ? 'succeeded' : d.state.replace('_', ' ')}</Badge>
                  {d.state === 'succeeded' && d.completedAt ? <span class="small muted"> at <Time value={d.completedAt} /></span> : null}
                  {d.state === 'dead' && d.lastError ? <span class="small"> {d.lastError}</span> : null}
                </>
              ) : (
                <span class="muted">checking…</span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function DeadLetters({ onRedriven }: { onRedriven: (ids: number[]) => void }): JSX.Element {
  const [tick, setTick] = useState(0);
  const [items, setItems] = useState<Delivery[] | undefined>(undefined);
  const [next, setNext] = useState<string | number | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [open, setOpen] = useState<number | undefined>(undefined);
  const [confirmAll, setConfirmAll] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);

  const load = async (after?: string | number): Promise<void> => {
    try {
      const page = asPage<Delivery>(await api('/api/dead-letters', { query: { limit: 100, after } }));
      setItems((current) => (after === undefined ? page.items : [...(current ?? []), ...page.items]));
      setNext(page.next);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 10_000);
    return () => clearInterval(t);
  }, [tick]);

  const drop = async (id: number): Promise<void> => {
    setBusy(`drop-${id}`);
    setMessage(undefined);
    try {
      const result = await api<{ dropped: number; message: string }>('/api/dead-letters/drop', { method: 'POST', body: { id } });
      setMessage(result.dropped === 0 ? 'Nothing was dropped: it is no longer a dead letter.' : `Dead letter #${id} dropped; its conversation moves on.`);
      setTick((t) => t + 1);
    } catch (e) {
      setMessage(e instanceof Error ? `Drop failed: ${e.message}` : 'Drop failed.');
    } finally {
      setBusy(undefined);
    }
  };

  const redrive = async (body: Record<string, unknown>, label: string): Promise<void> => {
    setBusy(label);
    setMessage(undefined);
    try {
      const result = await api<{ redriven: number; ids: number[] }>('/api/dead-letters/redrive', { method: 'POST', body });
      setMessage(result.redriven === 0 ? 'Nothing was redriven: it is no longer a dead letter.' : `${result.redriven} dead letter${result.redriven === 1 ? '' : 's'} redriven; delivery starts now.`);
      onRedriven(result.ids);
      setConfirmAll(false);
      setTick((t) => t + 1);
    } catch (e) {
      setMessage(e instanceof Error ? `Redrive failed: ${e.message}` : 'Redrive failed.');
    } finally {
      setBusy(undefined);
    }
  };

  if (isUnavailable(error)) return <NotAvailable what="Dead letters" endpoint="GET /api/dead-letters" />;
  if (items === undefined) return error !== undefined ? <ErrorNote error={error} what="dead letters" /> : <Loading />;

  return (
    <>
      <div class="confirm-row">
        {message && (
          <p class="toast" role="status">
            {message}
          </p>
        )}
        {items.length > 0 &&
          can().operate &&
          (confirmAll ? (
            <>
              <span>Redrive every dead letter{next !== undefined ? '' : ` (${items.length})`}?</span>
              <button type="button" class="btn btn-primary" disabled={busy !== undefined} onClick={() => void redrive({ all: true }, 'all')}>
                Yes, redrive all
              </button>
              <button type="button" class="btn" onClick={() => setConfirmAll(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" class="btn" onClick={() => setConfirmAll(true)}>
              Redrive all…
            </button>
          ))}
      </div>
      {error !== undefined && <ErrorNote error={error} what="the latest dead letters" />}
      {items.length === 0 ? (
        <Empty>No dead letters. Every delivery either succeeded or is still being retried.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="stack dead-letters" aria-label="Dead letters">
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Event</th>
                <th scope="col">Route → sink</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last error</th>
                <th scope="col">Dead since</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <Fragment key={d.id}>
                  <tr data-delivery-id={d.id}>
                    <td data-label="Delivery" class="mono">
                      #{d.id}
                    </td>
                    <td data-label="Event">
                      <TypeBadge type={d.eventType} />{' '}
                      <Link href={`/events/${seg(d.eventId)}`} class="mono small">
                        {d.eventId.slice(0, 12)}…
                      </Link>
                    </td>
                    <td data-label="Route → sink">
                      {d.route} → {d.sink}
                      {d.holdsLane ? (
                        <>
                          {' '}
                          <Badge tone="warn" title="The rest of this conversation waits until this is redriven or dropped">
                            holds conversation
                          </Badge>
                        </>
                      ) : null}
                    </td>
                    <td data-label="Attempts" class="num">
                      {d.attempts}
                      {d.redrives > 0 ? <span class="muted small"> ({d.redrives} redrives)</span> : null}
                    </td>
                    <td data-label="Last error" class="truncate dl-error" title={d.lastError}>
                      {d.lastStatusCode !== undefined && !(d.lastError ?? '').includes(String(d.lastStatusCode)) ? <strong>HTTP {d.lastStatusCode} </strong> : null}
                      {d.lastError ?? ''}
                    </td>
                    <td data-label="Dead since" class="nowrap">
                      <Time value={d.completedAt ?? d.updatedAt} />
                    </td>
                    <td data-label="Actions" class="nowrap dl-actions">
                      <button
                        type="button"
                        class="btn btn-small"
                        aria-expanded={open === d.id}
                        aria-controls={`attempts-${d.id}`}
                        onClick={() => setOpen(open === d.id ? undefined : d.id)}
                      >
                        Attempts
                      </button>{' '}
                      {can().operate && (
                        <>
                          <button
                            type="button"
                            class="btn btn-small btn-primary"
                            disabled={busy !== undefined}
                            onClick={() => void redrive({ id: d.id }, String(d.id))}
                            aria-label={`Redrive delivery ${d.id}`}
                          >
                            {busy === String(d.id) ? 'Redriving…' : 'Redrive'}
                          </button>{' '}
                          <button
                            type="button"
                            class="btn btn-small"
                            disabled={busy !== undefined}
                            onClick={() => void drop(d.id)}
                            aria-label={`Drop delivery ${d.id}`}
                            title="Give up on it: it leaves this list, and a conversation it holds moves on"
                          >
                            {busy === `drop-${d.id}` ? 'Dropping…' : 'Drop'}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                  {open === d.id && (
                    <tr id={`attempts-${d.id}`}>
                      <td colSpan={7} class="attempts-cell">
                        <p class="small muted">
                          Ordering key <span class="mono">{d.orderingKey}</span> · created <Time value={d.createdAt} /> · origin {d.origin}
                        </p>
                        <AttemptLog id={d.id} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== undefined && <MoreButton busy={false} onClick={() => void load(next)} />}
    </>
  );
}

function localInputToIso(value: string): string | undefined {
  if (value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function Replay({ routes }: { routes: string[] }): JSX.Element {
  const [route, setRoute] = useState('');
  const [mode, setMode] = useState<'filter' | 'ids'>('filter');
  const [ids, setIds] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [type, setType] = useState('');
  const [channel, setChannel] = useState('');
  const [phoneNumberId, setPhoneNumberId] = useState('');
  const [from, setFrom] = useState('');
  const [preview, setPreview] = useState<ReplayResult | undefined>(undefined);
  const [result, setResult] = useState<ReplayResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (route === '' && routes.length > 0) setRoute(routes[0]!);
  }, [routes.join(',')]);

  const body = (): Record<string, unknown> => {
    const b: Record<string, unknown> = { route: route.trim() };
    if (mode === 'ids') {
      b.eventIds = ids
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter((s) => s !== '');
    } else {
      const s = localInputToIso(since);
      const u = localInputToIso(until);
      if (s) b.since = s;
      if (u) b.until = u;
      const filter: Record<string, unknown> = {};
      if (type) filter.type = [type];
      if (channel.trim()) filter.channel = channel.trim();
      if (phoneNumberId.trim()) filter.phoneNumberId = phoneNumberId.trim();
      if (from.trim()) filter.from = from.trim();
      if (Object.keys(filter).length > 0) b.filter = filter;
    }
    return b;
  };

  const run = async (dryRun: boolean): Promise<void> => {
    setBusy(true);
    setError(undefined);
    if (dryRun) setResult(undefined);
    try {
      const r = await api<ReplayResult>('/api/replay', { method: 'POST', body: { ...body(), dryRun } });
      if (dryRun) setPreview(r);
      else {
        setResult(r);
        setPreview(undefined);
      }
    } catch (e) {
      if (e instanceof ApiError && e.unavailable) setError('Replay is not available on this server (POST /api/replay).');
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const changed = (): void => setPreview(undefined);

  return (
    <form
      class="grid"
      aria-label="Replay stored events"
      onSubmit={(e) => {
        e.preventDefault();
        void run(true);
      }}
      onInput={changed}
    >
      <div class="filters">
        <div class="field">
          <label for="r-route">Route</label>
          <input id="r-route" value={route} onInput={(e) => setRoute((e.target as HTMLInputElement).value)} list="r-routes" required spellcheck={false} />
          <datalist id="r-routes">
            {routes.map((r) => (
              <option value={r} key={r} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="r-mode">Select events by</label>
          <select id="r-mode" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as 'filter' | 'ids')}>
            <option value="filter">Time range and filter</option>
            <option value="ids">Event ids</option>
          </select>
        </div>
      </div>
      {mode === 'ids' ? (
        <div class="field">
          <label for="r-ids">Event ids (one per line)</label>
          <textarea id="r-ids" rows={3} value={ids} onInput={(e) => setIds((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
        </div>
      ) : (
        <div class="filters">
          <div class="field">
            <label for="r-since">Received from</label>
            <input id="r-since" type="datetime-local" step={1} value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="r-until">until</label>
            <input id="r-until" type="datetime-local" step={1} value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="r-type">Type</label>
            <select id="r-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
              <option value="">Any type</option>
              {EVENT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="r-channel">Channel</label>
            <input id="r-channel" value={channel} onInput={(e) => setChannel((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="r-pnid">Phone number id</label>
            <input id="r-pnid" value={phoneNumberId} onInput={(e) => setPhoneNumberId((e.target as HTMLInputElement).value)} />
          </div>
          <div class="field">
            <label for="r-from">From (wa_id)</label>
            <input id="r-from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} inputMode="tel" />
          </div>
        </div>
      )}
      <div class="confirm-row">
        <button type="submit" class="btn" disabled={busy || route.trim() === ''}>
          {busy && !preview ? 'Listing…' : 'Preview (dry run)'}
        </button>
        <span class="muted small">Nothing is sent until you confirm the list.</span>
      </div>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      {preview && (
        <div class="dry-run" role="region" aria-label="Dry run result">
          <strong>
            {preview.events.length === 0
              ? 'No stored event matches: nothing would be sent.'
              : `${preview.events.length}${preview.truncated ? '+' : ''} event${preview.events.length === 1 ? '' : 's'} would be delivered to ${preview.route} → ${preview.sink}, in this order:`}
          </strong>
          {preview.events.length > 0 && (
            <Table label="Events the replay would deliver" columns={['#', 'Event', 'Received', 'Ordering key']}>
              {preview.events.slice(0, 200).map((e, i) => (
                <tr key={e.eventId}>
                  <td data-label="#">{i + 1}</td>
                  <td data-label="Event">
                    <TypeBadge type={e.type} />{' '}
                    <Link href={`/events/${seg(e.eventId)}`} class="mono small">
                      {e.eventId.slice(0, 16)}…
                    </Link>
                  </td>
                  <td data-label="Received" class="nowrap">
                    <Time value={e.receivedAt} />
                  </td>
                  <td data-label="Ordering key" class="mono small">
                    {e.orderingKey}
                  </td>
                </tr>
              ))}
            </Table>
          )}
          {preview.events.length > 200 && <p class="small muted">And {preview.events.length - 200} more.</p>}
          {preview.skipped.length > 0 && (
            <p class="small">
              Skipped {preview.skipped.length}: {preview.skipped.slice(0, 5).map((s) => `${s.eventId} (${s.reason})`).join(', ')}
              {preview.skipped.length > 5 ? '…' : ''}
            </p>
          )}
          {preview.truncated && <p class="small notice">More events matched than one replay sends; replay again from the last one's time.</p>}
          {preview.events.length > 0 && (
            <div class="confirm-row">
              <button type="button" class="btn btn-primary" disabled={busy} onClick={() => void run(false)}>
                Replay {preview.events.length} event{preview.events.length === 1 ? '' : 's'}
              </button>
              <button type="button" class="btn" onClick={() => setPreview(undefined)}>
                Cancel
              </button>
            </div>
          )}
        </div>
      )}
      {result && (
        <p class="toast" role="status">
          Replay queued {result.deliveries.length} deliver{result.deliveries.length === 1 ? 'y' : 'ies'} to {result.route} → {result.sink}.
        </p>
      )}
    </form>
  );
}

export function Deliveries(): JSX.Element {
  const sinks = useSinks(5_000);
  const [redriven, setRedriven] = useState<number[]>([]);
  const recent = useApi<unknown>('/api/deliveries', { query: { limit: 200 } });
  const routes = useMemo(() => {
    const names = new Set<string>();
    if (recent.data !== undefined) for (const d of asPage<Delivery>(recent.data).items) names.add(d.route);
    return [...names].sort();
  }, [recent.data]);
  const sinkItems = sinks.data === undefined ? [] : asPage<SinkStatus>(sinks.data).items;
  const lastAttempt = sinkItems.map((s) => toMs(s.lastAttemptAt) ?? 0).reduce((a, b) => Math.max(a, b), 0);

  return (
    <>
      <PageHeader title="Deliveries">
        {lastAttempt > 0 && <span class="muted small">Last attempt {formatRelative(lastAttempt)}</span>}
      </PageHeader>
      <section class="panel" aria-labelledby="d-sinks">
        <h2 id="d-sinks">Sinks</h2>
        <Loaded state={sinks} what="sink health" endpoint="GET /api/sinks">
          {() =>
            sinkItems.length === 0 ? (
              <Empty>No sinks or handlers are configured, so nothing is delivered.</Empty>
            ) : (
              <div class="sinks">
                {sinkItems.map((s) => (
                  <SinkCard s={s} key={s.name} onProbed={sinks.reload} />
                ))}
              </div>
            )
          }
        </Loaded>
      </section>
      <Redriven ids={redriven} />
      <section class="panel" aria-labelledby="d-waiting">
        <h2 id="d-waiting">Pending and blocked</h2>
        <Waiting sinks={sinkItems} />
      </section>
      <section class="panel" aria-labelledby="d-dead">
        <h2 id="d-dead">Dead letters</h2>
        <DeadLetters onRedriven={(ids) => setRedriven(ids)} />
      </section>
      {can().operate && (
        <section class="panel" aria-labelledby="d-replay">
          <h2 id="d-replay">Replay</h2>
          <p class="small muted">Deliver stored events again to one route. A dry run lists what would be sent first.</p>
          <Replay routes={routes} />
        </section>
      )}
    </>
  );
}
