// npm run bench: durable-ack throughput of bluetick against a bare node:http server, measured in
// the same run on the same machine, so the ratio means something even when absolute numbers drift.
//
// Each server runs in its own process; autocannon loads it from this process over loopback with
// 64 keep-alive connections and ~1.2 KB WhatsApp bodies, each with a fresh message id.
// Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 64), BENCH_ROUNDS (default 2).
//
// `npm run bench` runs every part; `npm run bench -- ingest query` runs only the parts named
// (ingest, delivery, latency, postgres, query, refusal, pipeline, lag, campaign, storage, reducers); `--store postgres://...` runs the
// pipeline, lag and campaign parts against PostgreSQL instead of SQLite.
//
// bluetick acks once a body is journaled and normalizes it afterwards. After each load the
// bench also measures how long the pipeline takes to normalize every journaled row
// (reading the database file read-only), so the ingest figure is never bought with a
// backlog that is not reported. Before the measured run, the warm-up's backlog is drained.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { metaTextBody } from './payloads.js';
import { BARE_SERVER, BIN, startProcess, stopProcess } from './processes.js';

const PARTS = ['ingest', 'delivery', 'latency', 'postgres', 'query', 'refusal', 'pipeline', 'lag', 'campaign', 'storage', 'reducers'];
const argv = process.argv.slice(2);
// `--store postgres://...` runs the pipeline and campaign parts against PostgreSQL.
const storeAt = argv.indexOf('--store');
const store = storeAt >= 0 ? argv[storeAt + 1] : undefined;
if (storeAt >= 0 && store === undefined) {
  console.error('--store needs a postgres:// URL');
  process.exit(2);
}
const chosen = storeAt >= 0 ? argv.filter((_, i) => i !== storeAt && i !== storeAt + 1) : argv;
for (const part of chosen) {
  if (!PARTS.includes(part)) {
    console.error(`unknown bench part "${part}"; choose from: ${PARTS.join(', ')}`);
    process.exit(2);
  }
}
const runs = (part) => chosen.length === 0 || chosen.includes(part);

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;

const bodies = Array.from({ length: 20_000 }, (_, i) => metaTextBody(i));
/** Requests sent by this process so far: numbers the message id of each body, so none repeats. */
let sent = 0;

async function load(url) {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        setupRequest(request) {
          // A fresh message id in every request of every run (a repeated one would be a
          // redelivery: journaled, but no new events for the pipeline to write).
          request.body = bodies[i++ % bodies.length].replace('wamid.HBgL', `wamid.${sent++}.`);
          return request;
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function benchBare() {
  const { child, base } = await startProcess([BARE_SERVER]);
  try {
    await load(`${base}/webhooks/default`); // warm-up round, not counted
    return await load(`${base}/webhooks/default`);
  } finally {
    await stopProcess(child);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls the database (read-only) until no journal row is pending. Returns the backlog when
 * called, how long it took to clear, and how many events were recorded meanwhile.
 */
async function pipelineCatchUp(dbFile, timeoutMs = 300_000) {
  const started = performance.now();
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  // Acked rows not copied into the journal yet wait in the inbox (src/store/sqlite/thread/inbox.ts).
  const inbox = new Database(dbFile.replace(/\.db$/, '.inbox.db'), { readonly: true, fileMustExist: true });
  try {
    const journalPending = db.prepare("SELECT count(*) FROM journal WHERE state = 'pending'").pluck();
    const lastJournalId = db.prepare('SELECT COALESCE(MAX(id), 0) FROM journal').pluck();
    const inboxWaiting = inbox.prepare('SELECT count(*) FROM inbox WHERE id > ?').pluck();
    const pending = { get: () => journalPending.get() + inboxWaiting.get(lastJournalId.get()) };
    const lastSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck();
    const backlog = pending.get();
    const events0 = lastSeq.get();
    let left = backlog;
    while (left > 0 && performance.now() - started < timeoutMs) {
      await sleep(50);
      left = pending.get();
    }
    const seconds = (performance.now() - started) / 1000;
    return { backlog, left, seconds, events: lastSeq.get() - events0 };
  } finally {
    inbox.close();
    db.close();
  }
}

async function benchBluetick() {
  const dataDir = mkdtempSync(join(tmpdir(), 'bluetick-bench-'));
  const dbFile = join(dataDir, 'bluetick.db');
  const { child, base } = await startProcess([BIN, 'serve', '--port', '0', '--data', dataDir, '--log-level', 'warn'], {
    env: { BLUETICK_BASIC_AUTH: 'enablex:bench-secret' },
  });
  try {
    await load(`${base}/webhooks/default`); // warm-up round, not counted
    await pipelineCatchUp(dbFile);
    const result = await load(`${base}/webhooks/default`);
    result.catchUp = await pipelineCatchUp(dbFile);
    await stopProcess(child);
    // Every 2xx must be a durable journal row: count them after the process has stopped.
    const db = new Database(dbFile, { readonly: true });
    result.journalRows = db.prepare('SELECT count(*) AS n FROM journal').get().n;
    db.close();
    return result;
  } finally {
    await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function row(name, r) {
  return `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   non-2xx ${r.non2xx}   errors ${r.errors}`;
}

/**
 * Median time of a one-row WAL commit with synchronous=FULL in a temporary folder: the floor
 * of a durable ack on this disk right now. A busy disk (other processes fsyncing) moves the
 * ingest ratio far more than any code change, so the bench prints it with the results.
 */
function fsyncProbe(commits = 100) {
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-fsync-'));
  try {
    const db = new Database(join(dir, 'probe.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (b BLOB)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const body = Buffer.alloc(1200, 7);
    const times = [];
    for (let i = 0; i < commits; i++) {
      const t0 = performance.now();
      insert.run(body);
      times.push(performance.now() - t0);
    }
    db.close();
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runIngestBench() {
  console.log(`bluetick bench: ${connections} connections, ${seconds}s per run, ${rounds} rounds, ~${bodies[0].length} B bodies`);
  console.log(`durable commit on this disk now: ${fsyncProbe().toFixed(2)} ms (one row, WAL, synchronous=FULL, median of 100)`);
  const ratios = [];
  for (let round = 1; round <= rounds; round++) {
    const bare = await benchBare();
    const blue = await benchBluetick();
    const ratio = blue.rps / bare.rps;
    ratios.push(ratio);
    console.log(`\nround ${round}`);
    console.log(row('bare node:http (answers 200)', bare));
    console.log(row('bluetick durable ack (SQLite)', blue));
    const acked = blue.ok * 1;
    console.log(`journal rows ${blue.journalRows} (>= ${acked} acked incl. warm-up: ${blue.journalRows >= acked ? 'ok' : 'MISSING ROWS'})`);
    const c = blue.catchUp;
    console.log(
      c.left > 0
        ? `pipeline catch-up: ${c.backlog} rows pending when the load stopped, ${c.left} still pending after ${c.seconds.toFixed(1)} s`
        : `pipeline catch-up: ${c.backlog} rows pending when the load stopped, all normalized ${c.seconds.toFixed(1)} s later` +
            ` (${(c.backlog / Math.max(c.seconds, 0.001)).toFixed(0)} rows/s, ${(c.events / Math.max(c.seconds, 0.001)).toFixed(0)} events/s)`,
    );
    console.log(`ratio bluetick / bare: ${ratio.toFixed(2)}x`);
  }
  const best = Math.max(...ratios);
  const sorted = ratios.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  console.log(`\ningest ratio: median ${median.toFixed(2)}x, best ${best.toFixed(2)}x (target >= 0.60x)`);
}

if (runs('ingest')) await runIngestBench();
if (runs('delivery')) await (await import('./delivery.js')).runDeliveryBench();
if (runs('latency')) await (await import('./latency.js')).runLatencyBench();
if (runs('postgres')) await (await import('./postgres.js')).runPostgresBench();
if (runs('query')) await (await import('./query.js')).runQueryBench();
if (runs('refusal')) await (await import('./refusal.js')).runRefusalBench();
if (runs('pipeline')) await (await import('./pipeline.js')).runPipelineBench({ store });
if (runs('lag')) await (await import('./lag.js')).runLagBench({ store });
if (runs('campaign')) await (await import('./campaign.js')).runCampaignBench({ store });
if (runs('storage')) await (await import('./storage.js')).runStorageBench();
if (runs('reducers')) await (await import('./reducers.js')).runReducerBench();
