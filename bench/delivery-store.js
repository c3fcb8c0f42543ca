// The store's side of delivery alone, in this thread: recorded events spread over a number
// of conversations (each one delivery lane), then the worker's round trips
// (`deliveries.settle`: record the outcomes of the last batch, lease the next) until every
// delivery succeeded. Prints the CPU time per delivery of recording the events with the
// route (and without it, so the difference is what creating deliveries costs) and of
// settling them (lease + record), the figures to compare between versions of the store's
// delivery code. CPU time of this process, not wall time: on a shared machine the wall
// clock mostly measures the neighbours. With PostgreSQL the local server's CPU for settling is
// printed too (every postgres process on this machine counts: run nothing else beside it).
//
// With one lane every delivery waits for the one before it: one round trip per delivery,
// and each finds the lane's next delivery among everything still queued behind it. Run it
// with two backlogs (say 2 000 and 20 000): the cost per delivery must not grow with the
// backlog.
//
// Run after `npm run build`:
//   node bench/delivery-store.js [events=10000] [batch=64] [lanes=2000] [--store postgres://...]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteStore } from '../dist/store/sqlite/sqlite-store.js';
import { PostgresStore } from '../dist/store/postgres/postgres-store.js';
import { postgresCpuSeconds } from './pipeline.js';

const argv = process.argv.slice(2);
const storeAt = argv.indexOf('--store');
const storeUrl = storeAt >= 0 ? argv[storeAt + 1] : undefined;
const [events = 10_000, batch = 64, lanes = 2_000] = (storeAt >= 0 ? argv.filter((_, i) => i !== storeAt && i !== storeAt + 1) : argv).map(Number);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A fresh store: a SQLite file in a temporary folder, or a schema of its own on the PostgreSQL server. */
async function freshStore() {
  if (storeUrl === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'bluetick-delivery-store-'));
    return { store: new SqliteStore(join(dir, 'bluetick.db')), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(storeUrl);
  url.searchParams.set('schema', schema);
  const drop = async () => {
    const client = new pg.Client({ connectionString: storeUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  };
  return { store: new PostgresStore(url.toString()), drop };
}

async function run(routed) {
  const { store, drop } = await freshStore();
  try {
    await store.migrate();
    if (routed) await store.deliveries.setRoutes([{ name: 'all', sink: 'rx' }]);
    const T0 = Date.now();
    const c0 = cpu();
    for (let first = 0; first < events; first += 500) {
      const [journalId] = await store.journal.append([{ channel: 'main', receivedAt: T0, headers: {}, body: Buffer.from('{}'), verifiedBy: 'none' }]);
      await store.journal.claim(10);
      const list = [];
      for (let i = first; i < Math.min(events, first + 500); i++) {
        list.push({
          id: `evt_${i}`, type: 'message.received', provider: 'meta', channel: 'main', phoneNumberId: '1065',
          receivedAt: new Date(T0).toISOString(), kind: 'text', from: `1650555${String(i % lanes).padStart(6, '0')}`,
          text: `Hello, I would like to know the status of my order number ${100000 + i}. Thank you!`, data: { id: i },
        });
      }
      await store.journal.record([{ journalId, state: 'processed', events: list }]);
    }
    const recordMs = cpu() - c0;
    if (!routed) return { recordMs };
    const now = Date.now() + 1_000;
    let outcomes = [];
    let done = 0;
    let trips = 0;
    const c1 = cpu();
    const s1 = postgresCpuSeconds();
    for (;;) {
      const { leased } = await store.deliveries.settle({ owner: 'bench', now, outcomes, lease: { leaseMs: 30_000, limit: batch, sinks: ['rx'] } });
      trips++;
      done += outcomes.length;
      if (leased.length === 0 && outcomes.length === 0) break;
      outcomes = leased.map((l) => [l[0], now, 2, 'success', 204, null, null, null, null, 'succeeded', now]);
    }
    return { recordMs, settleMs: cpu() - c1, serverMs: (postgresCpuSeconds() - s1) * 1000, done, trips };
  } finally {
    await store.close();
    await drop();
  }
}

const bare = await run(false);
const routed = await run(true);
const per = (ms) => ((1000 * ms) / events).toFixed(1);
console.log(
  `${routed.done} deliveries over ${lanes} lane(s) in ${routed.trips} round trips, CPU µs per delivery: creating ${per(routed.recordMs - bare.recordMs)} ` +
    `(recording ${per(routed.recordMs)} with the route, ${per(bare.recordMs)} without), settling ${per(routed.settleMs)}` +
    (storeUrl === undefined ? '' : ` (and ${per(routed.serverMs)} on the PostgreSQL server)`),
);
