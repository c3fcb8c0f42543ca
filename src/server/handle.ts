/**
 * @module server/handle
 *
 * The public handle of a running server, and the way back from it to the parts (for the
 * CLI, the tests and `createBluetick`). The handle is a new frozen object, so the internals
 * stay out of reach of library users.
 */
import type { RunningServer, ServerInternals } from './types.js';

const internals = new WeakMap<RunningServer, ServerInternals>();

/**
 * The parts behind a handle from {@link startServer}.
 * @internal
 */
export function internalsOf(running: RunningServer): ServerInternals {
  const found = internals.get(running);
  if (found === undefined) throw new TypeError('not a handle returned by startServer');
  return found;
}

/** The public handle of a running server: a new object, so the internals stay out of reach. */
export function handleOf(running: ServerInternals): RunningServer {
  const { metrics } = running;
  const handle: RunningServer = Object.freeze({
    url: running.url,
    address: running.address,
    webhookUrls: running.webhookUrls,
    webhooks: running.webhooks,
    adminToken: running.adminToken,
    metrics: Object.freeze({ contentType: metrics.contentType, text: () => metrics.text() }),
    close: () => running.close(),
  });
  internals.set(handle, running);
  return handle;
}
