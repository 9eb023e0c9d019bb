/**
 * Ends a test run with one plain line, `N passed, N failed, N skipped`, after vitest's own summary:
 * tools that read a run's closing line understand that form whatever the runner.
 */
import type { Reporter, TestModule } from 'vitest/node';

/** Counts every test case of the run and prints the plain closing line. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) counts[test.result().state] += 1;
    }
    // A module that failed to load has no test cases; it must still count as a failure.
    const brokenModules = testModules.filter(
      (module) => module.state() === 'failed' && !module.children.size,
    );
    const failed = counts.failed + brokenModules.length;
    process.stdout.write(`\n${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped\n`);
  }
}
