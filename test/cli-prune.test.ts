/**
 * `bluetick prune` against the SQLite store of a running server (its own connection, WAL):
 * `--dry-run` counts per class and changes nothing; the real run deletes the old raw bodies
 * and redacts the old content it counted, leaves the young rows alone, and the server keeps
 * taking posts meanwhile and after.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPrune, type PruneCommandOptions } from '../src/cli/commands/prune.js';
import { resolveConfig } from '../src/config/resolve.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { inboundBody } from './helpers/meta-bodies.js';

const SECRET = 'prune-meta-secret';
const DAY = 86_400_000;
const NOW = Date.now();
const OLD = 40;

let dir: string;
let running: ServerInternals;
const written = {
  adminToken: 'prune-admin-token-0123456789',
  channels: [{ name: 'meta', provider: 'meta' as const, meta: { appSecrets: [SECRET] } }],
  retention: { rawBodies: '30d', messageContent: '90d', statuses: 'none' },
  watch: { silence: { enabled: false } },
};

async function capture(opts: PruneCommandOptions): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await runPrune({ data: dir, config: join(dir, 'bluetick.config.json'), ...opts }, { stdout, stderr: new PassThrough(), env: {}, cwd: dir, now: () => NOW });
  return { code, out };
}

async function post(id: string, text: string): Promise<void> {
  const body = inboundBody([{ id, from: '15550001111', text, at: NOW }]);
  const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'x-hub-signature-256': signMeta(body, SECRET) }, body });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bluetick-prune-'));
  // The command reads its limits from the config file, as `serve` does.
  await writeFile(join(dir, 'bluetick.config.json'), JSON.stringify({ retention: written.retention }));
  const { config, errors } = resolveConfig({ written: { ...written, server: { port: 0, dataDir: dir } }, cwd: dir, env: {} });
  expect(errors).toEqual([]);
  // The background pruner stays off: only the command prunes here.
  running = await launchServer(config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 20 }, retention: { start: false } });
  // 40 notifications received 100 days ago (past both limits), 40 received 60 days ago (past the raw-body limit only).
  for (let i = 0; i < 2 * OLD; i++) {
    const at = NOW - (i < OLD ? 100 : 60) * DAY + i;
    const body = inboundBody([{ id: `wamid.old${i}`, from: '15550002222', text: `papaya ${i}`, at }]);
    await running.journal.append({ channel: 'meta', receivedAt: at, headers: {}, body: Buffer.from(body), verifiedBy: 'meta-signature' });
  }
  await post('wamid.young0', 'mango');
  await running.pipeline.drain();
});

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bluetick prune', () => {
  it('counts with --dry-run, changing nothing', async () => {
    const { code, out } = await capture({ dryRun: true });
    expect(code).toBe(0);
    expect(out).toMatch(/^rawBodies\s+30d\s+80 would be deleted$/m);
    expect(out).toMatch(/^messageContent\s+90d\s+40 would be redacted$/m);
    expect(out).toMatch(/^statuses\s+none\s+kept for ever$/m);
    expect((await running.store.events.get((await running.store.events.list({}, { limit: 1 })).items[0]!.event.id))!.event).toHaveProperty('text', 'papaya 0');
    expect((await running.store.journal.list({}, { limit: 100 })).items.every((r) => r.body.length > 0)).toBe(true);
    const json = JSON.parse((await capture({ dryRun: true, json: true })).out) as { dryRun: boolean; classes: Record<string, { count: number; action: string }> };
    expect(json.dryRun).toBe(true);
    expect(json.classes.rawBodies).toMatchObject({ count: 80, action: 'deleted' });
  });

  it('prunes while the server runs, and the server keeps taking posts', async () => {
    const [{ out }] = await Promise.all([capture({}), post('wamid.young1', 'kiwi')]);
    expect(out).toMatch(/^rawBodies\s+30d\s+80 deleted$/m);
    expect(out).toMatch(/^messageContent\s+90d\s+40 redacted$/m);
    await post('wamid.young2', 'lime');
    await running.pipeline.drain();

    const events = (await running.store.events.list({}, { limit: 100 })).items.map((s) => s.event as unknown as { messageId: string; text?: string });
    expect(events).toHaveLength(2 * OLD + 3);
    expect(events.filter((e) => e.text === undefined).map((e) => e.messageId)).toEqual(Array.from({ length: OLD }, (_, i) => `wamid.old${i}`));
    expect(events.filter((e) => e.messageId.startsWith('wamid.young')).map((e) => e.text)).toEqual(['mango', 'kiwi', 'lime']);
    const journal = (await running.store.journal.list({}, { limit: 100 })).items;
    expect(journal.filter((r) => r.body.length === 0)).toHaveLength(2 * OLD);
    expect(journal.filter((r) => r.body.length > 0)).toHaveLength(3);
    // A second run finds nothing more.
    expect((await capture({ dryRun: true })).out).toMatch(/^rawBodies\s+30d\s+0 would be deleted$/m);
  });
});
