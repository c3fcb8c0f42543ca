/**
 * @module acme/manager
 *
 * Automatic HTTPS: obtains a certificate for each configured domain from an ACME CA
 * (RFC 8555, Let's Encrypt by default, through `acme-client`), serves it by SNI, and renews
 * it in place once a third of its lifetime is left (`renewWhenRemaining`).
 *
 * Serving never waits for the CA:
 * - A stored certificate (`<dataDir>/acme/...`, see `storage.ts`) is served from the first
 *   handshake, even when expired, while a new one is ordered.
 * - A domain with no certificate yet has nothing to serve: the TLS port listens (it must, for
 *   TLS-ALPN-01), but handshakes for that name fail until the first certificate arrives,
 *   typically seconds after start. Nothing is served with a self-signed stand-in that a
 *   provider would refuse anyway; `bluetick serve` says what it is waiting for.
 * - A failed order (CA down, rate limited, challenge not reachable) is retried with
 *   exponential backoff (30 s doubling up to 1 h by default, with jitter); the current
 *   certificate keeps serving meanwhile.
 * - A new certificate replaces the old one with `setSecureContext` / the SNI table: open
 *   connections keep their session, new handshakes get the new certificate, nothing restarts.
 *
 * Each certificate gets a fresh RSA-2048 key (the key type every webhook sender accepts).
 * The account key is ECDSA P-256, created once and kept with the account URL; an account the
 * CA no longer knows is registered again with the same key.
 *
 * Metrics: `bluetick_tls_certificate_expiry_timestamp_seconds{domain}` and
 * `bluetick_acme_orders_total{domain,kind,outcome}`.
 */
import { EventEmitter } from 'node:events';
import type { Server as TlsServer, SecureContext, SecureContextOptions } from 'node:tls';
import type { Client } from 'acme-client';
import type { Counter, Gauge } from 'prom-client';
import type { AcmeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { TLS_MIN_VERSION } from '../tls.js';
import { openAccount } from './account.js';
import { Http01Responder, TlsAlpnResponder } from './challenges.js';
import { describeAcmeError, registerOrigin, unregisterOrigin, type OriginEntry } from './http.js';
import { orderCertificate } from './order.js';
import { AcmeStorage } from './storage.js';
import { createAcmeMetrics } from './metrics.js';
import { MAX_TIMER_MS, orderReason, retryDelay, type BackoffOptions } from './schedule.js';
import { prepareServed, timing, type DomainState, type Served } from './served.js';
import type { AcmeManagerOptions, CertificateEvent, DomainStatus, FailureEvent, OrderKind } from './types.js';

export type { AcmeManagerOptions, CertificateEvent, DomainStatus, FailureEvent, OrderKind } from './types.js';
export { describeAcmeError } from './http.js';

// ---- the manager --------------------------------------------------------------------------

export class AcmeManager extends EventEmitter<{ certificate: [CertificateEvent]; failure: [FailureEvent] }> {
  readonly config: AcmeConfig;
  readonly storage: AcmeStorage;
  /** Counts since start (tests and `bluetick doctor` read them). */
  readonly stats = { orders: 0, accountRegistrations: 0 };

  readonly #opts: AcmeManagerOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #retry: BackoffOptions;
  readonly #domains = new Map<string, DomainState>();
  readonly #expiry: Gauge<'domain'>;
  readonly #orders: Counter<'domain' | 'kind' | 'outcome'>;
  #account: Promise<Client> | undefined;
  /** This manager's entry in the per-origin HTTP settings (removed again by `close`). */
  #origin: OriginEntry | undefined;
  #server: TlsServer | undefined;
  #defaultFingerprint: string | undefined;
  #http: Http01Responder | undefined;
  #alpn: TlsAlpnResponder | undefined;
  #started = false;
  #closed = false;

  /** Reads stored certificates; contacts no CA. Call `start()` once the TLS server exists. */
  static async create(opts: AcmeManagerOptions): Promise<AcmeManager> {
    const manager = new AcmeManager(opts);
    await manager.#loadStored();
    return manager;
  }

  private constructor(opts: AcmeManagerOptions) {
    super();
    this.#opts = opts;
    this.config = opts.config;
    this.#logger = opts.logger.child({ component: 'acme' });
    this.#now = opts.now ?? Date.now;
    this.#retry = { minMs: opts.retry?.minMs ?? 30_000, maxMs: opts.retry?.maxMs ?? 3_600_000 };
    this.storage = new AcmeStorage(opts.dataDir, opts.config.directoryUrl);
    for (const domain of opts.config.domains) this.#domains.set(domain, { domain, failures: 0 });
    ({ expiry: this.#expiry, orders: this.#orders } = createAcmeMetrics(opts.registry, opts.config.domains));


    this.#origin = registerOrigin(opts.config.directoryUrl, opts.directoryCa, opts.requestTimeoutMs ?? 30_000);
  }

  /** What an `https.Server` needs: SNI per domain, and the first domain's certificate as the default. */
  serverOptions(): SecureContextOptions & { SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void } {
    const first = this.#defaultServed();
    this.#defaultFingerprint = first?.facts.fingerprint256;
    return {
      minVersion: TLS_MIN_VERSION,
      SNICallback: this.sniCallback,
      ...(first ? { cert: first.cert, key: first.key } : {}),
    };
  }

  /** Picks the certificate by server name; other names get the default one. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const served = this.#domains.get(servername.toLowerCase())?.served;
    cb(null, served?.context);
  };

  /**
   * Starts the challenge listener (HTTP-01) or hooks the TLS server (TLS-ALPN-01), then
   * orders what is missing or due, in the background.
   *
   * @param server the HTTPS server built with {@link serverOptions}.
   * @param tlsPort the port it listens on (HTTP-01 redirects point there).
   * @throws BluetickError when the HTTP-01 port cannot be bound.
   */
  async start(server: TlsServer, tlsPort: number): Promise<void> {
    if (this.#started) throw new Error('AcmeManager already started');
    this.#started = true;
    this.#server = server;
    if (this.config.challenge === 'http-01') {
      this.#http = new Http01Responder({
        host: this.#opts.host,
        port: this.config.httpPort,
        httpsPort: tlsPort,
        domains: this.config.domains,
        logger: this.#logger,
      });
      await this.#http.listen();
    } else {
      this.#alpn = new TlsAlpnResponder({ logger: this.#logger, ...(this.#opts.peekTimeoutMs !== undefined ? { peekTimeoutMs: this.#opts.peekTimeoutMs } : {}) });
      this.#alpn.attach(server);
    }
    for (const state of this.#domains.values()) {
      const reason = orderReason(timing(state.served), this.#now());
      if (reason === undefined) {
        this.#logger.info(
          { domain: state.domain, notAfter: new Date(state.served!.facts.notAfter).toISOString(), renewAt: new Date(state.served!.renewAt).toISOString() },
          'serving the stored certificate',
        );
        this.#schedule(state, state.served!.renewAt);
      } else {
        this.#schedule(state, this.#now());
      }
    }
  }

  /** The HTTP-01 listener's address, when there is one. */
  get httpChallengeAddress(): { port: number; address: string } | undefined {
    return this.#http?.address;
  }

  status(): DomainStatus[] {
    const now = this.#now();
    return [...this.#domains.values()].map((s) => {
      const served = s.served;
      return {
        domain: s.domain,
        state: served === undefined ? 'missing' : served.facts.notAfter <= now ? 'expired' : 'valid',
        ordering: s.running !== undefined,
        ...(served
          ? {
              notAfter: new Date(served.facts.notAfter),
              renewAt: new Date(served.renewAt),
              issuer: served.facts.issuer,
              fingerprint256: served.facts.fingerprint256,
            }
          : {}),
        ...(s.nextAttemptAt !== undefined ? { nextAttemptAt: new Date(s.nextAttemptAt) } : {}),
        failures: s.failures,
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
      };
    });
  }

  /** True when every domain has a certificate to serve. */
  get ready(): boolean {
    return [...this.#domains.values()].every((s) => s.served !== undefined);
  }

  /** Resolves once every domain has a certificate (at once when they all have one). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.ready) return;
        this.off('certificate', check);
        resolve();
      };
      this.on('certificate', check);
    });
  }

  /**
   * Orders a new certificate now, whatever the schedule says (all domains when none is
   * named). Resolves true when every order succeeded; failures are retried on the usual backoff.
   */
  async renewNow(domain?: string): Promise<boolean> {
    const states = domain === undefined ? [...this.#domains.values()] : [this.#domains.get(domain.toLowerCase())].filter((s) => s !== undefined);
    if (states.length === 0) throw new Error(`no ACME domain ${domain}`);
    const results = await Promise.all(states.map((s) => this.#run(s, true)));
    return results.every(Boolean);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const state of this.#domains.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = undefined;
    }
    this.#alpn?.detach();
    await this.#http?.close();
    if (this.#origin) unregisterOrigin(this.#origin);
  }

  // ---- internals ----------------------------------------------------------------------------

  async #loadStored(): Promise<void> {
    for (const state of this.#domains.values()) {
      let stored;
      try {
        stored = await this.storage.loadCertificate(state.domain);
      } catch (error) {
        this.#logger.warn({ domain: state.domain, err: error }, 'cannot read the stored certificate; ordering a new one');
        continue;
      }
      if (stored === undefined) continue;
      try {
        state.served = prepareServed(state.domain, stored.cert, stored.key, this.config.renewWhenRemaining, undefined);
        this.#expiry.set({ domain: state.domain }, state.served.facts.notAfter / 1000);
      } catch (error) {
        this.#logger.warn(
          { domain: state.domain, err: error, cert: this.storage.certificatePaths(state.domain).cert },
          'the stored certificate cannot be used; ordering a new one',
        );
      }
    }
  }

  #defaultServed(): Served | undefined {
    for (const state of this.#domains.values()) if (state.served) return state.served;
    return undefined;
  }

  /** Clients that send no server name get the first domain's certificate. */
  #refreshDefault(): void {
    const first = this.#defaultServed();
    if (!first || !this.#server || first.facts.fingerprint256 === this.#defaultFingerprint) return;
    this.#server.setSecureContext({ cert: first.cert, key: first.key, minVersion: TLS_MIN_VERSION });
    this.#defaultFingerprint = first.facts.fingerprint256;
  }

  #schedule(state: DomainState, at: number): void {
    if (this.#closed) return;
    if (state.timer) clearTimeout(state.timer);
    state.nextAttemptAt = at;
    const delay = Math.max(0, at - this.#now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      // Long waits are taken in steps of at most MAX_TIMER_MS.
      if (this.#now() < at) this.#schedule(state, at);
      else void this.#run(state, false);
    }, Math.min(delay, MAX_TIMER_MS));
    state.timer.unref();
  }

  #run(state: DomainState, force: boolean): Promise<boolean> {
    if (state.running) return state.running;
    const reason = force ? 'requested' : orderReason(timing(state.served), this.#now());
    if (reason === undefined) {
      this.#schedule(state, state.served!.renewAt);
      return Promise.resolve(true);
    }
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    state.nextAttemptAt = undefined;
    const kind: OrderKind = state.served ? 'renew' : 'issue';
    state.running = this.#attempt(state, kind, reason).finally(() => {
      state.running = undefined;
    });
    return state.running;
  }

  async #attempt(state: DomainState, kind: OrderKind, reason: string): Promise<boolean> {
    const { domain } = state;
    const started = this.#now();
    this.#logger.info(
      {
        domain,
        kind,
        reason,
        directoryUrl: this.config.directoryUrl,
        challenge: this.config.challenge,
        ...(state.served ? { currentNotAfter: new Date(state.served.facts.notAfter).toISOString() } : {}),
      },
      kind === 'issue' ? 'requesting a certificate' : 'renewing the certificate',
    );
    try {
      this.stats.orders++;
      const pair = await this.#order(domain);
      if (this.#closed) return false;
      const served = prepareServed(domain, pair.cert, pair.key, this.config.renewWhenRemaining, this.#now());
      try {
        await this.storage.saveCertificate(domain, pair);
      } catch (error) {
        // Serving it beats serving nothing; the next start orders again.
        this.#logger.error({ domain, err: error, dir: this.storage.root }, 'cannot store the new certificate; serving it from memory');
      }
      state.served = served;
      state.failures = 0;
      state.lastError = undefined;
      this.#refreshDefault();
      this.#expiry.set({ domain }, served.facts.notAfter / 1000);
      this.#orders.inc({ domain, kind, outcome: 'success' });
      this.#logger.info(
        {
          domain,
          kind,
          issuer: served.facts.issuer.replace(/\n/g, ', '),
          notAfter: new Date(served.facts.notAfter).toISOString(),
          renewAt: new Date(served.renewAt).toISOString(),
          fingerprint256: served.facts.fingerprint256,
          ms: this.#now() - started,
        },
        kind === 'issue' ? 'certificate issued and serving' : 'certificate renewed and swapped in',
      );
      this.#schedule(state, served.renewAt);
      this.emit('certificate', {
        domain,
        kind,
        notBefore: new Date(served.facts.notBefore),
        notAfter: new Date(served.facts.notAfter),
        renewAt: new Date(served.renewAt),
        issuer: served.facts.issuer,
        fingerprint256: served.facts.fingerprint256,
      });
      return true;
    } catch (error) {
      if (this.#closed) return false;
      // The CA may have forgotten the account (or the directory moved): look it up again next time.
      this.#account = undefined;
      state.failures++;
      state.lastError = describeAcmeError(error);
      this.#orders.inc({ domain, kind, outcome: 'failure' });
      const retryAt = this.#now() + retryDelay(state.failures, this.#retry);
      const served = state.served;
      const now = this.#now();
      const urgent = served === undefined || served.facts.notAfter - now < 7 * 86_400_000;
      this.#logger[urgent ? 'error' : 'warn'](
        {
          domain,
          kind,
          error: state.lastError,
          failures: state.failures,
          retryAt: new Date(retryAt).toISOString(),
          serving: served ? `the current certificate, valid until ${new Date(served.facts.notAfter).toISOString()}` : 'nothing yet',
        },
        kind === 'issue' ? 'could not obtain a certificate; will retry' : 'could not renew the certificate; will retry',
      );
      this.#schedule(state, retryAt);
      this.emit('failure', { domain, kind, error: error instanceof Error ? error : new Error(String(error)), failures: state.failures, retryAt: new Date(retryAt) });
      return false;
    }
  }

  /** The account client, registered (or found again by its key) once per process. */
  #client(): Promise<Client> {
    this.#account ??= openAccount({
      config: this.config,
      storage: this.storage,
      poll: this.#opts.poll,
      logger: this.#logger,
      now: this.#now,
      onRegistered: () => void this.stats.accountRegistrations++,
    }).catch((error: unknown) => {
      this.#account = undefined;
      throw error;
    });
    return this.#account;
  }

  async #order(domain: string): Promise<{ cert: Buffer; key: Buffer }> {
    return orderCertificate(await this.#client(), domain, this.config.challenge, { http: this.#http, alpn: this.#alpn });
  }
}
