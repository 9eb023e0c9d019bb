import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Runs of a scenario long enough to be a torture run of its own, outside `npm test` to keep the suite
// well under 15 minutes on two cores: `npm run test:long` (docs/RELIABILITY.md names what each holds and
// which tests of the suite hold the same guarantees).
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

// Test files that run wholly inside their test process: they (and the test modules they import, test/support
// aside) start no child process, browser, server, private database, worker, scheduler or thread, and
// change no process-wide state (signal handlers, environment, fake timers). Several such files share
// a process (isolate: false), paying the process's start and the sources' import once: 63 of them took
// 117 core-seconds one to a process and 75 sharing (2026-12-07), on a suite bound by its CPU.
const PROCESS_BOUND =
  /\b(startOwnPostgres|startStandby|runFixture|startWatchdog|launchChromium|startBlackholeProxy|spawnCli|startChild|startPgbouncer|startPrometheus|runCli|runCliMany|spawnArgs|startTestServer|startWorker|startScheduler|useFakeTimers)\b|node:child_process|node:worker_threads|process\.on\(|process\.env\[[^\]]+\]\s*=/;
const testModuleText = (file: string): string => {
  const text = readFileSync(file, 'utf8');
  const local = [...text.matchAll(/from '(\.[^']+)'/g)]
    .map((match) => join(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts')))
    .filter((path) => path.startsWith('test/') && !path.startsWith('test/support/') && existsSync(path));
  return [text, ...local.map((path) => readFileSync(path, 'utf8'))].join('\n');
};
const inProcessFiles = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => `test/${file}`)
  .filter(
    (file) => !/^test\/(worker|library|long-jobs)\//.test(file) && !PROCESS_BOUND.test(testModuleText(file)),
  );

export default defineConfig({
  test: {
    // Each file gets its own process so a crashing store or a leaked worker cannot poison another file
    // (but the in-process project's files, below).
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
          exclude: [...configDefaults.exclude, ...LONG_FILES, ...inProcessFiles],
        },
      },
      { extends: true, test: { name: 'in-process', include: inProcessFiles, isolate: false } },
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
