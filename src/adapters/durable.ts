/**
 * @module adapters/durable
 *
 * The adapters' durable mode: the same journal, pipeline and delivery worker `bluetick serve`
 * runs, without its HTTP server. A POST the adapter accepted is appended to the journal
 * (group commit, fsync) before its 200; the pipeline normalizes it after the ack and records
 * one delivery per new event for the adapter's handler route, which the delivery worker runs
 * at least once, in order per conversation, with the default retry policy.
 *
 * The store is a SQLite file (its folder is created 0700, the files 0600) or a PostgreSQL URL.
 * Processes sharing a store each plan deliveries for the routes they know, so a PostgreSQL store
 * is shared only among processes of the same app (same handler route), never with `serve`
 * processes that have routes of their own: give the adapter a schema of its own.
 */
import { dirname, resolve } from 'node:path';
import { writtenConfigSchema } from '../config/schema.js';
import { HANDLER_SINK_PREFIX, DeliveryRuntime } from '../dispatch/runtime.js';
import type { BluetickEvent } from '../events/types.js';
import { JournalWriter } from '../journal/writer.js';
import { KEPT_HEADERS, maskAuthorization } from '../ingest/handler.js';
import { Pipeline } from '../pipeline.js';
import { openStore } from '../store/open.js';
import type { Store, VerifiedBy } from '../store/store.js';
import type { AdapterRequest } from './core.js';

/** The handler route every adapter registers in durable mode. */
export const ADAPTER_ROUTE = 'adapter';

export interface DurableIngestOptions {
  /** SQLite file path or `postgres://` URL. */
  store: string;
  channel: string;
  /** Runs the user's handlers for one event; a throw retries it on the default schedule. */
  run: (event: BluetickEvent) => Promise<void>;
}

export interface DurableIngest {
  readonly store: Store;
  /** Resolves once the row is committed; rejects (503 territory) when the journal cannot take it. */
  append(req: AdapterRequest, body: Buffer, verifiedBy: VerifiedBy): Promise<number>;
  close(): Promise<void>;
}

function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

function keptHeaders(req: AdapterRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = req.header(name);
    if (value !== undefined) out[name] = value;
  }
  const auth = req.header('authorization');
  if (auth !== undefined) out.authorization = maskAuthorization(auth);
  return out;
}

/** Opens the store (migrating it) and starts the pipeline and the delivery worker. */
export async function openDurableIngest(options: DurableIngestOptions): Promise<DurableIngest> {
  const file = resolve(options.store);
  const store = isPostgresUrl(options.store)
    ? await openStore({ dataDir: process.cwd(), url: options.store })
    : await openStore({ dataDir: dirname(file), file });
  const journal = new JournalWriter(store);
  const pipeline = new Pipeline(store);
  const config = { sinks: [], routes: [], delivery: writtenConfigSchema.shape.delivery.parse({}) };
  let delivery: DeliveryRuntime;
  try {
    delivery = await DeliveryRuntime.create({
      config,
      store,
      handlers: [
        {
          route: { name: ADAPTER_ROUTE, sink: `${HANDLER_SINK_PREFIX}${ADAPTER_ROUTE}`, match: {} },
          handler: (event) => options.run(event),
        },
      ],
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  pipeline.on('batch', (info) => {
    if (info.inserted > 0) delivery.wake();
  });
  const unsubscribe = [store.subscribe?.('journal', () => pipeline.wake()), store.subscribe?.('deliveries', () => delivery.wake())];
  pipeline.start();
  delivery.start();

  return {
    store,
    async append(req, body, verifiedBy) {
      const id = await journal.append({
        channel: options.channel,
        receivedAt: Date.now(),
        ...(req.remoteAddress !== undefined ? { remoteAddress: req.remoteAddress } : {}),
        headers: keptHeaders(req),
        body,
        verifiedBy,
      });
      pipeline.wake();
      return id;
    },
    async close() {
      for (const u of unsubscribe) u?.();
      await journal.close();
      await pipeline.stop();
      await delivery.close();
      await store.close();
    },
  };
}
