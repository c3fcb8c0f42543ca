// PostgreSQL section of `npm run bench`: durable-ack throughput of `bluetick serve --store
// postgres://...` with one process, and with two processes sharing one schema (as behind a load
// balancer, each taking half the connections), against the bare node:http baseline measured
// in the same run. Every 2xx must be a committed journal row: rows are counted afterwards.
//
// PostgreSQL: BENCH_POSTGRES_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
// The section works in a schema of its own and drops it. Skipped (with a message) when the
// server cannot be reached. Uses BENCH_SECONDS and BENCH_CONNECTIONS like the rest of the bench.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { metaTextBody } from './payloads.js';
import { BARE_SERVER, BIN, startProcess, stopProcess } from './processes.js';

const baseUrl = process.env.BENCH_POSTGRES_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;
const bodies = Array.from({ length: 20_000 }, (_, i) => metaTextBody(i));

/** Loads each URL with its share of the connections at the same time; sums the rates. */
async function load(urls) {
  let i = 0;
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url,
        connections: Math.max(1, Math.floor(connections / urls.length)),
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: auth },
            setupRequest(request) {
              request.body = bodies[i++ % bodies.length];
              return request;
            },
          },
        ],
      }),
    ),
  );
  return {
    rps: results.reduce((n, r) => n + r.requests.average, 0),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    ok: results.reduce((n, r) => n + r['2xx'], 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors + r.timeouts, 0),
  };
}

async function query(sql, schema) {
  const client = new pg.Client({ connectionString: baseUrl, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** n `bluetick serve` processes on one fresh schema: warm-up round, then the measured one. */
async function benchProcesses(n) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const u = new URL(baseUrl);
  u.searchParams.set('schema', schema);
  const args = [BIN, 'serve', '--port', '0', '--store', u.toString(), '--log-level', 'warn'];
  const env = { BLUETICK_BASIC_AUTH: 'enablex:bench-secret' };
  const first = await startProcess(args, { env });
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => startProcess(args, { env })));
  const procs = [first, ...rest];
  try {
    const urls = procs.map((p) => `${p.base}/webhooks/default`);
    const warm = await load(urls);
    const result = await load(urls);
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    const [{ n: rows }] = await query('SELECT count(*)::int AS n FROM journal', schema);
    result.journalRows = rows;
    result.acked = warm.ok + result.ok;
    return result;
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    await query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  }
}

async function benchBare() {
  const { child, base } = await startProcess([BARE_SERVER]);
  try {
    await load([`${base}/webhooks/default`]);
    return await load([`${base}/webhooks/default`]);
  } finally {
    await stopProcess(child);
  }
}

function row(name, r) {
  return `${name.padEnd(40)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   non-2xx ${r.non2xx}   errors ${r.errors}`;
}

export async function runPostgresBench() {
  const safe = new URL(baseUrl);
  if (safe.password) safe.password = '***';
  console.log(`\nPostgreSQL (${safe}): ${connections} connections, ${seconds}s per run`);
  try {
    const [{ version, sc }] = await query(
      "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sc",
    );
    console.log(`server ${version}, synchronous_commit=${sc}`);
  } catch (err) {
    console.log(`PostgreSQL section skipped: cannot reach the server (${err.message}); set BENCH_POSTGRES_URL`);
    return;
  }
  const bare = await benchBare();
  console.log(row('bare node:http (answers 200)', bare));
  for (const n of [1, 2]) {
    const r = await benchProcesses(n);
    console.log(row(`bluetick durable ack, ${n} process${n > 1 ? 'es' : ''} (PG)`, r));
    const ok = r.journalRows >= r.acked;
    console.log(`  journal rows ${r.journalRows} (>= ${r.acked} acked incl. warm-up: ${ok ? 'ok' : 'MISSING ROWS'}); ratio / bare: ${(r.rps / bare.rps).toFixed(2)}x`);
  }
}
