/**
 * `bluetick export` on a real SQLite store filled through the real ingest path: every event
 * once in NDJSON, filters by type and time, CSV that a spreadsheet can open safely (quoting,
 * formula starts neutralised), the journal with `--raw` byte for byte, an output file 0600
 * that is never overwritten, and clear refusals of bad flags before anything is opened.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell, runExport, type ExportCommandOptions } from '../src/cli/commands/export.js';
import { resolveConfig } from '../src/config/resolve.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer } from '../src/server.js';
import { inboundBody, statusBody } from './helpers/meta-bodies.js';

const SECRET = 'export-meta-secret';
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const TRICKY = 'Hello, "world"\nsecond line';
const FORMULA = '=HYPERLINK("http://example.invalid","click")';

let dir: string;
const bodies: string[] = [];
let cutoff = 0;

async function capture(opts: ExportCommandOptions): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await runExport({ data: dir, ...opts }, { stdout, stderr, env: {}, cwd: dir });
  return { code, out, err };
}

/** Resolves once `Date.now()` is later than `ms` (the next millisecond tick). */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-export-'));
  const { config, errors } = resolveConfig({
    written: { adminToken: 'export-admin-token-0123456789', server: { port: 0, dataDir: dir }, channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }] },
    cwd: dir,
    env: {},
  });
  expect(errors).toEqual([]);
  const running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, stream: { pollMs: 25 } });
  try {
    bodies.push(
      inboundBody([
        { id: 'wamid.in1', from: '15550001111', text: TRICKY, at: T0 },
        { id: 'wamid.in2', from: '15550002222', text: FORMULA, at: T0 + 1000 },
      ]),
      statusBody([{ id: 'wamid.out1', status: 'sent', to: '15550001111', at: T0 + 2000 }]),
    );
    for (const body of bodies.slice(0, 2)) {
      const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(body, SECRET) }, body });
      expect(res.status).toBe(200);
    }
    await running.pipeline.drain();
    // Received later than everything above, so a time filter can split the two: the clock
    // has moved past every earlier receipt before the cutoff is taken, and past the cutoff
    // before the last body is sent.
    await clockPast(Date.now());
    cutoff = Date.now();
    await clockPast(cutoff);
    bodies.push(statusBody([{ id: 'wamid.out1', status: 'delivered', to: '15550001111', at: T0 + 3000 }]));
    const last = bodies[2]!;
    const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(last, SECRET) }, body: last });
    expect(res.status).toBe(200);
    await running.pipeline.drain();
  } finally {
    await running.close();
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bluetick export', () => {
  it('writes every event once as NDJSON, in recording order', async () => {
    const { code, out } = await capture({});
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; event: { type: string; messageId: string; text?: string } });
    expect(lines.map((l) => `${l.event.type}:${l.event.messageId}`)).toEqual([
      'message.received:wamid.in1',
      'message.received:wamid.in2',
      'message.status:wamid.out1',
      'message.status:wamid.out1',
    ]);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    expect(lines[0]!.event.text).toBe(TRICKY);
  });

  it('filters by type and by the time received', async () => {
    const statuses = await capture({ type: 'message.status' });
    expect(statuses.out.trimEnd().split('\n')).toHaveLength(2);
    const late = await capture({ since: new Date(cutoff).toISOString() });
    const events = late.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: { status?: string } });
    expect(events.map((e) => e.event.status)).toEqual(['delivered']);
    const early = await capture({ until: String(cutoff) });
    expect(early.out.trimEnd().split('\n')).toHaveLength(3);
  });

  it('writes CSV with a header, quoted cells and formula starts neutralised', async () => {
    const { out } = await capture({ format: 'csv', type: 'message.received' });
    expect(out.startsWith('seq,id,type,channel,receivedAt,occurredAt,phoneNumberId,from,recipientId,messageId,status,kind,text,errorCodes\n')).toBe(true);
    expect(out).toContain(',"Hello, ""world""\nsecond line",');
    expect(out).toContain(`,"'=HYPERLINK(""http://example.invalid"",""click"")",`);
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell('-3')).toBe("'-3");
    expect(csvCell([131026, 131047])).toBe('131026 131047');
  });

  it('exports the journal with --raw, each body exactly as it was received', async () => {
    const { out } = await capture({ raw: true });
    const rows = out.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; channel: string; body: string; headers: Record<string, string> });
    expect(rows.map((r) => r.body)).toEqual(bodies);
    expect(rows.every((r) => r.channel === 'meta')).toBe(true);
  });

  it('writes to a new 0600 file and never overwrites one', async () => {
    const file = join(dir, 'events.ndjson');
    const first = await capture({ output: file });
    expect(first.code).toBe(0);
    expect(first.out).toBe('');
    expect(first.err).toMatch(/exported 4 events to/);
    expect((await readFile(file, 'utf8')).trimEnd().split('\n')).toHaveLength(4);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(file, 'keep me');
    await expect(capture({ output: file })).rejects.toThrow(/events.ndjson: the file exists; export never overwrites one/);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });

  it('refuses bad flags with the reason, before opening anything', async () => {
    await expect(capture({ format: 'xml' })).rejects.toMatchObject({ code: 'BT_ERR_CLI_USAGE', message: expect.stringMatching(/--format: expected ndjson or csv/) });
    await expect(capture({ type: 'message.recieved' })).rejects.toThrow(/--type: unknown event type message.recieved/);
    await expect(capture({ since: 'yesterday' })).rejects.toThrow(/--since: expected an ISO-8601 time/);
    await expect(capture({ raw: true, format: 'csv' })).rejects.toThrow(/--raw: journal bodies are exported as ndjson only/);
    await expect(capture({ since: '2026-01-02', until: '2026-01-01' })).rejects.toThrow(/--until: must be later than --since/);
  });
});
