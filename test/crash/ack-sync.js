// npm run test:crash, first part: no 200 leaves the server before the body it acknowledges
// is on stable storage.
//
// A process kill cannot show this (the kernel keeps unsynced writes of a killed process; only
// a power cut loses them), so the order of the server's system calls is checked instead.
// `bluetick serve` runs under `strace -f` while POSTs of both body shapes arrive, each on a
// connection of its own and each carrying a marker no other POST has. Then, for every POST
// answered 200, in the order strace saw the calls:
//   1. the first write of its marker into a database file (the inbox's WAL, or whichever
//      file the store uses),
//   2. an fdatasync/fsync of that same file that started after that write and returned 0,
//   3. the write of `HTTP/1.1 200` to that POST's socket (found by the client's port),
// must come in this order. A build that answers before the sync (or never syncs) fails here.
//
// Needs strace (Debian package `strace`) and permission to ptrace; it fails, rather than
// skips, without them. Environment: ACK_SYNC_POSTS (default 240), ACK_SYNC_CONCURRENCY (8).
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, privateBuild, writeConfig } from '../support/server-process.js';

const POSTS = Number(process.env.ACK_SYNC_POSTS ?? 240);
const CONCURRENCY = Number(process.env.ACK_SYNC_CONCURRENCY ?? 8);
const SECRET = 'ack-sync-app-secret';
const BASIC = 'enablex:ack-sync-secret';

const probe = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fdatasync', 'true'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error(`ack-sync: strace is needed (apt-get install strace) and must be allowed to trace: ${probe.error?.message ?? probe.stderr}`);
  process.exit(1);
}

const build = await privateBuild();
const dir = mkdtempSync(join(tmpdir(), 'bluetick-ack-sync-'));
const port = await freePort();
const config = writeConfig(dir, {
  server: { port, dataDir: join(dir, 'data') },
  channels: [
    { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } },
    { name: 'enablex', provider: 'enablex', basicAuth: [BASIC] },
  ],
});
const trace = join(dir, 'strace.out');
console.log(`ack-sync: ${POSTS} POSTs to bluetick serve under strace, trace in ${trace}`);

const server = spawn(
  'strace',
  [
    '-f', '-qq', '-o', trace, '-y', '-yy', '-s', '16384',
    '-e', 'trace=write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg,fsync,fdatasync,sync_file_range',
    '-e', 'signal=none',
    process.execPath, build.main, 'serve', '--config', config, '--log-level', 'error',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve(signal ?? code)));
let output = '';
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no start within 120 s:\n${output}`)), 120_000);
  server.stdout.setEncoding('utf8').on('data', (chunk) => {
    output += chunk;
    if (/bluetick is listening on/.test(output)) {
      clearTimeout(timer);
      resolve();
    }
  });
  server.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  server.once('exit', (code) => {
    clearTimeout(timer);
    reject(new Error(`the server exited (${code}) before listening:\n${output}`));
  });
});

/** A body of either shape whose ids and text carry the marker. */
function post(i) {
  const marker = `acksync${String(i).padStart(5, '0')}${randomBytes(6).toString('hex')}`;
  const at = String(1_760_000_000 + i);
  if (i % 2 === 0) {
    const body = JSON.stringify({
      messages: [{ id: `wamid.${marker}`, from: '15550001111', timestamp: at, type: 'text', text: { body: marker } }],
      contacts: [{ wa_id: '15550001111', profile: { name: 'Ack Sync' } }],
      business_phone: '15550009999',
    });
    return { marker, path: '/webhooks/enablex', body, headers: { authorization: `Basic ${Buffer.from(BASIC).toString('base64')}` } };
  }
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550009999', phone_number_id: '106540352242922' },
      messages: [{ id: `wamid.${marker}`, from: '15550002222', timestamp: at, type: 'text', text: { body: marker } }],
    } }] }],
  });
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  return { marker, path: '/webhooks/meta', body, headers: { 'x-hub-signature-256': signature } };
}

/** One POST on a connection of its own; resolves with the status and the client's port. */
function send({ path, body, headers }) {
  return new Promise((resolve) => {
    let clientPort = 0;
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, clientPort }));
      },
    );
    req.on('socket', (socket) => socket.once('connect', () => (clientPort = socket.localPort)));
    req.on('error', (error) => resolve({ status: 0, error: error.message, clientPort }));
    req.end(body);
  });
}

const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < POSTS) {
      const p = post(next++);
      results.push({ ...p, ...(await send(p)) });
    }
  }),
);
// SIGTERM to bluetick itself (strace's child): strace passes on the exit code.
const [serverPid] = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
if (!serverPid) throw new Error('could not find the server process under strace');
process.kill(serverPid, 'SIGTERM');
const how = await exited;
if (how !== 0) {
  console.error(`ack-sync: the server ended with ${how} on SIGTERM:\n${output}`);
  process.exitCode = 1;
}

// ---- reading the trace -------------------------------------------------------------------------

const SYNC = /^(\d+) +(fdatasync|fsync|sync_file_range)\((\d+)<([^>]+)>/;
const RESUMED = /^(\d+) +<\.\.\. (fdatasync|fsync|sync_file_range) resumed>.*= (-?\d+)/;
const FILE_WRITE = /^(\d+) +(pwrite64|pwritev2?|write)\((\d+)<(\/[^>]+)>, /;
const SOCKET_WRITE = /^(\d+) +(write|writev|sendto|sendmsg)\(\d+<TCP:\[[^\]]*->127\.0\.0\.1:(\d+)\]>, (.*)$/;
const MARKER = /acksync\d{5}[0-9a-f]{12}/g;

const lines = readFileSync(trace, 'utf8').split('\n');
/** marker -> { line, file } of its first write to a file. */
const firstWrite = new Map();
/** client port -> line of the first `HTTP/1.1 200` written to it. */
const okWritten = new Map();
/** file -> [{ start, end }] of successful syncs. */
const syncs = new Map();
/** pid -> { file, start } of a sync not finished yet. */
const open = new Map();

const addSync = (file, start, end) => {
  if (!syncs.has(file)) syncs.set(file, []);
  syncs.get(file).push({ start, end });
};
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  let m = SYNC.exec(line);
  if (m) {
    if (line.includes('<unfinished ...>')) open.set(m[1], { file: m[4], start: i });
    else if (/\) = 0$/.test(line)) addSync(m[4], i, i);
    continue;
  }
  m = RESUMED.exec(line);
  if (m) {
    const pending = open.get(m[1]);
    open.delete(m[1]);
    if (pending && m[3] === '0') addSync(pending.file, pending.start, i);
    continue;
  }
  m = SOCKET_WRITE.exec(line);
  if (m) {
    if (m[4].includes('HTTP/1.1 200') && !okWritten.has(Number(m[3]))) okWritten.set(Number(m[3]), i);
    continue;
  }
  m = FILE_WRITE.exec(line);
  if (m) {
    for (const marker of line.match(MARKER) ?? []) if (!firstWrite.has(marker)) firstWrite.set(marker, { line: i, file: m[4] });
  }
}

const acked = results.filter((r) => r.status === 200);
const problems = [];
for (const r of acked) {
  const written = firstWrite.get(r.marker);
  const answered = okWritten.get(r.clientPort);
  if (answered === undefined) {
    problems.push(`${r.marker}: answered 200, but no 200 written to port ${r.clientPort} in the trace`);
    continue;
  }
  if (written === undefined) {
    problems.push(`${r.marker}: answered 200 (trace line ${answered + 1}) without its bytes ever written to a file`);
    continue;
  }
  if (written.line > answered) {
    problems.push(`${r.marker}: answered 200 (line ${answered + 1}) before its bytes were written (line ${written.line + 1})`);
    continue;
  }
  const synced = (syncs.get(written.file) ?? []).some((s) => s.start > written.line && s.end < answered);
  if (!synced) {
    problems.push(`${r.marker}: written to ${written.file} at line ${written.line + 1}, answered 200 at line ${answered + 1}, no completed sync of that file in between`);
  }
}

const other = results.length - acked.length;
const statuses = {};
for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
const files = [...new Set(acked.map((r) => firstWrite.get(r.marker)?.file).filter(Boolean))];
console.log(`  statuses ${JSON.stringify(statuses)}; ${lines.length} trace lines; acked bodies written to ${files.join(', ') || 'no file'}`);
console.log(`  syncs seen: ${[...syncs].map(([f, s]) => `${f.split('/').pop()} ${s.length}`).join(', ') || 'none'}`);
if (acked.length < POSTS / 2) problems.push(`only ${acked.length} of ${POSTS} POSTs were answered 200 (${other} others): too few to judge`);
if (problems.length > 0) {
  console.error(`ack-sync: FAILED, ${problems.length} of ${acked.length} acks are not preceded by a sync of their data:`);
  for (const p of problems.slice(0, 10)) console.error(`  ${p}`);
  console.error(`  (trace kept in ${trace})`);
  process.exitCode = 1;
} else {
  console.log(`ack-sync: ok, each of ${acked.length} acks came after a completed sync of the file holding its body`);
  rmSync(dir, { recursive: true, force: true });
}
build.remove();
