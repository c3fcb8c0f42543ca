/**
 * @module acme/schedule
 *
 * Pure timing rules for certificates: when a certificate is due for renewal, how long to
 * wait after a failed attempt, and how to read a certificate's validity. Everything takes
 * epoch milliseconds and returns epoch milliseconds or durations, so it is tested without
 * a clock.
 */
import { X509Certificate } from 'node:crypto';

/** The longest delay `setTimeout` takes (about 24.8 days); longer waits are done in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Validity {
  notBefore: number;
  notAfter: number;
}

export interface CertificateFacts extends Validity {
  subject: string;
  issuer: string;
  /** DNS names from the subjectAltName extension, lower case. */
  dnsNames: string[];
  fingerprint256: string;
  serialNumber: string;
}

/** Facts about the first (leaf) certificate of a PEM chain. Throws when it is not a certificate. */
export function certificateFacts(pemChain: string | Buffer): CertificateFacts {
  const x = new X509Certificate(pemChain);
  const dnsNames = (x.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return {
    subject: x.subject,
    issuer: x.issuer,
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    dnsNames,
    fingerprint256: x.fingerprint256,
    serialNumber: x.serialNumber,
  };
}

/** True when `facts` names `domain` exactly (bluetick never asks for wildcards). */
export function certificateCovers(facts: Pick<CertificateFacts, 'dnsNames'>, domain: string): boolean {
  return facts.dnsNames.includes(domain.toLowerCase());
}

/**
 * When to start renewing: once `renewWhenRemaining` of the lifetime is left (1/3 of 90
 * days = 30 days before expiry). A certificate obtained by this process is not renewed
 * again sooner than `min(10 minutes, a tenth of what is left)` after it was obtained, so a
 * CA that backdates heavily or issues very short certificates cannot cause a renewal loop.
 *
 * @param obtainedAt when this process obtained the certificate; omit for one read from disk.
 */
export function renewalTime(validity: Validity, renewWhenRemaining: number, obtainedAt?: number): number {
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  const due = validity.notAfter - renewWhenRemaining * lifetime;
  if (obtainedAt === undefined) return due;
  const floor = obtainedAt + Math.min(10 * 60_000, Math.max(0, validity.notAfter - obtainedAt) / 10);
  return Math.max(due, floor);
}

export interface BackoffOptions {
  /** Delay after the first failure. */
  minMs: number;
  /** Upper bound for any delay. */
  maxMs: number;
}

/**
 * Delay before attempt `failures + 1`: doubling from `minMs`, capped at `maxMs`, with ±20 %
 * jitter so that many hosts failing together do not retry in step.
 *
 * @param failures consecutive failures so far (1 after the first).
 * @param random a number in [0, 1), `Math.random()` by default.
 */
export function retryDelay(failures: number, opts: BackoffOptions, random: number = Math.random()): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  const base = Math.min(opts.maxMs, opts.minMs * 2 ** exponent);
  return Math.round(Math.min(opts.maxMs, base * (0.8 + 0.4 * random)));
}

/** Why a domain needs an order now, or `undefined` when its certificate can wait. */
export function orderReason(
  current: { notAfter: number; renewAt: number } | undefined,
  now: number,
): 'missing' | 'expired' | 'renewal' | undefined {
  if (current === undefined) return 'missing';
  if (current.notAfter <= now) return 'expired';
  if (current.renewAt <= now) return 'renewal';
  return undefined;
}
