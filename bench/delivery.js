// Delivery section of `npm run bench`: events per second delivered end to end, from the
// provider's POST to a local HTTP sink's 2xx, against a plain signed-POST loop to the same
// receiver in the same run.
//
// The receiver runs in this process and is the same for both measurements: it answers 204,
// parses every body, checks the Standard Webhooks signature of every 50th request, counts
// distinct webhook-ids, and checks the order per conversation (each event's message id
// carries its index; within one conversation the indexes must arrive increasing).
//
// 1. Baseline: `signed-post-loop.js`, a process of its own, POSTs the events bluetick would
//    send (the same bodies, normalized here with bluetick's own normalizer), each signed with
//    the same secret and headers, over as many keep-alive connections as the sink may use. It
//    runs before and after the bluetick runs; the faster of the two is the baseline.
// 2. bluetick: `bin/bluetick serve` in its own process with one signed HTTP sink and one route
//    taking every event. This process posts BENCH_DELIVERY_EVENTS (default 10 000) inbound
//    messages as Meta envelopes of 40 messages each, spread over 2 000 conversations (so each
//    conversation gets several, in order), over 8 keep-alive connections. The clock runs from
//    the first POST until every event has reached the receiver. It also prints when the
//    pipeline had recorded every event, and how many had been delivered by then, and how long
//    each event took from the ack of the POST that carried it to the receiver (percentiles).
// 3. bluetick, delivery only: the same server and config with the delivery worker stopped
//    (`delivery-server.js`); the same events are posted and recorded first, then the worker
//    starts and the clock runs until the last delivery. This is the delivery path alone,
//    without the pipeline sharing the store's thread.
//
// The ratio bluetick / loop is the figure to compare between runs; absolute rates drift.
// Environment: BENCH_DELIVERY_EVENTS, BENCH_DELIVERY_CONVERSATIONS (2 000), BENCH_DELIVERY_BATCH
// (messages per POST, 40), BENCH_DELIVERY_SINK_CONCURRENCY (the sink's connections and the
// loop's, 32), BENCH_DELIVERY_CONCURRENCY (bluetick's delivery.concurrency, default 64),
// BENCH_DELIVERY_ROUNDS (1), BENCH_NODE_FLAGS (extra node flags for the bluetick process,
// e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { normalize, serializeEvent } from '../dist/events/normalize.js';
import { metaEnvelope } from './payloads.js';
import { threadCpuOf } from './pipeline.js';
import { BIN, ROOT, sinkConfig, startProcess, stopProcess } from './processes.js';

const events = Number(process.env.BENCH_DELIVERY_EVENTS ?? 10_000);
const conversations = Number(process.env.BENCH_DELIVERY_CONVERSATIONS ?? 2_000);
const batch = Number(process.env.BENCH_DELIVERY_BATCH ?? 40);
const sinkConcurrency = Number(process.env.BENCH_DELIVERY_SINK_CONCURRENCY ?? 32);
const concurrency = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 64);
const rounds = Number(process.env.BENCH_DELIVERY_ROUNDS ?? 1);
const LOOP = join(ROOT, 'bench/signed-post-loop.js');
const SERVER = join(ROOT, 'bench/delivery-server.js');
const ID_PREFIX = 'wamid.bench.';

const contact = (c) => `1650555${String(c).padStart(4, '0')}`;

/**
 * Meta envelopes of `batch` inbound text messages each; message i comes from conversation
 * i % conversations, and its id ends in i, so the receiver can check the order.
 */
function batchBodies(round) {
  const bodies = [];
  for (let first = 0; first < events; first += batch) {
    const contacts = [];
    const messages = [];
    for (let i = first; i < Math.min(events, first + batch); i++) {
      const from = contact(i % conversations);
      contacts.push({ profile: { name: `Customer ${i % conversations}` }, wa_id: from });
      messages.push({
        from,
        id: `${ID_PREFIX}${round}.${i}`,
        timestamp: String(1_700_000_000 + i),
        type: 'text',
        text: { body: `Hello, I would like to know the status of my order number ${100000 + i}. Thank you!` },
      });
    }
    bodies.push(metaEnvelope(contacts, messages));
  }
  return bodies;
}

/** The event bodies bluetick's sink would POST for these envelopes, as `{ id, body }`. */
function eventBodies(bodies) {
  const out = [];
  for (const body of bodies) {
    const result = normalize(body, { channel: 'default', receivedAt: Date.now() });
    if (!result.ok) throw new Error(`bench body did not normalize: ${result.cause}`);
    for (const event of result.events) out.push({ id: event.id, body: serializeEvent(event) });
  }
  return out;
}

function receiver(secret) {
  const webhook = new Webhook(secret);
  let phase;
  const reset = () => {
    let onAll;
    const all = new Promise((resolve) => (onAll = resolve));
    phase = { seen: new Set(), last: new Map(), arrived: new Float64Array(events), requests: 0, badSignatures: 0, outOfOrder: 0, all, onAll };
  };
  reset();
  const server = createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const p = phase;
      p.requests++;
      const text = Buffer.concat(parts).toString('utf8');
      if (p.requests % 50 === 0) {
        try {
          webhook.verify(text, req.headers);
        } catch {
          p.badSignatures++;
        }
      }
      const event = JSON.parse(text);
      const index = Number(event.messageId.slice(event.messageId.lastIndexOf('.') + 1));
      if (p.arrived[index] === 0) p.arrived[index] = performance.now();
      const before = p.last.get(event.from) ?? -1;
      // A redelivery of the newest one is allowed (at least once); going back is not.
      if (index < before) p.outOfOrder++;
      else p.last.set(event.from, index);
      p.seen.add(req.headers['webhook-id']);
      res.writeHead(204).end();
      if (p.seen.size >= events) p.onAll(performance.now());
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hooks`,
        reset,
        all: () => phase.all,
        /** When each event (by index) first reached the receiver, `performance.now()`; 0 if it did not. */
        arrivals: () => phase.arrived,
        stats: () => ({ distinct: phase.seen.size, requests: phase.requests, badSignatures: phase.badSignatures, outOfOrder: phase.outOfOrder }),
        close: () => new Promise((r) => server.close(() => r(server.closeAllConnections()))),
      }),
    );
  });
}

/**
 * CPU time a process has used so far, in ms (Linux `/proc`; undefined elsewhere). On a shared
 * machine wall-clock rates swing with the neighbours; CPU per event much less.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second here).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Where a process's CPU went between two {@link threadCpuOf} snapshots, in µs per event: its
 * main thread, and each other thread that used any, busiest first (the store's thread, then
 * the checkpointer and V8's and libuv's helpers; Linux names none of them apart). This
 * process's own share (the load, the receiver) is `bench`: the machine has two cores, so
 * what the bench itself spends is not there for bluetick.
 */
function cpuSplit(totalMs, before, after, benchMicros) {
  const others = [];
  for (const [tid, s] of after) {
    const us = Math.round((1e6 * (s - (before.get(tid) ?? 0))) / events);
    if (us > 0) others.push(us);
  }
  others.sort((a, b) => b - a);
  const main = Math.round((1000 * totalMs) / events) - others.reduce((a, b) => a + b, 0);
  return `main ${main}, other threads ${others.join(' ')}; this bench process ${Math.round(benchMicros / events)}`;
}

/**
 * Resolves with the time the pipeline had recorded every event (polling the database
 * read-only every 20 ms) and how many had been delivered by then, or undefined after 300 s. Delivery keeps up when the last event
 * reaches the receiver shortly after this.
 */
async function whenRecorded(file, delivered) {
  const until = performance.now() + 300_000;
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const count = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck();
    while (performance.now() < until) {
      if (count.get() >= events) return { at: performance.now(), delivered: delivered() };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return undefined;
  } finally {
    db?.close();
  }
}

/** Runs the signed-POST loop in its own process; resolves with its elapsed ms. */
function runLoop(input) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOOP], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`signed-post loop exited with ${code}`))));
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * Per event, the time from the ack of the POST that carried it to its first arrival at the
 * receiver (event i rode in POST floor(i / batch)): p50, p90, p99 and max in seconds.
 */
function deliveryLatency(ackedAt, arrived) {
  const waits = [];
  for (let i = 0; i < arrived.length; i++) {
    const ack = ackedAt[Math.floor(i / batch)];
    if (arrived[i] > 0 && ack > 0) waits.push(Math.max(0, arrived[i] - ack) / 1000);
  }
  if (waits.length === 0) return undefined;
  waits.sort((a, b) => a - b);
  const at = (q) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: waits[waits.length - 1] };
}

/**
 * One bluetick run. End to end: `bin/bluetick serve`, the clock from the first POST to the
 * last delivery. `deliveryOnly`: `delivery-server.js` (the same server with the worker
 * stopped), every event posted and recorded first, then the clock runs from starting the
 * worker to the last delivery.
 */
async function runBluetick(rx, secret, bodies, { deliveryOnly = false } = {}) {
  const { dir, config } = sinkConfig('bluetick-bench-delivery-', { url: rx.url, secret, concurrency: sinkConcurrency }, { delivery: { concurrency } });
  const args = deliveryOnly ? [SERVER, config] : [BIN, 'serve', '--config', config];
  const { child, base } = await startProcess(args, {
    // The sink's URL is on loopback too: wait for the server's own line.
    ready: /listening on (https?:\/\/127\.0\.0\.1:\d+)/,
    nodeFlags: process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [],
    stdin: deliveryOnly ? 'pipe' : 'ignore',
  });
  try {
    const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;
    let i = 0;
    const ackedAt = new Float64Array(bodies.length);
    let cpu0 = cpuMsOf(child.pid);
    let threads0 = threadCpuOf(child.pid);
    let bench0 = process.cpuUsage();
    let t0 = performance.now();
    const load = await autocannon({
      url: `${base}/webhooks/default`,
      connections: 8,
      amount: bodies.length,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          setupRequest(request, context) {
            context.post = i;
            request.body = bodies[i++];
            return request;
          },
          onResponse(status, body, context) {
            // Only a 200 acks the POST; a 503 leaves its events unacked (0, left out).
            if (status === 200) ackedAt[context.post] = performance.now();
          },
        },
      ],
    });
    // The last 200, not when autocannon resolved: it notices the end on its once-a-second tick.
    const acked = ackedAt.reduce((last, at) => Math.max(last, at), t0);
    const recorded = whenRecorded(join(dir, 'data', 'bluetick.db'), () => rx.stats().distinct);
    if (deliveryOnly) {
      if ((await recorded) === undefined) throw new Error('the pipeline did not record every event within 300 s');
      cpu0 = cpuMsOf(child.pid);
      threads0 = threadCpuOf(child.pid);
      bench0 = process.cpuUsage();
      t0 = performance.now();
      child.stdin.write('deliver\n');
    }
    const timeout = new Promise((resolve) => setTimeout(() => resolve(undefined), 300_000).unref());
    const done = await Promise.race([rx.all(), timeout]);
    const recordedAt = await recorded;
    const cpu1 = cpuMsOf(child.pid);
    const bench = process.cpuUsage(bench0);
    const cpuMs = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
    const split = cpuMs === undefined ? undefined : cpuSplit(cpuMs, threads0, threadCpuOf(child.pid), bench.user + bench.system);
    return { t0, acked, recordedAt, done, cpuMs, split, ok: load['2xx'], non2xx: load.non2xx, latency: deliveryLatency(ackedAt, rx.arrivals()) };
  } finally {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function orderLine(s) {
  return `${s.requests} requests for ${s.distinct} events, ${s.badSignatures} bad signatures in the sampled ones, ` +
    `${s.outOfOrder === 0 ? 'order per conversation held' : `${s.outOfOrder} OUT OF ORDER`}`;
}

export async function runDeliveryBench() {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const rx = await receiver(secret);
  console.log(
    `\ndelivery: ${events} events in ${batch}-message POSTs over ${conversations} conversations, one signed HTTP sink ` +
      `(${sinkConcurrency} connections) answering 204, ${rounds} round(s)`,
  );
  const ratios = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const bodies = batchBodies(round);
      const signed = eventBodies(bodies);
      if (signed.length !== events) throw new Error(`expected ${events} events, normalized ${signed.length}`);

      // The loop runs before and after bluetick; the faster of the two is the baseline (a
      // neighbour's burst during one loop run must not make bluetick look better).
      const loopRun = async () => {
        rx.reset();
        const loop = await runLoop({ url: rx.url, secret, connections: sinkConcurrency, bodies: signed });
        return { ...loop, stats: rx.stats(), rate: events / (loop.ms / 1000) };
      };
      const before = await loopRun();

      rx.reset();
      const run = await runBluetick(rx, secret, bodies);
      const s = rx.stats();
      rx.reset();
      const alone = await runBluetick(rx, secret, bodies, { deliveryOnly: true });
      const sAlone = rx.stats();
      const after = await loopRun();
      const loop = after.rate > before.rate ? after : before;
      const loopRate = loop.rate;

      console.log(`\nround ${round}`);
      for (const [name, l] of [['before', before], ['after', after]]) {
        console.log(
          `  plain undici loop, signed POSTs (${name}): ${l.rate.toFixed(0).padStart(6)} events/s  (${(l.ms / 1000).toFixed(2)} s, ` +
            `${((1000 * l.cpuMs) / events).toFixed(0)} µs CPU per event; ${orderLine(l.stats)})`,
        );
      }
      if (run.done === undefined) {
        console.log(`  bluetick: only ${s.distinct} of ${events} delivered within 300 s (${orderLine(s)})`);
        continue;
      }
      const seconds = (run.done - run.t0) / 1000;
      const rate = events / seconds;
      ratios.push(rate / loopRate);
      console.log(
        `  bluetick end to end (POST -> ack -> normalize -> sink -> 2xx): ${rate.toFixed(0).padStart(6)} events/s  (${seconds.toFixed(2)} s; ` +
          `${bodies.length} POSTs acked in ${((run.acked - run.t0) / 1000).toFixed(2)} s, ${run.non2xx} non-2xx` +
          `${run.cpuMs === undefined ? '' : `, ${((1000 * run.cpuMs) / events).toFixed(0)} µs CPU per event (all threads)`}; ${orderLine(s)})`,
      );
      if (run.recordedAt !== undefined) {
        console.log(
          `  bluetick pipeline had recorded every event ${((run.recordedAt.at - run.t0) / 1000).toFixed(2)} s after the first POST, ` +
            `${run.recordedAt.delivered} delivered by then; the last delivery came ${((run.done - run.recordedAt.at) / 1000).toFixed(2)} s after that`,
        );
      }
      if (run.split) console.log(`    CPU µs per event: ${run.split}`);
      if (run.latency) {
        const l = run.latency;
        console.log(
          `    from the ack of its POST to the receiver, per event: p50 ${l.p50.toFixed(2)} s, p90 ${l.p90.toFixed(2)} s, p99 ${l.p99.toFixed(2)} s, max ${l.max.toFixed(2)} s`,
        );
      }
      console.log(`  ratio bluetick end to end / the faster loop: ${(rate / loopRate).toFixed(2)}x (target >= 0.50x)`);
      if (alone.done === undefined) {
        console.log(`  delivery only: ${sAlone.distinct} of ${events} delivered within 300 s (${orderLine(sAlone)})`);
      } else {
        const aloneRate = events / ((alone.done - alone.t0) / 1000);
        console.log(
          `  bluetick delivery only (every event recorded first, then the worker started): ${aloneRate.toFixed(0).padStart(6)} events/s` +
            ` (${((alone.done - alone.t0) / 1000).toFixed(2)} s` +
            `${alone.cpuMs === undefined ? '' : `, ${((1000 * alone.cpuMs) / events).toFixed(0)} µs CPU per event`}; ${orderLine(sAlone)}), ` +
            `${(aloneRate / loopRate).toFixed(2)}x the faster loop`,
        );
        if (alone.split) console.log(`    CPU µs per event: ${alone.split}`);
      }
    }
  } finally {
    await rx.close();
  }
  if (ratios.length > 1) {
    const sorted = ratios.slice().sort((a, b) => a - b);
    console.log(`\ndelivery ratio over ${ratios.length} rounds: median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}x, all ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
  }
}
