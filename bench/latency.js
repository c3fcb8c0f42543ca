// `npm run bench -- latency`: how long an event takes from the ack of its POST to the user's
// receiver when the load is steady, not a burst.
//
// For each case, a fresh `bluetick serve` (SQLite) with one signed HTTP sink and one route
// taking every event; the receiver runs in this process and answers 204. Meta envelopes are
// posted on a fixed schedule (a late POST goes at once, so a slow server does not lower the
// load): first BENCH_LATENCY_WARMUP seconds (default 3), then BENCH_LATENCY_SECONDS (default
// 10) that are measured. Per event, the time from the 200 of the POST that carried it to its
// first arrival at the receiver. Each conversation's events must arrive in order.
//
// Cases (BENCH_LATENCY_CASES, default "50x1,500x1,200x10"): POSTs per second x messages per
// POST, over 500 conversations. Printed per case: p50, p90, p99 and max of the measured
// window; the median of each quarter second's max (a tail spread over the whole window
// against one stall); and the max during the warm-up (a process that has just started runs
// cold code).
//
// The sender and the receiver share this process and the machine's CPUs with bluetick: a
// figure here includes their delays too, so it is an upper bound.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { metaEnvelope } from './payloads.js';
import { BIN, sinkConfig, startProcess, stopProcess } from './processes.js';

const WARMUP = Number(process.env.BENCH_LATENCY_WARMUP ?? 3);
const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const CONVERSATIONS = 500;
const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;

function parseCases(text) {
  return text.split(',').map((c) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(c);
    if (!m) throw new Error(`BENCH_LATENCY_CASES: "${c}" is not <posts per second>x<messages per post>`);
    return { posts: Number(m[1]), perPost: Number(m[2]) };
  });
}

/** A receiver that notes when each event (by the index in its message id) first arrives, and checks the order per sender. */
function receiver(total) {
  const arrived = new Float64Array(total);
  const last = new Map();
  let distinct = 0;
  let outOfOrder = 0;
  let onAll;
  const all = new Promise((resolve) => (onAll = resolve));
  const server = createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(parts).toString('utf8'));
      const index = Number(event.messageId.slice(event.messageId.lastIndexOf('.') + 1));
      if (arrived[index] === 0) {
        arrived[index] = performance.now();
        if (++distinct === total) onAll();
      }
      if (index < (last.get(event.from) ?? -1)) outOfOrder++;
      else last.set(event.from, index);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hooks`,
        arrived,
        all,
        stats: () => ({ distinct, outOfOrder }),
        close: () => new Promise((r) => server.close(() => r(server.closeAllConnections()))),
      }),
    ),
  );
}

function bodiesFor({ posts, perPost }, seconds) {
  const bodies = [];
  for (let p = 0; p < posts * seconds; p++) {
    const contacts = [];
    const messages = [];
    for (let k = 0; k < perPost; k++) {
      const i = p * perPost + k;
      const from = `1650556${String(i % CONVERSATIONS).padStart(4, '0')}`;
      contacts.push({ profile: { name: `Customer ${i % CONVERSATIONS}` }, wa_id: from });
      messages.push({ from, id: `wamid.latency.${i}`, timestamp: String(1_700_000_000 + i), type: 'text', text: { body: `Is my order ${100_000 + i} on its way?` } });
    }
    bodies.push(metaEnvelope(contacts, messages));
  }
  return bodies;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

async function runCase(c) {
  const seconds = WARMUP + SECONDS;
  const bodies = bodiesFor(c, seconds);
  const total = bodies.length * c.perPost;
  const rx = await receiver(total);
  const { dir, config } = sinkConfig('bluetick-bench-latency-', { url: rx.url, secret: `whsec_${randomBytes(32).toString('base64')}` });
  const { child, base } = await startProcess([BIN, 'serve', '--config', config], { ready: /listening on (https?:\/\/127\.0\.0\.1:\d+)/ });
  try {
    const ackedAt = new Float64Array(bodies.length);
    let failed = 0;
    const posts = [];
    const t0 = performance.now();
    for (let p = 0; p < bodies.length; p++) {
      const wait = t0 + (p * 1000) / c.posts - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      posts.push(
        fetch(`${base}/webhooks/default`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: bodies[p] }).then(
          async (res) => {
            await res.arrayBuffer();
            if (res.status === 200) ackedAt[p] = performance.now();
            else failed++;
          },
          () => failed++,
        ),
      );
    }
    await Promise.all(posts);
    const timedOut = await Promise.race([rx.all.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 60_000).unref())]);
    const measuredFrom = t0 + WARMUP * 1000;
    const waits = [];
    const quarters = new Map();
    let warmupMax = 0;
    for (let i = 0; i < total; i++) {
      const ack = ackedAt[Math.floor(i / c.perPost)];
      if (ack === 0 || rx.arrived[i] === 0) continue;
      const ms = Math.max(0, rx.arrived[i] - ack);
      if (ack < measuredFrom) {
        warmupMax = Math.max(warmupMax, ms);
        continue;
      }
      waits.push(ms);
      const q = Math.floor((ack - measuredFrom) / 250);
      quarters.set(q, Math.max(quarters.get(q) ?? 0, ms));
    }
    waits.sort((a, b) => a - b);
    return { total, failed, timedOut, stats: rx.stats(), waits, warmupMax, quarterMedian: median([...quarters.values()]) };
  } finally {
    await stopProcess(child);
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

export async function runLatencyBench() {
  const cases = parseCases(process.env.BENCH_LATENCY_CASES ?? '50x1,500x1,200x10');
  console.log(`\n== latency: from the ack to the receiver under a steady load (SQLite, one signed HTTP sink, ${WARMUP} s warm-up, ${SECONDS} s measured) ==`);
  for (const c of cases) {
    const r = await runCase(c);
    const rate = c.posts * c.perPost;
    const ms = (v) => `${v.toFixed(1)} ms`;
    const problems = [
      r.failed ? `${r.failed} POSTS NOT ACKED` : '',
      r.stats.distinct < r.total ? `ONLY ${r.stats.distinct} OF ${r.total} DELIVERED` : '',
      r.stats.outOfOrder ? `${r.stats.outOfOrder} OUT OF ORDER` : '',
      r.timedOut ? 'TIMED OUT' : '',
    ].filter(Boolean);
    const w = r.waits;
    console.log(
      `${`${rate} events/s (${c.posts} POSTs/s x ${c.perPost})`.padEnd(34)} ` +
        (w.length === 0
          ? 'nothing measured'
          : `p50 ${ms(quantile(w, 0.5))}, p90 ${ms(quantile(w, 0.9))}, p99 ${ms(quantile(w, 0.99))}, max ${ms(w[w.length - 1])}; ` +
            `the max of each quarter second: median ${ms(r.quarterMedian)}; warm-up max ${ms(r.warmupMax)}`) +
        (problems.length ? `   ${problems.join(', ')}` : '; order per conversation held'),
    );
  }
}
