/**
 * @module acme/served
 *
 * What the manager serves and tracks per domain: a certificate checked against the domain
 * with its TLS context and renewal time, and each domain's order state.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { BluetickError } from '../errors.js';
import { TLS_MIN_VERSION } from '../tls.js';
import { certificateCovers, certificateFacts, renewalTime, type CertificateFacts } from './schedule.js';

export interface Served {
  cert: Buffer;
  key: Buffer;
  context: SecureContext;
  facts: CertificateFacts;
  renewAt: number;
}

export interface DomainState {
  domain: string;
  served?: Served;
  timer?: NodeJS.Timeout;
  nextAttemptAt?: number;
  failures: number;
  lastError?: string;
  running?: Promise<boolean>;
}

export function timing(served: Served | undefined): { notAfter: number; renewAt: number } | undefined {
  return served && { notAfter: served.facts.notAfter, renewAt: served.renewAt };
}

/** Checks a pair and builds what serving it needs. Throws when it cannot serve `domain`. */
export function prepareServed(domain: string, cert: Buffer, key: Buffer, renewWhenRemaining: number, obtainedAt: number | undefined): Served {
  const facts = certificateFacts(cert);
  if (!certificateCovers(facts, domain)) {
    throw new BluetickError('BT_ERR_ACME_ORDER', `the certificate names ${facts.dnsNames.join(', ') || 'no DNS name'}, not ${domain}`);
  }
  const context = createSecureContext({ cert, key, minVersion: TLS_MIN_VERSION });
  return { cert, key, context, facts, renewAt: renewalTime(facts, renewWhenRemaining, obtainedAt) };
}
