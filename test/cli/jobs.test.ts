import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobJson, JobRunJson } from '../../src/cli/output.js';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, runCliMany, spawnCli, tempDir } from './cli-process.js';
import { createTestDatabase, openTestStore, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
writeBasicConfig(dir);
const db = `sqlite:${join(dir, 'jobs.db')}`;
let store: Store;

/** Runs the CLI in the test directory against the test database and parses its --json output. */
async function cliJson<T>(...args: string[]): Promise<T> {
  const result = await runCli([...args, '--json'], { cwd: dir, env: { NIGHTSHIFT_DB: db } });
  expect(result.code, `nightshift ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

interface EnqueueJson {
  id: string;
  created: boolean;
  job: JobJson;
}

beforeAll(async () => {
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  store = await openTestStore(db);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('enqueue and jobs through the CLI', () => {
  it('enqueue prints the job id, and a repeated key yields the same job and says so', async () => {
    const first = await cliJson<EnqueueJson>(
      'enqueue',
      'echo',
      '--payload',
      '{"order":42}',
      '--key',
      'order-42',
      '--priority',
      '3',
    );
    expect(first.created).toBe(true);
    expect(first.job).toMatchObject({
      id: first.id,
      task: 'echo',
      queue: 'default',
      state: 'queued',
      priority: 3,
    });
    expect(first.job.payload).toEqual({ order: 42 });

    const again = await runCli(['enqueue', 'echo', '--payload', '{"order":43}', '--key', 'order-42'], {
      cwd: dir,
      env: { NIGHTSHIFT_DB: db },
    });
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(first.id);
    expect(again.stderr).toContain('a job with key "order-42" already existed');

    const stored = await store.jobGet({ id: first.id });
    expect(stored?.payload).toEqual({ order: 42 });
    expect(
      (await store.jobList({ limit: 100, task: 'echo' })).jobs.filter((j) => j.idempotencyKey === 'order-42'),
    ).toHaveLength(1);
  });

  it('enqueue --delay and --run-at schedule the job; --from enqueues one job per line', async () => {
    // Independent commands run side by side: each is a process start on a shared machine.
    const [delayed, at, many] = await Promise.all([
      cliJson<EnqueueJson>('enqueue', 'echo', '--delay', '3600000', '--queue', 'later'),
      cliJson<EnqueueJson>('enqueue', 'echo', '--run-at', '2099-01-01T06:00:00Z', '--max-attempts', '2'),
      runCli(['enqueue', 'echo', '--from', '-', '--queue', 'bulk', '--json'], {
        cwd: dir,
        env: { NIGHTSHIFT_DB: db },
        input: '{"n":1}\n{"n":2}\n\n{"n":3}\n',
      }),
    ]);
    expect(delayed.job.state).toBe('scheduled');
    expect(Date.parse(delayed.job.runAt) - Date.parse(delayed.job.createdAt)).toBeGreaterThan(3_500_000);
    expect(at.job).toMatchObject({ state: 'scheduled', runAt: '2099-01-01T06:00:00.000Z', maxAttempts: 2 });

    expect(many.code, many.stderr).toBe(0);
    const { ids } = JSON.parse(many.stdout) as { ids: string[] };
    expect(ids).toHaveLength(3);
    const bulk = await store.jobList({ limit: 10, queue: 'bulk' });
    expect(
      bulk.jobs.map((job) => job.payload).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('--run-at and --created-after without an offset are local time, a date alone its local midnight', async () => {
    // Paris is UTC+1 in January: local midnight of the 31st is 23:00 UTC on the 30th. A date alone was
    // read as UTC midnight (as `Date` reads it) while a date-time without offset was local.
    const inParis = { cwd: dir, env: { NIGHTSHIFT_DB: db, TZ: 'Europe/Paris' } };
    const [dateAlone, dateTime] = await runCliMany([
      { args: ['enqueue', 'echo', '--queue', 'paris', '--run-at', '2099-01-31', '--json'], options: inParis },
      {
        args: ['enqueue', 'echo', '--queue', 'paris', '--run-at', '2099-01-31T06:00', '--json'],
        options: inParis,
      },
    ]);
    for (const result of [dateAlone, dateTime]) expect(result!.code, result!.stderr).toBe(0);
    expect((JSON.parse(dateAlone!.stdout) as EnqueueJson).job.runAt).toBe('2099-01-30T23:00:00.000Z');
    expect((JSON.parse(dateTime!.stdout) as EnqueueJson).job.runAt).toBe('2099-01-31T05:00:00.000Z');
    // A page of one of those two ends with the next page's command, the instant spelt out in UTC.
    const listed = await runCli(
      ['jobs', 'list', '--queue', 'paris', '--created-after', '2026-01-31', '--limit', '1'],
      inParis,
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('--created-after 2026-01-30T23:00:00.000Z');
  });

  it('enqueue --concurrency-key, --concurrency-limit and --group store the key, its limit and the group; a limit alone is refused', async () => {
    const [keyed, limitOnly, grouped] = await Promise.all([
      cliJson<EnqueueJson>('enqueue', 'echo', '--concurrency-key', 'tenant-7', '--concurrency-limit', '3'),
      runCli(['enqueue', 'echo', '--concurrency-limit', '3', '--queue', 'refused'], {
        cwd: dir,
        env: { NIGHTSHIFT_DB: db },
      }),
      cliJson<EnqueueJson>('enqueue', 'echo', '--group', 'tenant-8', '--queue', 'grouped'),
    ]);
    expect(keyed.job).toMatchObject({ state: 'queued', concurrencyKey: 'tenant-7' });
    expect(grouped.job).toMatchObject({ state: 'queued', group: 'tenant-8' });
    expect(limitOnly.code).not.toBe(0);
    expect(limitOnly.stderr).toMatch(/--concurrency-limit needs a --concurrency-key/);
    expect((await store.jobList({ limit: 10, queue: 'refused' })).jobs).toEqual([]);
  });

  it('enqueue --requires stores the labels a worker must offer; a bad label is a usage error', async () => {
    const [labelled, bad] = await Promise.all([
      cliJson<EnqueueJson>('enqueue', 'echo', '--queue', 'labelled', '--requires', 'region:eu, gpu'),
      runCli(['enqueue', 'echo', '--queue', 'labelled', '--requires', 'region eu'], {
        cwd: dir,
        env: { NIGHTSHIFT_DB: db },
      }),
    ]);
    expect(labelled.job).toMatchObject({ state: 'queued', requires: ['gpu', 'region:eu'] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--requires label "region eu" must not contain whitespace/);
    expect((await store.jobList({ limit: 10, queue: 'labelled' })).jobs).toHaveLength(1);
  });

  it('jobs list filters by state, queue and task, and pages with --cursor', async () => {
    type Page = { jobs: JobJson[]; nextCursor: string | null };
    const [scheduled, bulk, table] = await Promise.all([
      cliJson<Page>('jobs', 'list', '--state', 'scheduled'),
      cliJson<Page>('jobs', 'list', '--queue', 'bulk', '--limit', '2'),
      runCli(['jobs', 'list', '--queue', 'bulk'], { cwd: dir, env: { NIGHTSHIFT_DB: db } }),
    ]);
    expect(scheduled.jobs.length).toBeGreaterThanOrEqual(2);
    expect(scheduled.jobs.every((job) => job.state === 'scheduled')).toBe(true);

    expect(bulk.jobs).toHaveLength(2);
    expect(bulk.nextCursor).not.toBeNull();
    const rest = await cliJson<Page>(
      'jobs',
      'list',
      '--queue',
      'bulk',
      '--limit',
      '2',
      '--cursor',
      bulk.nextCursor!,
    );
    expect(rest.jobs).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    expect(new Set([...bulk.jobs, ...rest.jobs].map((job) => job.id)).size).toBe(3);

    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TASK\s+QUEUE\s+STATE\s+ATTEMPT\s+RUN AT\s+UPDATED$/);
    expect(lines.slice(1)).toHaveLength(3);
    // Aligned: every row's STATE column starts where the header's does.
    const stateColumn = lines[0]!.indexOf('STATE');
    for (const line of lines.slice(1)) expect(line.slice(stateColumn)).toMatch(/^queued /);
  });

  it('jobs list filters by text and creation time; its next-page hint keeps the filters', async () => {
    type Page = { jobs: JobJson[]; nextCursor: string | null };
    const before = await cliJson<EnqueueJson>('enqueue', 'echo', '--payload', '{"note":"hay"}');
    const matching: string[] = [];
    for (const n of [1, 2, 3]) {
      const { id } = await cliJson<EnqueueJson>(
        'enqueue',
        'echo',
        '--payload',
        JSON.stringify({ note: `it's a Needle ${n}` }),
      );
      matching.push(id);
    }
    await cliJson<EnqueueJson>('enqueue', 'echo', '--payload', '{"note":"hay again"}');
    const createdAfter = before.job.createdAt;
    const filters = ['--search', "IT'S A NEEDLE", '--created-after', createdAfter];

    const all = await cliJson<Page>('jobs', 'list', ...filters);
    expect(all.jobs.map((job) => job.id)).toEqual([...matching].reverse());
    const none = await cliJson<Page>('jobs', 'list', '--search', 'needle', '--created-before', createdAfter);
    expect(none.jobs).toEqual([]);

    const first = await runCli(['jobs', 'list', ...filters, '--limit', '2'], {
      cwd: dir,
      env: { NIGHTSHIFT_DB: db },
    });
    expect(first.code, first.stderr).toBe(0);
    const hint = /^more: nightshift (.*)$/m.exec(first.stdout)?.[1];
    expect(hint, first.stdout).toBeDefined();
    // The hint as a shell reads it: its words, quotes removed.
    const { stdout: split } = await promisify(execFile)('bash', ['-c', `printf '%s\\0' ${hint!}`]);
    const words = split.split('\0').slice(0, -1);
    const next = await cliJson<Page>(...words);
    expect(next.jobs.map((job) => job.id)).toEqual([matching[0]]);
    expect(next.nextCursor).toBeNull();
  });

  it("a list's next-page command repeats a typed --db, so it reads the same database", async () => {
    const words = async (stdout: string): Promise<string[]> => {
      const hint = /^more: nightshift (.*)$/m.exec(stdout)?.[1];
      expect(hint, stdout).toBeDefined();
      const { stdout: split } = await promisify(execFile)('bash', ['-c', `printf '%s\\0' ${hint!}`]);
      return split.split('\0').slice(0, -1);
    };
    for (const id of ['page-a', 'page-b']) {
      const created = await runCli(
        ['schedules', 'create', id, '--task', 'echo', '--every', '60000', '--db', db],
        {
          cwd: dir,
        },
      );
      expect(created.code, created.stderr).toBe(0);
    }
    // No NIGHTSHIFT_DB here: without --db the hint would read ./nightshift.db, which does not exist.
    for (const list of [
      ['jobs', 'list'],
      ['schedules', 'list'],
    ]) {
      const first = await runCli([...list, '--db', db, '--limit', '1'], { cwd: dir });
      expect(first.code, first.stderr).toBe(0);
      const next = await runCli(await words(first.stdout), { cwd: dir });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout.split('\n')[1], next.stdout).not.toBe(first.stdout.split('\n')[1]);
    }
  });

  it("a list's next-page command shows a typed URL's password as ***", async () => {
    const database = await createTestDatabase();
    try {
      // The server trusts local connections, so a password in the URL is accepted and never checked.
      const url = new URL(database.url);
      url.username = 'postgres';
      url.password = 'hunter2';
      const withPassword = url.toString();
      const migrated = await runCli(['migrate', '--db', withPassword], { cwd: dir });
      expect(migrated.code, migrated.stderr).toBe(0);
      for (const key of ['a', 'b']) {
        const enqueued = await runCli(['enqueue', 'echo', '--key', key, '--db', withPassword], { cwd: dir });
        expect(enqueued.code, enqueued.stderr).toBe(0);
      }
      const first = await runCli(['jobs', 'list', '--db', withPassword, '--limit', '1'], { cwd: dir });
      expect(first.code, first.stderr).toBe(0);
      const hint = /^more: nightshift (.*)$/m.exec(first.stdout)?.[1];
      expect(hint, first.stdout).toContain(`--db '${withPassword.replace(':hunter2@', ':***@')}'`);
      expect(first.stdout).not.toContain('hunter2');
    } finally {
      await database.drop();
    }
  });

  it('cancel and retry move a job through its states; refusals exit 1', async () => {
    const [{ id }, missing] = await Promise.all([
      cliJson<EnqueueJson>('enqueue', 'echo', '--delay', '600000'),
      runCli(['jobs', 'show', '01890000-0000-7000-8000-000000000000', '--json'], {
        cwd: dir,
        env: { NIGHTSHIFT_DB: db },
      }),
    ]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'not_found' } });

    const cancelled = await cliJson<{ outcome: string; job: JobJson }>('jobs', 'cancel', id);
    expect(cancelled).toMatchObject({ outcome: 'cancelled', job: { state: 'cancelled' } });
    expect((await store.jobGet({ id }))?.state).toBe('cancelled');

    const twice = await runCli(['jobs', 'cancel', id], { cwd: dir, env: { NIGHTSHIFT_DB: db } });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`job ${id} is already cancelled`);

    const retried = await cliJson<{ outcome: string; job: JobJson }>('jobs', 'retry', id);
    expect(retried).toMatchObject({ outcome: 'retried', job: { state: 'queued' } });
    expect((await store.jobGet({ id }))?.state).toBe('queued');

    const notRetryable = await runCli(['jobs', 'retry', id], { cwd: dir, env: { NIGHTSHIFT_DB: db } });
    expect(notRetryable.code).toBe(1);
    expect(notRetryable.stderr).toContain('only failed or cancelled jobs can be retried');
  });

  it('every schedules command says an unknown id as jobs show does, and exits 1', async () => {
    const commands = [['show'], ['trigger'], ['pause'], ['delete']];
    const results = await runCliMany(
      commands.map((command) => ({
        args: ['schedules', ...command, 'nope'],
        options: { cwd: dir, env: { NIGHTSHIFT_DB: db } },
      })),
    );
    results.forEach((result, i) => {
      const context = `nightshift schedules ${commands[i]!.join(' ')} nope`;
      expect({ code: result.code, stderr: result.stderr }, context).toEqual({
        code: 1,
        stderr: 'nightshift: schedule nope not found\n',
      });
    });
  });

  it('a worker runs the jobs; jobs show reports the result, the error and the run history', async () => {
    const [ok, bad, tardy] = await Promise.all([
      cliJson<EnqueueJson>('enqueue', 'echo', '--payload', '{"hello":"world"}', '--queue', 'work'),
      cliJson<EnqueueJson>('enqueue', 'boom', '--queue', 'work', '--max-attempts', '1'),
      cliJson<EnqueueJson>('enqueue', 'tardy', '--queue', 'work'),
    ]);

    const worker = spawnCli(['worker', '--queues', 'work', '--concurrency', '2'], {
      cwd: dir,
      env: { NIGHTSHIFT_DB: db },
    });
    let logs = '';
    worker.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    const exited = new Promise<number | null>((resolve) => worker.on('close', (code) => resolve(code)));
    await waitUntil(
      async () => {
        const [a, b, c] = await Promise.all([
          store.jobGet({ id: ok.id }),
          store.jobGet({ id: bad.id }),
          store.jobGet({ id: tardy.id }),
        ]);
        return a?.state === 'completed' && b?.state === 'failed' && c?.state === 'completed';
      },
      { timeoutMs: 60_000, intervalMs: 50, message: 'both jobs final' },
    );
    worker.kill('SIGTERM');
    expect(await exited, logs).toBe(0);

    type Shown = { job: JobJson; runs: JobRunJson[] };
    const [shownOk, shownBad, human, shownTardy, humanTardy] = await Promise.all([
      cliJson<Shown>('jobs', 'show', ok.id),
      cliJson<Shown>('jobs', 'show', bad.id),
      runCli(['jobs', 'show', bad.id], { cwd: dir, env: { NIGHTSHIFT_DB: db } }),
      cliJson<Shown>('jobs', 'show', tardy.id),
      runCli(['jobs', 'show', tardy.id], { cwd: dir, env: { NIGHTSHIFT_DB: db } }),
    ]);
    // The run that outlasted its task's maxDurationMs says so, in JSON and in the table.
    expect(shownTardy.runs).toEqual([
      expect.objectContaining({ outcome: 'completed', maxDurationExceeded: true }) as JobRunJson,
    ]);
    expect(humanTardy.stdout).toMatch(/^1\s+completed \(over maxDurationMs\)\s/m);
    expect(shownOk.job).toMatchObject({ state: 'completed', attempt: 1, result: { hello: 'world' } });
    expect(shownOk.runs).toHaveLength(1);
    expect(shownOk.runs[0]).toMatchObject({
      attempt: 1,
      outcome: 'completed',
      maxDurationExceeded: false,
      error: null,
    });

    expect(shownBad.job).toMatchObject({
      state: 'failed',
      attempt: 1,
      error: { message: 'boom from the handler' },
    });
    expect(shownBad.runs.map((run) => run.outcome)).toEqual(['failed']);

    expect(human.stdout).toMatch(/^state\s+failed$/m);
    expect(human.stdout).toMatch(/^error\s+failed: boom from the handler$/m);
    expect(human.stdout).toMatch(/^ATTEMPT\s+OUTCOME\s+WORKER/m);

    const retried = await cliJson<{ outcome: string; job: JobJson }>('jobs', 'retry', bad.id);
    expect(retried.job).toMatchObject({ state: 'queued', maxAttempts: 2 });
    // Waiting again, its failed attempt's start is not shown as if it ran now.
    const waiting = await runCli(['jobs', 'show', bad.id], { cwd: dir, env: { NIGHTSHIFT_DB: db } });
    expect(waiting.stdout).toMatch(/^state\s+queued$/m);
    expect(waiting.stdout).not.toMatch(/^started\s/m);
    expect(waiting.stdout).toMatch(/^last attempt started\s+\S/m);
    expect(human.stdout).toMatch(/^started\s+\S/m);
    // Nor is that attempt's error shown as if the job had just failed.
    expect(waiting.stdout).not.toMatch(/^error\s/m);
    expect(waiting.stdout).toMatch(/^last attempt error\s+failed: boom from the handler$/m);
    // JSON keeps its field: the start of the current or last attempt.
    const waitingJson = await cliJson<Shown>('jobs', 'show', bad.id);
    expect(waitingJson.job.startedAt).toBe(shownBad.job.startedAt);
    expect(waitingJson.job.error).toEqual(shownBad.job.error);
  });
});
