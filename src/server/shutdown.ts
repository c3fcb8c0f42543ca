/**
 * @module server/shutdown
 *
 * The graceful close of a running server. Order matters: stop accepting, let in-flight acks
 * finish (their rows are being committed), flush the journal, stop the pipeline after its
 * current batch, let deliveries in flight finish, then close the store. Rows acked but not
 * yet normalized stay `pending` and the next start picks them up.
 */
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AcmeManager } from '../acme/manager.js';
import type { DeliveryRuntime } from '../dispatch/runtime.js';
import type { JournalWriter } from '../journal/writer.js';
import type { IngestHandler, RejectionLog } from '../ingest/handler.js';
import type { Logger } from '../log.js';
import type { PipelineHandle } from '../pipeline.js';
import type { Store } from '../store/store.js';
import type { SilenceWatch } from '../watch/watch.js';
import type { ServerInternals } from './types.js';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Everything the close stops, in the order it stops them. */
/** Work the server runs on a timer (the disk watch, the pruner): stopped first at close. */
export interface BackgroundTask {
  stop(): void | Promise<void>;
}

export interface ClosingParts {
  server: Server;
  /** Aborted first: ends the API's live streams. */
  apiShutdown: AbortController;
  ingest: IngestHandler;
  tls: ServerInternals['tls'];
  acme: AcmeManager | undefined;
  watch: SilenceWatch | undefined;
  journal: JournalWriter;
  pipeline: PipelineHandle;
  delivery: DeliveryRuntime;
  rejections: RejectionLog;
  api: FastifyInstance;
  /** Timers stopped before anything else closes. */
  background: BackgroundTask[];
  /** Closed last, when the server opened it. */
  ownStore: Store | undefined;
  logger: Logger;
  /** How long in-flight requests get before connections are cut. */
  graceMs: number;
  /** How long deliveries in flight get. */
  deliveryGraceMs: number;
}

/** `close()` of a running server: the first call closes, every call returns the same promise. */
export function gracefulClose(parts: ClosingParts): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      // Some steps wait on handles that are unref'd on purpose (the store's checkpoint
      // worker); hold the event loop open until every step has finished.
      const hold = setInterval(() => undefined, 1_000);
      try {
        await shutdown(parts);
      } finally {
        clearInterval(hold);
      }
    })();
    return closing;
  };
}

async function shutdown(parts: ClosingParts): Promise<void> {
  const { server, ingest, logger, graceMs } = parts;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  parts.apiShutdown.abort();
  for (const task of parts.background) await task.stop();
  server.closeIdleConnections();
  // In-flight acks finish (their rows are committing); their answers say Connection: close.
  const drained = await Promise.race([ingest.drain().then(() => true), delay(graceMs).then(() => false)]);
  if (!drained) logger.warn({ inFlight: ingest.inFlight }, 'in-flight requests did not finish in time');
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  await Promise.race([closed, delay(drained ? Math.min(graceMs, 2_000) : 0)]);
  clearInterval(sweep);
  server.closeAllConnections();
  await closed;
  parts.tls?.watcher.close();
  await parts.acme?.close();
  await parts.watch?.close();
  await parts.journal.close();
  await parts.pipeline.stop();
  await parts.delivery.close(parts.deliveryGraceMs);
  await parts.rejections.close();
  await parts.api.close();
  if (parts.ownStore) await parts.ownStore.close();
  logger.info('bluetick stopped');
}
