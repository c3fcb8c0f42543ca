/**
 * At least once, never zero: a real `bluetick serve` child process is killed with SIGKILL
 * while deliveries are in flight to a slow receiver, then started again on the same data
 * folder. Every event must reach the receiver; after dropping repeats by `webhook-id`, each
 * exactly once, and every delivery must end `succeeded` in the store.
 *
 * `bin/bluetick` runs the compiled `dist/`; it is rebuilt first when a source is newer.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, metaMessages, newSecret, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';
import { BIN, cleanEnv, ensureBuilt } from './helpers/dist.js';

interface Child {
  process: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}

async function serve(config: string, dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config, '--data', dataDir, '--port', '0', '--log-level', 'warn'], {
    env: cleanEnv(),
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const url = await waitFor('the child to listen', () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 20_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${out}`);
  });
  return { process: child, url, output: () => out };
}

function exited(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
    else child.process.once('exit', () => resolve());
  });
}

describe('a SIGKILL while deliveries are in flight', () => {
  let dir: string;
  let rx: Receiver;
  const children: Child[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'bluetick-crash-'));
    // Slow enough that a few dozen deliveries are always in flight.
    rx = await startReceiver(() => ({ status: 200, delayMs: 80 }));
  }, 180_000);

  afterAll(async () => {
    for (const c of children) c.process.kill('SIGKILL');
    await rx?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('re-runs the interrupted deliveries after a restart: every event arrives, each exactly once after dedup', async () => {
    const config = join(dir, 'bluetick.config.json');
    await writeFile(
      config,
      JSON.stringify({
        channels: [{ name: 'main' }],
        sinks: [{ name: 'rx', type: 'http', url: rx.url, secret: newSecret(), concurrency: 8 }],
        routes: [{ name: 'all', sink: 'rx', retry: { baseMs: 20, capMs: 200 } }],
        delivery: { leaseMs: 1_000, pollMs: 20 },
      }),
    );
    const dataDir = join(dir, 'data');
    const first = await serve(config, dataDir);
    children.push(first);
    const events = 300;
    for (let p = 0; p < 3; p++) {
      const body = metaMessages(Array.from({ length: 100 }, (_, i) => ({ from: `4477009${String(i % 40).padStart(5, '0')}`, id: `wamid.crash.${p}.${i}` })));
      const res = await http(`${first.url}/webhooks/main`, { body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    }
    await waitFor('deliveries in flight', () => rx.accepted.length >= 20 && rx.inFlight > 0, 20_000);
    const inFlightAtKill = rx.inFlight;
    first.process.kill('SIGKILL');
    await exited(first);
    const acceptedBeforeKill = new Set(rx.accepted.map((r) => r.webhookId)).size;
    expect(acceptedBeforeKill).toBeLessThan(events);
    expect(inFlightAtKill).toBeGreaterThan(0);

    const second = await serve(config, dataDir);
    children.push(second);
    await waitFor('every event at the receiver', () => new Set(rx.accepted.map((r) => r.webhookId)).size >= events, 25_000);

    // Let the last outcomes be recorded, then stop gracefully and read the store.
    await waitFor('an empty backlog', async () => {
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const res = await http(`${second.url}/api/sinks`, { headers: { authorization: `Bearer ${token}` } });
      const rxSink = (JSON.parse(res.body) as { items: Array<{ name: string; backlog: Record<string, number> }> }).items[0]!;
      return Object.values(rxSink.backlog).every((n) => n === 0);
    });
    second.process.kill('SIGTERM');
    await exited(second);

    const counts = new Map<string, number>();
    for (const r of rx.accepted) counts.set(r.webhookId, (counts.get(r.webhookId) ?? 0) + 1);
    expect(counts.size).toBe(events);
    const repeats = [...counts.values()].filter((n) => n > 1).length;

    const db = new Database(join(dataDir, 'bluetick.db'), { readonly: true });
    try {
      const states = db.prepare('SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state').all();
      expect(states).toEqual([{ state: 'succeeded', n: events }]);
      const lost = db.prepare("SELECT COUNT(*) FROM delivery_attempts WHERE error_code = 'lease-expired'").pluck().get() as number;
      expect(lost).toBeGreaterThan(0);
      // Only a delivery whose attempt was cut off by the kill (outcome never recorded) can come twice.
      expect(repeats).toBeLessThanOrEqual(lost);
      expect([...counts.values()].every((n) => n <= 2)).toBe(true);
      console.log(
        `crash: ${acceptedBeforeKill} of ${events} delivered before SIGKILL with ${inFlightAtKill} at the receiver; ` +
          `after restart all ${events} arrived, ${repeats} twice (dropped by webhook-id), ${lost} lost attempts re-run`,
      );
    } finally {
      db.close();
    }
  });
});
