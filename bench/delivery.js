// Delivery section of `npm run bench`: events per second delivered end to end, from the
// provider's POST to a local HTTP sink's 2xx.
//
// bluetick runs as `bin/bluetick serve` in its own process with one signed HTTP sink and one
// route taking every event. This process posts BENCH_DELIVERY_EVENTS (default 20 000) ~1.2 KB
// WhatsApp bodies, one inbound message each, from 10 000 contacts (so about as many ordering
// lanes), over 32 keep-alive connections, and runs the receiving endpoint: it answers 204,
// checks the Standard Webhooks signature of every 50th request, and counts distinct
// webhook-ids. The clock stops when every event has arrived.
// Environment: BENCH_DELIVERY_EVENTS, BENCH_DELIVERY_CONCURRENCY (bluetick's delivery.concurrency,
// default 64), BENCH_NODE_FLAGS (extra node flags for the bluetick process, e.g. `--cpu-prof`).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Webhook } from 'standardwebhooks';
import { metaTextBody } from './payloads.js';
import { BIN, startProcess, stopProcess } from './processes.js';

const events = Number(process.env.BENCH_DELIVERY_EVENTS ?? 20_000);
const concurrency = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 64);

function receiver(secret) {
  const seen = new Set();
  const webhook = new Webhook(secret);
  let requests = 0;
  let badSignatures = 0;
  let onAll;
  const all = new Promise((resolve) => (onAll = resolve));
  const server = createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      requests++;
      const id = req.headers['webhook-id'];
      if (requests % 50 === 0) {
        try {
          webhook.verify(Buffer.concat(parts).toString('utf8'), req.headers);
        } catch {
          badSignatures++;
        }
      }
      seen.add(id);
      res.writeHead(204).end();
      if (seen.size >= events) onAll(performance.now());
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hooks`,
        all,
        stats: () => ({ distinct: seen.size, requests, badSignatures }),
        close: () => new Promise((r) => server.close(() => r(server.closeAllConnections()))),
      }),
    );
  });
}

export async function runDeliveryBench() {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const rx = await receiver(secret);
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-bench-delivery-'));
  const config = join(dir, 'bluetick.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      channels: [{ name: 'default', basicAuth: ['enablex:bench-secret'] }],
      sinks: [{ name: 'rx', type: 'http', url: rx.url, secret, concurrency: 32 }],
      routes: [{ name: 'all', sink: 'rx' }],
      delivery: { concurrency },
    }),
  );
  const { child, base } = await startProcess([BIN, 'serve', '--config', config, '--port', '0', '--data', join(dir, 'data'), '--log-level', 'warn'], {
    // The sink's URL is on loopback too: wait for the server's own line.
    ready: /listening on (https?:\/\/127\.0\.0\.1:\d+)/,
    nodeFlags: process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [],
  });
  try {
    const bodies = Array.from({ length: events }, (_, i) => metaTextBody(i));
    const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;
    let i = 0;
    const t0 = performance.now();
    const load = await autocannon({
      url: `${base}/webhooks/default`,
      connections: 32,
      amount: events,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          setupRequest(request) {
            request.body = bodies[i++];
            return request;
          },
        },
      ],
    });
    const acked = performance.now();
    const timeout = new Promise((resolve) => setTimeout(() => resolve(undefined), 300_000).unref());
    const done = await Promise.race([rx.all, timeout]);
    const s = rx.stats();
    console.log('\ndelivery (POST -> durable ack -> normalize -> signed HTTP sink -> 2xx), end to end:');
    console.log(`  ${events} events posted in ${((acked - t0) / 1000).toFixed(1)} s (${load['2xx']} acked, ${load.non2xx} non-2xx)`);
    if (done === undefined) {
      console.log(`  only ${s.distinct} of ${events} delivered within 300 s`);
    } else {
      const seconds = (done - t0) / 1000;
      console.log(
        `  all delivered ${((done - acked) / 1000).toFixed(1)} s after the last ack: ${(events / seconds).toFixed(0)} events/s delivered end to end` +
          ` (${s.requests} requests for ${s.distinct} events, ${s.badSignatures} bad signatures in the sampled ones)`,
      );
    }
  } finally {
    await stopProcess(child);
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
