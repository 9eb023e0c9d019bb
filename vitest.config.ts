import { readdirSync, readFileSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Runs of a scenario long enough to be a torture run of its own, outside `npm test` to keep the suite
// well under 15 minutes on two cores: `npm run test:long` (README, "Quick start"). The suite holds the same
// guarantees through exactly-once, kill-worker, fencing-rescue and the short torture run.
const LONG_FILES = ['test/long-jobs/morning-batch.test.ts'];

// The engine's test files that pick their backend from NIGHTSHIFT_TEST_BACKEND (through
// engine-harness.ts, or reading it themselves). The others run the same whatever it says, so a second
// pass would only repeat them.
const backendPickingFiles = ['test/worker', 'test/library'].flatMap((dir) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `${dir}/${file}`)
    .filter((file) => /engine-harness|NIGHTSHIFT_TEST_BACKEND/.test(readFileSync(file, 'utf8'))),
);

export default defineConfig({
  test: {
    // Each file gets its own process so a crashing store or a leaked worker cannot poison another file.
    pool: 'forks',
    // Two cores: more parallel files only add contention and make timing-sensitive tests noisy.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Compiles the sources the tests' child processes run, once per run (see the file).
    globalSetup: ['./test/support/compiled-tree.ts'],
    // Drops the migrated schemas the PostgreSQL harness kept for reuse when a file ends (see the file).
    setupFiles: ['./test/support/drop-idle-schemas.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'all',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...LONG_FILES],
        },
      },
      {
        // The engine's own tests pick their backend from NIGHTSHIFT_TEST_BACKEND (SQLite by default);
        // this second pass runs them unchanged on PostgreSQL, so every worker guarantee is proven on both.
        extends: true,
        test: {
          name: 'engine-on-postgres',
          include: backendPickingFiles,
          env: { NIGHTSHIFT_TEST_BACKEND: 'postgres' },
        },
      },
      { extends: true, test: { name: 'long', include: LONG_FILES } },
    ],
  },
});
