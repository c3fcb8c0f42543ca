/**
 * @module test/support/skip-summary-reporter
 *
 * A vitest reporter that ends the run with what did not run: every suite skipped as a whole,
 * by file and name, and every `[skipped]` message a suite printed saying why
 * (`test/helpers/services.ts`). A skipped suite is easy to miss in a green summary; this
 * puts it in the last lines. Under a `-t` filter only the messages are listed (the filter
 * skips most suites on purpose).
 */
import type { Reporter, TestModule, TestSuite, Vitest } from 'vitest/node';

const SKIPPED = '[skipped]';

export default class SkipSummaryReporter implements Reporter {
  private filtered = false;
  private readonly reasons = new Set<string>();

  onInit(vitest: Vitest): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
  }

  onUserConsoleLog(log: { content: string }): void {
    for (const line of log.content.split('\n')) {
      if (line.includes(SKIPPED)) this.reasons.add(line.slice(line.indexOf(SKIPPED) + SKIPPED.length).trim());
    }
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const suites: string[] = [];
    if (!this.filtered) {
      for (const module of testModules) {
        if (module.state() === 'skipped') {
          suites.push(`${module.relativeModuleId} (whole file)`);
          continue;
        }
        for (const suite of module.children.allSuites()) {
          if (wholeSuiteSkipped(suite)) suites.push(`${module.relativeModuleId} > ${suite.fullName}`);
        }
      }
    }
    if (suites.length === 0 && this.reasons.size === 0) return;
    const out: string[] = ['', `Skipped suites (${suites.length}):`];
    for (const s of suites) out.push(`  - ${s}`);
    if (this.reasons.size > 0) {
      out.push('Why:');
      for (const r of this.reasons) out.push(`  - ${r}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
}

/** Skipped itself, under a parent that was not (so each skipped subtree is listed once). */
function wholeSuiteSkipped(suite: TestSuite): boolean {
  if (suite.state() !== 'skipped') return false;
  return suite.parent.type === 'module' || suite.parent.state() !== 'skipped';
}
