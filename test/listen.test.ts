/**
 * `bluetick listen`: a remote server's events reach a local receiver signed per Standard
 * Webhooks and in the order they were recorded; a receiver that fails holds the line until it
 * answers; a server restart and a killed listener lose nothing and repeat nothing the receiver
 * had not acknowledged; `--raw` forwards the provider's bytes; `--type` filters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runListen, type ListenCommandOptions } from '../src/cli/commands/listen.js';
import { resolveConfig } from '../src/config/resolve.js';
import { normalize } from '../src/events/normalize.js';
import { verifyMetaSignature } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { FakeProvider } from '../src/testing/index.js';
import { BIN, cleanEnv, ensureBuilt } from './helpers/dist.js';

const TOKEN = 'listen-admin-token-0123456789';
const SECRET = 'meta-app-secret';
const BASIC = 'enablex:listen-password-16chars';
const SIGNING = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A bluetick server on `port` (0: any) over the data folder `dir`. */
async function startBluetick(dir: string, port = 0): Promise<ServerInternals> {
  const result = resolveConfig({
    written: {
      adminToken: TOKEN,
      server: { port, dataDir: dir },
      channels: [
        { name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } },
        { name: 'enablex', provider: 'enablex', basicAuth: [BASIC] },
      ],
    },
    cwd: dir,
  });
  expect(result.errors).toEqual([]);
  return launchServer(result.config!, {
    logger: silentLogger(),
    processMetrics: false,
    console: false,
    pipeline: { pollMs: 50 },
    stream: { pollMs: 50, retryMs: 100 },
  });
}

interface Delivery {
  id: string;
  body: Buffer;
  headers: Record<string, string>;
}

/** The developer's local app: records every POST it acknowledges; can refuse the first few. */
class Receiver extends EventEmitter {
  readonly acked: Delivery[] = [];
  readonly badSignatures: string[] = [];
  refuseNext = 0;
  url = '';
  readonly #server: Server;
  readonly #verifier: Webhook | undefined;

  constructor(signing: string | undefined) {
    super();
    this.#verifier = signing === undefined ? undefined : new Webhook(signing);
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        if (this.refuseNext > 0) {
          this.refuseNext--;
          return void res.writeHead(503).end();
        }
        if (this.#verifier) {
          try {
            this.#verifier.verify(body.toString('utf8'), headers);
          } catch {
            this.badSignatures.push(headers['webhook-id'] ?? '?');
            return void res.writeHead(400).end();
          }
        }
        this.acked.push({ id: headers['webhook-id'] ?? '', body, headers });
        res.writeHead(204).end();
        this.emit('acked');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    cleanups.push(() => new Promise((resolve) => this.#server.close(resolve)));
  }

  /** Resolves once `test` holds after an acknowledgement (or already holds). */
  until(test: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (test()) {
          this.off('acked', check);
          resolve();
        }
      };
      this.on('acked', check);
      check();
    });
  }

  uniqueIds(): string[] {
    return [...new Set(this.acked.map((d) => d.id))];
  }
}

/** The event ids a provider run should produce, from its bodies. */
function eventIds(bodies: readonly { body: Buffer }[], channel: string): string[] {
  const ids = new Set<string>();
  for (const { body } of bodies) {
    const result = normalize(body, { channel, receivedAt: 0 });
    if (result.ok) for (const e of result.events) ids.add(e.id);
  }
  return [...ids];
}

async function recordedIds(server: ServerInternals): Promise<string[]> {
  const page = await server.store.events.list({}, { after: 0, limit: 10_000 });
  return page.items.map((s) => s.event.id);
}

function inProcessListen(opts: ListenCommandOptions): { done: Promise<number>; stdout: string[]; stop(): void } {
  const stdout: string[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => stdout.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')));
  const signals = new EventEmitter();
  const done = runListen(opts, { stdout: out, stderr: new PassThrough(), env: {}, signals });
  return { done, stdout, stop: () => void signals.emit('SIGTERM') };
}

function provider(server: ServerInternals, shape: 'meta' | 'enablex', seed: string, extra: Partial<ConstructorParameters<typeof FakeProvider>[0]> = {}): FakeProvider {
  return new FakeProvider({
    target: server.webhookUrls[shape === 'meta' ? 'meta' : 'enablex']!,
    shape,
    ...(shape === 'meta' ? { metaSecret: SECRET } : { basic: BASIC }),
    seed,
    batch: 3,
    reorder: true,
    ...extra,
  });
}

describe('bluetick listen', () => {
  it('forwards every event signed and in recorded order, holding later events while the receiver fails', async () => {
    const dir = await tempDir('bt-listen-order-');
    const server = await startBluetick(dir);
    cleanups.push(() => server.close());
    const receiver = new Receiver(SIGNING);
    await receiver.start();
    receiver.refuseNext = 3;

    const meta = await provider(server, 'meta', 'order-meta').send({ conversations: 4 });
    const enablex = await provider(server, 'enablex', 'order-enablex').send({ conversations: 2 });
    const expected = [...eventIds(meta.bodies, 'meta'), ...eventIds(enablex.bodies, 'enablex')];
    const listen = inProcessListen({ url: server.url, token: TOKEN, forward: receiver.url, secret: SIGNING, state: join(dir, 'cursor.json'), after: '0', count: String(expected.length) });
    expect(await listen.done).toBe(0);

    expect(receiver.badSignatures).toEqual([]);
    expect(receiver.acked.map((d) => d.id)).toEqual(await recordedIds(server));
    expect(new Set(receiver.acked.map((d) => d.id))).toEqual(new Set(expected));
    // The live view: one line per event, with the receiver's answer.
    expect(listen.stdout).toHaveLength(expected.length);
    expect(listen.stdout.every((line) => / -> 204 \d+ ms$/.test(line))).toBe(true);

    // --channel: only what came in on that channel.
    const enablexOnly = new Receiver(SIGNING);
    await enablexOnly.start();
    const enablexIds = eventIds(enablex.bodies, 'enablex');
    const channel = inProcessListen({ url: server.url, token: TOKEN, forward: enablexOnly.url, secret: SIGNING, channel: 'enablex', state: join(dir, 'channel.json'), after: '0', count: String(enablexIds.length) });
    expect(await channel.done).toBe(0);
    expect(enablexOnly.acked.map((d) => d.id)).toEqual(enablexIds);
  });

  it('--type keeps only those events; --raw forwards the provider bodies byte for byte, once per POST', async () => {
    const dir = await tempDir('bt-listen-raw-');
    const server = await startBluetick(dir);
    cleanups.push(() => server.close());
    const report = await provider(server, 'meta', 'raw').send({ conversations: 3 });

    const statuses = new Receiver(SIGNING);
    await statuses.start();
    const expectedStatuses = report.bodies.flatMap((b) => b.notifications).filter((n) => n.kind.event === 'message.status').length;
    const typed = inProcessListen({ url: server.url, token: TOKEN, forward: statuses.url, secret: SIGNING, type: 'message.status', state: join(dir, 'typed.json'), after: '0', count: String(expectedStatuses) });
    expect(await typed.done).toBe(0);
    expect(statuses.acked.map((d) => JSON.parse(d.body.toString('utf8')).type)).toEqual(Array(expectedStatuses).fill('message.status'));

    const raw = new Receiver(undefined);
    await raw.start();
    const bodies = report.bodies.filter((b) => b.redeliveryOf === undefined).map((b) => b.body);
    const rawListen = inProcessListen({ url: server.url, token: TOKEN, forward: raw.url, raw: true, state: join(dir, 'raw.json'), after: '0' });
    await raw.until(() => raw.acked.length >= bodies.length);
    rawListen.stop();
    expect(await rawListen.done).toBe(0);
    expect(raw.acked.map((d) => d.body)).toEqual(bodies);
    for (const d of raw.acked) expect(verifyMetaSignature(d.body, d.headers['x-hub-signature-256'], [SECRET])).toBe('meta-signature');
  });

  describe('across restarts (the built CLI, killed with SIGKILL)', () => {
    beforeAll(() => ensureBuilt(), 240_000);

    it('loses nothing and repeats nothing unacknowledged when the server restarts and the listener is killed', async () => {
      const dir = await tempDir('bt-listen-restart-');
      let server = await startBluetick(dir);
      const port = server.address.port;
      cleanups.push(() => server.close());
      const receiver = new Receiver(SIGNING);
      await receiver.start();
      const state = join(dir, 'cursor.json');

      let listener: ChildProcess | undefined;
      /** The listeners' progress lines, shown when an expectation fails. */
      let log = '';
      const startListener = (): void => {
        listener = spawn(process.execPath, [BIN, 'listen', '--url', server.url, '--token', TOKEN, '--forward', receiver.url, '--secret', SIGNING, '--state', state, '--after', '0'], {
          env: cleanEnv({ HOME: dir }),
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        listener.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString('utf8')));
        // --after applies to the first start only; later starts resume from the state file.
        cleanups.push(() => void listener?.kill('SIGKILL'));
      };
      startListener();

      const first = await provider(server, 'meta', 'restart-1').send({ conversations: 3 });
      const firstIds = eventIds(first.bodies, 'meta');
      await receiver.until(() => firstIds.every((id) => receiver.acked.some((d) => d.id === id)));

      // The server goes away and comes back on the same address.
      await server.close();
      server = await startBluetick(dir, port);
      const second = await provider(server, 'enablex', 'restart-2').send({ conversations: 3 });
      const secondIds = eventIds(second.bodies, 'enablex');
      await receiver.until(() => secondIds.every((id) => receiver.acked.some((d) => d.id === id)));

      // The listener is killed while events flow, then started again from its state file.
      const third = await provider(server, 'meta', 'restart-3', { batch: 1 }).send({ conversations: 6 });
      const thirdIds = eventIds(third.bodies, 'meta');
      await receiver.until(() => thirdIds.some((id) => receiver.acked.some((d) => d.id === id)));
      listener!.kill('SIGKILL');
      await new Promise((resolve) => listener!.once('exit', resolve));
      const ackedBeforeKill = new Set(receiver.acked.map((d) => d.id));
      const countBeforeKill = receiver.acked.length;
      const restartArgs = ['listen', '--url', server.url, '--token', TOKEN, '--forward', receiver.url, '--secret', SIGNING, '--state', state];
      listener = spawn(process.execPath, [BIN, ...restartArgs], { env: cleanEnv({ HOME: dir }), stdio: ['ignore', 'ignore', 'pipe'] });
      listener.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString('utf8')));
      await receiver.until(() => thirdIds.every((id) => receiver.acked.some((d) => d.id === id)));

      const recorded = await recordedIds(server);
      expect(recorded).toHaveLength(firstIds.length + secondIds.length + thirdIds.length);
      // Nothing lost, in recorded order.
      expect(receiver.uniqueIds(), log).toEqual(recorded);
      // A repeat only of what the receiver had acknowledged before the kill: at most the one
      // event whose 2xx came after the cursor was last written.
      const repeats = receiver.acked.slice(countBeforeKill).filter((d) => ackedBeforeKill.has(d.id));
      expect(repeats.length).toBeLessThanOrEqual(1);
      expect(receiver.acked.length - recorded.length).toBe(repeats.length);
      expect(receiver.badSignatures).toEqual([]);
    }, 180_000);
  });
});
