import { defineConfig } from 'vitest/config';

/**
 * End-to-end suites that start several processes, a browser or a CA, or kill servers
 * mid-write. They run after everything else, one file at a time, so they neither starve the
 * other suites of CPU nor get starved by them.
 */
const HEAVY = [
  'test/acme.test.ts',
  'test/console.e2e.test.ts',
  'test/console-coexistence.e2e.test.ts',
  'test/delivery-crash.test.ts',
  'test/scale-out.test.ts',
  'test/store.worker.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['test/support/fast-check-setup.ts'],
    reporters: ['default', './test/support/skip-summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'io', include: ['test/**/*.test.ts'], exclude: HEAVY } },
      {
        extends: true,
        test: { name: 'e2e', include: HEAVY, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
