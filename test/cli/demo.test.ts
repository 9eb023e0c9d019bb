/**
 * `nightshift start --demo` (what `npm run demo` runs) end to end, on its own SQLite file. The hint
 * it closes with runs `npx nightshift`, which uses dist/: run `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { renderSummary, type DemoSummary } from '../../src/cli/demo.js';
import type { Store } from '../../src/store/store.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { allJobs, openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir('nightshift-demo-');
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let store: Store | undefined;

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo', () => {
  it('runs on ./nightshift-demo.db whatever NIGHTSHIFT_DB names: the demo writes an admin token', async () => {
    // A shell that exports the application's database (as for `nightshift worker`) must not get the
    // demo's 3,000 jobs, its schedule and its admin token: only a typed --db picks another database.
    const cwd = join(dir, 'with-env');
    mkdirSync(cwd);
    const result = await runCli(['start', '--demo', '--json'], {
      cwd,
      env: { NIGHTSHIFT_DB: `sqlite:${join(cwd, 'app.db')}` },
    });
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    expect(existsSync(join(cwd, 'app.db'))).toBe(false);
    expect(existsSync(join(cwd, 'nightshift-demo.db'))).toBe(true);
  });

  it('exports every order once, resumes the export from its checkpoint, and keeps two dead jobs', async () => {
    const result = await runCli(['start', '--demo', '--json'], { cwd: dir });
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(result.stdout) as DemoSummary;
    expect(summary).toMatchObject({
      exportState: 'completed',
      orders: 3000,
      exportAttempts: 2,
      resumedAtOrder: 1501,
      published: 2998,
      retriedThenPublished: 18,
    });
    expect(summary.failed.map((f) => f.orderId)).toEqual([1499, 2998]);

    // The default demo database, in the working directory: one publish job per order, no more.
    store = await openTestStore(`sqlite:${join(dir, 'nightshift-demo.db')}`);
    const publish = (await allJobs(store)).filter((job) => job.task === 'orders.publish');
    expect(publish).toHaveLength(3000);
    const orderIds = new Set(publish.map((job) => (job.payload as { id: number }).id));
    expect(orderIds.size).toBe(3000);
    expect(publish.every((job) => job.parentId === summary.exportJobId)).toBe(true);
    // The morning batch's schedule is there to look at, paused: the demo's one export is its own.
    expect(await store.scheduleGet({ id: 'morning-export' })).toMatchObject({
      task: 'orders.export',
      cron: '0 6 * * *',
      timezone: 'Europe/London',
      source: 'config',
      paused: true,
    });
    expect((await allJobs(store)).filter((job) => job.task === 'orders.export')).toHaveLength(1);
    expect(result.stderr).toContain('resuming the export at order 1501');
    // The dashboard's address comes with how long it lasts: without --serve, only while the demo runs.
    expect(result.stderr).toMatch(
      /watch it on the dashboard \(up while the demo runs; --serve keeps it up\): http:\/\/127\.0\.0\.1:\d+\/#token=ns_/,
    );

    // The closing hint is a command that works from the clone, where `nightshift` is not on the PATH:
    // run each hinted command as printed, from the repository root (npx runs the package's own bin/).
    const dbUrl = `sqlite:${join(dir, 'nightshift-demo.db')}`;
    const hints = renderSummary(summary, dbUrl)
      .split('\n')
      .map((line) => /(npx nightshift .*)$/.exec(line)?.[1])
      .filter((hint): hint is string => hint !== undefined);
    expect(hints).toEqual([
      `npx nightshift jobs list --db ${dbUrl} --state failed`,
      `npx nightshift jobs show ${summary.failed[0]!.jobId} --db ${dbUrl}`,
    ]);
    for (const hint of hints) {
      const [npx = '', ...args] = hint.split(' ');
      const { stdout } = await run(npx, args, { cwd: ROOT });
      expect(stdout).toContain(summary.failed[0]!.jobId);
    }
  });
});
