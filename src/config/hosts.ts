/**
 * @module config/hosts
 *
 * Pure: which host names only this machine can reach, which name this server for clients,
 * and `publicHosts` read as plain names.
 */
import type { ReportIssue } from './resolve-values.js';

/**
 * True for addresses only this machine can reach. `localhost` counts; `0.0.0.0` and `::`
 * (every interface) do not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;

/** A host that names this server for clients: not a wildcard address, not loopback. */
export function isNamedHost(host: string): boolean {
  const h = host.toLowerCase();
  return h !== '0.0.0.0' && h !== '::' && h !== '[::]' && !isLoopbackHost(h);
}

/** `publicHosts` as names without port, lower-case; IPv6 literals without brackets. */
export function resolvePublicHosts(values: readonly string[], key: string, invalid: ReportIssue): string[] {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const value = raw.trim().toLowerCase();
    if (value === '') continue;
    const v6 = /^\[?([0-9a-f:.]+)\]?$/.exec(value);
    if (value.includes(':') && v6) out.push(v6[1]!);
    else if (HOST_NAME.test(value)) out.push(value.replace(/\.$/, ''));
    else invalid(key, `"${raw.trim()}" is not a host name (no scheme, port or path: e.g. hooks.example.com)`);
  }
  return out;
}
