// `npm run bench -- pipeline [--store postgres://...]`: end-to-end events per second, from the
// first POST until every event is recorded with its projections, for
//   - spread: EnableX batches of 40 messages from 4 000 contacts,
//   - hot: the same batches, every message from ONE contact (one conversation row),
// against a plain better-sqlite3 loop measured in the same run: parse each body, insert
// its events into a table with three secondary indexes, upsert one row per event,
// synchronous=FULL, 500 rows per transaction. A second plain loop writes the rows bluetick
// keeps per message into bluetick's own tables ({@link sameRowsLoop}): the floor for this
// schema, so the distance to it is what bluetick's own code costs. The ratios are what
// counts: the machine is shared and absolute numbers drift.
//
// Environment: BENCH_PIPELINE_EVENTS (default 40 000 per case), BENCH_CPU_PROF=<folder> to
// write `--cpu-prof` profiles of the bluetick processes there.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BIN, startProcess, stopProcess } from './processes.js';

const EVENTS = Number(process.env.BENCH_PIPELINE_EVENTS ?? 40_000);
const PER_POST = 40;
const CONTACTS = 4_000;
const CONCURRENCY = 16;
const auth = `Basic ${Buffer.from('enablex:bench-secret').toString('base64')}`;

/** EnableX bodies of 40 messages; `hot` sends every message from one contact. */
export function enablexBodies(events, { hot, tag = randomBytes(4).toString('hex') }) {
  const bodies = [];
  for (let start = 0; start < events; start += PER_POST) {
    const messages = [];
    const contacts = new Map();
    for (let i = start; i < Math.min(events, start + PER_POST); i++) {
      const from = `91980${String(hot ? 0 : i % CONTACTS).padStart(7, '0')}`;
      contacts.set(from, { profile: { name: `Customer ${from.slice(-4)}` }, wa_id: from });
      messages.push({
        from,
        id: `ABEG${tag}${String(i).padStart(9, '0')}`,
        timestamp: String(1_717_300_000 + i),
        type: 'text',
        text: { body: `Hello, where is my order ${100_000 + i}? Thanks.` },
      });
    }
    bodies.push(JSON.stringify({ messages, contacts: [...contacts.values()], business_phone: '919876500001' }));
  }
  return bodies;
}

/** POSTs every body with a few requests in flight; resolves when all are acked. */
export async function postAll(url, bodies, concurrency = CONCURRENCY) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      for (;;) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (res.status !== 503) {
          failed++;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}

/** CPU seconds (user + system, every thread) a child process has used so far; 0 where /proc is absent. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of each thread of a child process but its main one (tid -> seconds); empty where /proc is absent. */
export function threadCpuOf(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (tid === String(pid)) continue;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    // No /proc, or the process is gone.
  }
  return out;
}

/**
 * CPU seconds the local PostgreSQL server has used so far: every `postgres` process, plus
 * the backends that exited and were reaped by the postmaster (its children's time). 0 when
 * the server is not on this machine or /proc is absent. Other clients of the same server
 * count too: compare runs made side by side.
 */
export function postgresCpuSeconds() {
  let total = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(pid)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime; for the postmaster (its parent is not postgres) also cutime, cstime.
      total += Number(fields[11]) + Number(fields[12]);
      if (!isPostgres(fields[1])) total += Number(fields[13]) + Number(fields[14]);
    }
  } catch {
    return 0;
  }
  return total / 100;
}

function isPostgres(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres';
  } catch {
    return false;
  }
}

/** The busiest thread's CPU seconds between two {@link threadCpuOf} snapshots: the store thread's, with the SQLite store. */
function busiestThread(before, after) {
  let most = 0;
  for (const [tid, s] of after) most = Math.max(most, s - (before.get(tid) ?? 0));
  return most;
}

/** Where a bluetick process keeps its data, and how to count what its pipeline has done. */
function target(store) {
  if (store === undefined) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bluetick-bench-pipe-'));
    const file = join(dataDir, 'bluetick.db');
    let db;
    let inbox;
    return {
      args: ['--data', dataDir],
      async progress() {
        try {
          db ??= new Database(file, { readonly: true, fileMustExist: true });
          inbox ??= new Database(join(dataDir, 'bluetick.inbox.db'), { readonly: true, fileMustExist: true });
        } catch {
          return { events: 0, pending: 1 };
        }
        const last = db.prepare('SELECT COALESCE(MAX(id), 0) FROM journal').pluck().get();
        const pending =
          db.prepare("SELECT count(*) FROM journal WHERE state = 'pending'").pluck().get() +
          inbox.prepare('SELECT count(*) FROM inbox WHERE id > ?').pluck().get(last);
        // Not MAX(seq): an insert that finds its event already stored may use up a seq.
        return { events: db.prepare('SELECT count(*) FROM events').pluck().get(), pending };
      },
      async query(sql) {
        db ??= new Database(file, { readonly: true, fileMustExist: true });
        return db.prepare(sql).all();
      },
      async close() {
        db?.close();
        inbox?.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const u = new URL(store);
  u.searchParams.set('schema', schema);
  const base = new URL(store);
  base.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: base.toString(), options: `-c search_path=${schema}` });
  let connected;
  // Counted as they come, by seq: a full count(*) every 50 ms scans the whole events table
  // (5 ms of server CPU at 40 000 events), which the server under test would pay for. Event
  // transactions commit in seq order (the events lock), so none is passed over.
  let events = 0;
  let lastSeq = 0;
  return {
    args: ['--store', u.toString()],
    async progress() {
      connected ??= client.connect();
      await connected;
      const { rows } = await client.query(
        `SELECT count(*)::int AS n, COALESCE(max(seq), $1)::bigint AS last,
                (SELECT count(*) FROM journal WHERE state = 'pending')::int AS pending
         FROM events WHERE seq > $1`,
        [lastSeq],
      );
      events += rows[0].n;
      lastSeq = Number(rows[0].last);
      return { events, pending: rows[0].pending };
    },
    async query(sql) {
      connected ??= client.connect();
      await connected;
      return (await client.query(sql)).rows;
    },
    async close() {
      connected ??= client.connect();
      await connected;
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}

/**
 * Starts `processes` bluetick servers on a fresh store, posts `bodies` spread over them, and
 * waits until `expected` events are recorded and nothing is pending. Returns the times.
 */
export async function runBluetick(store, bodies, expected, { processes = 1, check } = {}) {
  const t = target(store);
  const prof = process.env.BENCH_CPU_PROF;
  const nodeFlags = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  const args = [BIN, 'serve', '--port', '0', ...t.args, '--log-level', 'warn'];
  const env = { BLUETICK_BASIC_AUTH: 'enablex:bench-secret' };
  const procs = [];
  try {
    for (let i = 0; i < processes; i++) procs.push(await startProcess(args, { env, nodeFlags }));
    const cpuBefore = procs.reduce((sum, p) => sum + cpuSecondsOf(p.child.pid), 0);
    const threadsBefore = procs.map((p) => threadCpuOf(p.child.pid));
    const serverBefore = store === undefined ? 0 : postgresCpuSeconds();
    const started = performance.now();
    const share = procs.map((_, k) => bodies.filter((_, i) => i % procs.length === k));
    const failed = (await Promise.all(procs.map((p, k) => postAll(`${p.base}/webhooks/default`, share[k], Math.ceil(CONCURRENCY / procs.length))))).reduce(
      (a, b) => a + b,
      0,
    );
    const ackedAt = performance.now();
    let p = await t.progress();
    while (p.events < expected || p.pending > 0) {
      await new Promise((r) => setTimeout(r, 50));
      p = await t.progress();
      if (performance.now() - started > 600_000) throw new Error(`timed out: ${JSON.stringify(p)}`);
    }
    const doneAt = performance.now();
    const cpuSeconds = procs.reduce((sum, p) => sum + cpuSecondsOf(p.child.pid), 0) - cpuBefore;
    const storeThreadSeconds = procs.reduce((sum, p, k) => sum + busiestThread(threadsBefore[k], threadCpuOf(p.child.pid)), 0);
    const serverSeconds = store === undefined ? 0 : postgresCpuSeconds() - serverBefore;
    const checked = check ? await check(t) : undefined;
    return {
      events: p.events,
      failed,
      ackSeconds: (ackedAt - started) / 1000,
      seconds: (doneAt - started) / 1000,
      afterAckSeconds: (doneAt - ackedAt) / 1000,
      cpuSeconds,
      storeThreadSeconds,
      serverSeconds,
      checked,
    };
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    await t.close();
  }
}

/**
 * Parses every body and hands its items (`itemsOf`) to `write` 500 at a time, timed. Returns
 * items per second and CPU µs per item.
 */
function inBatches(bodies, itemsOf, write) {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let rows = 0;
  let pending = [];
  for (const body of bodies) {
    for (const item of itemsOf(JSON.parse(body))) {
      pending.push(item);
      if (pending.length === 500) {
        write(pending);
        rows += pending.length;
        pending = [];
      }
    }
  }
  write(pending);
  rows += pending.length;
  const cpu = process.cpuUsage(cpuBefore);
  return { rate: rows / ((performance.now() - started) / 1000), cpuMicros: (cpu.user + cpu.system) / rows };
}

/** The plain loop of the module comment, on a fresh file. Returns events per second and CPU µs per event. */
export function plainLoop(bodies) {
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-bench-plain-'));
  const db = new Database(join(dir, 'plain.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT, from_id TEXT, at INTEGER, body TEXT);
             CREATE INDEX events_type ON events (type, seq);
             CREATE INDEX events_from ON events (from_id, seq);
             CREATE INDEX events_at ON events (at, seq);
             CREATE TABLE contacts (wa_id TEXT PRIMARY KEY, n INTEGER NOT NULL, last INTEGER)`);
    const insert = db.prepare('INSERT INTO events (id, type, from_id, at, body) VALUES (?, ?, ?, ?, ?)');
    const upsert = db.prepare('INSERT INTO contacts (wa_id, n, last) VALUES (?, 1, ?) ON CONFLICT (wa_id) DO UPDATE SET n = n + 1, last = excluded.last');
    const flush = db.transaction((items) => {
      for (const m of items) {
        insert.run(m.id, 'message.received', m.from, Number(m.timestamp) * 1000, JSON.stringify(m));
        upsert.run(m.from, Number(m.timestamp) * 1000);
      }
    });
    return inBatches(bodies, (parsed) => parsed.messages, flush);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The floor for bluetick's schema: a plain loop that writes, per inbound message, the rows
 * bluetick keeps for it, into bluetick's own tables (migrated by bluetick, so every index is
 * there), 500 messages per transaction, `synchronous=NORMAL` as bluetick's record commits:
 * the event row with its JSON, a new message row, the conversation row and the contact row
 * rewritten as JSON of the same shape (the latest ten unanswered messages included), and the
 * message's search document with its words. State lives in Maps: no row is read back or
 * parsed, no reducer runs, nothing is deduplicated. What bluetick does on top of this is
 * the price of its features; what is left below it is the price of the SQL itself.
 */
export async function sameRowsLoop(bodies) {
  const { SqliteStore } = await import('../dist/store/sqlite/sqlite-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-bench-rows-'));
  const file = join(dir, 'rows.db');
  const store = new SqliteStore(file);
  await store.migrate();
  await store.close();
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const journalId = Number(
      db
        .prepare("INSERT INTO journal (channel, received_at, headers, body, verified_by, state) VALUES ('main', 0, '{}', x'7b7d', 'basic', 'processed')")
        .run().lastInsertRowid,
    );
    const q = {
      event: db.prepare(
        `INSERT INTO events (id, type, channel, provider, display_phone_number, message_id, from_id, kind, occurred_at, received_at, journal_id, body)
         VALUES (?, 'message.received', 'main', 'enablex', ?, ?, ?, 'text', ?, ?, ?, ?)`,
      ),
      message: db.prepare('INSERT INTO proj_messages (pos, id, conversation_key, direction, status, row) VALUES (?, ?, ?, ?, NULL, ?)'),
      conversationInsert: db.prepare(
        'INSERT INTO proj_conversations (pos, key, business_number, contact, last_activity_at, window_open_until, row) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      conversationUpdate: db.prepare('UPDATE proj_conversations SET last_activity_at = ?, window_open_until = ?, row = ? WHERE pos = ?'),
      contactInsert: db.prepare('INSERT INTO proj_contacts (pos, wa_id, name, last_seen_at, row) VALUES (?, ?, ?, ?, ?)'),
      contactUpdate: db.prepare('UPDATE proj_contacts SET name = ?, last_seen_at = ?, row = ? WHERE pos = ?'),
      doc: db.prepare("INSERT INTO search_docs (kind, ref, title, at) VALUES ('message', ?, ?, ?)"),
      words: db.prepare('INSERT INTO search_fts (rowid, body) VALUES (?, ?)'),
    };
    const conversations = new Map();
    const contacts = new Map();
    let seq = 0;
    const write = db.transaction((items) => {
      for (const { m, name, business } of items) {
        const at = Number(m.timestamp) * 1000;
        const iso = new Date(at).toISOString();
        const receivedAt = new Date().toISOString();
        const key = `${business}:${m.from}`;
        seq++;
        const event = {
          id: `evt_${m.id}`, type: 'message.received', channel: 'main', provider: 'enablex', receivedAt, occurredAt: iso,
          displayPhoneNumber: business, messageId: m.id, from: m.from, contactName: name, kind: 'text', text: m.text.body, raw: m,
        };
        q.event.run(event.id, business, m.id, m.from, at, Date.now(), journalId, JSON.stringify(event));
        const inbound = { eventId: event.id, occurredAt: iso, receivedAt, channel: 'main', from: m.from, contactName: name, kind: 'text', text: m.text.body, conversationKey: key };
        q.message.run(seq * 4, m.id, key, 'inbound', JSON.stringify({ id: m.id, direction: 'inbound', occurredAt: iso, conversationKey: key, inbound, steps: {}, timeline: [] }));
        let c = conversations.get(key);
        const unanswered = [...(c?.row.unanswered ?? []), { messageId: m.id, at: iso }].slice(-10);
        const windowOpenUntil = new Date(at + 86_400_000).toISOString();
        const row = {
          key, businessNumber: business, contact: m.from, lastInbound: { messageId: m.id, at: iso, kind: 'text', text: m.text.body },
          windowOpenUntil, lastActivityAt: iso, counts: { inbound: (c?.row.counts.inbound ?? 0) + 1, outbound: 0, unreadInbound: (c?.row.counts.unreadInbound ?? 0) + 1 },
          firstUnansweredAt: c?.row.firstUnansweredAt ?? iso, unanswered,
        };
        if (c === undefined) {
          conversations.set(key, (c = { pos: seq * 4 + 1, row }));
          q.conversationInsert.run(c.pos, key, business, m.from, at, at + 86_400_000, JSON.stringify(row));
        } else {
          c.row = row;
          q.conversationUpdate.run(at, at + 86_400_000, JSON.stringify(row), c.pos);
        }
        let k = contacts.get(m.from);
        const contact = { waId: m.from, profile: { name, at: iso, eventId: event.id }, firstSeenAt: k?.row.firstSeenAt ?? iso, lastSeenAt: iso, numberChanges: [] };
        if (k === undefined) {
          contacts.set(m.from, (k = { pos: seq * 4 + 2, row: contact }));
          q.contactInsert.run(k.pos, m.from, name, at, JSON.stringify(contact));
        } else {
          k.row = contact;
          q.contactUpdate.run(name, at, JSON.stringify(contact), k.pos);
        }
        const doc = q.doc.run(m.id, name, at).lastInsertRowid;
        q.words.run(doc, `${m.text.body} ${name} ${m.from} ${m.id}`.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim());
      }
    });
    return inBatches(
      bodies,
      (parsed) => {
        const names = new Map(parsed.contacts.map((c) => [c.wa_id, c.profile.name]));
        return parsed.messages.map((m) => ({ m, name: names.get(m.from), business: parsed.business_phone }));
      },
      write,
    );
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The server's CPU time per event (every thread, ingest included), in µs. */
function cpuPerEvent(r) {
  return r.cpuSeconds > 0 ? ((r.cpuSeconds * 1e6) / r.events).toFixed(0) : '?';
}

/** The PostgreSQL server's CPU time per event, in µs ('' on SQLite or when it is not local). */
function serverCpuPerEvent(r) {
  return r.serverSeconds > 0 ? `, PostgreSQL ${((r.serverSeconds * 1e6) / r.events).toFixed(0)} µs` : '';
}

/** The busiest worker thread's CPU time per event (the store thread on SQLite), in µs. */
function storeCpuPerEvent(r) {
  return r.storeThreadSeconds > 0 ? ((r.storeThreadSeconds * 1e6) / r.events).toFixed(0) : '?';
}

export async function runPipelineBench({ store } = {}) {
  const where = store === undefined ? 'SQLite' : 'PostgreSQL';
  console.log(`\n== pipeline: end-to-end events/s (${EVENTS} events per case, ${PER_POST} per POST, ${where}) ==`);
  const spreadBodies = enablexBodies(EVENTS, { hot: false });
  const hotBodies = enablexBodies(EVENTS, { hot: true });
  const { rate: plain, cpuMicros: plainCpu } = plainLoop(enablexBodies(EVENTS, { hot: false }));
  const { rate: sameRows, cpuMicros: sameRowsCpu } = await sameRowsLoop(enablexBodies(EVENTS, { hot: false }));
  const spread = await runBluetick(store, spreadBodies, EVENTS);
  const hot = await runBluetick(store, hotBodies, EVENTS);
  const line = (name, r) =>
    `${name.padEnd(34)} ${(r.events / r.seconds).toFixed(0).padStart(7)} events/s   acked in ${r.ackSeconds.toFixed(1)} s, done ${r.afterAckSeconds.toFixed(1)} s after the last ack, ${cpuPerEvent(r)} µs CPU per event (busiest thread ${storeCpuPerEvent(r)} µs${serverCpuPerEvent(r)})${r.failed ? `   FAILED POSTS ${r.failed}` : ''}`;
  console.log(`${'plain better-sqlite3 loop'.padEnd(34)} ${plain.toFixed(0).padStart(7)} events/s   ${plainCpu.toFixed(0)} µs CPU per event`);
  console.log(`${"plain loop, bluetick's rows".padEnd(34)} ${sameRows.toFixed(0).padStart(7)} events/s   ${sameRowsCpu.toFixed(0)} µs CPU per event`);
  console.log(line('bluetick, 4 000 contacts', spread));
  console.log(line('bluetick, one hot conversation', hot));
  const spreadRate = spread.events / spread.seconds;
  const hotRate = hot.events / hot.seconds;
  console.log(`ratio spread / plain loop: ${(spreadRate / plain).toFixed(2)}x (target >= 0.50x)`);
  console.log(`ratio spread / same rows:  ${(spreadRate / sameRows).toFixed(2)}x (the plain loop writing bluetick's rows into its tables)`);
  console.log(`ratio hot / spread:        ${(hotRate / spreadRate).toFixed(2)}x (target >= 0.80x)`);
  if (store !== undefined) {
    const two = await runBluetick(store, enablexBodies(EVENTS, { hot: false }), EVENTS, { processes: 2 });
    console.log(line('bluetick, 2 processes, spread', two));
    console.log(`ratio 2 processes / 1:     ${(two.events / two.seconds / spreadRate).toFixed(2)}x`);
  }
}
