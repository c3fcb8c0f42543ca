/**
 * @module config/resolve-tls
 *
 * Pure: how the server gets its certificate. Its own files (`server.tls`, both halves or
 * neither) or ACME (`server.acme`: the file, then the environment, then flags), never both.
 */
import type { z } from 'zod';
import { ENV } from './env-names.js';
import { parsePort, type ReportIssue } from './resolve-values.js';
import {
  ACME_CHALLENGES,
  LETS_ENCRYPT_DIRECTORY,
  acmeDirectoryUrl,
  acmeDomain,
  acmeEmail,
  type AcmeChallenge,
  type WrittenAcme,
} from './schema.js';
import type { AcmeConfig, CliFlags, ServerConfig } from './types.js';

/** A certificate or key path and the key, variable or flag that set it. */
export interface PathSetting {
  path: string | undefined;
  source: string;
}

/** The certificate and key files: both or neither, each missing half named by the key to set. */
export function resolveTlsFiles(cert: PathSetting, key: PathSetting, invalid: ReportIssue): ServerConfig['tls'] {
  if (cert.path !== undefined && key.path === undefined) {
    invalid(cert.source === '--tls-cert' ? '--tls-key' : 'server.tls.key', `required when ${cert.source} is set`);
  } else if (key.path !== undefined && cert.path === undefined) {
    invalid(key.source === '--tls-key' ? '--tls-cert' : 'server.tls.cert', `required when ${key.source} is set`);
  } else if (cert.path !== undefined && key.path !== undefined) {
    return { cert: cert.path, key: key.path };
  }
  return undefined;
}

/** ACME excludes its own certificate files and a proxy in front, and HTTP-01 needs a port of its own. */
export function checkAcmeFits(
  acme: AcmeConfig,
  server: { tls: ServerConfig['tls']; behindProxy: boolean; port: number },
  invalid: ReportIssue,
): void {
  if (server.tls !== undefined) invalid('server.acme', 'cannot be combined with server.tls (--tls-cert/--tls-key): use ACME or your own certificate');
  if (server.behindProxy) invalid('server.acme', 'cannot be combined with server.behindProxy: the TLS proxy in front needs the certificate, not bluetick');
  if (acme.challenge === 'http-01' && server.port !== 0 && acme.httpPort === server.port) {
    invalid('server.acme.httpPort', `the HTTP-01 port must differ from server.port (${server.port})`);
  }
}

/**
 * ACME settings: the file's `server.acme`, then the environment, then flags. Flags or
 * variables alone are enough (`--acme-domain` turns ACME on with every other default).
 */
export function resolveAcme(
  written: WrittenAcme | undefined,
  envValue: (name: string) => string | undefined,
  flags: CliFlags,
  invalid: ReportIssue,
): AcmeConfig | undefined {
  const list = (values: readonly string[]): string[] =>
    values.flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
  let domains = written?.domains.map((d) => d.toLowerCase());
  let domainsKey = 'server.acme.domains';
  let email = written?.email;
  let directoryUrl = written?.directoryUrl;
  let challenge: AcmeChallenge | undefined = written?.challenge;
  let httpPort = written?.httpPort;

  const envDomains = envValue(ENV.acmeDomains);
  if (envDomains !== undefined) [domains, domainsKey] = [list([envDomains]), ENV.acmeDomains];
  if (flags.acmeDomains !== undefined && flags.acmeDomains.length > 0) [domains, domainsKey] = [list(flags.acmeDomains), '--acme-domain'];
  const setEmail = (v: string): void => void (email = v);
  const setDirectory = (v: string): void => void (directoryUrl = v);
  // Lowest precedence first: a flag overrides its variable.
  const given: Array<[string, string | undefined, z.ZodType<string>, (v: string) => void]> = [
    [ENV.acmeEmail, envValue(ENV.acmeEmail), acmeEmail, setEmail],
    ['--acme-email', flags.acmeEmail, acmeEmail, setEmail],
    [ENV.acmeDirectory, envValue(ENV.acmeDirectory), acmeDirectoryUrl, setDirectory],
    ['--acme-directory', flags.acmeDirectory, acmeDirectoryUrl, setDirectory],
  ];
  for (const [key, raw, schema, set] of given) {
    if (raw === undefined) continue;
    const parsed = schema.safeParse(raw.trim());
    if (parsed.success) set(parsed.data);
    else invalid(key, parsed.error.issues[0]?.message ?? 'invalid value');
  }
  if (flags.acmeChallenge !== undefined) {
    if ((ACME_CHALLENGES as readonly string[]).includes(flags.acmeChallenge)) challenge = flags.acmeChallenge as AcmeChallenge;
    else invalid('--acme-challenge', 'expected "http-01" or "tls-alpn-01"');
  }
  if (flags.acmeHttpPort !== undefined) {
    const p = parsePort(flags.acmeHttpPort);
    if (p === undefined) invalid('--acme-http-port', 'expected an integer 0..65535');
    else httpPort = p;
  }

  if (domains === undefined || domains.length === 0) {
    const orphan = given.filter(([, raw]) => raw !== undefined).map(([key]) => key);
    if (flags.acmeChallenge !== undefined) orphan.push('--acme-challenge');
    if (flags.acmeHttpPort !== undefined) orphan.push('--acme-http-port');
    if (orphan.length > 0) invalid('--acme-domain', `required when ${orphan.join(', ')} ${orphan.length === 1 ? 'is' : 'are'} set`);
    else if (domains !== undefined) invalid(domainsKey, 'expected at least one domain name');
    return undefined;
  }
  const seen = new Set<string>();
  for (const domain of domains) {
    if (!acmeDomain.safeParse(domain).success) invalid(domainsKey, `"${domain}" is not a DNS name a CA can issue for (no scheme, port, path, wildcard or IP address)`);
    else if (seen.has(domain)) invalid(domainsKey, `"${domain}" is listed twice`);
    seen.add(domain);
  }
  return {
    domains,
    ...(email !== undefined ? { email } : {}),
    directoryUrl: directoryUrl ?? LETS_ENCRYPT_DIRECTORY,
    challenge: challenge ?? 'http-01',
    httpPort: httpPort ?? 80,
    renewWhenRemaining: written?.renewWhenRemaining ?? 1 / 3,
  };
}

