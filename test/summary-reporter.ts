/**
 * Prints one plain closing line, "tests: N passed, N failed, N skipped", that CI reads whatever the
 * runner (vitest's own summary is not one of the formats it knows).
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    // After vitest's own summary: the very last line of the run.
    process.once("exit", () =>
      process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`),
    );
  }
}
