// `npm run bench -- lag [--store postgres://...]`: pipeline lag under a steady load.
//
// First the end-to-end rate is measured as the pipeline part does (EnableX batches of 40
// messages from 4 000 contacts, posted as fast as the server acks, until every event is
// recorded). Then a fresh server gets a paced load of half that rate over loopback for
// BENCH_LAG_SECONDS (default 25): one POST every 40 / (rate / 2) seconds on a fixed
// schedule (a late POST goes at once, so a slow server does not lower the load). Every
// BENCH_LAG_SAMPLE_MS (default 250) the bench reads the lag twice: `pipeline.lagSeconds` of
// GET /api/stats and `bluetick_pipeline_lag_seconds` of GET /metrics. It prints their p50,
// p99 and maximum, and whether the p99 stays under 1 s (the target). BENCH_LAG_RATE=<events/s>
// skips the first measurement and paces at that rate instead; BENCH_LAG_SERIES=1 also prints
// every sample of the API's lag, in order.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { enablexBodies, runBluetick } from './pipeline.js';
import { BIN, startProcess, stopProcess } from './processes.js';

const RATE_EVENTS = Number(process.env.BENCH_PIPELINE_EVENTS ?? 40_000);
const SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 25);
const SAMPLE_MS = Number(process.env.BENCH_LAG_SAMPLE_MS ?? 250);
const PER_POST = 40;
const MAX_IN_FLIGHT = 64;
const ADMIN = randomBytes(24).toString('hex');
const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summary(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN, n: sorted.length };
}

async function sampleLag(base) {
  const headers = { authorization: `Bearer ${ADMIN}` };
  const [stats, metrics] = await Promise.all([
    fetch(`${base}/api/stats`, { headers }).then((r) => r.json()),
    fetch(`${base}/metrics`, { headers }).then((r) => r.text()),
  ]);
  const m = /^bluetick_pipeline_lag_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics);
  return { api: stats.pipeline.lagSeconds, metric: m ? Number(m[1]) : NaN };
}

/** Posts `bodies` one every `everyMs` on a fixed schedule; resolves when all are acked. */
async function paced(url, bodies, everyMs) {
  const started = performance.now();
  let inFlight = 0;
  let failed = 0;
  let late = 0;
  const sends = [];
  for (let i = 0; i < bodies.length; i++) {
    const due = started + i * everyMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -everyMs) late++;
    while (inFlight >= MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 1));
    inFlight++;
    sends.push(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: bodies[i] })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) failed++;
        })
        .catch(() => failed++)
        .finally(() => inFlight--),
    );
  }
  await Promise.all(sends);
  return { seconds: (performance.now() - started) / 1000, failed, late };
}

export async function runLagBench({ store } = {}) {
  const where = store === undefined ? 'SQLite' : 'PostgreSQL';
  console.log(`\n== lag: pipeline lag at half the end-to-end rate (${where}, ${SECONDS} s, sampled every ${SAMPLE_MS} ms) ==`);
  const fixed = Number(process.env.BENCH_LAG_RATE ?? 0);
  let rate = 2 * fixed;
  if (!(fixed > 0)) {
    const full = await runBluetick(store, enablexBodies(RATE_EVENTS, { hot: false }), RATE_EVENTS);
    rate = full.events / full.seconds;
  }
  const target = rate / 2;
  const posts = Math.max(1, Math.round((target * SECONDS) / PER_POST));
  const everyMs = (PER_POST * 1000) / target;
  console.log(`end-to-end rate: ${fixed > 0 ? 'not measured (BENCH_LAG_RATE)' : `${rate.toFixed(0)} events/s`}; paced load: ${target.toFixed(0)} events/s (${posts} POSTs, one every ${everyMs.toFixed(1)} ms)`);

  const dataDir = store === undefined ? mkdtempSync(join(tmpdir(), 'bluetick-bench-lag-')) : undefined;
  const schema = `bench_lag_${randomBytes(4).toString('hex')}`;
  const storeArgs = store === undefined ? ['--data', dataDir] : ['--store', schemaUrl(store, schema)];
  const proc = await startProcess([BIN, 'serve', '--port', '0', ...storeArgs, '--log-level', 'warn'], {
    env: { BLUETICK_BASIC_AUTH: 'enablex:bench-secret', BLUETICK_ADMIN_TOKEN: ADMIN },
  });
  const api = [];
  const metric = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = performance.now();
      try {
        const s = await sampleLag(proc.base);
        api.push(s.api);
        metric.push(s.metric);
      } catch {
        // A sample the server could not answer is left out; the count printed shows it.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_MS - (performance.now() - at))));
    }
  })();
  try {
    const load = await paced(`${proc.base}/webhooks/default`, enablexBodies(posts * PER_POST, { hot: false }), everyMs);
    sampling = false;
    await sampler;
    const a = summary(api);
    const m = summary(metric);
    const fmt = (s) => `p50 ${s.p50.toFixed(3)} s, p99 ${s.p99.toFixed(3)} s, max ${s.max.toFixed(3)} s (${s.n} samples)`;
    console.log(
      `load: ${((posts * PER_POST) / load.seconds).toFixed(0)} events/s over ${load.seconds.toFixed(1)} s${load.failed ? `, FAILED POSTS ${load.failed}` : ''}${load.late ? `, ${load.late} POSTs sent late` : ''}`,
    );
    if (process.env.BENCH_LAG_SERIES) console.log(`samples (s, every ${SAMPLE_MS} ms): ${api.map((v) => v.toFixed(2)).join(' ')}`);
    console.log(`API pipeline.lagSeconds:        ${fmt(a)}`);
    console.log(`bluetick_pipeline_lag_seconds:  ${fmt(m)}`);
    console.log(`lag p99 < 1 s: ${a.p99 < 1 && m.p99 < 1 ? 'yes' : 'NO'} (target: yes)`);
  } finally {
    sampling = false;
    await sampler;
    await stopProcess(proc.child);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    else await dropSchema(store, schema).catch(() => undefined);
  }
}

/** A fresh schema on the PostgreSQL server of `store`. */
function schemaUrl(store, schema) {
  const u = new URL(store);
  u.searchParams.set('schema', schema);
  return u.toString();
}

async function dropSchema(store, schema) {
  const base = new URL(store);
  base.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: base.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
