// npm run test:overload: with the journal blocked, bluetick sheds load honestly and recovers.
//
// `bluetick serve` runs as its own process; this script loads it far above what it can take
// (many keep-alive connections posting trigger-built notifications with no pause, plus
// connections posting 256 KB bodies) and meanwhile blocks its journal from outside: another
// SQLite connection holds BEGIN EXCLUSIVE on the inbox (the file acked rows are first written
// to, `bluetick.inbox.db`), so no commit can happen.
//
// Phases: open (baseline) -> blocked -> flapping (the lock taken and released at random, so
// commits are slow rather than impossible) -> recovering -> recovered (no help from outside).
// Checks:
//   - while blocked, answers are 503 with Retry-After (never 200: nothing can commit);
//   - every 503 carries Retry-After; no other status, no 5xx but 503;
//   - every body answered 200 in any phase is in the journal afterwards (never 200 without
//     a commit);
//   - peak RSS of the server process stays under OVERLOAD_MAX_RSS_MIB;
//   - after the lock is released the server answers 200 again on its own.
// Environment: OVERLOAD_SECONDS (blocked phase, default 8), OVERLOAD_CONNECTIONS (default 256),
// OVERLOAD_MAX_RSS_MIB (default 768).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { freePort, privateBuild, memoryOf, sha256, sleep, startServerProcess, writeConfig } from '../support/server-process.js';

const build = await privateBuild();
const { DEFAULT_ACCOUNTS } = await build.load('trigger/build.js');
const { TRIGGER_KINDS, kindSupports } = await build.load('trigger/kinds.js');
const ENABLEX_KINDS = TRIGGER_KINDS.filter((k) => kindSupports(k, 'enablex'));
const { planPosts } = await build.load('trigger/plan.js');
const { createRng } = await build.load('trigger/rng.js');
const { sendPosts } = await build.load('trigger/send.js');

const BLOCKED_SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.OVERLOAD_CONNECTIONS ?? 256);
const BIG_CONNECTIONS = 32;
const MAX_RSS_MIB = Number(process.env.OVERLOAD_MAX_RSS_MIB ?? 768);
const BASIC = 'enablex:overload-secret';

const dir = mkdtempSync(join(tmpdir(), 'bluetick-overload-'));
const port = await freePort();
const dbFile = join(dir, 'data', 'bluetick.db');
const inboxFile = join(dir, 'data', 'bluetick.inbox.db');
const config = writeConfig(dir, {
  server: { port, dataDir: join(dir, 'data'), limits: { maxConnections: 4096 } },
  channels: [{ name: 'enablex', provider: 'enablex', basicAuth: [BASIC] }],
});
const url = `http://127.0.0.1:${port}/webhooks/enablex`;
console.log(`overload suite: ${CONNECTIONS} + ${BIG_CONNECTIONS} (256 KB bodies) connections, journal blocked for ${BLOCKED_SECONDS} s`);

const server = await startServerProcess(build.main, config);
const baseline = memoryOf(server.pid);

// ---- load ------------------------------------------------------------------------------------

const rng = createRng('overload');
let phase = 'open';
const phases = {};
const ackedBodies = new Map();
let sinceRelease;
let firstOkAfterRelease;

function count(result, body) {
  const p = (phases[phase] ??= { posts: 0, byStatus: {}, missingRetryAfter: 0 });
  p.posts++;
  const label = result.status === 0 ? `error ${result.error}` : String(result.status);
  p.byStatus[label] = (p.byStatus[label] ?? 0) + 1;
  if (result.status === 503 && result.retryAfter === undefined) p.missingRetryAfter++;
  if (result.status === 200) {
    ackedBodies.set(sha256(body), body);
    if (sinceRelease !== undefined && firstOkAfterRelease === undefined) firstOkAfterRelease = performance.now() - sinceRelease;
  }
}

function* small() {
  const clock = () => Math.floor(Date.now() / 1000);
  for (;;) yield* planPosts({ kinds: ENABLEX_KINDS, shape: 'enablex', account: DEFAULT_ACCOUNTS.enablex, count: ENABLEX_KINDS.length, batch: 2, clock }, rng);
}

let big = 0;
function* large() {
  for (;;) {
    const padding = 'x'.repeat(256 * 1024);
    const body = Buffer.from(JSON.stringify({ statuses: [{ id: `gBEGoverload${++big}`, status: 'read', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '919812345678', extra: padding }], business_phone: '919876500001' }));
    yield { n: big, notifications: [], body };
  }
}

const stop = new AbortController();
const onResult = (post, result) => count(result, post.body);
const loads = [
  sendPosts(small(), { url, basic: BASIC, concurrency: CONNECTIONS, timeoutMs: 30_000, signal: stop.signal, onResult }),
  sendPosts(large(), { url, basic: BASIC, concurrency: BIG_CONNECTIONS, timeoutMs: 30_000, signal: stop.signal, onResult }),
];

let peakRss = baseline?.rssMiB ?? 0;
const sampler = setInterval(() => {
  const m = memoryOf(server.pid);
  if (m) peakRss = Math.max(peakRss, m.rssMiB, m.peakMiB);
}, 100);

// ---- the lock --------------------------------------------------------------------------------

const locker = new Database(inboxFile, { timeout: 10_000 });
const lock = () => locker.exec('BEGIN EXCLUSIVE');
const unlock = () => {
  if (locker.inTransaction) locker.exec('ROLLBACK');
};

let failure;
try {
  // A baseline first: the server takes this load while the journal is free.
  for (let waited = 0; (phases.open?.byStatus['200'] ?? 0) < 100 && waited < 15_000; waited += 50) await sleep(50);
  await sleep(1_000);
  phase = 'blocked';
  lock();
  // Requests already committing when the lock was taken may still be answered 200; count
  // from a moment later, when only requests that could not commit remain.
  await sleep(1_500);
  phase = 'blocked (steady)';
  await sleep(BLOCKED_SECONDS * 1000 - 1_500);

  phase = 'flapping';
  const flapUntil = performance.now() + 5_000;
  while (performance.now() < flapUntil) {
    unlock();
    await sleep(50 + rng.int(250));
    lock();
    await sleep(100 + rng.int(500));
  }
  phase = 'recovering';
  unlock();
  sinceRelease = performance.now();
  await sleep(3_000);
  // Answers of requests queued while blocked may still come back 503; after that, steady again.
  phase = 'recovered';
  await sleep(3_000);
} catch (error) {
  failure = error;
} finally {
  unlock();
  locker.close();
  stop.abort();
  await Promise.all(loads);
  clearInterval(sampler);
}
const finalMemory = memoryOf(server.pid);
if (finalMemory) peakRss = Math.max(peakRss, finalMemory.peakMiB);

// Let the pipeline catch up, then stop the server cleanly and read the journal.
server.child.kill('SIGTERM');
const exit = await server.exited;
if (failure) throw failure;

const db = new Database(dbFile, { readonly: true, fileMustExist: true });
const journaled = new Set(db.prepare('SELECT body FROM journal').pluck().all().map(sha256));
const rows = journaled.size;
db.close();
rmSync(dir, { recursive: true, force: true });
build.remove();

let notCommitted = 0;
for (const key of ackedBodies.keys()) if (!journaled.has(key)) notCommitted++;

console.log('');
for (const [name, p] of Object.entries(phases)) {
  const statuses = Object.entries(p.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ');
  console.log(`${name.padEnd(17)} ${String(p.posts).padStart(7)} POSTs  (${statuses})`);
}
console.log('');
console.log(`acked (200) bodies:       ${ackedBodies.size}, all in the journal: ${notCommitted === 0 ? 'yes' : `NO, ${notCommitted} missing`} (journal rows ${rows})`);
const steady = phases['blocked (steady)'] ?? { byStatus: {} };
console.log(`while blocked:            ${steady.byStatus['200'] ?? 0} × 200, ${steady.byStatus['503'] ?? 0} × 503`);
console.log(`503 without Retry-After:  ${Object.values(phases).reduce((n, p) => n + p.missingRetryAfter, 0)}`);
console.log(`server RSS:               baseline ${baseline?.rssMiB.toFixed(0)} MiB, peak ${peakRss.toFixed(0)} MiB (limit ${MAX_RSS_MIB} MiB)`);
console.log(`recovery:                 first 200 ${firstOkAfterRelease === undefined ? 'never' : `${firstOkAfterRelease.toFixed(0)} ms`} after the lock was released`);
console.log(`server exit on SIGTERM:   ${exit}`);

const failures = [];
if (notCommitted > 0) failures.push(`${notCommitted} bodies answered 200 are not in the journal`);
if ((steady.byStatus['200'] ?? 0) > 0) failures.push('200 while the journal was blocked');
if ((steady.byStatus['503'] ?? 0) === 0) failures.push('no 503 while the journal was blocked');
for (const [name, p] of Object.entries(phases)) {
  if (p.missingRetryAfter > 0) failures.push(`${p.missingRetryAfter} × 503 without Retry-After (${name})`);
  const odd = Object.keys(p.byStatus).filter((s) => s !== '200' && s !== '503');
  if (odd.length > 0) failures.push(`unexpected answers in ${name}: ${odd.join(', ')}`);
}
if ((phases.recovered?.byStatus['200'] ?? 0) === 0) failures.push('no 200 after the lock was released');
if ((phases.open?.byStatus['200'] ?? 0) === 0) failures.push('no 200 before the journal was blocked');
if (peakRss > MAX_RSS_MIB) failures.push(`peak RSS ${peakRss.toFixed(0)} MiB over ${MAX_RSS_MIB} MiB`);
if (exit !== 0) failures.push(`server exit ${exit} on SIGTERM`);
if (failures.length > 0) {
  console.error(`\nFAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('\nOK: 503 + Retry-After while blocked, never 200 without a commit, bounded memory, recovered on its own');
process.exit(0);
