/**
 * @module doctor/checks
 *
 * Pure verdicts for `bluetick doctor`: each function takes what a probe observed (the
 * certificates a server sent, a status code, a `Date` header, a channel's settings) and
 * returns one line of the checklist with, on failure, what to do about it. No sockets, no
 * files, no clock: `probe.ts` and `doctor.ts` gather the facts.
 */
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ChannelConfig } from '../config/resolve.js';
import type { LooseMode } from '../private-files.js';

export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable identifier, e.g. `tls.hostname`, `webhook.sales`. */
  id: string;
  title: string;
  status: Verdict;
  /** What was found, in one sentence. */
  detail: string;
  /** What to do; present on `fail` and `warn`. */
  fix?: string;
}

/** EnableX and Meta need this much certificate lifetime left for the check to pass. */
export const EXPIRY_MARGIN_DAYS = 14;
const DAY_MS = 86_400_000;

/** Clock skew up to this is fine; beyond `CLOCK_FAIL_MS` it fails. */
export const CLOCK_OK_MS = 10_000;
export const CLOCK_FAIL_MS = 120_000;

const ACME_FIX = 'serve a certificate from a public CA: `bluetick serve --acme-domain <name> --acme-email <you>` gets one from Let\'s Encrypt and renews it';

/** `CN=R10` from a multi-line X.509 name; the whole name when it has no CN. */
export function commonName(name: string): string {
  const cn = name.split('\n').find((part) => part.startsWith('CN='));
  return cn ?? name.replace(/\n/g, ', ');
}

export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export interface ChainPath {
  /** Leaf first, as far as it could be built from what the server sent. */
  path: X509Certificate[];
  /** The trusted root the path ends at. */
  anchor?: X509Certificate;
  /** A self-signed root the server sent that is not trusted here. */
  untrustedRoot?: X509Certificate;
  /** The issuer name the path stops at: neither sent nor trusted. */
  missingIssuer?: string;
  /**
   * The path reached an intermediate the server sent, whose issuer (a root, which servers
   * normally leave out) is not trusted here: a private or unknown CA, not a missing link.
   */
  unknownRoot?: string;
}

/**
 * Builds leaf -> intermediates -> root from the certificates the server sent and the trusted
 * roots, the way a client without AIA fetching (most webhook senders) would.
 */
export function buildChain(leaf: X509Certificate, sent: readonly X509Certificate[], trusted: readonly X509Certificate[]): ChainPath {
  const path = [leaf];
  const seen = new Set([leaf.fingerprint256]);
  let current = leaf;
  for (let depth = 0; depth < 10; depth++) {
    const anchor = trusted.find((root) => root.fingerprint256 === current.fingerprint256 || issuedBy(current, root));
    if (anchor) {
      if (anchor.fingerprint256 !== current.fingerprint256) path.push(anchor);
      return { path, anchor };
    }
    if (isSelfSigned(current)) return { path, untrustedRoot: current };
    const next = sent.find((c) => !seen.has(c.fingerprint256) && issuedBy(current, c));
    if (!next) return path.length > 1 ? { path, unknownRoot: current.issuer } : { path, missingIssuer: current.issuer };
    path.push(next);
    seen.add(next.fingerprint256);
    current = next;
  }
  return { path, missingIssuer: current.issuer };
}

export interface CertificateInput {
  /** What the server sent (or the file holds), leaf first. */
  chain: readonly X509Certificate[];
  /** Roots trusted for this check (the public ones, plus `--ca`). */
  trusted: readonly X509Certificate[];
  /** The name providers will connect to; `undefined` skips the name check. */
  host: string | undefined;
  now: number;
  /** Where the certificate came from, for the detail text (`from the server`, `from file ...`). */
  source: string;
  /** How the server gets its certificates, to tailor the fixes. */
  mode: 'acme' | 'files' | 'unknown';
}

/** The four certificate lines: CA-signed, chain complete, host name, expiry. */
export function certificateChecks(input: CertificateInput): CheckResult[] {
  const leaf = input.chain[0];
  if (!leaf) {
    const skip = (id: string, title: string): CheckResult => ({ id, title, status: 'skip', detail: 'no certificate to check' });
    return [
      skip('tls.ca-signed', 'Certificate is CA-signed'),
      skip('tls.chain', 'Certificate chain is complete'),
      skip('tls.hostname', 'Certificate matches the host name'),
      skip('tls.expiry', 'Certificate is not about to expire'),
    ];
  }
  const chain = buildChain(leaf, input.chain.slice(1), input.trusted);
  const out: CheckResult[] = [];
  const renewFix =
    input.mode === 'acme'
      ? 'bluetick renews ACME certificates by itself once a third of their lifetime is left: look for "could not renew" in its log (challenge port unreachable, DNS, rate limits)'
      : input.mode === 'files'
        ? 'renew the certificate (e.g. `certbot renew`) and write it over the configured file; bluetick reloads it without a restart. Or let bluetick do it: --acme-domain'
        : 'renew the certificate, or let bluetick obtain and renew one: --acme-domain';

  // CA-signed
  const selfSigned = isSelfSigned(leaf);
  if (selfSigned) {
    out.push({
      id: 'tls.ca-signed',
      title: 'Certificate is CA-signed',
      status: 'fail',
      detail: `the certificate ${input.source} is self-signed (${commonName(leaf.subject)}${chain.anchor ? ', trusted here only because --ca names it' : ''}); EnableX and Meta refuse self-signed certificates`,
      fix: ACME_FIX + ', or install one from a public CA (--tls-cert/--tls-key)',
    });
  } else if (chain.anchor) {
    out.push({
      id: 'tls.ca-signed',
      title: 'Certificate is CA-signed',
      status: 'pass',
      detail: `issued by ${commonName(leaf.issuer)}, trusted through ${commonName(chain.anchor.subject)}`,
    });
  } else if (chain.untrustedRoot || chain.unknownRoot !== undefined) {
    const rootName = chain.untrustedRoot ? chain.untrustedRoot.subject : chain.unknownRoot!;
    out.push({
      id: 'tls.ca-signed',
      title: 'Certificate is CA-signed',
      status: 'fail',
      detail: `issued by ${commonName(leaf.issuer)}, under the root ${commonName(rootName)}, which is not a trusted CA here`,
      fix: `${ACME_FIX}; a private CA is refused by providers (for a test CA, pass its root with --ca FILE)`,
    });
  } else {
    out.push({
      id: 'tls.ca-signed',
      title: 'Certificate is CA-signed',
      status: 'warn',
      detail: `issued by ${commonName(leaf.issuer)} (not self-signed), but whether that CA is trusted cannot be told while the chain is incomplete`,
      fix: 'complete the chain (see the next line), then run doctor again',
    });
  }

  // Chain
  if (selfSigned) {
    out.push({ id: 'tls.chain', title: 'Certificate chain is complete', status: 'skip', detail: 'a self-signed certificate has no chain' });
  } else if (chain.missingIssuer !== undefined) {
    const sent = input.chain.length;
    out.push({
      id: 'tls.chain',
      title: 'Certificate chain is complete',
      status: 'fail',
      detail: `${sent} certificate${sent === 1 ? '' : 's'} ${input.source}; the issuer ${commonName(chain.missingIssuer)} of ${commonName(chain.path.at(-1)!.subject)} is missing, so clients that do not fetch intermediates (most webhook senders) fail`,
      fix:
        input.mode === 'acme'
          ? 'bluetick stores the full chain the CA returns; order a new certificate (delete the domain folder under <data>/acme/.../certificates and restart)'
          : 'serve the full chain: the certificate file must hold the leaf followed by its intermediates (certbot: fullchain.pem, not cert.pem)',
    });
  } else {
    const names = chain.path.map((c) => commonName(c.subject));
    if (chain.unknownRoot !== undefined) names.push(`${commonName(chain.unknownRoot)} (root, not sent)`);
    out.push({ id: 'tls.chain', title: 'Certificate chain is complete', status: 'pass', detail: names.join(' -> ') });
  }

  // Host name
  if (input.host === undefined) {
    out.push({
      id: 'tls.hostname',
      title: 'Certificate matches the host name',
      status: 'skip',
      detail: 'no public host name known; pass --url https://<your-host>/... to check it',
    });
  } else {
    const host = input.host.replace(/^\[|\]$/g, '');
    const matched = isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host, { subject: 'never' });
    const names = (leaf.subjectAltName ?? '').split(/,\s*/).filter((n) => n !== '').map((n) => n.replace(/^(DNS|IP Address):/, ''));
    out.push(
      matched !== undefined
        ? { id: 'tls.hostname', title: 'Certificate matches the host name', status: 'pass', detail: `${host} is named by the certificate` }
        : {
            id: 'tls.hostname',
            title: 'Certificate matches the host name',
            status: 'fail',
            detail: `the certificate names ${names.length > 0 ? names.join(', ') : 'no host (no subjectAltName)'}, not ${host}`,
            fix:
              input.mode === 'acme'
                ? `add ${host} to server.acme.domains (--acme-domain ${host}), or use a URL with a name the certificate covers`
                : `use a certificate that names ${host} (--acme-domain ${host} gets one), or a URL with a name the certificate covers`,
          },
    );
  }

  // Expiry
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  const days = (ms: number): string => {
    const d = Math.floor(Math.abs(ms) / DAY_MS);
    return d === 1 ? '1 day' : `${d} days`;
  };
  if (input.now < notBefore) {
    out.push({
      id: 'tls.expiry',
      title: 'Certificate is not about to expire',
      status: 'fail',
      detail: `not valid before ${new Date(notBefore).toISOString()}`,
      fix: 'check this machine\'s clock (NTP); a certificate from the future usually means the clock is behind',
    });
  } else if (notAfter <= input.now) {
    out.push({
      id: 'tls.expiry',
      title: 'Certificate is not about to expire',
      status: 'fail',
      detail: `expired on ${new Date(notAfter).toISOString()} (${days(input.now - notAfter)} ago)`,
      fix: renewFix,
    });
  } else if (notAfter - input.now < EXPIRY_MARGIN_DAYS * DAY_MS) {
    out.push({
      id: 'tls.expiry',
      title: 'Certificate is not about to expire',
      status: 'fail',
      detail: `expires on ${new Date(notAfter).toISOString()}, in ${days(notAfter - input.now)} (less than ${EXPIRY_MARGIN_DAYS})`,
      fix: renewFix,
    });
  } else {
    out.push({
      id: 'tls.expiry',
      title: 'Certificate is not about to expire',
      status: 'pass',
      detail: `valid until ${new Date(notAfter).toISOString()} (${days(notAfter - input.now)} left)`,
    });
  }
  return out;
}

/** `versions`: the protocol each attempt negotiated, or the error it failed with. */
export function tlsVersionCheck(versions: { 'TLSv1.2': { ok: boolean; detail: string }; 'TLSv1.3': { ok: boolean; detail: string } }): CheckResult {
  const offered = (['TLSv1.3', 'TLSv1.2'] as const).filter((v) => versions[v].ok);
  if (offered.length > 0) {
    return { id: 'tls.version', title: 'TLS 1.2 or newer is offered', status: 'pass', detail: `offers ${offered.join(' and ')}` };
  }
  return {
    id: 'tls.version',
    title: 'TLS 1.2 or newer is offered',
    status: 'fail',
    detail: `no handshake with TLS 1.2 (${versions['TLSv1.2'].detail}) or TLS 1.3 (${versions['TLSv1.3'].detail})`,
    fix: 'serve TLS 1.2 or 1.3 (bluetick always does; check the proxy or load balancer in front of it)',
  };
}

/** Local clock against the server's `Date` header. */
export function clockCheck(localNow: number, dateHeader: string | undefined, where: string): CheckResult {
  const title = 'Clock is in sync';
  if (dateHeader === undefined) return { id: 'clock', title, status: 'skip', detail: `no Date header from ${where} to compare with` };
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return { id: 'clock', title, status: 'skip', detail: `unreadable Date header from ${where}: ${dateHeader}` };
  // The header has whole seconds: up to 1 s of the difference is rounding.
  const skew = localNow - server;
  const abs = Math.max(0, Math.abs(skew) - 1_000);
  const text = `this machine is ${(Math.abs(skew) / 1000).toFixed(1)} s ${skew >= 0 ? 'ahead of' : 'behind'} ${where}`;
  if (abs <= CLOCK_OK_MS) return { id: 'clock', title, status: 'pass', detail: text };
  return {
    id: 'clock',
    title,
    status: abs <= CLOCK_FAIL_MS ? 'warn' : 'fail',
    detail: `${text}; receive times, the 24-hour conversation window and certificate dates depend on it`,
    fix: 'run a time synchronization service (chrony, systemd-timesyncd) on both machines',
  };
}

/** One channel's credentials, by what its provider sends. */
export function credentialsCheck(channel: ChannelConfig, key: string): CheckResult {
  const id = `credentials.${channel.name}`;
  const title = `Channel "${channel.name}" has credentials`;
  const basic = channel.basicAuth.length;
  const secrets = channel.meta.appSecrets.length;
  const tokens = channel.meta.verifyTokens.length;
  const has: string[] = [];
  if (basic > 0) has.push(`Basic auth (${basic})`);
  if (secrets > 0) has.push(`Meta app secret (${secrets})`);
  if (tokens > 0) has.push(`Meta verify token (${tokens})`);
  const setBasic = `set ${key}.basicAuth (or BLUETICK_BASIC_AUTH=user:password) to the user name and password ticked under HTTP Authentication in the EnableX portal`;
  const setSecret = `set ${key}.meta.appSecrets (or BLUETICK_META_APP_SECRET) to the App Secret from Meta's App Dashboard`;
  const setToken = `set ${key}.meta.verifyTokens (or BLUETICK_META_VERIFY_TOKEN) to the verify token typed into Meta's webhook settings`;
  if (channel.provider === 'enablex' && basic === 0) {
    return { id, title, status: 'fail', detail: `provider enablex, but no Basic auth${has.length ? ` (has: ${has.join(', ')})` : ''}`, fix: setBasic };
  }
  if (channel.provider === 'meta') {
    const missing: string[] = [];
    if (secrets === 0) missing.push('no app secret (POSTs cannot be verified)');
    if (tokens === 0) missing.push("no verify token (Meta's subscription handshake fails)");
    if (missing.length > 0) {
      return { id, title, status: 'fail', detail: `provider meta, but ${missing.join(' and ')}`, fix: [secrets === 0 ? setSecret : '', tokens === 0 ? setToken : ''].filter(Boolean).join('; ') };
    }
  }
  if (basic === 0 && secrets === 0) {
    return { id, title, status: 'fail', detail: 'no credentials: anyone who knows the URL can post', fix: `${setBasic}; for Meta: ${setSecret}` };
  }
  if (secrets > 0 && tokens === 0) {
    return { id, title, status: 'warn', detail: `${has.join(', ')}; no verify token, so Meta's subscription handshake would fail`, fix: setToken };
  }
  return { id, title, status: 'pass', detail: has.join(', ') };
}

/** The answer to the test notification. */
export function webhookCheck(channel: string, url: string, outcome: { status?: number; error?: string; body?: string }, credentials: string): CheckResult {
  const id = `webhook.${channel}`;
  const title = `Webhook "${channel}" answers a test notification`;
  if (outcome.status === 200) return { id, title, status: 'pass', detail: `POST ${url} (${credentials}) -> 200` };
  if (outcome.status === undefined) {
    return {
      id,
      title,
      status: 'fail',
      detail: `POST ${url} failed: ${outcome.error ?? 'no answer'}`,
      fix: 'check that bluetick runs, that DNS points at this host and that the firewall lets the port through',
    };
  }
  const fixes: Record<number, string> = {
    401: `the server refused ${credentials}: the credentials in this configuration differ from the server's. Use the same user/password (or app secret) in the config, the server and the provider's portal`,
    404: 'no channel at this path: check the channel name/path in the URL and in the config',
    405: 'the server does not take POST at this path',
    413: 'the server refused the body size',
    503: "the server cannot write its journal right now: check /readyz and the store's disk",
  };
  return {
    id,
    title,
    status: 'fail',
    detail: `POST ${url} (${credentials}) -> ${outcome.status}${outcome.body ? `: ${outcome.body.slice(0, 200).trim()}` : ''}`,
    fix: fixes[outcome.status] ?? 'EnableX needs a 200 for every post; look at the server log for this request',
  };
}

/** Plain HTTP exposure, from the URL's scheme and what a plain-HTTP probe saw. */
export function plainHttpCheck(input: {
  url: URL;
  publicHost: boolean;
  /** For https URLs: the plain-HTTP probe on the same address. */
  probe?: { port: number; status?: number; error?: string };
  /** The config lets bluetick speak plain HTTP on a reachable address (behind a proxy). */
  proxyBinding?: string;
}): CheckResult {
  const id = 'http.plain';
  const title = 'Plain HTTP is not exposed publicly';
  const { url } = input;
  if (url.protocol === 'http:') {
    if (!input.publicHost) return { id, title, status: 'pass', detail: `plain HTTP on ${url.hostname}, a loopback address only this machine reaches (providers need HTTPS)` };
    return {
      id,
      title,
      status: 'fail',
      detail: `the webhook URL ${url.origin} is plain HTTP on a public name: credentials and messages would cross the network unencrypted, and EnableX refuses it`,
      fix: 'serve HTTPS: --acme-domain (automatic certificates), --tls-cert/--tls-key, or a TLS proxy in front with bluetick bound to 127.0.0.1 and --behind-proxy',
    };
  }
  const probe = input.probe;
  if (probe?.status !== undefined && (probe.status === 200 || probe.status === 401 || probe.status === 413 || probe.status === 503)) {
    return {
      id,
      title,
      status: 'fail',
      detail: `port ${probe.port} takes webhook requests over plain HTTP (POST ${url.pathname} -> ${probe.status})`,
      fix: 'do not expose a plain-HTTP listener: bind it to 127.0.0.1 behind the proxy, or make port 80 redirect to HTTPS',
    };
  }
  if (input.proxyBinding !== undefined) {
    return {
      id,
      title,
      status: 'warn',
      detail: `bluetick listens for plain HTTP on ${input.proxyBinding} for the TLS proxy`,
      fix: 'make sure only the proxy reaches that address (firewall), or bind bluetick to 127.0.0.1',
    };
  }
  if (probe === undefined) return { id, title, status: 'pass', detail: 'HTTPS URL' };
  if (probe.status === undefined) return { id, title, status: 'pass', detail: `nothing takes plain HTTP on port ${probe.port} (${probe.error ?? 'no answer'})` };
  return { id, title, status: 'pass', detail: `port ${probe.port} answers plain HTTP with ${probe.status} (redirect or refusal), no webhook is taken` };
}

/**
 * The data folder and its files (raw bodies, message text, phone numbers, the admin token)
 * must be readable by the service user only: 0700 / 0600. `loose` lists what is not.
 */
export function privateFilesCheck(dataDir: string, exists: boolean, loose: readonly LooseMode[]): CheckResult {
  const title = 'Data folder is private (0700, files 0600)';
  if (!exists) return { id: 'files.private', title, status: 'pass', detail: `${dataDir} does not exist yet; bluetick creates it 0700 with files 0600` };
  if (loose.length === 0) return { id: 'files.private', title, status: 'pass', detail: `${dataDir} and its files are readable by their owner only` };
  const shown = loose.slice(0, 5).map((l) => `${l.path} (${l.mode.toString(8).padStart(4, '0')})`);
  return {
    id: 'files.private',
    title,
    status: 'warn',
    detail: `readable by other users: ${shown.join(', ')}${loose.length > shown.length ? ` and ${loose.length - shown.length} more` : ''}`,
    fix: `chmod 700 ${dataDir} && chmod 600 ${dataDir}/*   (run as the user bluetick runs as)`,
  };
}

/**
 * Free space on the data folder's filesystem against `server.minFreeDiskBytes`. Low space is a
 * warning, not a failure: the store still takes writes, but a full disk stops the acks (every
 * POST then gets 503) and can stop a checkpoint. `space` is undefined when it could not be read.
 */
export function diskSpaceCheck(dataDir: string, space: { totalBytes: number; freeBytes: number } | undefined, minFreeBytes: number): CheckResult {
  const id = 'disk.free';
  const title = 'Enough free disk space for the data folder';
  const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(n < 10 * 1024 ** 3 ? 2 : 0)} GiB`;
  if (minFreeBytes <= 0) return { id, title, status: 'skip', detail: 'server.minFreeDiskBytes is 0: not checked' };
  if (space === undefined) return { id, title, status: 'skip', detail: `could not read the free space of ${dataDir}` };
  const pct = space.totalBytes > 0 ? ` (${((100 * space.freeBytes) / space.totalBytes).toFixed(1)}%)` : '';
  const found = `${gib(space.freeBytes)} free of ${gib(space.totalBytes)}${pct} where ${dataDir} is`;
  if (space.freeBytes >= minFreeBytes) return { id, title, status: 'pass', detail: found };
  return {
    id,
    title,
    status: 'warn',
    detail: `${found}, under server.minFreeDiskBytes (${gib(minFreeBytes)}); a full disk makes every webhook POST answer 503`,
    fix: 'free space or grow the disk; `bluetick status` shows what the store holds by data class and how old its oldest items are',
  };
}

// ---- sinks ----------------------------------------------------------------------------

/** What the signed probe request to an HTTP sink got back. */
export interface SinkProbeOutcome {
  status?: number;
  error?: string;
  body?: string;
}

/**
 * One HTTP sink's verdict from its answer to a signed probe. `routed`: some route sends to
 * it (an unused sink that fails only warns).
 */
export function httpSinkCheck(name: string, url: string, outcome: SinkProbeOutcome, routed: boolean): CheckResult {
  const id = `sink.${name}`;
  const title = `Sink "${name}" is reachable`;
  const unused = routed ? '' : ' (no route sends to it yet)';
  const failOrWarn: Verdict = routed ? 'fail' : 'warn';
  const status = outcome.status;
  if (status === undefined) {
    return {
      id,
      title,
      status: failOrWarn,
      detail: `POST ${url} failed: ${outcome.error ?? 'no answer'}${unused}`,
      fix: 'start the receiver, or correct sinks[].url; check DNS, the firewall and (for https) its certificate',
    };
  }
  if (status >= 200 && status < 300) return { id, title, status: 'pass', detail: `POST ${url} (signed probe) -> ${status}${unused}` };
  const answered = `POST ${url} (signed probe) -> ${status}${outcome.body ? `: ${outcome.body.slice(0, 200).trim()}` : ''}${unused}`;
  if (status === 401 || status === 403) {
    return {
      id,
      title,
      status: failOrWarn,
      detail: answered,
      fix: "the receiver refused the signature: give it the same whsec_ secret as sinks[].secret (or check the sink's headers, e.g. an API key)",
    };
  }
  if (status === 404 || status === 405) {
    return { id, title, status: failOrWarn, detail: answered, fix: 'nothing takes POST at that URL: check the path of sinks[].url' };
  }
  return {
    id,
    title,
    status: 'warn',
    detail: answered,
    fix:
      status >= 500
        ? 'the receiver answers but fails; deliveries would be retried and then dead-lettered: look at its log'
        : 'the receiver is reachable; have it answer 2xx to a request with the bluetick-probe header and do nothing else',
  };
}

/** A NATS sink: could it connect, and is there a stream that captures its subject? */
export function natsSinkCheck(
  name: string,
  found: { error?: string; stream?: string; expected?: string; createStream?: boolean },
  routed: boolean,
): CheckResult {
  const id = `sink.${name}`;
  const title = `Sink "${name}" is reachable`;
  const unused = routed ? '' : ' (no route sends to it yet)';
  const failOrWarn: Verdict = routed ? 'fail' : 'warn';
  if (found.error !== undefined) {
    return { id, title, status: failOrWarn, detail: `${found.error}${unused}`, fix: 'start NATS with JetStream (-js), or correct sinks[].servers and its credentials' };
  }
  if (found.stream !== undefined && (found.expected === undefined || found.expected === found.stream)) {
    return { id, title, status: 'pass', detail: `JetStream stream ${found.stream} captures the subject${unused}` };
  }
  if (found.stream !== undefined) {
    return {
      id,
      title,
      status: failOrWarn,
      detail: `the subject is captured by stream ${found.stream}, not by ${found.expected}${unused}`,
      fix: 'set sinks[].stream to the stream that captures the subject, or change the subject',
    };
  }
  if (found.expected !== undefined && found.createStream) {
    return { id, title, status: 'pass', detail: `stream ${found.expected} does not exist yet; the sink creates it at its first delivery (createStream)${unused}` };
  }
  return {
    id,
    title,
    status: failOrWarn,
    detail: `${found.expected !== undefined ? `stream ${found.expected} does not exist` : 'no JetStream stream captures the subject'}${unused}`,
    fix: 'create the stream (e.g. `nats stream add`), or set sinks[].createStream to true with sinks[].stream',
  };
}

// ---- the verdict ------------------------------------------------------------------------

/**
 * `providers`: EnableX and Meta can post here (public HTTPS, a CA-signed certificate, nothing
 * failed). `local`: webhooks can be tested from this machine (plain HTTP, loopback, a
 * self-signed certificate, missing credentials), but providers would refuse or could not
 * reach it. `none`: something a local test needs failed.
 */
export type Readiness = 'providers' | 'local' | 'none';

/** Checks whose failure stops even a local test: the server, its webhooks, its store, its sinks. */
const LOCAL_NEEDS = /^(config|url|ca|reach|server\.ready|webhook\..+|store\..+|sink\..+)$/;

export function readiness(checks: readonly CheckResult[], url: { https: boolean; publicHost: boolean }): { level: Readiness; reasons: string[] } {
  const failed = checks.filter((c) => c.status === 'fail');
  const blocking = failed.filter((c) => LOCAL_NEEDS.test(c.id));
  if (blocking.length > 0) return { level: 'none', reasons: blocking.map((c) => c.title) };
  const reasons: string[] = [];
  if (!url.https) reasons.push('plain HTTP, not HTTPS');
  if (!url.publicHost) reasons.push('a loopback address, not a public host name');
  const ca = checks.find((c) => c.id === 'tls.ca-signed');
  if (url.https && ca?.status !== 'pass') reasons.push(`no CA-signed certificate (${ca === undefined || ca.status === 'skip' ? 'not checked' : ca.detail})`);
  for (const c of failed) if (c.id !== 'tls.ca-signed') reasons.push(`${c.title}: ${c.detail}`);
  return reasons.length === 0 ? { level: 'providers', reasons } : { level: 'local', reasons };
}
