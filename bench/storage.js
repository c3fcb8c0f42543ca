// npm run bench -- storage: what measuring disk use (`Store.storageUsage`, behind GET /api/storage)
// costs the thread that serves HTTP, on a store of BENCH_STORAGE_EVENTS events (default 300 000,
// about 365 MB), measured in the same run two ways:
//   - in-thread: a read-only connection on the calling thread (where the API's other reads run),
//   - bluetick: the worker store, which measures on a short-lived thread of its own.
// `dbstat` reads every page of the file, so the figure that matters is the longest the calling
// thread could not run a 2 ms timer, and its ratio to the in-thread measurement.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT } from './processes.js';

const EVENTS = Number(process.env.BENCH_STORAGE_EVENTS ?? 300_000);
const ROUNDS = 2;

/** Runs `fn` and reports its duration and the longest gap between ticks of a 2 ms timer on this thread. */
async function stall(fn) {
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 2);
  await new Promise((r) => setTimeout(r, 20));
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  return { ms, maxGap };
}

export async function runStorageBench() {
  const { openStore } = await import(join(ROOT, 'dist/store/open.js'));
  const { SqliteStore } = await import(join(ROOT, 'dist/store/sqlite/sqlite-store.js'));
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-bench-storage-'));
  try {
    await (await openStore({ dataDir: dir })).close();
    const file = join(dir, 'bluetick.db');
    const db = new Database(file);
    const body = Buffer.alloc(600, 120);
    const event = JSON.stringify({ text: 'x'.repeat(300) });
    const types = ['message.received', 'message.status', 'message.status', 'template.status'];
    db.transaction(() => {
      const j = db.prepare("INSERT INTO journal (channel, received_at, headers, body, verified_by, state) VALUES ('main', ?, '{}', ?, 'none', 'processed')");
      const e = db.prepare("INSERT INTO events (id, type, channel, provider, received_at, journal_id, body) VALUES (?, ?, 'main', 'meta', ?, ?, ?)");
      for (let i = 1; i <= EVENTS; i++) {
        j.run(i, body);
        e.run(`e${i}`, types[i % 4], i, i, event);
      }
    })();
    db.close();
    console.log(`\nstorage: ${EVENTS} events, database ${(statSync(file).size / 1e6).toFixed(0)} MB`);
    for (let round = 1; round <= ROUNDS; round++) {
      const reader = new SqliteStore(file, { reader: true });
      const inline = await stall(() => reader.storageUsage());
      await reader.close();
      const store = await openStore({ dataDir: dir, thread: 'worker' });
      const own = await stall(() => store.storageUsage());
      await store.close();
      console.log(
        `  round ${round}: in-thread ${inline.ms.toFixed(0)} ms, thread blocked ${inline.maxGap.toFixed(0)} ms; ` +
          `bluetick ${own.ms.toFixed(0)} ms, thread blocked ${own.maxGap.toFixed(0)} ms ` +
          `(${(own.maxGap / inline.maxGap).toFixed(2)}x of the in-thread stall)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
