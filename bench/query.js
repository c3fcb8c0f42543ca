// npm run bench, query section: does query latency stay flat as the store grows?
//
// Fills a SQLite store straight through Store.journal.record (the pipeline's own write path,
// projections included) with synthetic WhatsApp traffic: customers write, the business
// answers, statuses flow (sent, delivered, read; some failed), some reactions, some template
// events. At each size it serves the store through the real server and times, over HTTP
// with keep-alive and one request at a time:
//   list conversations   GET /api/conversations?limit=50&after=<a random page's cursor>
//   message timeline     GET /api/messages/<random outbound message>
//   events by type       GET /api/events?type=message.status&limit=50&after=<random seq>
// On the way to the largest size it also times `projections.rebuild()` at 100k events.
//
// Run alone: `npm run build && node bench/query.js`.
// Environment: BENCH_QUERY_SIZES (default "10000,1000000"), BENCH_QUERY_SAMPLES (default 1000),
// BENCH_REBUILD_AT (default 100000; 0 skips it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => pathToFileURL(join(root, 'dist', path)).href;

const sizes = (process.env.BENCH_QUERY_SIZES ?? '10000,1000000').split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const samples = Number(process.env.BENCH_QUERY_SAMPLES ?? 1000);
const rebuildAt = Number(process.env.BENCH_REBUILD_AT ?? 100_000);

const PHONES = ['106540352242922', '106540352242923'];
const T0 = Date.UTC(2025, 0, 1);
const EVENTS_PER_ROW = 100;
const ROWS_PER_BATCH = 10;

/** Synthetic traffic, 5 events per exchange on average, deterministic. */
export function* traffic(contacts) {
  let n = 0;
  let exchange = 0;
  const iso = (ms) => new Date(ms).toISOString();
  for (;;) {
    const c = exchange % contacts;
    const phone = PHONES[c % PHONES.length];
    const contact = String(15550000000 + c);
    const at = T0 + exchange * 1000;
    const base = (id, ms) => ({ id, provider: 'meta', channel: 'bench', phoneNumberId: phone, displayPhoneNumber: '15550783881', occurredAt: iso(ms), receivedAt: iso(ms + 200) });
    const inId = `wamid.in.${exchange}`;
    const outId = `wamid.out.${exchange}`;
    yield {
      ...base(`evt_${n++}`, at),
      type: 'message.received',
      messageId: inId,
      from: contact,
      contactName: `Customer ${c}`,
      kind: 'text',
      text: `question ${exchange}`,
      data: { id: inId, from: contact, type: 'text', text: { body: `question ${exchange}` } },
    };
    const failed = exchange % 50 === 7;
    const steps = failed ? ['sent', 'failed'] : ['sent', 'delivered', 'read'];
    for (let k = 0; k < steps.length; k++) {
      const status = steps[k];
      yield {
        ...base(`evt_${n++}`, at + 1000 + k * 500),
        type: 'message.status',
        messageId: outId,
        status,
        recipientId: contact,
        ...(status === 'failed' ? { errorCodes: [131026] } : {}),
        data: { id: outId, status, recipient_id: contact },
      };
    }
    if (exchange % 10 === 3) {
      yield { ...base(`evt_${n++}`, at + 4000), type: 'message.reaction', messageId: `wamid.re.${exchange}`, from: contact, emoji: '👍', targetMessageId: outId, data: {} };
    }
    if (exchange % 1000 === 0) {
      const t = exchange / 1000;
      yield { id: `evt_${n++}`, provider: 'meta', channel: 'bench', type: 'template.status', templateId: String(1000 + (t % 40)), templateName: `template_${t % 40}`, language: 'en_US', status: t % 3 === 0 ? 'PAUSED' : 'APPROVED', occurredAt: iso(at), receivedAt: iso(at), data: {} };
    }
    exchange++;
  }
}

/** Appends journal rows and records `count` more events in batches, as the pipeline would. */
export async function fill(store, source, count) {
  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
  let left = count;
  while (left > 0) {
    const outcomes = [];
    const rows = [];
    for (let r = 0; r < ROWS_PER_BATCH && left > 0; r++) {
      const events = [];
      for (let i = 0; i < EVENTS_PER_ROW && left > 0; i++, left--) events.push(source.next().value);
      outcomes.push(events);
      rows.push({ channel: 'bench', receivedAt: Date.now(), headers: {}, body, verifiedBy: 'none' });
    }
    const ids = await store.journal.append(rows);
    await store.journal.claim(ids.length);
    await store.journal.record(outcomes.map((events, i) => ({ journalId: ids[i], state: 'processed', events })));
  }
}

const cpuSeconds = (usage) => (usage.user + usage.system) / 1e6;

/** Real cursors, one per page of 50: random pages of the list, each a full page but the last. */
async function conversationCursors(store) {
  const cursors = [undefined];
  for (let after; ; ) {
    const page = await store.projections.listConversations({}, after === undefined ? { limit: 50 } : { after, limit: 50 });
    if (page.next === undefined) return cursors;
    cursors.push(page.next);
    after = page.next;
  }
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timeQueries(pool, make) {
  const times = [];
  for (let i = 0; i < samples + 100; i++) {
    const path = make();
    const t = performance.now();
    const res = await pool.request({ method: 'GET', path });
    const text = await res.body.text();
    const ms = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    if (i >= 100) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

export async function runQueryBench() {
  const { openStore } = await import(dist('store/open.js'));
  const { launchServer } = await import(dist('server.js'));
  const { resolveConfig } = await import(dist('config/resolve.js'));
  const { silentLogger } = await import(dist('log.js'));

  const largest = sizes[sizes.length - 1];
  const contacts = Math.max(100, Math.floor(largest / 50));
  console.log(`\nquery bench: ${sizes.map((s) => s.toLocaleString('en')).join(' and ')} stored events, ${contacts.toLocaleString('en')} contacts, ${samples} requests per query`);

  const dir = mkdtempSync(join(tmpdir(), 'bluetick-query-bench-'));
  const store = await openStore({ dataDir: dir, checkpointIntervalMs: 0 });
  const source = traffic(contacts);
  const results = [];
  let stored = 0;
  let fillMs = 0;
  let fillCpuS = 0;
  let random = 42;
  const rand = (n) => {
    random = (random * 1103515245 + 12345) % 2147483648;
    return random % n;
  };
  try {
    for (const size of sizes) {
      if (rebuildAt > 0 && stored < rebuildAt && rebuildAt <= size) {
        const t = performance.now();
        const cpu = process.cpuUsage();
        await fill(store, source, rebuildAt - stored);
        fillMs += performance.now() - t;
        fillCpuS += cpuSeconds(process.cpuUsage(cpu));
        stored = rebuildAt;
        const rebuildCpu = process.cpuUsage();
        const r = await store.projections.rebuild();
        const cpuS = cpuSeconds(process.cpuUsage(rebuildCpu));
        console.log(
          `rebuild of ${r.events.toLocaleString('en')} events: ${(r.ms / 1000).toFixed(2)} s wall, ${cpuS.toFixed(2)} s CPU ` +
            `(${Math.round(r.events / (r.ms / 1000)).toLocaleString('en')} events/s, ${r.batches} transactions)`,
        );
      }
      const t = performance.now();
      const cpu = process.cpuUsage();
      await fill(store, source, size - stored);
      fillMs += performance.now() - t;
      fillCpuS += cpuSeconds(process.cpuUsage(cpu));
      stored = size;
      const exchanges = Math.floor(stored / 5);
      const maxSeq = await store.events.lastSeq();
      const cursors = await conversationCursors(store);

      const { config } = resolveConfig({ written: { server: { port: 0, dataDir: dir }, channels: [{ name: 'bench', basicAuth: ['b:b'] }] }, cwd: dir, env: {} });
      const running = await launchServer(config, { store, logger: silentLogger(), processMetrics: false, pipeline: { start: false }, delivery: { start: false } });
      const pool = new Pool(running.url, { connections: 1, pipelining: 1 });
      try {
        const row = {
          size,
          fillS: fillMs / 1000,
          conversations: await timeQueries(pool, () => {
            const after = cursors[rand(cursors.length)];
            return `/api/conversations?limit=50${after === undefined ? '' : `&after=${after}`}`;
          }),
          timeline: await timeQueries(pool, () => `/api/messages/wamid.out.${rand(exchanges)}`),
          eventsByType: await timeQueries(pool, () => `/api/events?type=message.status&limit=50&after=${rand(maxSeq)}`),
        };
        results.push(row);
        const f = (r) => `p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms`;
        console.log(`\n${size.toLocaleString('en')} events (filled so far in ${row.fillS.toFixed(1)} s wall, ${fillCpuS.toFixed(1)} s CPU)`);
        console.log(`  list conversations   ${f(row.conversations)}`);
        console.log(`  message timeline     ${f(row.timeline)}`);
        console.log(`  events by type       ${f(row.eventsByType)}`);
      } finally {
        await pool.close();
        await running.close();
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  if (results.length >= 2) {
    const [small, big] = [results[0], results[results.length - 1]];
    let worst = 0;
    let worstP99 = 0;
    for (const key of ['conversations', 'timeline', 'eventsByType']) {
      worst = Math.max(worst, big[key].p50 / small[key].p50, big[key].p99 / small[key].p99);
      worstP99 = Math.max(worstP99, big[key].p99);
    }
    console.log(
      `\nquery latency ${big.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')} events: worst ratio ${worst.toFixed(2)}x (target <= 2x), ` +
        `worst p99 ${worstP99.toFixed(2)} ms (target < 20 ms): ${worst <= 2 && worstP99 < 20 ? 'ok' : 'MISSED'}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runQueryBench();
