/**
 * @module server/cleanup
 *
 * What a start that fails half-way undoes: each step that opened something registers how to
 * close it, and a failure runs them newest first.
 */

/** Close steps of a start in progress, run newest first when the start fails. */
export class StartupCleanup {
  private readonly steps: Array<() => Promise<void> | void> = [];

  /** Registers a step; it runs before every step registered earlier. */
  defer(step: () => Promise<void> | void): void {
    this.steps.unshift(step);
  }

  /** Runs every step, newest first, ignoring their errors: the start's own error is the one to report. */
  async unwind(): Promise<void> {
    for (const step of this.steps) {
      try {
        await step();
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
  }
}
