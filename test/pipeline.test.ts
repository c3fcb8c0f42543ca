import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BluetickEvent } from '../src/events/types.js';
import { Pipeline, type BatchInfo, type PipelineOptions } from '../src/pipeline.js';
import { openStore } from '../src/store/open.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { normalize } from '../src/events/normalize.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { JournalOutcome, Store, StoredEvent } from '../src/store/store.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { journalInput } from './store.contract.js';

// The real normalizer, except on two channels used to make it throw or emit an event the
// store refuses: neither can happen with the real one, and the pipeline must survive both.
vi.mock('../src/events/normalize.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/events/normalize.js')>();
  return {
    ...real,
    normalize: (raw: Buffer | string, ctx: Parameters<typeof real.normalize>[1]) => {
      if (ctx.channel === 'explode') throw new Error('normalizer exploded');
      const res = real.normalize(raw, ctx);
      if (ctx.channel === 'poison' && res.ok) {
        return { ok: true, events: res.events.map((e) => ({ ...e, id: null as unknown as string })) };
      }
      return res;
    },
  };
});

const WABA = '102290129340398';

function messageIdOf(s: StoredEvent): string | undefined {
  return 'messageId' in s.event ? s.event.messageId : undefined;
}
const PHONE_ID = '106540352242922';

/** A Meta envelope carrying the given messages and statuses, as Meta sends it (escaped unicode). */
function metaBody(opts: { messages?: Array<{ id: string; from: string; text: string }>; statuses?: Array<{ id: string; status: string }> }): Buffer {
  const value: Record<string, unknown> = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_ID },
  };
  if (opts.messages) {
    value.contacts = opts.messages.map((m) => ({ profile: { name: `Name ${m.from}` }, wa_id: m.from }));
    value.messages = opts.messages.map((m) => ({
      from: m.from,
      id: m.id,
      timestamp: '1749416383',
      type: 'text',
      text: { body: m.text },
    }));
  }
  if (opts.statuses) {
    value.statuses = opts.statuses.map((s) => ({
      id: s.id,
      status: s.status,
      timestamp: '1749416390',
      recipient_id: '16505551234',
    }));
  }
  const json = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: WABA, changes: [{ value, field: 'messages' }] }] });
  return Buffer.from(json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

const sample = () =>
  metaBody({
    messages: [{ id: 'wamid.IN1', from: '16505551234', text: 'Caf\u00e9?' }],
    statuses: [
      { id: 'wamid.OUT1', status: 'delivered' },
      { id: 'wamid.OUT1', status: 'read' },
    ],
  });

describe('Pipeline', () => {
  let dir: string;
  let store: SqliteStore;
  const pipelines: Pipeline[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-pipeline-'));
    store = (await openStore({ dataDir: dir })) as SqliteStore;
  });

  afterEach(async () => {
    for (const p of pipelines.splice(0)) await p.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function pipeline(opts: PipelineOptions = {}): Pipeline {
    const p = new Pipeline(store, opts);
    pipelines.push(p);
    return p;
  }

  function collect(p: Pipeline) {
    const recorded: StoredEvent[] = [];
    const batches: BatchInfo[] = [];
    p.on('recorded', (s) => recorded.push(s));
    p.on('batch', (b) => batches.push(b));
    return { recorded, batches };
  }

  async function allEvents(): Promise<StoredEvent[]> {
    return (await store.events.list({}, { limit: 10_000 })).items;
  }

  const nextBatch = (p: Pipeline) => new Promise<BatchInfo>((resolve) => p.once('batch', resolve));

  it('turns every item of a Meta POST into an event, in payload order, and marks the row processed', async () => {
    const [id] = await store.journal.append([journalInput({ body: sample(), receivedAt: Date.UTC(2025, 5, 8, 20, 59, 50) })]);
    const p = pipeline();
    const { recorded, batches } = collect(p);
    await p.drain();

    const events = await allEvents();
    expect(events.map((s) => [s.event.type, messageIdOf(s)])).toEqual([
      ['message.received', 'wamid.IN1'],
      ['message.status', 'wamid.OUT1'],
      ['message.status', 'wamid.OUT1'],
    ]);
    const msg = events[0]!.event as Extract<BluetickEvent, { type: 'message.received' }>;
    expect(msg).toMatchObject({ channel: 'main', provider: 'meta', phoneNumberId: PHONE_ID, from: '16505551234', text: 'Caf\u00e9?' });
    expect(msg.receivedAt).toBe('2025-06-08T20:59:50.000Z');
    expect(events.every((s) => s.journalId === id && s.duplicates === 0)).toBe(true);
    expect(await store.journal.get(id!)).toMatchObject({ state: 'processed', eventCount: 3, newEventCount: 3 });

    expect(recorded.map((s) => s.seq)).toEqual(events.map((s) => s.seq));
    expect(recorded.map((s) => s.event)).toEqual(events.map((s) => s.event));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ rows: 1, inserted: 3, duplicates: 0 });
  });

  it("reports its pacing's burst share with each batch, and none without a pacing", async () => {
    await store.journal.append([journalInput({ body: sample() })]);
    let share = 0.25;
    const paced = pipeline({
      pacing: {
        beforeClaim: async (limit) => limit,
        afterBatch: () => {
          share = 0.125;
        },
        burstShare: () => share,
      },
    });
    const { batches } = collect(paced);
    await paced.drain();
    // Read after the pacing saw the batch.
    expect(batches.map((b) => b.burstShare)).toEqual([0.125]);

    await store.journal.append([journalInput({ body: sample() })]);
    const plain = pipeline();
    const { batches: plainBatches } = collect(plain);
    await plain.drain();
    expect(plainBatches).toHaveLength(1);
    expect('burstShare' in plainBatches[0]!).toBe(false);
  });

  it('journals a redelivery as a duplicate row, adds no event, and counts the duplicates', async () => {
    const body = sample();
    const [first] = await store.journal.append([journalInput({ body })]);
    const p = pipeline();
    const { recorded, batches } = collect(p);
    await p.drain();
    const before = await allEvents();

    const [again] = await store.journal.append([journalInput({ body, receivedAt: Date.now() + 60_000 })]);
    await p.drain();

    const after = await allEvents();
    expect(after.map((s) => s.seq)).toEqual(before.map((s) => s.seq));
    expect(after.every((s) => s.duplicates === 1 && s.journalId === first)).toBe(true);
    expect(await store.journal.get(again!)).toMatchObject({ state: 'duplicate', eventCount: 3, newEventCount: 0 });
    expect(recorded).toHaveLength(3);
    expect(batches[1]).toMatchObject({ rows: 1, inserted: 0, duplicates: 3 });
  });

  it('marks the second copy duplicate when both copies are in one batch', async () => {
    const body = sample();
    const ids = await store.journal.append([journalInput({ body }), journalInput({ body })]);
    await pipeline().drain();
    expect((await store.journal.get(ids[0]!))?.state).toBe('processed');
    expect((await store.journal.get(ids[1]!))?.state).toBe('duplicate');
    expect(await allEvents()).toHaveLength(3);
  });

  it('keeps bodies that are not a JSON object in quarantine with their cause and exact bytes', async () => {
    const bodies = [
      Buffer.from('hello=world&a=1'),
      Buffer.from('[{"object":"whatsapp_business_account"}]'),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      Buffer.alloc(0),
    ];
    const ids = await store.journal.append(bodies.map((body) => journalInput({ body })));
    await pipeline().drain();
    const rows = await Promise.all(ids.map((id) => store.journal.get(id)));
    for (let i = 0; i < rows.length; i++) {
      expect(rows[i]).toMatchObject({ state: 'quarantined', eventCount: 0 });
      expect(rows[i]!.cause).toEqual(expect.any(String));
      expect(rows[i]!.cause!.length).toBeGreaterThan(0);
      expect(rows[i]!.body.equals(bodies[i]!)).toBe(true);
    }
    expect(rows[0]!.cause).toMatch(/JSON/);
    expect(rows[1]!.cause).toMatch(/not an object/);
    expect(rows[2]!.cause).toMatch(/UTF-8/);
    expect(await allEvents()).toEqual([]);
  });

  it('keeps a row whose normalizer throws on every try as failed with the message, and goes on with the rest', async () => {
    const errors: object[] = [];
    const ids = await store.journal.append([
      journalInput({ channel: 'explode', body: sample() }),
      journalInput({ body: metaBody({ messages: [{ id: 'wamid.OK', from: '1', text: 'x' }] }) }),
    ]);
    await pipeline({ maxAttempts: 2, logger: { warn: () => {}, error: (obj) => errors.push(obj) } }).drain();
    const failed = await store.journal.get(ids[0]!);
    expect(failed).toMatchObject({ state: 'failed' });
    expect(failed!.cause).toMatch(/normalizer exploded.*failed 2 of 2 tries/);
    expect((await store.journal.get(ids[1]!))?.state).toBe('processed');
    expect(errors).toHaveLength(1);
    // Failed rows can be run again once fixed.
    expect(await store.journal.retry()).toBe(1);
    expect((await store.journal.get(ids[0]!))?.state).toBe('pending');
  });

  it('keeps a row whose events the store refuses on every try as failed without holding back its batch', async () => {
    const ids = await store.journal.append([
      journalInput({ body: metaBody({ messages: [{ id: 'wamid.A', from: '1', text: 'a' }] }) }),
      journalInput({ channel: 'poison', body: metaBody({ messages: [{ id: 'wamid.P', from: '1', text: 'p' }] }) }),
      journalInput({ body: metaBody({ messages: [{ id: 'wamid.B', from: '1', text: 'b' }] }) }),
    ]);
    const p = pipeline({ logger: { warn: () => {}, error: () => {} } });
    const { batches } = collect(p);
    await p.drain();
    const states = await Promise.all(ids.map(async (id) => (await store.journal.get(id))?.state));
    expect(states).toEqual(['processed', 'failed', 'processed']);
    expect((await store.journal.get(ids[1]!))?.cause).toMatch(/record error.*failed 3 of 3 tries/);
    expect((await allEvents()).map((s) => messageIdOf(s))).toEqual(['wamid.A', 'wamid.B']);
    // The batch is recorded without the refused row, which is then tried alone until it fails.
    expect(batches).toEqual([
      expect.objectContaining({ rows: 3, inserted: 2, retried: 1, failed: 0 }),
      expect.objectContaining({ rows: 1, inserted: 0, retried: 1, failed: 0 }),
      expect.objectContaining({ rows: 1, inserted: 0, retried: 0, failed: 1 }),
    ]);
  });

  it('leaves rows pending (not failed) while the database is locked, and records them once it is free', async () => {
    const [id] = await store.journal.append([journalInput({ body: sample() })]);
    const locker = new Database(store.file);
    locker.exec('BEGIN EXCLUSIVE');
    const errors: object[] = [];
    let secondFailure!: () => void;
    const failedTwice = new Promise<void>((resolve) => (secondFailure = resolve));
    const p = pipeline({
      pollMs: 20,
      logger: {
        warn: () => {},
        error: (obj) => {
          if (errors.push(obj) === 2) secondFailure();
        },
      },
    });
    try {
      p.start();
      // Two whole turns failed on the lock (no clock: the test's timeout is the only bound).
      await failedTwice;
      expect((await store.journal.get(id!))?.state).toBe('pending');
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await p.drain();
    expect(await store.journal.get(id!)).toMatchObject({ state: 'processed', eventCount: 3 });
  });

  it('does not mistake a database locked for a moment for a bad row', async () => {
    const [id] = await store.journal.append([journalInput({ body: sample() })]);
    const locker = new Database(store.file);
    const real = store.journal.record.bind(store.journal);
    let calls = 0;
    // The first two writes meet a lock, which is gone by the third.
    vi.spyOn(store.journal, 'record').mockImplementation(async (outcomes) => {
      calls++;
      if (calls > 2) return real(outcomes);
      locker.exec('BEGIN EXCLUSIVE');
      try {
        return await real(outcomes);
      } finally {
        locker.exec('ROLLBACK');
      }
    });
    const p = pipeline({ pollMs: 10, logger: { warn: () => {}, error: () => {} } });
    p.start();
    await p.drain();
    locker.close();
    expect(calls).toBe(3);
    expect(await store.journal.get(id!)).toMatchObject({ state: 'processed', eventCount: 3 });
  });

  it('resumes rows left pending by a process that stopped mid-way, after reopening the store', async () => {
    const bodies = [1, 2, 3, 4, 5].map((n) => metaBody({ messages: [{ id: `wamid.R${n}`, from: '1', text: `${n}` }] }));
    const ids = await store.journal.append(bodies.map((body) => journalInput({ body })));
    // One batch recorded, then two rows claimed but never recorded: the process dies.
    const first = pipeline({ batchSize: 2 });
    first.start();
    await nextBatch(first);
    await first.stop();
    expect(await store.journal.claim(2)).toHaveLength(2);
    await store.close();

    store = (await openStore({ dataDir: dir })) as SqliteStore;
    const second = pipeline({ batchSize: 2 });
    await second.drain();
    const states = await Promise.all(ids.map(async (id) => (await store.journal.get(id))?.state));
    expect(states).toEqual(['processed', 'processed', 'processed', 'processed', 'processed']);
    expect((await allEvents()).map((s) => messageIdOf(s))).toEqual(['wamid.R1', 'wamid.R2', 'wamid.R3', 'wamid.R4', 'wamid.R5']);
    expect((await allEvents()).every((s) => s.duplicates === 0)).toBe(true);
  });

  it('settles a row that stops the process every time as failed after maxAttempts, and processes the rows around it', async () => {
    const bodies = [1, 2, 3].map((n) => metaBody({ messages: [{ id: `wamid.P${n}`, from: '1', text: `${n}` }] }));
    const [good1, poison, good2] = await store.journal.append(bodies.map((body) => journalInput({ body })));
    await store.close();
    let deaths = 0;
    for (let start = 1; start <= 10; start++) {
      const opened = (await openStore({ dataDir: dir })) as SqliteStore;
      // The process dies whenever it got as far as recording the poison row.
      const journal = opened.journal;
      const view = {
        journal: {
          claim: (limit: number) => journal.claim(limit),
          release: (ids: number[]) => journal.release(ids),
          record: async (outcomes: JournalOutcome[]) => {
            if (outcomes.some((o) => o.journalId === poison && o.state === 'processed')) {
              deaths++;
              await opened.close();
            }
            return journal.record(outcomes);
          },
        },
      } as unknown as Store;
      const died = await new Pipeline(view, { maxAttempts: 3 }).drain().then(
        () => false,
        () => true,
      );
      if (!died) {
        store = opened;
        break;
      }
    }
    expect(deaths).toBe(3);
    expect(await store.journal.get(good1!)).toMatchObject({ state: 'processed', eventCount: 1 });
    expect(await store.journal.get(good2!)).toMatchObject({ state: 'processed', eventCount: 1 });
    const failed = await store.journal.get(poison!);
    expect(failed).toMatchObject({ state: 'failed', attempts: 3 });
    expect(failed?.cause).toMatch(/gave up after 3 attempts/);
    // Retrying starts the count again.
    expect(await store.journal.retry([poison!])).toBe(1);
    expect((await store.journal.get(poison!))?.attempts).toBeUndefined();
  });

  it('quarantines a body with more items than maxItems, with its cause, and records none of them', async () => {
    const statuses = Array.from({ length: 6 }, (_, i) => ({ id: `wamid.MANY${i}`, status: 'sent' }));
    const [big, small] = await store.journal.append([journalInput({ body: metaBody({ statuses }) }), journalInput({ body: sample() })]);
    await pipeline({ maxItems: 5 }).drain();
    const row = await store.journal.get(big!);
    expect(row).toMatchObject({ state: 'quarantined', eventCount: 0 });
    expect(row?.cause).toMatch(/too many items: 6 .*limit is 5/);
    expect(await store.journal.get(small!)).toMatchObject({ state: 'processed', eventCount: 3 });
    expect((await allEvents()).some((s) => messageIdOf(s)?.startsWith('wamid.MANY'))).toBe(false);
  });

  it('records events in journal order, then payload order, across many small batches', async () => {
    const expected: string[] = [];
    const inputs = Array.from({ length: 12 }, (_, n) => {
      const messages = [0, 1].map((k) => ({ id: `wamid.O${n}.${k}`, from: `${n}`, text: `${n}.${k}` }));
      expected.push(...messages.map((m) => m.id));
      return journalInput({ body: metaBody({ messages }) });
    });
    await store.journal.append(inputs.slice(0, 6));
    await store.journal.append(inputs.slice(6));
    const p = pipeline({ batchSize: 5 });
    const { recorded, batches } = collect(p);
    await p.drain();
    expect(batches.map((b) => b.rows)).toEqual([5, 5, 2]);
    const events = await allEvents();
    expect(events.map((s) => messageIdOf(s))).toEqual(expected);
    expect(recorded.map((s) => messageIdOf(s))).toEqual(expected);
    const journalIds = events.map((s) => s.journalId);
    expect([...journalIds].sort((a, b) => a - b)).toEqual(journalIds);
  });

  it('passes the channel provider to the normalizer', async () => {
    const [id] = await store.journal.append([journalInput({ channel: 'cloud', body: Buffer.from('{"hello":"world"}') })]);
    await pipeline({ providerFor: (ch) => (ch === 'cloud' ? 'meta' : undefined) }).drain();
    const [only] = await allEvents();
    expect(only).toMatchObject({ journalId: id, event: { type: 'unknown', provider: 'meta', channel: 'cloud' } });
  });

  describe('running', () => {
    it('picks up new rows on wake() without waiting for the poll', async () => {
      const p = pipeline({ pollMs: 60_000 });
      p.start();
      await p.drain(); // nothing yet: now asleep on a one-minute poll
      await store.journal.append([journalInput({ body: sample() })]);
      // The next poll is a minute away, past the test's timeout: only the wake can get the batch in time.
      const batch = nextBatch(p);
      p.wake();
      await expect(batch).resolves.toMatchObject({ rows: 1, inserted: 3 });
    });

    it('picks up rows by polling when nobody calls wake()', async () => {
      const p = pipeline({ pollMs: 20 });
      p.start();
      await p.drain();
      const batch = nextBatch(p);
      await store.journal.append([journalInput({ body: sample() })]);
      await expect(batch).resolves.toMatchObject({ rows: 1 });
    });

    it('gives the event loop back between batches', async () => {
      await store.journal.append([1, 2, 3, 4].map(() => journalInput({ body: Buffer.from('not json') })));
      let ticks = 0;
      let ticking = true;
      const tick = () => {
        ticks++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const p = pipeline({ batchSize: 1 });
      const seen: number[] = [];
      p.on('batch', () => seen.push(ticks));
      p.start();
      await p.drain();
      ticking = false;
      expect(seen).toHaveLength(4);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    });

    it('neither repeats nor undoes a batch when a listener throws', async () => {
      await store.journal.append([journalInput({ body: sample() })]);
      const errors: string[] = [];
      const p = pipeline({ logger: { warn: () => {}, error: (_obj, msg) => errors.push(msg) } });
      let calls = 0;
      p.on('recorded', () => {
        calls++;
        throw new Error('listener bug');
      });
      await p.drain();
      expect(calls).toBe(1);
      expect(errors).toEqual(['a pipeline listener threw']);
      expect(await allEvents()).toHaveLength(3);
      expect((await store.counts()).journal.processed).toBe(1);
    });

    it('lets a pending drain() go when the pipeline is stopped', async () => {
      await store.journal.append([journalInput({ body: sample() })]);
      const locker = new Database(store.file);
      locker.exec('BEGIN EXCLUSIVE');
      try {
        // Each failed turn is an event; the short poll makes the loop keep trying (and failing).
        const failureWaiters = new Map<number, () => void>();
        let failures = 0;
        const failure = (n: number): Promise<void> => new Promise((resolve) => (failures >= n ? resolve() : failureWaiters.set(n, resolve)));
        const p = pipeline({
          pollMs: 2,
          logger: {
            warn: () => {},
            error: () => {
              failures++;
              failureWaiters.get(failures)?.();
            },
          },
        });
        p.start();
        await failure(1);
        let drained = false;
        const d = p.drain().then(() => (drained = true));
        // Two more whole turns ran after drain() was asked for, and neither let it go.
        await failure(failures + 2);
        expect(drained).toBe(false);
        await p.stop();
        await d;
        expect(drained).toBe(true);
      } finally {
        locker.exec('ROLLBACK');
        locker.close();
      }
    });

    it('finishes the batch in progress on stop() and takes no more', async () => {
      await store.journal.append([1, 2, 3].map(() => journalInput({ body: Buffer.from('x') })));
      // The loop's turns run on timers and immediates only: faked, they run when the test says,
      // and after stop() the test can see that nothing is left that could take another batch.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
      try {
        const p = pipeline({ batchSize: 1 });
        const first = nextBatch(p);
        p.start();
        await vi.advanceTimersToNextTimerAsync();
        await first;
        // The next turn is already scheduled (rows are left); stop() must cancel it.
        expect(vi.getTimerCount()).toBeGreaterThan(0);
        await p.stop();
        expect(vi.getTimerCount(), 'timers or immediates left after stop()').toBe(0);
        const counts = await store.counts();
        expect(counts.journal.quarantined).toBeGreaterThanOrEqual(1);
        expect(counts.journal.pending).toBeGreaterThanOrEqual(1);
        p.wake();
        expect(vi.getTimerCount(), 'a wake() after stop() scheduled a turn').toBe(0);
        await vi.runAllTimersAsync();
        expect((await store.counts()).journal.quarantined).toBe(counts.journal.quarantined);
      } finally {
        vi.useRealTimers();
      }
    });
  });
});

/**
 * A row that fails on every try, on both backends. The failure is injected through the
 * pipeline's `normalize` option (a test seam): the real normalizer does not throw on any body
 * (a malformed item becomes an `unknown` event), and a slow body is slow on every machine
 * only by a margin, so the marker rows below make it throw or spin instead.
 */
function failingRowSuite(name: string, open: () => Promise<{ store: Store; close: () => Promise<void> }>): void {
  describe(`a row that fails on every try (${name})`, () => {
    let store: Store;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ store, close } = await open());
    });

    afterEach(async () => {
      await close();
    });

    const body = (id: string) => metaBody({ messages: [{ id, from: '16505551234', text: id }] });

    /** The real normalizer, but a body carrying `wamid.THROW` throws and one carrying `wamid.SLOW` spins past `spinMs`. */
    function seam(tries: Map<string, number>, spinMs = 0): typeof normalize {
      return (raw, ctx) => {
        const text = raw.toString();
        for (const marker of ['wamid.THROW', 'wamid.SLOW']) {
          if (text.includes(marker)) tries.set(marker, (tries.get(marker) ?? 0) + 1);
        }
        if (text.includes('wamid.THROW')) throw new Error('reducer bug on this body');
        if (text.includes('wamid.SLOW')) {
          const t0 = performance.now();
          while (performance.now() - t0 <= spinMs) {
            /* a body that takes longer than the budget */
          }
        }
        return normalize(raw, ctx);
      };
    }

    /** Wraps `journal.claim` to keep the ids of every claim. */
    function recordClaims(): number[][] {
      const claims: number[][] = [];
      const real = store.journal.claim.bind(store.journal);
      store.journal.claim = async (limit) => {
        const rows = await real(limit);
        if (rows.length > 0) claims.push(rows.map((r) => r.id));
        return rows;
      };
      return claims;
    }

    it('is tried alone N times, then settles as failed with the error as its cause; the rows around it are processed', async () => {
      const ids = await store.journal.append(['wamid.A', 'wamid.THROW', 'wamid.B'].map((id) => journalInput({ body: body(id) })));
      const tries = new Map<string, number>();
      const claims = recordClaims();
      const batches: BatchInfo[] = [];
      const p = new Pipeline(store, { maxAttempts: 3, normalize: seam(tries), logger: { warn: () => {}, error: () => {} } });
      p.on('batch', (b) => batches.push(b));
      await p.drain();

      expect(tries.get('wamid.THROW')).toBe(3);
      const row = await store.journal.get(ids[1]!);
      expect(row?.state).toBe('failed');
      expect(row?.cause).toBe('normalizer error: reducer bug on this body (failed 3 of 3 tries)');
      // Its batch-mates were recorded on the first try, without it.
      expect((await store.journal.get(ids[0]!))?.state).toBe('processed');
      expect((await store.journal.get(ids[2]!))?.state).toBe('processed');
      expect(claims[0]).toEqual(ids);
      expect(claims.slice(1)).toEqual([[ids[1]], [ids[1]]]);
      expect(batches.map((b) => [b.rows, b.inserted, b.retried, b.failed])).toEqual([
        [3, 2, 1, 0],
        [1, 0, 1, 0],
        [1, 0, 0, 1],
      ]);
      const quarantine = await store.journal.list({ state: ['failed'] }, { limit: 10 });
      expect(quarantine.items.map((r) => r.id)).toEqual([ids[1]]);
    });

    it('counts a row over the time budget as a failed try, and rows arriving meanwhile keep flowing', async () => {
      const [slow] = await store.journal.append([journalInput({ body: body('wamid.SLOW') })]);
      const tries = new Map<string, number>();
      const p = new Pipeline(store, { maxAttempts: 2, rowBudgetMs: 5, normalize: seam(tries, 10), logger: { warn: () => {}, error: () => {} } });
      // A row that arrives after the first try still gets processed.
      const later = new Promise<number>((resolve, reject) => {
        p.once('batch', () => {
          store
            .journal.append([journalInput({ body: body('wamid.LATER') })])
            .then(([id]) => resolve(id!), reject);
        });
      });
      await p.drain();
      const laterId = await later;
      await p.drain();

      expect(tries.get('wamid.SLOW')).toBe(2);
      const row = await store.journal.get(slow!);
      expect(row?.state).toBe('failed');
      expect(row?.cause).toMatch(/^over the time budget: normalizing took \d+ ms \(journal\.rowBudgetMs is 5\) \(failed 2 of 2 tries\)$/);
      expect(await store.journal.get(laterId)).toMatchObject({ state: 'processed', eventCount: 1 });
    });

    it('is processed when a later try succeeds', async () => {
      const [id] = await store.journal.append([journalInput({ body: body('wamid.ONCE') })]);
      let calls = 0;
      const flaky: typeof normalize = (raw, ctx) => {
        if (++calls === 1) throw new Error('transient');
        return normalize(raw, ctx);
      };
      await new Pipeline(store, { maxAttempts: 3, normalize: flaky, logger: { warn: () => {}, error: () => {} } }).drain();
      expect(calls).toBe(2);
      expect(await store.journal.get(id!)).toMatchObject({ state: 'processed', eventCount: 1, newEventCount: 1 });
    });
  });
}

failingRowSuite('SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bluetick-pipeline-fail-'));
  const store = await openStore({ dataDir: dir });
  return {
    store,
    close: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describePostgres('pipeline on PostgreSQL', () => {
  failingRowSuite('PostgreSQL', async () => {
    const schema = schemaName('pipeline_fail');
    const store = await openPostgresStore(urlFor(schema), { poolSize: 2 });
    return {
      store,
      close: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  });
});
