/**
 * `nightshift tasks` against a SQLite file: the config's tasks with their defaults and payload schema
 * (null when the validator gives no JSON Schema), the live workers implementing each, a task only a
 * worker knows; `--json` prints the API's objects, the table marks a declared task no worker runs;
 * an argument it does not take is a usage error (2).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TaskCatalogEntry } from '../../src/task-catalog.js';
import { CLI_TEST_TIMEOUT_MS, runCli, tempDir } from './cli-process.js';
import { openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
const db = `sqlite:${join(dir, 'tasks.db')}`;
const run = (...args: string[]) => runCli(args, { cwd: dir, env: { NIGHTSHIFT_DB: db } });

// A Standard Schema with a JSON Schema converter, written by hand so the config needs no import.
const ORDER_SCHEMA = { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] };

beforeAll(async () => {
  writeFileSync(
    join(dir, 'nightshift.config.mjs'),
    `export default {
  tasks: {
    'orders.export': {
      schema: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: (value) => ({ value }),
          jsonSchema: { input: () => (${JSON.stringify(ORDER_SCHEMA)}), output: () => ({}) },
        },
      },
      queue: 'exports',
      priority: 4,
      maxAttempts: 2,
      timeoutMs: 90000,
      handler: () => null,
    },
    'mail.send': () => null,
  },
};
`,
  );
  expect((await run('migrate')).code).toBe(0);
  // A worker of another deployment, as its registration writes it.
  const store = await openTestStore(db);
  await store.workerRegister({
    id: 'remote-1',
    host: 'h',
    pid: 1,
    queues: null,
    labels: [],
    tasks: ['orders.export', 'thumbnails.make'],
    concurrency: 1,
    running: 0,
    staleMs: 30_000,
  });
  await store.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('nightshift tasks', () => {
  it('prints the catalog as JSON: the objects GET /api/v1/tasks answers', async () => {
    const result = await run('tasks', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      tasks: [
        {
          name: 'mail.send',
          declared: true,
          queue: 'default',
          priority: 0,
          maxAttempts: 5,
          timeoutMs: null,
          payloadSchema: null,
          workers: [],
        },
        {
          name: 'orders.export',
          declared: true,
          queue: 'exports',
          priority: 4,
          maxAttempts: 2,
          timeoutMs: 90_000,
          payloadSchema: ORDER_SCHEMA,
          workers: ['remote-1'],
        },
        {
          name: 'thumbnails.make',
          declared: false,
          queue: null,
          priority: null,
          maxAttempts: null,
          timeoutMs: null,
          payloadSchema: null,
          workers: ['remote-1'],
        },
      ] satisfies TaskCatalogEntry[],
    });
  });

  it('prints a table, saying which declared task no worker runs', async () => {
    const result = await run('tasks');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n').map((line) => line.split(/\s{2,}/))).toEqual([
      ['TASK', 'DECLARED', 'QUEUE', 'PRIORITY', 'MAX ATTEMPTS', 'TIMEOUT', 'SCHEMA', 'WORKERS'],
      ['mail.send', 'yes', 'default', '0', '5', '-', '-', 'none'],
      ['orders.export', 'yes', 'exports', '4', '2', '90000ms', 'yes', '1'],
      ['thumbnails.make', 'no', '-', '-', '-', '-', '-', '1'],
      [''],
    ]);
  });

  it('says when the workers implementing a declared task claim from other queues than its own', async () => {
    const store = await openTestStore(db);
    const worker = { host: 'h', pid: 2, labels: [], concurrency: 1, running: 0, staleMs: 30_000 };
    await store.workerRegister({ id: 'remote-2', ...worker, queues: ['other'], tasks: ['mail.send'] });
    await store.workerRegister({
      id: 'remote-3',
      ...worker,
      queues: ['exports'],
      tasks: ['thumbnails.make'],
    });
    await store.close();
    const result = await run('tasks');
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.split('\n').map((line) => line.split(/\s{2,}/));
    // mail.send's only worker claims from `other`; orders.export's claims from every queue.
    expect(rows.map((row) => [row[0], row.at(-1)])).toEqual([
      ['TASK', 'WORKERS'],
      ['mail.send', '1 (none on default)'],
      ['orders.export', '1'],
      ['thumbnails.make', '2'],
      ['', ''],
    ]);
  });

  it('refuses an argument it does not take as a usage error', async () => {
    const result = await run('tasks', 'mail.send');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "nightshift: too many arguments for 'tasks'. Expected 0 arguments but got 1.\n",
    );
    expect(result.stdout).toBe('');
  });
});
