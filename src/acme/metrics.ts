/**
 * @module acme/metrics
 *
 * The ACME metrics: `bluetick_tls_certificate_expiry_timestamp_seconds{domain}` and
 * `bluetick_acme_orders_total{domain,kind,outcome}` (every series present from the start).
 */
import { Counter, Gauge, Registry } from 'prom-client';

export interface AcmeMetrics {
  expiry: Gauge<'domain'>;
  orders: Counter<'domain' | 'kind' | 'outcome'>;
}

/** Registers the metrics in `registry` (a private one when absent). */
export function createAcmeMetrics(registry: Registry | undefined, domains: readonly string[]): AcmeMetrics {
  const registers = [registry ?? new Registry()];
  const expiry = new Gauge({
    name: 'bluetick_tls_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of the certificate served for each domain, as a Unix time.',
    labelNames: ['domain'] as const,
    registers,
  });
  const orders = new Counter({
    name: 'bluetick_acme_orders_total',
    help: 'ACME certificate orders by domain, kind (issue: none yet; renew: replacing one) and outcome (success, failure).',
    labelNames: ['domain', 'kind', 'outcome'] as const,
    registers,
  });
  for (const domain of domains) {
    for (const kind of ['issue', 'renew'] as const) {
      for (const outcome of ['success', 'failure'] as const) orders.inc({ domain, kind, outcome }, 0);
    }
  }
  return { expiry, orders };
}
