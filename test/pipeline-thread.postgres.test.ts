/**
 * The PostgreSQL store's pipeline on a thread of its own (`PostgresStore.createPipeline`,
 * what the server uses on PostgreSQL): a real server over loopback records what it acks
 * through the thread, `recorded` listeners fire on this thread, `drain()` waits for the
 * rows, the thread's log lines reach this thread's logger, closing the store ends the
 * thread, and a thread that cannot reach the database or that dies is reported, not waited on;
 * `store.pipelineThread: in-process` in the config keeps the pipeline on the HTTP thread.
 *
 * The thread runs the TypeScript sources through the same module hooks as the SQLite
 * store's thread (`src/store/thread/source-hooks.mjs`).
 */
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { silentLogger } from '../src/log.js';
import { Pipeline, type PipelineLogger } from '../src/pipeline.js';
import { launchServer } from '../src/server.js';
import { openPostgresStore, PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { StoredEvent } from '../src/store/store.js';
import type { PipelineWorkerData } from '../src/store/postgres/pipeline-worker.js';
import { spawnThread } from '../src/store/thread/channel.js';
import { PipelineThread } from '../src/store/thread/pipeline-thread.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { inboundBody, statusBody } from './helpers/meta-bodies.js';

interface LogLine {
  level: 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): { logger: PipelineLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    logger: {
      warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    },
  };
}

function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function row(body: string, at = Date.now()): Parameters<PostgresStore['journal']['append']>[0][number] {
  return { channel: 'default', receivedAt: at, headers: {}, body: Buffer.from(body), verifiedBy: 'meta-signature' };
}

describePostgres('the PostgreSQL pipeline on its own thread', () => {
  const schema = schemaName('pthread');
  const url = urlFor(schema);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-pg-thread-'));
    // Migrated once here, so each test below starts from a current schema.
    const store = await openPostgresStore(url, { poolSize: 1 });
    await store.close();
  });

  afterAll(async () => {
    await dropSchema(schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records what the server acks through the thread; recorded listeners fire here and drain() waits', async () => {
    const result = resolveConfig({ written: { server: { port: 0, dataDir: dir }, store: { url } }, env: {}, cwd: dir });
    expect(result.errors).toEqual([]);
    const running = await launchServer(result.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 } });
    try {
      expect(running.store.capabilities.pipelineThread).toBe('own-thread');
      // Not a pipeline on this thread: a handle on the one in the thread.
      expect(running.pipeline).not.toBeInstanceOf(Pipeline);
      const recorded: StoredEvent[] = [];
      running.pipeline.on('recorded', (stored) => recorded.push(stored));
      const batches: number[] = [];
      running.pipeline.on('batch', (info) => batches.push(info.inserted));

      const at = Date.now();
      for (let i = 0; i < 20; i++) {
        const body = inboundBody([{ id: `wamid.T${i}`, from: '15550001111', text: `m${i}`, at: at + i }]);
        expect(await post(running.webhookUrls.default!, body)).toBe(200);
      }
      await running.pipeline.drain();
      // drain() resolves after the events of every batch it waited for were emitted here.
      expect(recorded.map((s) => s.event.id).sort()).toHaveLength(20);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(20);
      const stored = await running.store.events.list({ type: ['message.received'] }, { limit: 100 });
      expect(stored.items).toHaveLength(20);
      const pending = await running.store.journal.list({ state: ['pending'] }, { limit: 10 });
      expect(pending.items).toHaveLength(0);
      // Delivery wake-ups and metrics hang on the batches: counted on this thread.
      const metrics = await running.metrics.text();
      expect(metrics).toMatch(/bluetick_events_recorded_total\{type="message.received"\} 20/);
    } finally {
      await running.close();
    }
  }, 60_000);

  it('runs the pipeline on the HTTP thread when the config says in-process, and records what it acks', async () => {
    const written = { server: { port: 0, dataDir: dir }, store: { url, pipelineThread: 'in-process' } };
    const result = resolveConfig({ written, env: {}, cwd: dir });
    expect(result.errors).toEqual([]);
    const running = await launchServer(result.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 } });
    try {
      expect(running.store.capabilities.pipelineThread).toBe('in-process');
      expect(running.pipeline).toBeInstanceOf(Pipeline);
      // No thread was started: the store holds none.
      expect((running.store as unknown as { pipelineThreads: Set<PipelineThread> }).pipelineThreads.size).toBe(0);
      const body = inboundBody([{ id: 'wamid.INPROC1', from: '15550007777', text: 'here', at: Date.now() }]);
      expect(await post(running.webhookUrls.default!, body)).toBe(200);
      await running.pipeline.drain();
      const stored = await running.store.events.list({ type: ['message.received'] }, { limit: 100 });
      expect(stored.items.map((s) => ('messageId' in s.event ? s.event.messageId : undefined))).toContain('wamid.INPROC1');
    } finally {
      await running.close();
    }
  }, 60_000);

  it('creates deliveries in the thread for the routes given before and after it started', async () => {
    const store = new PostgresStore(url, { poolSize: 2 });
    try {
      await store.deliveries.setRoutes([{ name: 'before', sink: 'handler:before' }]);
      const pipeline = store.createPipeline();
      await store.journal.append([row(inboundBody([{ id: 'wamid.R1', from: '15550004444', text: 'one', at: Date.now() }]))]);
      await pipeline.drain();
      // Routes set while the thread runs reach it before setRoutes() resolves.
      await store.deliveries.setRoutes([
        { name: 'before', sink: 'handler:before' },
        { name: 'after', sink: 'handler:after' },
      ]);
      await store.journal.append([row(inboundBody([{ id: 'wamid.R2', from: '15550004444', text: 'two', at: Date.now() }]))]);
      await pipeline.drain();
      const events = (await store.events.list({ type: ['message.received'] }, { limit: 100 })).items;
      /** The event id of the message `wamid`. */
      const eventOf = (wamid: string): string => events.find((s) => JSON.stringify(s.event).includes(wamid))!.event.id;
      const deliveries = (await store.deliveries.list({}, { limit: 100 })).items;
      const routesOf = (eventId: string): string[] =>
        deliveries
          .filter((d) => d.eventId === eventId)
          .map((d) => d.route)
          .sort();
      expect(routesOf(eventOf('wamid.R1'))).toEqual(['before']);
      expect(routesOf(eventOf('wamid.R2'))).toEqual(['after', 'before']);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('forwards the thread log lines, errors included, to the logger given here', async () => {
    const store = new PostgresStore(url, { poolSize: 2 });
    const { logger, lines } = recordingLogger();
    try {
      // Normalizing 3000 statuses takes more than 1 ms: each try runs over its budget.
      const statuses = Array.from({ length: 3000 }, (_, i) => ({ id: `wamid.S${i}`, status: 'sent', to: '15550002222', at: Date.now() }));
      await store.journal.append([row(statusBody(statuses))]);
      const pipeline = store.createPipeline({ logger, rowBudgetMs: 1, maxAttempts: 1 });
      await pipeline.drain();
      const failed = lines.find((l) => l.msg === 'a row failed on every try; kept as failed');
      expect(failed?.level).toBe('error');
      expect(failed?.obj.channel).toBe('default');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('ends the thread when the store closes: its claims handed back, the handle quiet', async () => {
    const store = new PostgresStore(url, { poolSize: 2 });
    const pipeline = store.createPipeline({ pollMs: 20 });
    const threads = (store as unknown as { pipelineThreads: Set<PipelineThread> }).pipelineThreads;
    expect(threads.size).toBe(1);
    const [thread] = [...threads];
    pipeline.start();
    await store.journal.append([row(inboundBody([{ id: 'wamid.C1', from: '15550003333', text: 'x', at: Date.now() }]))]);
    pipeline.wake();
    await pipeline.drain();
    await store.close();
    await thread!.exited;
    expect(threads.size).toBe(0);
    // Calls on the handle of an ended thread neither throw nor wait.
    pipeline.wake();
    await pipeline.stop();
    await pipeline.drain();
    // The thread's store handed back what it held: nothing claimed is left.
    const check = await openPostgresStore(url, { poolSize: 1 });
    try {
      const claimed = await check.journal.list({ state: ['pending'] }, { limit: 10 });
      expect(claimed.items).toHaveLength(0);
    } finally {
      await check.close();
    }
  }, 60_000);

  it('reports a thread that cannot reach the database instead of waiting on it', async () => {
    // Nothing listens on port 1: every connection is refused at once.
    const store = new PostgresStore('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 1_000 });
    const { logger, lines } = recordingLogger();
    try {
      const pipeline = store.createPipeline({ logger, pollMs: 20 });
      // A drain by hand fails with the thread's error, rebuilt here with its code.
      const err = await pipeline.drain().then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err).toBeInstanceOf(Error);
      expect(String(err?.code ?? err?.message)).toMatch(/ECONNREFUSED/);
      // The running loop logs each failed batch with its error.
      pipeline.start();
      await until(() => lines.some((l) => l.msg === 'pipeline batch failed; will retry'));
      const failed = lines.find((l) => l.msg === 'pipeline batch failed; will retry')!;
      expect(failed.obj.err).toBeInstanceOf(Error);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('reports a thread that dies, rejects its pending calls, and starts a new one that carries on', async () => {
    const { logger, lines } = recordingLogger();
    const errors: Error[] = [];
    const store = new PostgresStore(url, { poolSize: 2 });
    let spawned = 0;
    // The first thread ends on its own a moment after it starts, calls still unanswered; the
    // one that replaces it is the real pipeline thread on this test's schema.
    const spawn = (): Worker => {
      spawned++;
      if (spawned === 1) {
        return new Worker('setTimeout(() => process.exit(3), 200); require("node:worker_threads").parentPort.on("message", () => {});', { eval: true });
      }
      const data: PipelineWorkerData = { url, routes: [], options: { poolSize: 2 } };
      return spawnThread(new URL('../src/store/postgres/postgres-store.ts', import.meta.url).href, 'pipeline-worker', data);
    };
    const thread = new PipelineThread(spawn, {
      settings: { pollMs: 20 },
      logger,
      onError: (err) => errors.push(err),
      closeTimeoutMs: 5_000,
      wakeEveryMs: 10,
      restartDelayMs: 50,
    });
    try {
      const recorded: StoredEvent[] = [];
      thread.pipeline.on('recorded', (stored) => recorded.push(stored));
      thread.pipeline.start();
      const err = await thread.pipeline.drain().then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err?.code).toBe('ERR_STORE_WORKER_GONE');
      await until(() => errors.length > 0);
      expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ERR_STORE_WORKER_GONE']);
      expect(lines.some((l) => l.level === 'error' && /pipeline thread ended/.test(l.msg))).toBe(true);

      // The new thread's pipeline was started and listens, as the handle had asked of the old one.
      await until(() => lines.some((l) => /new pipeline thread took over/.test(l.msg)));
      expect(spawned).toBe(2);
      const [journalId] = await store.journal.append([row(inboundBody([{ id: 'wamid.D1', from: '15550005555', text: 'after', at: Date.now() }]))]);
      thread.pipeline.wake();
      await until(() => recorded.length > 0);
      expect(recorded.map((r) => [r.journalId, r.event.type])).toEqual([[journalId, 'message.received']]);
      expect((await store.journal.get(journalId!))?.state).toBe('processed');
    } finally {
      await thread.close();
      await thread.exited;
      await store.close();
    }
    // Closing ends it for good: no thread starts after that.
    await new Promise((r) => setTimeout(r, 200));
    expect(spawned).toBe(2);
  }, 30_000);
});
