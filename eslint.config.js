// @ts-check
/**
 * Lint rules that keep the architecture honest, not a style guide (formatting is left alone).
 *
 * Purity: the event normalizer (`src/events`), the projection reducers (`src/projections`), the
 * delivery matching and retry policy (`src/dispatch/match.ts`, `retry.ts`, `control.ts`,
 * `sink-config.ts`) and the config resolver (`src/config/resolve*` and the modules it is built from:
 * `types.ts`, `credentials.ts`, `hosts.ts`, `env-names.ts`) compute from their inputs
 * alone. They may not import a module that does IO (files, network, databases, NATS, the HTTP
 * server, logging), directly or through one of ours that does; type-only imports are fine.
 * Tests next to them may read fixtures.
 */
import tseslint from 'typescript-eslint';

/** Node built-ins and packages that reach the disk, the network or other processes. */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'dns/promises', 'child_process',
  'cluster', 'worker_threads', 'readline', 'inspector',
].flatMap((name) => [name, `node:${name}`]);
const IO_PACKAGES = ['undici', 'pg', 'pg-*', 'better-sqlite3', 'nats', '@nats-io/*', 'fastify', '@fastify/*', 'acme-client', 'pino', 'prom-client', 'commander'];
/**
 * Our own modules that do IO, by their path from any folder (a regular expression over the
 * import specifier). `store/postgres/url.ts` only parses a URL.
 */
const IO_OWN = [
  String.raw`(^|/)store/(?!postgres/url\.js$)`,
  String.raw`(^|/)(ingest|api|cli|acme|doctor|trigger)/`,
  String.raw`(^|/)(server|bluetick|pipeline|log|metrics|tls|private-files)\.js$`,
  String.raw`(^|/)server/`,
  String.raw`(^|/)config/load\.js$`,
  String.raw`(^|/)dispatch/(sink-http|sink-nats|sinks|worker|runtime)\.js$`,
].join('|');

const PURE_MESSAGE = 'This module is pure (see eslint.config.js): do the IO in a shell module and pass the result in.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'console/**', 'coverage/**', '.stryker-tmp/**', 'reports/**', 'bench/**', 'test/**'] },
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: [
      'src/events/**/*.ts',
      'src/projections/**/*.ts',
      'src/config/resolve*.ts',
      'src/config/types.ts',
      'src/config/credentials.ts',
      'src/config/hosts.ts',
      'src/config/env-names.ts',
      'src/dispatch/match.ts',
      'src/dispatch/retry.ts',
      'src/dispatch/control.ts',
      'src/dispatch/sink-config.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: IO_MODULES.map((name) => ({ name, message: PURE_MESSAGE })),
          patterns: [
            { group: IO_PACKAGES, message: PURE_MESSAGE },
            { regex: IO_OWN, allowTypeImports: true, message: PURE_MESSAGE },
          ],
        },
      ],
    },
  },
);
