// The delivery bench's baseline: a plain undici loop that POSTs prepared event bodies to a URL,
// each signed per the Standard Webhooks spec with the same headers bluetick's HTTP sink sends,
// over `connections` keep-alive connections, and reports how long that took.
//
// Runs as its own process (like bluetick in the measured run), so the receiver in the bench
// process never shares an event loop with the sender. Input on stdin as one JSON document:
// { url, secret, connections, bodies: [{ id, body }] }. Output on stdout: { ms, cpuMs, ok, failed }.
import { createHmac } from 'node:crypto';
import { Pool } from 'undici';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { url, secret, connections, bodies } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const target = new URL(url);
const pool = new Pool(target.origin, { connections });
// Signed with node:crypto's native HMAC (the receiver checks a sample with the standardwebhooks
// package): the fastest plain loop, so the ratio is not bought with a slow baseline.
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
const sign = (id, seconds, body) => `v1,${createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64')}`;
let next = 0;
let ok = 0;
let failed = 0;

async function lane() {
  while (next < bodies.length) {
    const { id, body } = bodies[next++];
    const seconds = Math.floor(Date.now() / 1000);
    const res = await pool.request({
      path: target.pathname,
      method: 'POST',
      headers: {
        'user-agent': 'bench',
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(seconds),
        'webhook-signature': sign(id, seconds, body),
        'idempotency-key': id,
      },
      body,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) ok++;
    else failed++;
  }
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: connections }, lane));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await pool.close();
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, ok, failed })}\n`);
