// The store's side of delivery alone, in this thread: 10 000 recorded events over 2 000
// conversations, then the worker's round trips (`deliveries.settle`: record the outcomes of
// the last batch, lease the next) until every delivery succeeded, with a batch of 64.
// Prints the CPU time per delivery of recording the events with the route (and without it,
// so the difference is what creating deliveries costs) and of settling them (lease +
// record), the figures to compare between versions of `store/sqlite/deliveries.ts`. CPU
// time, not wall time: on a shared machine the wall clock mostly measures the neighbours.
// Run after `npm run build`:
//   node bench/delivery-store.js [events] [batch]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../dist/store/sqlite/sqlite-store.js';

const events = Number(process.argv[2] ?? 10_000);
const batch = Number(process.argv[3] ?? 64);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function run(routed) {
const dir = mkdtempSync(join(tmpdir(), 'bluetick-delivery-store-'));
const store = new SqliteStore(join(dir, 'bluetick.db'));
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
        receivedAt: new Date(T0).toISOString(), kind: 'text', from: `1650555${String(i % 2000).padStart(4, '0')}`,
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
  for (;;) {
    const { leased } = await store.deliveries.settle({ owner: 'bench', now, outcomes, lease: { leaseMs: 30_000, limit: batch, sinks: ['rx'] } });
    trips++;
    done += outcomes.length;
    if (leased.length === 0 && outcomes.length === 0) break;
    outcomes = leased.map((l) => [l[0], now, 2, 'success', 204, null, null, null, null, 'succeeded', now]);
  }
  return { recordMs, settleMs: cpu() - c1, done, trips };
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
}

const bare = await run(false);
const routed = await run(true);
const per = (ms) => ((1000 * ms) / events).toFixed(1);
console.log(
  `${routed.done} deliveries in ${routed.trips} round trips, CPU µs per delivery: creating ${per(routed.recordMs - bare.recordMs)} ` +
    `(recording ${per(routed.recordMs)} with the route, ${per(bare.recordMs)} without), settling ${per(routed.settleMs)}`,
);
