/**
 * @module config/resolve-delivery
 *
 * Pure: the delivery side of the config. Sinks (where events go) and delivery routes (which
 * events go to which sink, with what retry policy), each checked with errors naming its key.
 */
import type { RouteConfig } from '../dispatch/match.js';
import { resolveRetryPolicy } from '../dispatch/retry.js';
import { validateHttpSinkConfig, validateNatsSinkConfig } from '../dispatch/sink-config.js';
import type { SinkConfig } from '../dispatch/sinks.js';
import { ConfigError } from '../errors.js';
import { isLoopbackHost } from './hosts.js';
import type { ReportIssue } from './resolve-values.js';
import type { WrittenConfig } from './schema.js';
import type { SinkSettings } from './types.js';

/**
 * Sinks and routes: unique names, each route naming a configured sink, each sink's own
 * checks (URL, secret, subject, ...) and each route's retry policy, errors naming the key.
 */
export function resolveDelivery(
  written: WrittenConfig,
  invalid: ReportIssue,
): { sinks: SinkSettings[]; routes: RouteConfig[] } {
  const sinks: SinkSettings[] = [];
  const sinkIndex = new Map<string, number>();
  (written.sinks ?? []).forEach((s, i) => {
    const seen = sinkIndex.get(s.name);
    if (seen !== undefined) invalid(`sinks[${i}].name`, `"${s.name}" is already used by sinks[${seen}]`);
    else sinkIndex.set(s.name, i);
    const { breaker, ...rest } = s;
    const settings = { ...rest, ...(breaker !== undefined ? { breaker } : {}) } as SinkSettings;
    // The sinks' own checks name keys as `sinks.<name>.<key>`; point at the list entry instead.
    const issues =
      s.type === 'http'
        ? validateHttpSinkConfig(settings as SinkConfig & { type: 'http' })
        : validateNatsSinkConfig(settings as SinkConfig & { type: 'nats' });
    const prefix = `sinks.${s.name}`;
    for (const issue of issues) {
      const colon = issue.indexOf(': ');
      const key = issue.slice(0, colon);
      invalid(key.startsWith(prefix) ? `sinks[${i}]${key.slice(prefix.length)}` : key, issue.slice(colon + 2));
    }
    sinks.push(settings);
  });

  const routes: RouteConfig[] = [];
  const routeIndex = new Map<string, number>();
  (written.routes ?? []).forEach((r, i) => {
    const seen = routeIndex.get(r.name);
    if (seen !== undefined) invalid(`routes[${i}].name`, `"${r.name}" is already used by routes[${seen}]`);
    else routeIndex.set(r.name, i);
    if (!sinkIndex.has(r.sink)) {
      const known = [...sinkIndex.keys()];
      invalid(`routes[${i}].sink`, `no sink named "${r.sink}" (${known.length > 0 ? `configured: ${known.join(', ')}` : 'no sinks are configured'})`);
    }
    let retry;
    try {
      retry = resolveRetryPolicy(r.retry ?? {}, `routes[${i}].retry`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) {
        const colon = issue.indexOf(': ');
        invalid(issue.slice(0, colon), issue.slice(colon + 2));
      }
    }
    const match = r.match === undefined ? undefined : Object.fromEntries(Object.entries(r.match).filter(([, v]) => v !== undefined));
    routes.push({
      name: r.name,
      sink: r.sink,
      ...(match !== undefined ? { match } : {}),
      ...(retry !== undefined ? { retry } : {}),
      ...(r.onDeadLetter !== undefined ? { onDeadLetter: r.onDeadLetter } : {}),
      ...(r.backfill !== undefined ? { backfill: r.backfill } : {}),
    });
  });
  return { sinks, routes };
}

/** A warning per HTTP sink that sends events in plain text off this machine. */
export function plainHttpSinkWarnings(sinks: readonly SinkSettings[]): string[] {
  const warnings: string[] = [];
  sinks.forEach((sink, i) => {
    if (sink.type !== 'http') return;
    let target: URL;
    try {
      target = new URL(sink.url);
    } catch {
      return; // reported by the sink's own checks
    }
    if (target.protocol === 'http:' && !isLoopbackHost(target.hostname)) {
      warnings.push(
        `sinks[${i}].url: events (message text, phone numbers) go to ${target.host} over plain http; use https unless that network is private`,
      );
    }
  });
  return warnings;
}
