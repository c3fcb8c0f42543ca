/**
 * `bluetick trigger` end to end: real POSTs over loopback into a real server and its SQLite
 * journal, then the pipeline. The run is checked from both ends: what the command reports,
 * and what the store holds afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrigger, type TriggerCommandOptions } from '../src/cli/commands/trigger.js';
import { resolveConfig } from '../src/config/resolve.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { TRIGGER_KINDS } from '../src/trigger/kinds.js';
import { ensureBuilt, runBin } from './helpers/dist.js';

const SECRET = 'trigger-app-secret';
const BASIC = 'enablex:s3cret';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

interface Run {
  code: number;
  lines: Array<Record<string, unknown>>;
  text: string;
}

async function trigger(kinds: string[], opts: TriggerCommandOptions): Promise<Run> {
  const out = new Capture();
  const code = await runTrigger(kinds, opts, { stdout: out });
  const lines = opts.json ? out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { code, lines, text: out.text };
}

function summaryOf(run: Run): Record<string, unknown> & { byStatus: Record<string, number>; posts: number; redeliveries: number } {
  const last = run.lines[run.lines.length - 1]!;
  expect(last.type).toBe('summary');
  return last as never;
}

let dir: string;
let running: ServerInternals;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-trigger-'));
  const result = resolveConfig({
    written: {
      server: { port: 0, dataDir: dir },
      channels: [
        { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } },
        { name: 'enablex', provider: 'enablex', basicAuth: [BASIC] },
      ],
    },
    cwd: dir,
  });
  expect(result.errors).toEqual([]);
  running = await launchServer(result.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 } });
});

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

async function counts(): Promise<Awaited<ReturnType<ServerInternals['store']['counts']>>> {
  await running.pipeline.drain();
  return running.store.counts();
}

describe('bluetick trigger against a running server', () => {
  it('sends every kind in the Meta shape, signed, four to a POST, and each becomes the event it names', async () => {
    const before = await counts();
    const run = await trigger(['all'], { url: running.webhookUrls.meta, metaSecret: SECRET, batch: '4', json: true });
    expect(run.code).toBe(0);
    const summary = summaryOf(run);
    const posts = run.lines.filter((l) => l.type === 'post');
    expect(summary.posts).toBe(Math.ceil(TRIGGER_KINDS.length / 4));
    expect(summary.byStatus).toEqual({ '200': summary.posts });
    expect(posts.every((p) => p.status === 200 && p.response === '{"ok":true}')).toBe(true);

    const after = await counts();
    expect(after.events - before.events).toBe(TRIGGER_KINDS.length);
    const want: Record<string, number> = {};
    for (const k of TRIGGER_KINDS) want[k.event] = (want[k.event] ?? 0) + 1;
    for (const [type, n] of Object.entries(want)) expect((after.eventsByType[type] ?? 0) - (before.eventsByType[type] ?? 0), type).toBe(n);
    expect(after.journal.quarantined + after.journal.failed).toBe(0);

    // The refs the command reports are the ids a user finds in the store.
    const refs = posts.flatMap((p) => p.refs as string[]);
    const kinds = posts.flatMap((p) => p.kinds as string[]);
    const textRef = refs[kinds.indexOf('text')]!;
    const found = await running.store.events.list({ messageId: textRef }, { limit: 5 });
    expect(found.items.map((s) => s.event.type)).toEqual(['message.received']);
  });

  it('sends EnableX bodies with Basic auth, redelivers a fraction byte for byte, and the store counts them as duplicates', async () => {
    const before = await counts();
    const run = await trigger(['all'], { url: running.webhookUrls.enablex, shape: 'enablex', basic: BASIC, count: '90', batch: '3', duplicate: '0.3', concurrency: '4', seed: 'dup', json: true });
    expect(run.code).toBe(0);
    const summary = summaryOf(run);
    expect(summary.redeliveries).toBeGreaterThan(0);
    expect(summary.byStatus).toEqual({ '200': summary.posts });
    const after = await counts();
    expect(after.events - before.events).toBe(90);
    expect(after.lastJournalId - before.lastJournalId).toBe(summary.posts);
    expect(after.journal.duplicate - before.journal.duplicate).toBe(summary.redeliveries);
  });

  it('plays conversations with statuses out of order and prints each POST and a summary', async () => {
    const before = await counts();
    const run = await trigger([], { url: running.webhookUrls.meta, metaSecret: SECRET, conversation: true, reorder: true, count: '5', rate: '200' });
    expect(run.code).toBe(0);
    expect(run.text).toMatch(/^bluetick trigger: 5 conversations \(meta shape, X-Hub-Signature-256\)/);
    expect(run.text).toMatch(/#1 +text|#1 +image/);
    expect(run.text).toMatch(/-> 200 \{"ok":true\}/);
    expect(run.text).toMatch(/\n {2}200 +\d+\n/);
    expect(run.text).toMatch(/latency ms: p50 [\d.]+ {2}p90/);
    const after = await counts();
    expect((after.eventsByType['message.status'] ?? 0) - (before.eventsByType['message.status'] ?? 0)).toBe(15);
  });

  it('reports refusals as they come and exits 1: a wrong secret gets 401 and nothing is journaled', async () => {
    const before = await counts();
    const run = await trigger(['text', 'status-read'], { url: running.webhookUrls.meta, metaSecret: 'wrong', json: true });
    expect(run.code).toBe(1);
    expect(summaryOf(run).byStatus).toEqual({ '401': 2 });
    expect((await counts()).lastJournalId).toBe(before.lastJournalId);
  });

  it('reports a target that does not answer as errors, not as a crash', async () => {
    const run = await trigger(['text'], { url: 'http://127.0.0.1:1/webhooks/none', json: true, timeout: '2' });
    expect(run.code).toBe(1);
    expect(summaryOf(run).byStatus).toEqual({ error: 1 });
    expect(run.lines[0]!.error).toBe('ECONNREFUSED');
  });

  it('prints bodies and headers without sending on --dry-run, the same ones again for the same seed', async () => {
    const before = await counts();
    const dry = async (): Promise<string> => {
      const out = new Capture();
      expect(await runTrigger(['all'], { dryRun: true, seed: 'replay', metaSecret: SECRET, batch: '5' }, { stdout: out, clock: () => 1_717_171_717 })).toBe(0);
      return out.text;
    };
    const first = await dry();
    expect(first).toBe(await dry());
    expect(first).toMatch(/^### POST #1: text, image, video, audio, \+1\ncontent-type: application\/json\nx-hub-signature-256: sha256=[0-9a-f]{64}\n\n\{"object":"whatsapp_business_account"/);
    expect((await counts()).lastJournalId).toBe(before.lastJournalId);
  });

  it('refuses an invalid command line with a usage error', async () => {
    await expect(trigger(['bogus'], { url: 'http://127.0.0.1:1/' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/unknown kind "bogus"/) });
    await expect(trigger(['text'], {})).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--url is required/) });
    await expect(trigger(['text'], { url: 'x', duplicate: '2' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(trigger(['text'], { url: 'ftp://x/' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(trigger(['text'], { conversation: true, url: 'http://x/' })).rejects.toMatchObject({ exitCode: 2 });
  });
});

// ---------------------------------------------------------------------------
// The installed command: `node bin/bluetick trigger ...` runs the compiled dist/.

const bin = (args: string[]) => runBin(args, { cwd: dir });

describe('bluetick trigger as installed', () => {
  beforeAll(() => ensureBuilt(), 240_000);

  it('lists the kinds, sends to a server, and exits 2 on an unknown kind', async () => {
    const list = await bin(['trigger', '--list']);
    expect(list.code).toBe(0);
    for (const k of TRIGGER_KINDS) expect(list.stdout).toContain(`  ${k.name} `);

    const sent = await bin(['trigger', 'text', 'status-failed', '--url', running.webhookUrls.enablex!, '--shape', 'enablex', '--basic', BASIC]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/sent 2 POSTs/);

    const bad = await bin(['trigger', 'nope', '--url', running.webhookUrls.enablex!]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^bluetick: trigger: unknown kind "nope"/);

    // Meta's other webhook fields have no EnableX form: named outright they are refused, `all` leaves them out.
    const unfit = await bin(['trigger', 'account-alert', '--url', running.webhookUrls.enablex!, '--shape', 'enablex']);
    expect(unfit.code).toBe(2);
    expect(unfit.stderr).toMatch(/account-alert comes only in the meta shape/);
  });
});
