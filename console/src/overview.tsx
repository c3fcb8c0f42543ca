/**
 * Overview: traffic and ack latency over the last hour, events by type, the outbound status
 * funnel, pipeline lag and queue depths. The traffic chart (POSTs, events, deliveries per
 * minute) is read from the store by `GET /api/activity`, so it is full at the first load.
 * Ack latency exists only as the server's histogram (`/api/stats`), so that chart is built
 * from snapshots taken every few seconds while the console is open (kept for the tab's
 * session, so moving between screens or reloading keeps the hour). Disk use by data class is
 * its own panel (`storage.tsx`).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { LineChart } from './chart.js';
import { useDeliveryBacklog, type Backlog } from './delivery-data.js';
import { formatDuration, formatNumber, formatPercent, formatTime } from './format.js';
import { Link } from './router.js';
import { StoragePanel } from './storage.js';
import type { Activity, Stats } from './types.js';
import { Loaded, PageHeader, useApi } from './ui.js';

const POLL_MS = 5_000;
const ACTIVITY_POLL_MS = 30_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const SAMPLES_KEY = 'bluetick.statsSamples';

interface Sample {
  t: number;
  posts: number;
  events: number;
  p50?: number;
  p99?: number;
}

function loadSamples(): Sample[] {
  try {
    const raw = sessionStorage.getItem(SAMPLES_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? (parsed as Sample[]).filter((s) => typeof s.t === 'number') : [];
  } catch {
    return [];
  }
}

let samples: Sample[] = loadSamples();

function postsOf(stats: Stats): number {
  const j = stats.journal;
  return j.pending + j.processed + j.duplicate + j.quarantined + j.failed;
}

function record(stats: Stats): Sample[] {
  const t = Date.parse(stats.at) || Date.now();
  const sample: Sample = { t, posts: postsOf(stats), events: stats.events.total };
  if (stats.ackLatency.p50Ms !== undefined) sample.p50 = stats.ackLatency.p50Ms;
  if (stats.ackLatency.p99Ms !== undefined) sample.p99 = stats.ackLatency.p99Ms;
  const last = samples[samples.length - 1];
  // A restarted server (counters went down) starts a fresh series.
  if (last && (sample.posts < last.posts || t <= last.t)) {
    if (sample.posts < last.posts) samples = [];
    else return samples;
  }
  samples = [...samples, sample].filter((s) => s.t >= t - HOUR_MS);
  try {
    sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(samples));
  } catch {
    // Full or disabled storage: the chart still works for this page.
  }
  return samples;
}

/** POSTs per second between consecutive samples. */
function ratePoints(list: Sample[]): Array<[number, number | undefined]> {
  const out: Array<[number, number | undefined]> = [];
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1]!;
    const b = list[i]!;
    const dt = (b.t - a.t) / 1000;
    // A gap (the console was closed) is a break in the line, not a fake average.
    out.push([b.t, dt > 0 && dt < 60 ? (b.posts - a.posts) / dt : undefined]);
  }
  return out;
}

type Points = Array<[number, number | undefined]>;

/** The per-minute series of the traffic chart, each point at the middle of its minute. */
function trafficSeries(activity: Activity): { posts: Points; events: Points; delivered: Points } {
  const at = (m: { at: string }): number => Date.parse(m.at) + MINUTE_MS / 2;
  return {
    posts: activity.minutes.map((m) => [at(m), m.acks]),
    events: activity.minutes.map((m) => [at(m), m.events]),
    delivered: activity.minutes.map((m) => [at(m), m.delivered]),
  };
}

/** The window's sums, as the chart's heading note. */
function trafficTotal(activity: Activity): string {
  let posts = 0;
  let events = 0;
  let delivered = 0;
  for (const m of activity.minutes) {
    posts += m.acks;
    events += m.events;
    delivered += m.delivered;
  }
  return `${formatNumber(posts)} POSTs · ${formatNumber(events)} events · ${formatNumber(delivered)} delivered`;
}

/** POSTs per second over the last complete minute, from the store's counts. */
function lastMinuteRate(activity: Activity | undefined): number | undefined {
  const minutes = activity?.minutes ?? [];
  const complete = minutes[minutes.length - 2];
  return complete === undefined ? undefined : complete.acks / 60;
}

function Kpi({ label, value, note }: { label: string; value: string; note?: string }): JSX.Element {
  return (
    <div class="kpi">
      <div class="kpi-label">{label}</div>
      <div class="kpi-value">{value}</div>
      {note && <div class="kpi-note">{note}</div>}
    </div>
  );
}

export function Bars({ rows, label }: { rows: Array<{ name: string; value: number; tone?: string; note?: string }>; label: string }): JSX.Element {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <ul class="bars" aria-label={label}>
      {rows.map((r) => (
        <li class="bar-row" key={r.name}>
          <span class="bar-label" title={r.name}>
            {r.name}
          </span>
          <span class="bar-track" aria-hidden="true">
            <span
              class={`bar-fill${r.tone ? ` tone-${r.tone}` : ''}`}
              ref={(el) => {
                if (el) el.style.width = `${(r.value / max) * 100}%`;
              }}
            />
          </span>
          <span class="bar-value">{r.note ?? formatNumber(r.value)}</span>
        </li>
      ))}
    </ul>
  );
}

function Funnel({ stats }: { stats: Stats }): JSX.Element {
  const by = stats.messages.byStatus;
  const n = (k: string): number => by[k] ?? 0;
  const outbound = stats.messages.outbound;
  // The lattice: a read message was delivered and sent too.
  const played = n('played');
  const read = n('read') + played;
  const delivered = n('delivered') + read;
  const sent = n('sent') + delivered;
  const failed = n('failed');
  if (outbound === 0) return <p class="muted">No outbound message statuses yet.</p>;
  return (
    <Bars
      label="Outbound messages by the furthest status reached"
      rows={[
        { name: 'Sent', value: sent, tone: 'neutral', note: `${formatNumber(sent)} · ${formatPercent(sent, outbound)}` },
        { name: 'Delivered', value: delivered, tone: 'neutral', note: `${formatNumber(delivered)} · ${formatPercent(delivered, outbound)}` },
        { name: 'Read', value: read, tone: 'info', note: `${formatNumber(read)} · ${formatPercent(read, outbound)}` },
        { name: 'Failed', value: failed, tone: 'bad', note: `${formatNumber(failed)} · ${formatPercent(failed, outbound)}` },
      ]}
    />
  );
}

function queueNote(backlog: Backlog | undefined): string | undefined {
  if (backlog === undefined) return undefined;
  return `${formatNumber(backlog.pending)} due · ${formatNumber(backlog.blocked)} waiting in order · ${formatNumber(backlog.inFlight)} in flight`;
}

export function Overview(): JSX.Element {
  const state = useApi<Stats>('/api/stats', { pollMs: POLL_MS });
  const backlog = useDeliveryBacklog(POLL_MS);
  const activity = useApi<Activity>('/api/activity', { pollMs: ACTIVITY_POLL_MS });
  const [list, setList] = useState<Sample[]>(samples);

  useEffect(() => {
    if (state.data) setList(record(state.data));
  }, [state.data]);

  const now = list.length > 0 ? list[list.length - 1]!.t : Date.now();
  // A full hour once there is one; until then at least five minutes, so early samples are not a sliver.
  const firstAt = list[0]?.t ?? now;
  const from = Math.max(now - HOUR_MS, Math.min(firstAt, now - 5 * 60_000));
  const rate = useMemo(() => ratePoints(list), [list]);
  const lastRate = [...rate].reverse().find(([, v]) => v !== undefined)?.[1] ?? lastMinuteRate(activity.data);
  const traffic = useMemo(() => (activity.data ? trafficSeries(activity.data) : undefined), [activity.data]);

  return (
    <>
      <PageHeader title="Overview">
        <span class="muted small">Refreshes every {POLL_MS / 1000} s</span>
      </PageHeader>
      <Loaded state={state} what="statistics" endpoint="GET /api/stats">
        {(stats) => (
          <>
            <div class="kpis">
              <Kpi label="Events" value={formatNumber(stats.events.total)} note={`${formatNumber(postsOf(stats))} POSTs received`} />
              <Kpi
                label="Ingest rate"
                value={lastRate === undefined ? '—' : `${formatNumber(lastRate, lastRate < 10 ? 1 : 0)}/s`}
                note="POSTs per second, latest"
              />
              <Kpi
                label="Ack latency p99"
                value={stats.ackLatency.p99Ms === undefined ? '—' : formatDuration(stats.ackLatency.p99Ms)}
                note={stats.ackLatency.p50Ms === undefined ? 'no POSTs yet' : `p50 ${formatDuration(stats.ackLatency.p50Ms)}`}
              />
              <Kpi
                label="Pipeline lag"
                value={stats.pipeline.lagSeconds === 0 ? 'caught up' : formatDuration(stats.pipeline.lagSeconds * 1000)}
                note={`${formatNumber(stats.pipeline.pending)} POSTs to normalize`}
              />
              <Kpi
                label="Delivery queue"
                value={backlog.data === undefined ? (backlog.unavailable ? 'n/a' : '—') : formatNumber(backlog.data.pending + backlog.data.blocked + backlog.data.inFlight)}
                note={backlog.unavailable ? 'delivery API not available' : queueNote(backlog.data)}
              />
              <Kpi
                label="Dead letters"
                value={backlog.data === undefined ? (backlog.unavailable ? 'n/a' : '—') : formatNumber(backlog.data.dead)}
                note={backlog.data && backlog.data.dead > 0 ? 'waiting for a redrive' : undefined}
              />
            </div>

            <div class="grid grid-2">
              <section class="panel" aria-labelledby="chart-traffic">
                <div class="panel-head">
                  <h2 id="chart-traffic">Traffic, last hour</h2>
                  <span class="muted small" data-testid="traffic-total">
                    {activity.data ? trafficTotal(activity.data) : 'per minute'}
                  </span>
                </div>
                {traffic === undefined ? (
                  <p class="muted">{activity.error ? 'The activity history could not be read (GET /api/activity).' : 'Loading…'}</p>
                ) : (
                  <>
                    <LineChart
                      label="Webhook POSTs, events and successful deliveries per minute over the last hour"
                      unit="/min"
                      from={Date.parse(activity.data!.from)}
                      to={Date.parse(activity.data!.at)}
                      series={[
                        { name: 'POSTs', className: 'series-rate', points: traffic.posts, area: true },
                        { name: 'events', className: 'series-events', points: traffic.events },
                        { name: 'delivered', className: 'series-delivered', points: traffic.delivered },
                      ]}
                    />
                    <div class="legend" aria-hidden="true">
                      <span>
                        <i class="l-rate" />
                        POSTs acked
                      </span>
                      <span>
                        <i class="l-events" />
                        events
                      </span>
                      <span>
                        <i class="l-delivered" />
                        delivered
                      </span>
                    </div>
                  </>
                )}
              </section>
              <section class="panel" aria-labelledby="chart-ack">
                <div class="panel-head">
                  <h2 id="chart-ack">Ack latency, last hour</h2>
                  <span class="muted small">ms, since server start</span>
                </div>
                <LineChart
                  label="Acknowledgement latency percentiles over the last hour"
                  unit="ms"
                  from={from}
                  to={now}
                  series={[
                    { name: 'p50', className: 'series-p50', points: list.map((s) => [s.t, s.p50]) },
                    { name: 'p99', className: 'series-p99', points: list.map((s) => [s.t, s.p99]) },
                  ]}
                />
                <div class="legend" aria-hidden="true">
                  <span>
                    <i class="l-p50" />
                    p50
                  </span>
                  <span>
                    <i class="l-p99" />
                    p99
                  </span>
                </div>
                <ChartNote list={list} />
              </section>
            </div>

            <div class="grid grid-2">
              <section class="panel" aria-labelledby="by-type">
                <div class="panel-head">
                  <h2 id="by-type">Events by type</h2>
                  <Link href="/live">Live feed</Link>
                </div>
                {Object.keys(stats.events.byType).length === 0 ? (
                  <p class="muted">No events yet.</p>
                ) : (
                  <Bars
                    label="Events by type"
                    rows={Object.entries(stats.events.byType)
                      .sort((a, b) => b[1] - a[1])
                      .map(([name, value]) => ({ name, value }))}
                  />
                )}
              </section>
              <section class="panel" aria-labelledby="funnel">
                <div class="panel-head">
                  <h2 id="funnel">Outbound status funnel</h2>
                  <span class="muted small">{formatNumber(stats.messages.outbound)} outbound messages</span>
                </div>
                <Funnel stats={stats} />
              </section>
            </div>

            <div class="grid grid-3">
              <section class="panel" aria-labelledby="journal">
                <h2 id="journal">Journal</h2>
                <Bars
                  label="Journal rows by state"
                  rows={[
                    { name: 'processed', value: stats.journal.processed, tone: 'ok' },
                    { name: 'duplicate', value: stats.journal.duplicate, tone: 'neutral' },
                    { name: 'pending', value: stats.journal.pending, tone: 'info' },
                    { name: 'quarantined', value: stats.journal.quarantined, tone: 'bad' },
                    { name: 'failed', value: stats.journal.failed, tone: 'bad' },
                  ]}
                />
              </section>
              <section class="panel" aria-labelledby="state">
                <h2 id="state">State</h2>
                <Bars
                  label="Projection sizes"
                  rows={[
                    { name: 'messages', value: stats.messages.total },
                    { name: 'conversations', value: stats.conversations },
                    { name: 'contacts', value: stats.contacts },
                    { name: 'templates', value: stats.templates.total },
                    { name: 'reactions', value: stats.reactions },
                  ]}
                />
                {stats.projections && !stats.projections.complete && (
                  <p class="notice small">Projections are being rebuilt; counts may be partial.</p>
                )}
              </section>
              <section class="panel" aria-labelledby="refused">
                <h2 id="refused">Refused and kept aside</h2>
                <Bars
                  label="Refused and quarantined"
                  rows={[
                    { name: 'rejections', value: stats.rejections, tone: 'bad' },
                    { name: 'quarantined', value: stats.journal.quarantined, tone: 'bad' },
                  ]}
                />
                <p class="small">
                  <Link href="/rejections">See why</Link>
                </p>
              </section>
            </div>
            <StoragePanel />
            <p class="muted small">Snapshot taken {formatTime(stats.at)}.</p>
          </>
        )}
      </Loaded>
    </>
  );
}

function ChartNote({ list }: { list: Sample[] }): JSX.Element | null {
  const first = list[0];
  if (!first) return null;
  const covered = (list[list.length - 1]!.t - first.t) / 60_000;
  if (covered >= 59) return null;
  return (
    <p class="muted small">
      Sampled by this browser since {formatTime(first.t).slice(11, 16)}; the chart fills as the console stays open.
    </p>
  );
}
