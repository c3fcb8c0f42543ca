/**
 * Scale-out, end to end: three `bluetick serve` processes (the built bin) on one PostgreSQL
 * schema, as behind a load balancer. A provider posts notifications spread across them,
 * 30% of them twice (the same POST to two different processes at once), and retries any
 * POST that did not get a 200 on another process. Mid-run one process is SIGKILLed and
 * restarted. Afterwards:
 * - every acknowledged POST is in the journal (byte for byte);
 * - every event exists exactly once, and the journal says which rows were duplicates;
 * - the projections equal a rebuild from the events;
 * - every event reached the HTTP sink, exactly once after dedup by `webhook-id`, and in
 *   each conversation in the order the events were recorded.
 *
 * `npm test` runs 2 000 notifications; `npm run test:scale` runs 20 000
 * (BLUETICK_SCALE_NOTIFICATIONS).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { orderingKey } from '../src/dispatch/match.js';
import { parseEventJson } from '../src/events/normalize.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { parsePostgresUrl } from '../src/store/postgres/url.js';
import { BIN, cleanEnv, ensureBuilt } from './helpers/dist.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';

const TOTAL = Number(process.env.BLUETICK_SCALE_NOTIFICATIONS ?? 2_000);
const REDELIVERED = 0.3;
const CONTACTS = Math.max(20, Math.round(TOTAL / 40));
const CONCURRENCY = 48;
const AUTH = `Basic ${Buffer.from('provider:scale-secret').toString('base64')}`;
const PHONE_ID = '106540352242922';

const schema = schemaName('scale');
const url = urlFor(schema);
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'bluetick-scale-'));
}, 180_000);

/** Every process this file started, so none outlives it whatever failed. */
const spawned = new Set<ChildProcessWithoutNullStreams>();

afterAll(async () => {
  await Promise.all(
    [...spawned].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  await dropSchema(schema);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

// ---- the receiving end of deliveries ----------------------------------------------------

interface Arrival {
  webhookId: string;
  body: string;
}

function startSink(): Promise<{ server: Server; url: string; arrivals: Arrival[] }> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrivals.push({ webhookId: String(req.headers['webhook-id']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, arrivals });
    });
  });
}

// ---- the bluetick processes -------------------------------------------------------------

interface Instance {
  child: ChildProcessWithoutNullStreams;
  base: string;
  pool: Pool;
  alive: boolean;
  output: string;
}

async function startInstance(config: string): Promise<Instance> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config, '--port', '0', '--store', url, '--log-level', 'warn'], {
    env: cleanEnv(),
  });
  spawned.add(child);
  let output = '';
  const base = await new Promise<string>((resolve, reject) => {
    // Generous: on a busy machine loading the server's modules alone can take many seconds.
    const timer = setTimeout(() => reject(new Error(`no start within 120 s:\n${output}`)), 120_000);
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
  const instance: Instance = { child, base, pool: new Pool(base, { connections: CONCURRENCY }), alive: true, output };
  child.stdout.on('data', (c: Buffer) => (instance.output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (instance.output += c.toString()));
  child.once('exit', () => {
    instance.alive = false;
  });
  return instance;
}

function stopInstance(instance: Instance, signal: NodeJS.Signals): Promise<void> {
  instance.alive = false;
  void instance.pool.destroy().catch(() => undefined);
  if (instance.child.exitCode !== null || instance.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    instance.child.once('exit', () => resolve());
    instance.child.kill(signal);
  });
}

// ---- the provider -------------------------------------------------------------------------

/** Notification i: an inbound text (70%) or a status of an outbound message (30%), in one of the conversations. */
function notification(i: number): { body: string; contact: string; inbound: boolean } {
  const contact = `4477${String((i + Math.floor(i / 10)) % CONTACTS).padStart(6, '0')}`;
  const inbound = i % 10 < 7;
  const ts = String(1_750_000_000 + i);
  const value: Record<string, unknown> = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
  };
  if (inbound) {
    value.contacts = [{ profile: { name: `Customer ${i % CONTACTS}` }, wa_id: contact }];
    value.messages = [{ from: contact, id: `wamid.in.${i}`, timestamp: ts, type: 'text', text: { body: `message ${i}` } }];
  } else {
    const status = ['sent', 'delivered', 'read'][i % 3]!;
    value.statuses = [{ id: `wamid.out.${Math.floor(i / 3)}`, status, timestamp: ts, recipient_id: contact }];
  }
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ value, field: 'messages' }] }] });
  return { body, contact, inbound };
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describePostgres('scale-out on PostgreSQL', () => {
  it(
    `three processes, ${TOTAL} notifications with ${REDELIVERED * 100}% redelivered across processes, one SIGKILL: nothing lost or doubled`,
    async () => {
      const sink = await startSink();
      const config = join(dir, 'bluetick.config.json');
      await writeFile(
        config,
        JSON.stringify({
          channels: [{ name: 'main', basicAuth: ['provider:scale-secret'] }],
          sinks: [{ name: 'hook', type: 'http', url: sink.url, secret: `whsec_${randomBytes(32).toString('base64')}`, concurrency: 16 }],
          routes: [{ name: 'all', sink: 'hook' }],
          delivery: { pollMs: 100, leaseMs: 3_000 },
          store: { journalLeaseMs: 5_000 },
        }),
      );
      // The first start migrates; the others start together and find the schema current.
      const first = await startInstance(config);
      const instances: Instance[] = [first, ...(await Promise.all([startInstance(config), startInstance(config)]))];

      const acked: string[] = [];
      let sent = 0;
      let retries = 0;
      let killed = false;
      let next = 0;
      const pick = (avoid?: Instance): Instance => {
        const live = instances.filter((x) => x.alive && x !== avoid);
        const candidates = live.length > 0 ? live : instances.filter((x) => x.alive);
        return candidates[next++ % candidates.length]!;
      };

      /** POSTs until some process answers 200 (a provider retries on anything else). */
      async function deliver(body: string, avoid?: Instance): Promise<Instance> {
        for (let attempt = 0; ; attempt++) {
          const target = pick(avoid);
          try {
            const res = await target.pool.request({
              path: '/webhooks/main',
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: AUTH },
              body,
            });
            await res.body.dump();
            sent++;
            if (res.statusCode === 200) {
              acked.push(sha(body));
              return target;
            }
          } catch {
            // Connection refused or reset: the process is gone; try another one.
          }
          retries++;
          if (attempt > 200) throw new Error('no process accepted the POST');
          await new Promise((r) => setTimeout(r, 20));
        }
      }

      const restart = async (victim: Instance): Promise<void> => {
        await stopInstance(victim, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 500));
        instances[instances.indexOf(victim)] = await startInstance(config);
      };
      let restarting: Promise<void> | undefined;

      const started = performance.now();
      let cursor = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (;;) {
            const i = cursor++;
            if (i >= TOTAL) return;
            if (!killed && i >= TOTAL * 0.4) {
              killed = true;
              restarting = restart(instances[1]!);
            }
            const { body } = notification(i);
            // A redelivery: the same POST reaches two different processes at the same moment.
            if (i % 10 < REDELIVERED * 10) {
              const a = pick();
              await Promise.all([deliver(body), deliver(body, a)]);
            } else {
              await deliver(body);
            }
          }
        }),
      );
      await restarting;
      const ingestSeconds = (performance.now() - started) / 1000;

      // Wait until every row is normalized and every delivery finished.
      const db = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
      await db.connect();
      try {
        const deadline = Date.now() + (TOTAL > 5_000 ? 600_000 : 180_000);
        for (;;) {
          const { rows } = await db.query<{ pending: string; unfinished: string; deliveries: string; events: string }>(
            `SELECT (SELECT count(*) FROM journal WHERE state = 'pending') AS pending,
                    (SELECT count(*) FROM deliveries WHERE state IN ('pending', 'in_flight')) AS unfinished,
                    (SELECT count(*) FROM deliveries) AS deliveries,
                    (SELECT count(*) FROM events) AS events`,
          );
          const r = rows[0]!;
          if (r.pending === '0' && r.unfinished === '0' && Number(r.deliveries) === Number(r.events) && Number(r.events) === TOTAL) break;
          if (Date.now() > deadline) throw new Error(`not settled in time: ${JSON.stringify(r)}`);
          await new Promise((res) => setTimeout(res, 250));
        }
        const settledSeconds = (performance.now() - started) / 1000;
        await Promise.all(instances.map((x) => stopInstance(x, 'SIGTERM')));
        sink.server.close();

        // Every acknowledged POST is in the journal, byte for byte.
        const journal = await db.query<{ h: string }>("SELECT encode(sha256(body), 'hex') AS h FROM journal");
        const stored = new Set(journal.rows.map((r) => r.h));
        const missing = acked.filter((h) => !stored.has(h));
        expect(missing).toEqual([]);
        expect(journal.rows.length).toBeGreaterThanOrEqual(acked.length);

        // Every event exactly once (ids are unique by construction; the count says none is missing),
        // and every journal row beyond the first carrier of its event is a counted duplicate.
        const counts = await db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM journal GROUP BY state');
        const byState = Object.fromEntries(counts.rows.map((r) => [r.state, r.n]));
        expect(byState).toEqual({ processed: TOTAL, duplicate: journal.rows.length - TOTAL });
        const dup = await db.query<{ n: number; ids: number }>('SELECT COALESCE(sum(duplicates), 0)::int AS n, count(DISTINCT id)::int AS ids FROM events');
        expect(dup.rows[0]).toEqual({ n: journal.rows.length - TOTAL, ids: TOTAL });

        // Every event reached the sink exactly once after dedup, in recorded order per conversation.
        const seqs = await db.query<{ id: string; seq: string }>('SELECT id, seq FROM events');
        const seqOf = new Map(seqs.rows.map((r) => [r.id, Number(r.seq)]));
        const first = new Map<string, Arrival>();
        for (const a of sink.arrivals) if (!first.has(a.webhookId)) first.set(a.webhookId, a);
        expect(first.size).toBe(TOTAL);
        expect([...first.keys()].every((id) => seqOf.has(id))).toBe(true);
        const lanes = new Map<string, number[]>();
        for (const a of first.values()) {
          const event = parseEventJson(a.body);
          expect(event.id).toBe(a.webhookId);
          const key = orderingKey(event);
          lanes.set(key, [...(lanes.get(key) ?? []), seqOf.get(event.id)!]);
        }
        const notifications = Array.from({ length: TOTAL }, (_, i) => notification(i));
        expect(lanes.size).toBe(new Set(notifications.map((n) => n.contact)).size);
        const outOfOrder = [...lanes.entries()].filter(([, s]) => s.some((v, k) => k > 0 && v < s[k - 1]!));
        expect(outOfOrder.map(([key]) => key)).toEqual([]);

        // The projections equal a rebuild from the events.
        const tables = ['proj_messages', 'proj_conversations', 'proj_contacts', 'proj_templates', 'proj_reactions'];
        const snapshot = async () => {
          const out: Record<string, unknown[]> = {};
          for (const t of tables) out[t] = (await db.query(`SELECT * FROM ${t} ORDER BY pos`)).rows;
          return out;
        };
        const incremental = await snapshot();
        expect(incremental.proj_contacts!.length).toBe(new Set(notifications.filter((n) => n.inbound).map((n) => n.contact)).size);
        const store = await openPostgresStore(url, { poolSize: 2 });
        try {
          await store.projections.rebuild({ batchSize: 1_000 });
        } finally {
          await store.close();
        }
        expect(await snapshot()).toEqual(incremental);

        console.log(
          `[scale-out] ${TOTAL} notifications, ${acked.length} POSTs acked (${sent} answered, ${retries} retried after the kill or a 503) ` +
            `in ${ingestSeconds.toFixed(1)} s; settled (normalized + delivered) after ${settledSeconds.toFixed(1)} s; ` +
            `journal ${journal.rows.length} rows; sink got ${sink.arrivals.length} POSTs for ${first.size} events`,
        );
      } finally {
        await db.end();
        await Promise.all(instances.map((x) => stopInstance(x, 'SIGKILL')));
        sink.server.close();
      }
    },
    TOTAL > 5_000 ? 900_000 : 300_000,
  );
});

