/**
 * @module config/env-names
 *
 * Every `BLUETICK_*` environment variable bluetick knows, and the check that warns about
 * the ones it does not: a misspelt name for the basic-auth variable would otherwise be ignored in
 * silence and leave a channel open. Pure: it looks at an environment snapshot it is given.
 */

/** Environment variables bluetick reads. */
export const ENV = {
  host: 'BLUETICK_HOST',
  port: 'BLUETICK_PORT',
  dataDir: 'BLUETICK_DATA_DIR',
  tlsCert: 'BLUETICK_TLS_CERT',
  tlsKey: 'BLUETICK_TLS_KEY',
  behindProxy: 'BLUETICK_BEHIND_PROXY',
  trustProxy: 'BLUETICK_TRUST_PROXY',
  publicHosts: 'BLUETICK_PUBLIC_HOSTS',
  logLevel: 'BLUETICK_LOG_LEVEL',
  acmeDomains: 'BLUETICK_ACME_DOMAINS',
  acmeEmail: 'BLUETICK_ACME_EMAIL',
  acmeDirectory: 'BLUETICK_ACME_DIRECTORY',
  adminToken: 'BLUETICK_ADMIN_TOKEN',
  metricsToken: 'BLUETICK_METRICS_TOKEN',
  basicAuth: 'BLUETICK_BASIC_AUTH',
  metaAppSecret: 'BLUETICK_META_APP_SECRET',
  metaVerifyToken: 'BLUETICK_META_VERIFY_TOKEN',
  /** Selects the PostgreSQL store (`store.url`). */
  bluetickDatabaseUrl: 'BLUETICK_DATABASE_URL',
  /**
   * The usual name on hosting platforms, often set for another program: never followed,
   * only warned about (copy it into BLUETICK_DATABASE_URL to use it).
   */
  databaseUrl: 'DATABASE_URL',
} as const;

/** Variables read outside the server's config: by the CLI's API client, and by the test and bench runs. */
export const OTHER_ENV_NAMES = [
  /** The server the CLI's API commands talk to. */
  'BLUETICK_URL',
  /** The signing secret of `bluetick listen`. */
  'BLUETICK_LISTEN_SECRET',
  /** The public host name the files in deploy/ (Caddy, compose, the systemd unit) build their settings from. */
  'BLUETICK_DOMAIN',
  /** An image built from deploy/Dockerfile, for the container test. */
  'BLUETICK_DOCKER_IMAGE',
  /** PostgreSQL for the test suites. */
  'BLUETICK_TEST_POSTGRES_URL',
  /** Size of `npm run test:scale`. */
  'BLUETICK_SCALE_NOTIFICATIONS',
  /** Tests loaded per mutant in `npm run test:mutation`. */
  'BLUETICK_MUTATION_TESTS',
  /** Requests the HTTP fuzz test generates. */
  'BLUETICK_PROPERTY_RUNS',
  /** Drafts the missing golden event files of the fixtures. */
  'BLUETICK_WRITE_GOLDEN',
] as const;

/** Edit distance between two short strings (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a slip of the keyboard. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // A third of the part after the prefix, at least 2: a swapped or dropped letter, not PORT for HOST.
  const tail = Math.max(1, name.length - 'BLUETICK_'.length);
  if (best === undefined || bestDistance > Math.max(2, Math.floor(tail / 3))) {
    // A known name that is a prefix or an extension of this one (the TLS certificate variable without its _CERT).
    return known.find((k) => k.startsWith(name) || name.startsWith(k));
  }
  return best;
}

/**
 * One warning per `BLUETICK_*` variable that is set but means nothing to bluetick, with the
 * known name it was probably meant to be.
 */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>, known: readonly string[]): string[] {
  const all = new Set([...known, ...OTHER_ENV_NAMES]);
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('BLUETICK_') || all.has(name) || env[name] === undefined) continue;
    const guess = closestName(name, [...all]);
    out.push(`${name} is set but bluetick knows no such variable, so it is ignored${guess ? `; did you mean ${guess}?` : ''} (every variable: docs/configuration.md)`);
  }
  return out;
}
