/**
 * `nightshift workers` against a SQLite file: no worker yet says so; the live workers as the API's
 * objects with `--json`, and as a table with their queues (`all`), labels, task count, busy slots and
 * ages (on the database's clock); a worker that stopped is no longer listed. Which workers are live
 * (a heartbeat at most 30 s old) is `ns.workers()`'s, tested with the rescuer (test/worker/maintenance.test.ts).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
const db = `sqlite:${join(dir, 'workers.db')}`;
const run = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db } });

beforeAll(async () => {
  expect((await run('migrate')).code).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('nightshift workers', () => {
  it('says when no worker is running', async () => {
    const result = await run('workers');
    expect([result.code, result.stdout]).toEqual([0, 'no worker is running\n']);
    expect(JSON.parse((await run('workers', '--json')).stdout)).toEqual({ workers: [] });
  });

  it('lists the live workers, as the API does with --json and as a table', async () => {
    const store = await openTestStore(db);
    const worker = { pid: 7, running: 0, concurrency: 10, staleMs: 30_000 };
    await store.workerRegister({
      id: 'box-1:7:a',
      host: 'box-1',
      ...worker,
      queues: null,
      labels: [],
      tasks: ['mail.send', 'orders.export'],
    });
    await store.workerRegister({
      id: 'box-2:7:b',
      host: 'box-2',
      ...worker,
      running: 3,
      concurrency: 4,
      queues: ['exports', 'mail'],
      labels: ['gpu', 'region:eu'],
      tasks: [],
    });
    await store.workerHeartbeat({ id: 'box-2:7:b', running: 3 });
    await store.close();

    const json = await run('workers', '--json');
    expect(json.code, json.stderr).toBe(0);
    const { workers } = JSON.parse(json.stdout) as { workers: Array<Record<string, unknown>> };
    expect(workers).toMatchObject([
      {
        id: 'box-1:7:a',
        host: 'box-1',
        pid: 7,
        queues: null,
        labels: [],
        tasks: ['mail.send', 'orders.export'],
      },
      {
        id: 'box-2:7:b',
        queues: ['exports', 'mail'],
        labels: ['gpu', 'region:eu'],
        running: 3,
        concurrency: 4,
      },
    ]);
    expect(workers[0]?.['heartbeatAt']).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));

    const table = await run('workers');
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s{2,}/));
    expect(rows[0]).toEqual([
      'ID',
      'HOST',
      'PID',
      'QUEUES',
      'LABELS',
      'TASKS',
      'RUNNING',
      'STARTED',
      'HEARTBEAT',
    ]);
    expect(rows.slice(1).map((row) => row.slice(0, 7))).toEqual([
      ['box-1:7:a', 'box-1', '7', 'all', '-', '2', '0/10'],
      ['box-2:7:b', 'box-2', '7', 'exports,mail', 'gpu,region:eu', '0', '3/4'],
    ]);
    expect(rows.slice(1).map((row) => row.slice(7))).toEqual([
      [expect.stringMatching(/^\d+(ms|s) ago$/), expect.stringMatching(/^\d+(ms|s) ago$/)],
      [expect.stringMatching(/^\d+(ms|s) ago$/), expect.stringMatching(/^\d+(ms|s) ago$/)],
    ]);
  });

  it('no longer lists a worker that stopped', async () => {
    const store = await openTestStore(db);
    await store.workerDelete({ id: 'box-1:7:a' });
    await store.close();
    const rows = (await run('workers')).stdout.trimEnd().split('\n');
    expect(rows.map((row) => row.split(/\s{2,}/)[0])).toEqual(['ID', 'box-2:7:b']);
  });
});
