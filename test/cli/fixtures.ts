/** Config modules and database helpers shared by the CLI tests. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Job } from '../../src/job.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { TEST_PG_URL, withAdmin } from '../support/postgres-harness.js';

/**
 * Writes a plain-JS config module (no imports, so it loads the same from any directory) with tasks
 * used across the CLI tests:
 * - `echo` returns its payload;
 * - `boom` always throws;
 * - `slow` waits for its signal or `payload.ms`;
 * - `strict` takes only `{ n: number }`, checked by a hand-written Standard Schema;
 * - `leaky` leaks a rejected promise and throws from a timer, then succeeds.
 * - `tardy` runs 300 ms against a `maxDurationMs` of 50 (alerted on, not stopped), then succeeds.
 * `worker` settings are merged over short test intervals; `schedules` and `alerts` are written as given.
 */
export function writeBasicConfig(
  dir: string,
  options: { worker?: Record<string, unknown>; schedules?: unknown[]; alerts?: Record<string, unknown> } = {},
): string {
  const file = join(dir, 'nightshift.config.mjs');
  writeFileSync(
    file,
    `export default {
  tasks: {
    echo: (payload) => payload,
    boom: async () => { throw new Error('boom from the handler'); },
    slow: (payload, ctx) => new Promise((resolve) => {
      const timer = setTimeout(resolve, payload?.ms ?? 100);
      ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve('aborted'); });
    }),
    strict: {
      schema: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: (value) =>
            typeof value?.n === 'number' ? { value } : { issues: [{ message: 'n must be a number', path: ['n'] }] },
        },
      },
      handler: (payload) => payload.n,
    },
    tardy: {
      maxDurationMs: 50,
      handler: () => new Promise((resolve) => setTimeout(() => resolve('late'), 300)),
    },
    leaky: () => {
      void Promise.reject(new Error('leaked rejection'));
      setTimeout(() => { throw new Error('thrown from a timer'); }, 0);
      return 'still fine';
    },
  },
  worker: ${JSON.stringify({ pollIntervalMs: 50, rescueIntervalMs: 250, ...options.worker })},
  schedules: ${JSON.stringify(options.schedules ?? [])},${options.alerts === undefined ? '' : `\n  alerts: ${JSON.stringify(options.alerts)},`}
};
`,
  );
  return file;
}

/** Opens the store of a test database (already migrated by the CLI). */
export function openTestStore(url: string): Promise<Store> {
  return openStore(url);
}

/** Every job in the store, newest first. */
export async function allJobs(store: Store): Promise<Job[]> {
  const jobs: Job[] = [];
  let cursor: string | null = null;
  do {
    const page: { jobs: Job[]; nextCursor: string | null } = await store.jobList({
      limit: 1000,
      ...(cursor !== null && { cursor }),
    });
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return jobs;
}

/**
 * A PostgreSQL database of its own for a CLI test. The CLI takes only a URL, and the store keeps its
 * tables in the `nightshift` schema of that database, so a test isolates itself by database.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `nightshift_cli_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
