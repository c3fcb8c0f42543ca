/**
 * @module test/mutation/vitest.config
 *
 * The tests a mutant of the core has to get past: the example-based unit tests next to the pure modules
 * and the fixture goldens, nothing that needs a server, a database or a browser. Used only by
 * `npm run test:mutation` (StrykerJS runs this project once per mutant it covers).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    // BLUETICK_MUTATION_TESTS narrows the tests (comma-separated globs) when only some modules
    // are mutated, e.g. `src/ingest/**/*.test.ts` for the credential checks: vitest then loads
    // a few files per mutant instead of all of them.
    include: process.env.BLUETICK_MUTATION_TESTS?.split(',') ?? [
      'src/events/**/*.test.ts',
      'src/projections/**/*.test.ts',
      'src/ingest/**/*.test.ts',
      'src/dispatch/**/*.test.ts',
      'test/normalize.fixtures.test.ts',
    ],
    // The property suites search hundreds of random cases per test: a mutant they alone would
    // catch costs minutes each. They run in `npm test`; here the example tests must stand alone.
    exclude: ['**/*.property.test.ts', 'src/projections/properties.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
