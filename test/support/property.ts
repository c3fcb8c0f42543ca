/**
 * @module test/support/property
 *
 * Property tests that count runs, not seconds. {@link checkRuns} runs a property up to its
 * number of cases; a slow machine may stop it at the time budget, and it then passes only
 * when at least `minRuns` cases completed. Fewer is a failure that says how many ran, so a
 * loaded machine can neither fail a sound property for being slow nor pass one that barely
 * ran. A counterexample fails the test as `fc.assert` would.
 */
import fc from 'fast-check';

export interface RunCount {
  /** Cases to run when time allows. */
  runs: number;
  /** Fewer completed cases than this fail the test. */
  minRuns: number;
  /** Stop starting new cases after this long (keep it under the test's timeout). Default 20 000 ms. */
  budgetMs?: number;
}

/** The number of completed cases, after checking the property held for each. */
export function checkRuns<Ts>(property: fc.IProperty<Ts>, count: RunCount): number {
  if (count.minRuns < 1 || count.minRuns > count.runs) throw new Error(`minRuns must be from 1 to runs (${count.runs})`);
  const budgetMs = count.budgetMs ?? 20_000;
  const details = fc.check(property, { numRuns: count.runs, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false });
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'the property failed');
  if (details.numRuns < count.minRuns) {
    throw new Error(`only ${details.numRuns} of at least ${count.minRuns} cases completed within ${budgetMs} ms (${count.runs} asked for)`);
  }
  return details.numRuns;
}
