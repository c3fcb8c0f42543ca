// npm run bench -- refusal: what refusing a forged Meta POST costs, ASCII against non-ASCII
// bodies of the same size, measured in the same run (the ratio is the figure that matters).
//
// A forged body with a well-formed `X-Hub-Signature-256` is checked twice when it holds
// non-ASCII text: as sent, and in the escaped-unicode form Meta signs (src/ingest/verify-meta.ts).
// The second check must not make such a body much dearer to refuse than an ASCII one, or forged
// traffic could saturate the ingest thread cheaply. Each body is ~4 MB (under the default
// 4 MiB limit); the non-ASCII ones use 2-, 3- and 4-byte UTF-8 characters (2 bytes expand the
// most when escaped).
//
// Two measurements: the verifier alone (CPU of the ingest thread per refusal), and whole
// refused POSTs over loopback HTTP to a server in this process (body transfer included).
// Environment: BENCH_REFUSALS (default 15 per body and measurement).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { ROOT } from './processes.js';

const SIZE = 4_000_000;
const refusals = Number(process.env.BENCH_REFUSALS ?? 15);
const SECRET = 'bench-app-secret-0123456789abcdef';
const FORGED = `sha256=${'ab'.repeat(32)}`;

/** A JSON-looking body of about SIZE bytes whose text is `unit` repeated. */
function body(unit) {
  const head = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"text":{"body":"';
  const tail = '"}}]}}]}]}';
  const room = SIZE - head.length - tail.length;
  const count = Math.floor(room / Buffer.byteLength(unit));
  return Buffer.from(head + unit.repeat(count) + tail);
}

const BODIES = [
  ['ASCII', body('a')],
  ['2-byte (Cyrillic)', body('ж')],
  ['3-byte (Devanagari)', body('न')],
  ['4-byte (emoji)', body('😀')],
  // Mostly ASCII: its escaped form still fits the limit, so it is escaped and hashed in full.
  ['1% non-ASCII', body(`${'a'.repeat(100)}é`)],
];

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function post(port, buf) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/webhooks/meta', method: 'POST', headers: { 'x-hub-signature-256': FORGED, 'content-length': buf.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(buf);
  });
}

function report(title, times, target) {
  console.log(`\n${title} (median of ${refusals})`);
  const base = times.get('ASCII');
  for (const [name] of BODIES) {
    const t = times.get(name);
    console.log(`  ${name.padEnd(22)} ${t.toFixed(1).padStart(7)} ms   ${(t / base).toFixed(2)}x ASCII`);
  }
  const worst = Math.max(...[...times.values()].map((t) => t / base));
  console.log(`  worst non-ASCII / ASCII: ${worst.toFixed(2)}x${target ? ` (target <= ${target}x)` : ''}`);
}

export async function runRefusalBench() {
  const { createMetaVerifier } = await import(join(ROOT, 'dist/ingest/verify-meta.js'));
  const { resolveConfig } = await import(join(ROOT, 'dist/config/resolve.js'));
  const { launchServer } = await import(join(ROOT, 'dist/server.js'));
  const { silentLogger } = await import(join(ROOT, 'dist/log.js'));
  console.log(`\nrefusal bench: forged Meta signatures on ~${(SIZE / 1e6).toFixed(0)} MB bodies`);

  const verify = createMetaVerifier([SECRET]);
  const samples = new Map(BODIES.map(([name]) => [name, []]));
  for (let round = 0; round < refusals + 2; round++) {
    // Interleaved, so drift on a shared machine hits every body alike; two warm-up rounds.
    for (const [name, buf] of BODIES) {
      const t0 = performance.now();
      if (verify(buf, FORGED) !== undefined) throw new Error('a forged signature verified');
      if (round >= 2) samples.get(name).push(performance.now() - t0);
    }
  }
  report('verifier alone', new Map([...samples].map(([name, s]) => [name, median(s)])));

  const dataDir = mkdtempSync(join(tmpdir(), 'bluetick-refusal-'));
  const { config, errors } = resolveConfig({
    written: {
      server: { port: 0, dataDir, limits: { authFailures: 0 } },
      adminToken: 'bench-admin-token-0123456789',
      channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }],
    },
    cwd: dataDir,
  });
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  const running = await launchServer(config, { logger: silentLogger(), processMetrics: false });
  try {
    const over = new Map(BODIES.map(([name]) => [name, []]));
    for (let round = 0; round < refusals + 2; round++) {
      for (const [name, buf] of BODIES) {
        const t0 = performance.now();
        const status = await post(running.address.port, buf);
        if (status !== 401) throw new Error(`expected 401, got ${status}`);
        if (round >= 2) over.get(name).push(performance.now() - t0);
      }
    }
    report('refused POST over loopback HTTP', new Map([...over].map(([name, s]) => [name, median(s)])), 3);
  } finally {
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
