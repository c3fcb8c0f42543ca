/**
 * @module server/certificates
 *
 * Where the server's certificate comes from: ACME (stored certificates serve from the first
 * handshake, orders run in the background; `src/acme/`), or the configured files, reloaded
 * when they change.
 */
import type { Server as HttpsServer } from 'node:https';
import type { AcmeManager } from '../acme/manager.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { TlsWatcher, describeCertificate, type TlsMaterial } from '../tls.js';
import type { ServerInternals, StartServerOptions } from './types.js';

/** The ACME manager when `server.acme` is set; its module loads only then. */
export async function createAcme(config: Config, opts: StartServerOptions, metrics: Metrics, logger: Logger): Promise<AcmeManager | undefined> {
  const sc = config.server;
  if (!sc.acme) return undefined;
  return (await import('../acme/manager.js')).AcmeManager.create({
    ...opts.acme,
    config: sc.acme,
    dataDir: sc.dataDir,
    host: sc.host,
    logger,
    registry: metrics.registry,
  });
}

/** Reloads the configured certificate files into the running server when they change. */
export function watchCertificateFiles(
  httpsServer: HttpsServer | undefined,
  config: Config,
  tlsMaterial: TlsMaterial | undefined,
  opts: StartServerOptions,
  logger: Logger,
): ServerInternals['tls'] {
  const files = config.server.tls;
  if (!httpsServer || !tlsMaterial || !files) return undefined;
  const watcher = new TlsWatcher(httpsServer, files, tlsMaterial, {
    logger,
    ...(opts.tlsWatch?.debounceMs !== undefined ? { debounceMs: opts.tlsWatch.debounceMs } : {}),
    ...(opts.tlsWatch?.pollMs !== undefined ? { pollMs: opts.tlsWatch.pollMs } : {}),
    ...(opts.tlsWatch?.onReload !== undefined ? { onReload: opts.tlsWatch.onReload } : {}),
  });
  return { watcher, certificate: describeCertificate(tlsMaterial.cert) };
}
