import { defineConfig } from 'vitest/config';

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
        test: { name: 'all', include: ['test/**/*.test.ts'] },
      },
      {
        // The engine's own tests pick their backend from NIGHTSHIFT_TEST_BACKEND (SQLite by default);
        // this second pass runs them unchanged on PostgreSQL, so every worker guarantee is proven on both.
        extends: true,
        test: {
          name: 'engine-on-postgres',
          include: ['test/worker/**/*.test.ts', 'test/library/**/*.test.ts'],
          env: { NIGHTSHIFT_TEST_BACKEND: 'postgres' },
        },
      },
    ],
  },
});
