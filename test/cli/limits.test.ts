/**
 * `nightshift limits` against a SQLite file: nothing set says `none` in each section; then a queue's
 * limit and rate, keys with running jobs and limits (an operator's, a job's own) and a rate, groups
 * with their weights and counts, as tables and with `--json` as the library reads them; `--running`
 * keeps the keys and groups with running jobs; `--limit` cuts the lists and says more follow; a bad
 * `--limit` is a usage error (2).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newJob } from '../support/jobs.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
const db = `sqlite:${join(dir, 'limits.db')}`;
const run = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db } });
/** The rows of a section of the table output, split on the column gaps. */
const section = (stdout: string, title: string): string[][] => {
  const blocks = stdout.split('\n\n');
  const block = blocks.find((b) => b.startsWith(`${title}\n`)) ?? '';
  return block
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{2,}/));
};

beforeAll(async () => {
  expect((await run('migrate')).code).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('nightshift limits', () => {
  it('says none in each section while nothing is limited', async () => {
    const result = await run('limits');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('QUEUES\nnone\n\nKEYS\nnone\n\nGROUPS\nnone\n');
    expect(JSON.parse((await run('limits', '--json')).stdout)).toEqual({ queues: [], keys: [], groups: [] });
  });

  it('lists the queue limits and rates, keys and groups in force', async () => {
    const store = await openTestStore(db);
    await store.queueSetLimit({ queue: 'mail', limit: 5 });
    await store.queueSetRate({ queue: 'mail', rate: { limit: 10, periodMs: 1_000 } });
    await store.concurrencyKeySetLimit({ key: 'tenant-b', limit: 2 });
    await store.concurrencyKeySetRate({ key: 'tenant-c', rate: { limit: 60, periodMs: 60_000 } });
    await store.groupSetWeight({ group: 'big', weight: 3 });
    await store.jobInsertMany({
      jobs: [
        newJob({ queue: 'mail', concurrencyKey: 'tenant-a', concurrencyLimit: 1, group: 'small' }),
        newJob({ queue: 'mail', concurrencyKey: 'tenant-a', concurrencyLimit: 1, group: 'small' }),
        newJob({ queue: 'other', group: 'big' }),
      ],
    });
    expect(
      await store.jobClaim({ workerId: 'w', queues: ['mail'], limit: 10, leaseMs: 60_000 }),
    ).toHaveLength(1);
    await store.close();

    const result = await run('limits');
    expect(result.code, result.stderr).toBe(0);
    expect(section(result.stdout, 'QUEUES')).toEqual([
      ['QUEUE', 'RUNNING', 'LIMIT', 'RATE'],
      ['mail', '1', '5', '10/1s'],
    ]);
    expect(section(result.stdout, 'KEYS')).toEqual([
      ['KEY', 'RUNNING', 'LIMIT', 'OPERATOR LIMIT', 'RATE'],
      ['tenant-a', '1', '1', '-', '-'],
      ['tenant-b', '0', '2', '2', '-'],
      ['tenant-c', '0', '-', '-', '60/1m00s'],
    ]);
    expect(section(result.stdout, 'GROUPS')).toEqual([
      ['GROUP', 'WEIGHT', 'QUEUED', 'RUNNING'],
      ['big', '3', '1', '0'],
      ['small', '1', '1', '1'],
    ]);
    const json = JSON.parse((await run('limits', '--json')).stdout) as Record<string, unknown[]>;
    expect(json['queues']).toEqual([
      { queue: 'mail', limit: 5, running: 1, rate: { limit: 10, periodMs: 1_000 } },
    ]);
    expect(json['keys']).toHaveLength(3);
    expect(json['groups']).toEqual([
      { group: 'big', weight: 3, queued: 1, running: 0 },
      { group: 'small', weight: 1, queued: 1, running: 1 },
    ]);

    // Only keys and groups with running jobs.
    const running = await run('limits', '--running');
    expect(section(running.stdout, 'KEYS').map((row) => row[0])).toEqual(['KEY', 'tenant-a']);
    expect(section(running.stdout, 'GROUPS').map((row) => row[0])).toEqual(['GROUP', 'small']);
    // The first one of each by name, and a line saying more follow.
    const cut = await run('limits', '--limit', '1');
    expect(cut.stdout).toContain('KEYS\nKEY');
    expect(section(cut.stdout, 'KEYS')).toEqual([
      ['KEY', 'RUNNING', 'LIMIT', 'OPERATOR LIMIT', 'RATE'],
      ['tenant-a', '1', '1', '-', '-'],
      ['more: raise --limit (it was 1)'],
    ]);
  });

  it('refuses a --limit out of range as a usage error', async () => {
    const result = await run('limits', '--limit', '0');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^nightshift: --limit /);
  });
});
