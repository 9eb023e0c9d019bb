/**
 * The layer boundaries eslint.config.js keeps: each case lints one import as if it were a file at
 * `path`, with the project's own config, and expects the boundary rule to refuse it (or, for the
 * imports a layer may make, to stay quiet), so a rule that stops matching fails here, not in review.
 * Type-aware rules are off for these in-memory files (they are in no tsconfig); the boundary rule
 * needs no types.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: [tseslint.configs.disableTypeChecked] });

async function boundaryErrors(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\n`, { filePath: path });
  if (!result) throw new Error(`eslint returned no result for ${path}`);
  const parseErrors = result.messages.filter((m) => m.ruleId === null);
  expect(parseErrors).toEqual([]);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('import boundaries', { timeout: 60_000 }, () => {
  it.each([
    ['src/cli/x.ts', "import Database from 'better-sqlite3';", /drivers are used only inside src\/store/],
    ['src/api/x.ts', "import pg from 'pg';", /drivers are used only inside src\/store/],
    ['src/cli/x.ts', "import { SqliteStore } from '../store/sqlite/sqlite-store.js';", /store dialect/],
    [
      'src/nightshift.ts',
      "import { PostgresStore } from './store/postgres/postgres-store.js';",
      /store dialect/,
    ],
    ['src/scheduler/x.ts', "import { sleep } from '../worker/sleep.js';", /The worker depends on this layer/],
    ['src/maintenance/x.ts', "import type { Worker } from '../worker/worker.js';", /The worker depends/],
    ['src/store/x.ts', "import type { Scheduler } from '../scheduler/scheduler.js';", /The store serves/],
    ['src/store/sqlite/x.ts', "import type { Worker } from '../../worker/worker.js';", /The store serves/],
    ['src/store/postgres/x.ts', "import { registerApi } from '../../api/x.js';", /The store serves/],
    ['src/store/x.ts', "import { run } from '../cli/x.js';", /The store serves/],
    ['src/runtime/x.ts', "import { Scheduler } from '../scheduler/scheduler.js';", /runtime\/ is shared/],
    ['src/enqueue.ts', "import { decodeJob } from './store/job-decode.js';", /Store contract/],
  ])('%s may not: %s', async (path, source, message) => {
    const errors = await boundaryErrors(path, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it.each([
    ['src/store/sqlite/x.ts', "import Database from 'better-sqlite3';"],
    ['src/store/open.ts', "import { PostgresStore } from './postgres/postgres-store.js';"],
    ['src/enqueue.ts', "import type { NewJob } from './store/store.js';"],
    ['src/scheduler/x.ts', "import { Backoff } from '../runtime/backoff.js';"],
    ['src/cli/x.ts', "import { openStore } from '../store/open.js';"],
  ])('%s may: %s', async (path, source) => {
    expect(await boundaryErrors(path, source)).toEqual([]);
  });
});
