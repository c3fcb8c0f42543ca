/**
 * @module acme/types
 *
 * What the ACME manager takes (its options) and what it tells (certificate and failure
 * events, each domain's status).
 */
import type { Registry } from 'prom-client';
import type { AcmeConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { BackoffOptions } from './schedule.js';

export interface AcmeManagerOptions {
  config: AcmeConfig;
  /** The data directory; ACME state goes to `<dataDir>/acme`. */
  dataDir: string;
  /** Address the HTTP-01 listener binds (the server's own host). */
  host: string;
  logger: Logger;
  /** Where the metrics are registered; a private registry when absent. */
  registry?: Registry;
  /** Extra CA certificates (PEM) trusted for the ACME server's own HTTPS, e.g. a test CA. */
  directoryCa?: string | Buffer;
  /** Backoff after a failed order. Default 30 s doubling to 1 h. */
  retry?: Partial<BackoffOptions>;
  /** Polling of challenges and orders the CA is still processing. Default 1 s to 10 s, 20 polls. */
  poll?: { minMs?: number; maxMs?: number; attempts?: number };
  /** Timeout of each request to the CA. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long a TLS-ALPN-01 connection may take to send its ClientHello. Default 5 s. */
  peekTimeoutMs?: number;
  /** The clock; tests move it. */
  now?: () => number;
}

export type OrderKind = 'issue' | 'renew';

export interface CertificateEvent {
  domain: string;
  kind: OrderKind;
  notBefore: Date;
  notAfter: Date;
  renewAt: Date;
  issuer: string;
  fingerprint256: string;
}

export interface FailureEvent {
  domain: string;
  kind: OrderKind;
  error: Error;
  failures: number;
  retryAt: Date;
}

export interface DomainStatus {
  domain: string;
  /** `valid`: serving a current certificate; `expired`: serving one past its date; `missing`: nothing to serve yet. */
  state: 'valid' | 'expired' | 'missing';
  /** An order is running now. */
  ordering: boolean;
  notAfter?: Date;
  renewAt?: Date;
  issuer?: string;
  fingerprint256?: string;
  /** When the next order starts (renewal or retry). */
  nextAttemptAt?: Date;
  /** Consecutive failed orders. */
  failures: number;
  lastError?: string;
}
