// `npm run bench -- campaign [--store postgres://...]`: a marketing broadcast as the
// providers report it. 50 000 outbound message ids, each with `sent`, `delivered` and
// `read` statuses (2% `sent` then `failed` instead), 10% of the messages with their statuses
// in reverse order, 5% of the notifications sent twice, posted over HTTP in EnableX and Meta
// batches of 1 to 40 (each message keeps one provider). Prints acked/s, end-to-end events/s
// and the time from the last ack until the projections are complete, and checks the final
// per-status counts of the message projection exactly (exit code 1 when they are wrong).
//
// Environment: BENCH_CAMPAIGN_MESSAGES (default 50 000).
import { runBluetick } from './pipeline.js';

const MESSAGES = Number(process.env.BENCH_CAMPAIGN_MESSAGES ?? 50_000);
const BUSINESS = { display: '919876500001', phoneNumberId: '106540352242922' };

/** A small deterministic random generator, so every run posts the same campaign. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function status(i, name, step) {
  const item = {
    id: `wamid.CAMPAIGN${String(i).padStart(8, '0')}`,
    status: name,
    timestamp: String(1_717_300_000 + i + step * 60),
    recipient_id: `9190${String(i).padStart(8, '0')}`,
  };
  if (name === 'failed') item.errors = [{ code: 131049, title: 'This message was not delivered to maintain healthy ecosystem engagement.' }];
  return item;
}

function enablexBody(items) {
  return JSON.stringify({ statuses: items.map((s) => ({ ...s, type: 'message' })), business_phone: BUSINESS.display });
}

function metaBody(items) {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: BUSINESS.display, phone_number_id: BUSINESS.phoneNumberId },
              statuses: items,
            },
            field: 'messages',
          },
        ],
      },
    ],
  });
}

/** The campaign's bodies, and what the message projection must hold afterwards. */
export function campaign(messages = MESSAGES) {
  const rand = random(20261202);
  // Three waves (all `sent`, then `delivered`, then `read`), per provider.
  const waves = { enablex: [[], [], []], meta: [[], [], []] };
  const expected = { read: 0, failed: 0 };
  let events = 0;
  for (let i = 0; i < messages; i++) {
    const provider = i % 2 === 0 ? 'enablex' : 'meta';
    const failed = rand() < 0.02;
    const steps = failed ? ['sent', 'failed'] : ['sent', 'delivered', 'read'];
    expected[failed ? 'failed' : 'read']++;
    events += steps.length;
    const items = steps.map((name, step) => status(i, name, step));
    // Out of order: the last status first.
    if (rand() < 0.1) items.reverse();
    items.forEach((item, w) => waves[provider][w].push(item));
  }
  const bodies = [];
  let notifications = 0;
  for (const [provider, list] of Object.entries(waves)) {
    const stream = list.flat();
    // Duplicates: 5% of the notifications again, a little later in the stream.
    const copies = Math.round(stream.length * 0.05);
    for (let k = 0; k < copies; k++) {
      const from = Math.floor(rand() * stream.length);
      const to = Math.min(stream.length, from + 1 + Math.floor(rand() * 200));
      stream.splice(to, 0, stream[from]);
    }
    for (let at = 0; at < stream.length; ) {
      const size = 1 + Math.floor(rand() * 40);
      const items = stream.slice(at, at + size);
      at += size;
      notifications += items.length;
      bodies.push({ provider, body: provider === 'enablex' ? enablexBody(items) : metaBody(items) });
    }
  }
  // Interleave the two providers' batches, each provider's own order kept.
  const enablex = bodies.filter((b) => b.provider === 'enablex');
  const meta = bodies.filter((b) => b.provider === 'meta');
  const mixed = [];
  while (enablex.length > 0 || meta.length > 0) {
    const pick = meta.length === 0 || (enablex.length > 0 && rand() < enablex.length / (enablex.length + meta.length)) ? enablex : meta;
    mixed.push(pick.shift().body);
  }
  return { bodies: mixed, notifications, events, expected };
}

export async function runCampaignBench({ store } = {}) {
  const where = store === undefined ? 'SQLite' : 'PostgreSQL';
  const { bodies, notifications, events, expected } = campaign();
  console.log(
    `\n== campaign: ${MESSAGES} outbound messages, ${notifications} notifications in ${bodies.length} POSTs (EnableX and Meta, 1-40 each), ${where} ==`,
  );
  const result = await runBluetick(store, bodies, events, {
    check: async (t) =>
      t.query("SELECT status, count(*) AS n FROM proj_messages WHERE direction = 'outbound' GROUP BY status ORDER BY status"),
  });
  const got = Object.fromEntries(result.checked.map((r) => [r.status ?? 'unknown', Number(r.n)]));
  console.log(`acked: ${(bodies.length / result.ackSeconds).toFixed(0)} POSTs/s, ${(notifications / result.ackSeconds).toFixed(0)} notifications/s`);
  console.log(`end to end: ${(result.events / result.seconds).toFixed(0)} events/s (${result.events} events in ${result.seconds.toFixed(1)} s)`);
  console.log(`projections complete ${result.afterAckSeconds.toFixed(1)} s after the last ack`);
  const ok = JSON.stringify(got) === JSON.stringify({ failed: expected.failed, read: expected.read }) && result.events === events && result.failed === 0;
  console.log(
    `message statuses: ${JSON.stringify(got)}, expected ${JSON.stringify({ failed: expected.failed, read: expected.read })}; events ${result.events}, expected ${events}: ${ok ? 'ok' : 'WRONG'}`,
  );
  if (!ok) process.exitCode = 1;
}
