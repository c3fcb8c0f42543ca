// npm run test:crash: nothing acknowledged is lost when the process dies at any moment.
//
// A trigger load (every notification kind and conversation scenarios, both body shapes,
// Basic auth and Meta signatures, 1-4 notifications per POST) runs against `bluetick serve`
// while this script SIGKILLs the server at random moments, CRASHES times, restarting it
// each time on the same port and data folder. POSTs in flight at the kill fail, as they
// would for a provider, and are not counted as acknowledged.
// Afterwards the server runs once more until the pipeline has caught up, stops cleanly, and
// the SQLite file is checked:
//   lost     = bodies answered 200 that are not in the journal (must be 0)
//   missing  = events of acknowledged bodies that were never recorded (must be 0)
//   doubled  = a body journaled more often than it was sent, a row whose events were
//              already recorded by another row, or more events than the journal accounts
//              for (must be 0)
// Environment: CRASHES (default 20), CRASH_SEED (default random), CRASH_RATE (POST/s per
// channel, default 150), CRASH_MIN_UP_MS / CRASH_MAX_UP_MS (how long after acks resume the
// kill comes; one crash in five comes during start-up instead).
//
// Power cuts: a SIGKILL keeps whatever the process wrote but had not synced, because the
// kernel still holds it. To drop that too, as a power cut does, put the data on a file system
// that can discard unsynced writes on demand (LazyFS, for one) and name it and the command
// that discards: CRASH_DIR=/mnt/lazy CRASH_POWER_CUT='echo lazyfs::clear-cache > /tmp/faults.fifo'.
// The command runs after every kill, before the restart, and must return once the data is gone.
import { randomBytes } from 'node:crypto';
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, privateBuild, sha256, sleep, startServerProcess, writeConfig } from '../support/server-process.js';

const build = await privateBuild();
const { normalize } = await build.load('events/normalize.js');
const { DEFAULT_ACCOUNTS } = await build.load('trigger/build.js');
const { TRIGGER_KINDS, kindSupports } = await build.load('trigger/kinds.js');
const { planPosts } = await build.load('trigger/plan.js');
const { createRng } = await build.load('trigger/rng.js');
const { sendPosts } = await build.load('trigger/send.js');

const CRASHES = Number(process.env.CRASHES ?? 20);
const SEED = process.env.CRASH_SEED ?? randomBytes(8).toString('hex');
const RATE = Number(process.env.CRASH_RATE ?? 150);
const MIN_UP_MS = Number(process.env.CRASH_MIN_UP_MS ?? 150);
const MAX_UP_MS = Number(process.env.CRASH_MAX_UP_MS ?? 2_000);
const SECRET = 'crash-app-secret';
const BASIC = 'enablex:crash-secret';

const rng = createRng(`crash/${SEED}`);
const POWER_CUT = process.env.CRASH_POWER_CUT;
const dir = mkdtempSync(join(tmpdir(), 'bluetick-crash-'));
// The data folder alone goes on CRASH_DIR: the config is the test's, not the server's, to keep.
const dataDir = process.env.CRASH_DIR === undefined ? join(dir, 'data') : mkdtempSync(join(process.env.CRASH_DIR, 'bluetick-crash-data-'));
const port = await freePort();
const config = writeConfig(dir, {
  server: { port, dataDir, limits: { requestTimeoutMs: 10_000, headersTimeoutMs: 5_000 } },
  channels: [
    { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } },
    { name: 'enablex', provider: 'enablex', basicAuth: [BASIC] },
  ],
});
const base = `http://127.0.0.1:${port}`;
console.log(`crash suite: ${CRASHES} SIGKILLs under load, seed ${SEED}, data in ${dataDir}`);
if (POWER_CUT !== undefined) console.log(`  each kill is a power cut: unsynced data dropped by \`${POWER_CUT}\``);

/** body hash -> { body, sent, acked } */
const bodies = new Map();
let posts = 0;
let acked = 0;
const statuses = {};

/** Endless: all kinds in random batches, then a few conversations with statuses out of order, and again. */
function* load(shape) {
  const clock = () => Math.floor(Date.now() / 1000);
  // The kinds both body shapes carry. Meta's other webhook fields (account, phone, template
  // components, ...) are left out: the trigger builds them with the same content within one
  // second, so two posts are one notification and the second counts as a duplicate, which this
  // suite would report as doubled.
  const kinds = TRIGGER_KINDS.filter((k) => kindSupports(k, 'enablex'));
  for (;;) {
    yield* planPosts({ kinds, shape, account: DEFAULT_ACCOUNTS[shape], count: kinds.length, batch: 1 + rng.int(4), clock }, rng);
    yield* planPosts({ kinds: [], conversation: true, shape, account: DEFAULT_ACCOUNTS[shape], count: 3, batch: 1 + rng.int(3), reorder: true, clock }, rng);
  }
}

function record(post, result) {
  posts++;
  const key = sha256(post.body);
  let entry = bodies.get(key);
  if (entry === undefined) {
    entry = { body: post.body, sent: 0, acked: 0 };
    bodies.set(key, entry);
  }
  entry.sent++;
  const label = result.status === 0 ? `error ${result.error}` : String(result.status);
  statuses[label] = (statuses[label] ?? 0) + 1;
  if (result.status === 200) {
    entry.acked++;
    acked++;
  }
}

/** A view of a generator that a `for...of` may leave without closing it, so the next sender continues it. */
const resumable = (generator) => ({ [Symbol.iterator]: () => ({ next: () => generator.next() }) });
const streams = { meta: resumable(load('meta')), enablex: resumable(load('enablex')) };

/**
 * The load on one incarnation of the server. It stops taking new POSTs just before the kill
 * (those in flight are cut by it), so no time is spent knocking on a closed port while the
 * next one starts; a provider's attempts in that window would only be refused.
 */
function startLoad() {
  const stop = new AbortController();
  const common = { rate: RATE, concurrency: 16, timeoutMs: 15_000, signal: stop.signal, onResult: record };
  const done = Promise.all([
    sendPosts(streams.meta, { url: `${base}/webhooks/meta`, metaSecret: SECRET, ...common }),
    sendPosts(streams.enablex, { url: `${base}/webhooks/enablex`, basic: BASIC, ...common }),
  ]);
  return { stop: () => stop.abort(), done };
}

let server = await startServerProcess(build.main, config);
let running = startLoad();
let crashes = 0;
const started = Date.now();
try {
  while (crashes < CRASHES) {
    const ackedBefore = acked;
    if (rng.chance(0.2)) {
      // Now and then while it is still starting up (and picking up what the last one left).
      await sleep(rng.int(MIN_UP_MS * 2));
    } else {
      // Mostly under load: once acks flow again, at a random moment.
      for (let waited = 0; acked === ackedBefore && waited < 20_000; waited += 20) await sleep(20);
      await sleep(MIN_UP_MS + rng.int(MAX_UP_MS - MIN_UP_MS));
    }
    running.stop();
    server.child.kill('SIGKILL');
    const how = await server.exited;
    if (how !== 'SIGKILL') throw new Error(`the server ended with ${how} instead of being killed`);
    if (POWER_CUT !== undefined) execSync(POWER_CUT, { stdio: 'inherit', shell: '/bin/sh' });
    await running.done;
    crashes++;
    console.log(`  crash ${String(crashes).padStart(2)}: SIGKILL after ${acked - ackedBefore} acks (total acked ${acked}, POSTs ${posts})`);
    server = await startServerProcess(build.main, config);
    running = startLoad();
  }
  // Let the last incarnation take load for a moment, then stop the load and let it catch up.
  await sleep(1_000);
  running.stop();
  await running.done;
  console.log(`  load stopped: ${posts} POSTs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const db = new Database(join(dataDir, 'bluetick.db'), { readonly: true, fileMustExist: true });
  // Acked rows not yet copied into the journal wait in the inbox: pending too.
  const inbox = new Database(join(dataDir, 'bluetick.inbox.db'), { readonly: true, fileMustExist: true });
  for (let i = 0; ; i++) {
    const { n } = db.prepare("SELECT count(*) AS n FROM journal WHERE state = 'pending'").get();
    const last = db.prepare('SELECT COALESCE(MAX(id), 0) FROM journal').pluck().get();
    const waiting = inbox.prepare('SELECT count(*) FROM inbox WHERE id > ?').pluck().get(last);
    if (n + waiting === 0) break;
    if (i > 600) throw new Error(`${n + waiting} journal rows still pending after 60 s`);
    await sleep(100);
  }
  inbox.close();
  db.close();
  server.child.kill('SIGTERM');
  const how = await server.exited;
  if (how !== 0) throw new Error(`the server exited with ${how} on SIGTERM`);
} catch (error) {
  running.stop();
  server.child.kill('SIGKILL');
  throw error;
}

// ---- the checks, on the file the last process left behind ------------------------------------

const db = new Database(join(dataDir, 'bluetick.db'), { readonly: true, fileMustExist: true });
const rows = db.prepare('SELECT id, body, state FROM journal').all();
const eventIds = new Set(db.prepare('SELECT id FROM events').pluck().all());
const eventRows = db.prepare('SELECT count(*) FROM events').pluck().get();
const byState = Object.fromEntries(db.prepare('SELECT state, count(*) AS n FROM journal GROUP BY state').all().map((r) => [r.state, r.n]));
db.close();

const journaled = new Map();
for (const row of rows) {
  const key = sha256(row.body);
  journaled.set(key, (journaled.get(key) ?? 0) + 1);
}
const receivedAt = Date.now();
const idsOf = (body) => {
  const result = normalize(body, { channel: 'check', receivedAt });
  if (!result.ok) throw new Error(`a body the trigger built does not normalize: ${result.cause}`);
  return result.events.map((e) => e.id);
};

let lost = 0;
let missingEvents = 0;
let ackedChecked = 0;
let notificationsChecked = 0;
let doubledRows = 0;
const expectedEvents = new Set();
for (const [key, entry] of bodies) {
  const times = journaled.get(key) ?? 0;
  if (times > entry.sent) doubledRows += times - entry.sent;
  if (times > 0) for (const id of idsOf(entry.body)) expectedEvents.add(id);
  if (entry.acked === 0) continue;
  ackedChecked++;
  if (times === 0) {
    lost++;
    continue;
  }
  for (const id of idsOf(entry.body)) {
    notificationsChecked++;
    if (!eventIds.has(id)) missingEvents++;
  }
}
const strangers = [...journaled.keys()].filter((k) => !bodies.has(k)).length;
const duplicateRows = byState.duplicate ?? 0;
const extraEvents = eventRows - expectedEvents.size;
const doubled = doubledRows + duplicateRows + Math.max(0, extraEvents);
rmSync(dir, { recursive: true, force: true });
rmSync(dataDir, { recursive: true, force: true });
build.remove();

console.log('');
console.log(`crashes survived:        ${crashes} (${POWER_CUT === undefined ? 'SIGKILL' : 'SIGKILL and a power cut'} at random moments under load)`);
console.log(`POSTs sent:              ${posts} (${Object.entries(statuses).map(([s, n]) => `${s}: ${n}`).join(', ')})`);
console.log(`acked POSTs checked:     ${ackedChecked} (${notificationsChecked} notifications)`);
console.log(`journal rows:            ${rows.length} (${Object.entries(byState).map(([s, n]) => `${s} ${n}`).join(', ')})`);
console.log(`events:                  ${eventRows}`);
console.log(`lost:                    ${lost}`);
console.log(`missing events:          ${missingEvents}`);
console.log(`doubled:                 ${doubled} (rows journaled more often than sent ${doubledRows}, rows marked duplicate ${duplicateRows}, events beyond the journal ${Math.max(0, extraEvents)})`);
if (strangers > 0) console.log(`journal rows not sent by this run: ${strangers}`);

const failures = [];
if (crashes < CRASHES) failures.push(`only ${crashes} of ${CRASHES} crashes`);
if (ackedChecked === 0) failures.push('nothing was acknowledged');
if (lost > 0) failures.push(`${lost} acknowledged bodies lost`);
if (missingEvents > 0) failures.push(`${missingEvents} events missing`);
if (doubled > 0) failures.push(`${doubled} doubled`);
if (extraEvents < 0) failures.push(`${-extraEvents} events of journaled bodies were never recorded`);
if ((byState.pending ?? 0) + (byState.failed ?? 0) + (byState.quarantined ?? 0) > 0) failures.push('rows left pending, failed or quarantined');
if (strangers > 0) failures.push('the journal holds bodies this run never sent');
if (failures.length > 0) {
  console.error(`\nFAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('\nOK: every acknowledged notification survived, with its events, exactly once');
process.exit(0);
