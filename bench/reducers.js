// `npm run bench -- reducers`: the CPU the store spends per event outside SQL, in-process and
// without a database, on the spread load of the pipeline bench (EnableX batches of 40
// messages from 4 000 contacts):
//   - normalize: body text -> events;
//   - reducers: keysTouched + applyEventInPlace over one live in-memory state;
//   - row cache: what a store transaction does around the reducers — per batch of 500 events,
//     load each touched row from its stored JSON, apply, and encode the changed rows with
//     their filter columns (src/store/projection-rows.ts), the stored JSON kept in a Map;
//   - the same row cache over the statuses of the campaign bench (sent, delivered, read of
//     20 000 outbound messages, some out of order or twice), with the rows written per event.
// Each is printed in µs per event and as a ratio to a baseline measured in the same run:
// JSON.parse + JSON.stringify of the same events' text, which is the least any store that
// keeps events as JSON pays per event. Lower ratios are better.
//
// Environment: BENCH_REDUCER_EVENTS (default 100 000), BENCH_ROUNDS (default 3; the best
// round of each measure is printed).
import { normalize, serializeEvent } from '../dist/events/normalize.js';
import { applyEventInPlace, emptyState, keysTouched } from '../dist/projections/index.js';
import * as rows from '../dist/store/projection-rows.js';
import { campaign } from './campaign.js';
import { enablexBodies } from './pipeline.js';

const EVENTS = Number(process.env.BENCH_REDUCER_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 500;
const { KINDS, PROJECTIONS, ProjectionCache } = rows;
/** How the writers encode a changed row (before `encodeRow` existed: its filter columns and JSON). */
const encodeRow = rows.encodeRow ?? ((spec, entry) => ({ values: spec.values(entry.row), json: JSON.stringify(entry.row) }));

/** A row cache over a Map of stored rows (key -> { pos, row: JSON }), written back like the SQLite writer does. */
class MapCache extends ProjectionCache {
  constructor(stored) {
    super();
    this.stored = stored;
  }

  entry(kind, key) {
    return this.cache[kind].get(key) ?? this.remember(kind, key, this.stored[kind].get(key));
  }

  apply(seq, event, keys) {
    this.applyTouched(seq, event, keys);
  }

  /** Encodes every changed row as the writer would; returns how many were written. */
  flush() {
    let written = 0;
    for (const kind of KINDS) {
      const spec = PROJECTIONS[kind];
      for (const [key, entry] of this.cache[kind]) {
        if (!entry.dirty) continue;
        const { values, json } = encodeRow(spec, entry);
        if (values.length < 0) throw new Error('unreachable');
        this.stored[kind].set(key, { pos: entry.pos, row: json });
        written++;
      }
      this.cache[kind].clear();
    }
    return written;
  }
}

function time(fn) {
  const t0 = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(t0);
  return { us: used.user + used.system, result };
}

const ctx = { channel: 'default', provider: 'enablex', receivedAt: Date.UTC(2024, 5, 2, 10, 0, 0) };
const bodies = enablexBodies(EVENTS, { hot: false, tag: 'bench' });

function normalizeAll(from = bodies) {
  const events = [];
  for (const body of from) {
    const r = normalize(body, ctx);
    if (!r.ok) throw new Error(r.cause);
    for (const e of r.events) events.push(e);
  }
  return events;
}

const events = normalizeAll();
const campaignEvents = normalizeAll(campaign(20_000).bodies);
const texts = events.map(serializeEvent);

function baseline() {
  let n = 0;
  for (const text of texts) n += JSON.stringify(JSON.parse(text)).length;
  return n;
}

function reducers() {
  const state = emptyState();
  for (const event of events) applyEventInPlace(state, event, keysTouched(event));
  return state.messages.size;
}

function rowCache(list = events) {
  const stored = Object.fromEntries(KINDS.map((k) => [k, new Map()]));
  let written = 0;
  for (let start = 0; start < list.length; start += BATCH) {
    const cache = new MapCache(stored);
    for (let i = start; i < Math.min(list.length, start + BATCH); i++) cache.apply(i + 1, list[i], keysTouched(list[i]));
    written += cache.flush();
  }
  return written;
}

export async function runReducerBench() {
  console.log(`\n== reducers: CPU per event outside SQL (${events.length} spread events, ${BATCH} per batch, best of ${ROUNDS}) ==`);
  const best = { baseline: Infinity, normalize: Infinity, reducers: Infinity, rowCache: Infinity, campaign: Infinity };
  let written = { spread: 0, campaign: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    best.baseline = Math.min(best.baseline, time(baseline).us);
    best.normalize = Math.min(best.normalize, time(() => normalizeAll()).us);
    best.reducers = Math.min(best.reducers, time(reducers).us);
    const spread = time(() => rowCache(events));
    best.rowCache = Math.min(best.rowCache, spread.us);
    const statuses = time(() => rowCache(campaignEvents));
    best.campaign = Math.min(best.campaign, statuses.us * (events.length / campaignEvents.length));
    written = { spread: spread.result, campaign: statuses.result };
  }
  const per = (us) => us / events.length;
  const base = per(best.baseline);
  const line = (name, us) =>
    console.log(`${name.padEnd(44)} ${per(us).toFixed(2).padStart(7)} µs/event   ${(per(us) / base).toFixed(2).padStart(6)}x baseline`);
  line('baseline: JSON.parse + stringify of the event', best.baseline);
  line('normalize (body -> events)', best.normalize);
  line('reducers (in-memory state)', best.reducers);
  line('row cache (parse, apply, encode per batch)', best.rowCache);
  line(`row cache, campaign (${campaignEvents.length} statuses)`, best.campaign);
  const rate = (n, of) => (n / of.length).toFixed(2);
  console.log(`rows written per event: spread ${rate(written.spread, events)}, campaign ${rate(written.campaign, campaignEvents)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await runReducerBench();
