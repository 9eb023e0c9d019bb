/**
 * End to end through real processes, on SQLite and on PostgreSQL: 500 jobs enqueued with the CLI, a
 * `nightshift worker` killed with SIGKILL while jobs are running, a second worker (2 s leases)
 * finishing the work. Every handler start is appended to a ledger file as (job id, attempt, pid): the
 * ledger shows which jobs ran twice, and only the jobs the killed worker held at the kill may have.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { allJobs, createTestDatabase, openTestStore } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const JOBS = 500;
const cleanups: Array<() => Promise<void> | void> = [];
const children: Array<ReturnType<typeof spawnCli>> = [];

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface LedgerRow {
  jobId: string;
  attempt: number;
  pid: number;
}

function readLedger(file: string): LedgerRow[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  // One short appendFileSync per line is one write(2): a kill lands between lines, never inside one.
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [jobId = '', attempt = '', pid = ''] = line.split(',');
      return { jobId, attempt: Number(attempt), pid: Number(pid) };
    });
}

function writeLedgerConfig(dir: string, ledger: string): void {
  writeFileSync(
    join(dir, 'nightshift.config.mjs'),
    `import { appendFileSync } from 'node:fs';
export default {
  tasks: {
    work: {
      leaseMs: 2000,
      handler: async (payload, ctx) => {
        appendFileSync(${JSON.stringify(ledger)}, ctx.job.id + ',' + ctx.job.attempt + ',' + process.pid + '\\n');
        await new Promise((resolve) => setTimeout(resolve, 30));
        return payload.n;
      },
    },
  },
  worker: { pollIntervalMs: 50, rescueIntervalMs: 250 },
};
`,
  );
}

const backends: Array<{ name: string; database: (dir: string) => Promise<string> }> = [
  { name: 'SQLite', database: (dir) => Promise.resolve(`sqlite:${join(dir, 'jobs.db')}`) },
  {
    name: 'PostgreSQL',
    database: async () => {
      const { url, drop } = await createTestDatabase();
      cleanups.push(drop);
      return url;
    },
  },
];

describe.each(backends)('kill -9 of a worker process on $name', ({ database }) => {
  it('loses no job, and only jobs running at the kill run twice', async () => {
    const dir = tempDir('nightshift-kill-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = await database(dir);
    const ledger = join(dir, 'ledger.csv');
    writeLedgerConfig(dir, ledger);
    const env = { NIGHTSHIFT_DB: db };

    const startWorker = (): {
      pid: number;
      exited: Promise<{ code: number | null; signal: string | null }>;
    } => {
      const child = spawnCli(['worker', '--concurrency', '8'], { cwd: dir, env });
      children.push(child);
      child.stdout.resume();
      child.stderr.resume();
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      return { pid: child.pid!, exited };
    };

    writeFileSync(
      join(dir, 'payloads.ndjson'),
      Array.from({ length: JOBS }, (_, n) => JSON.stringify({ n })).join('\n'),
    );
    // enqueue needs a database; only migrate and the services create one.
    const migrated = await runCli(['migrate'], { cwd: dir, env });
    expect(migrated.code, migrated.stderr).toBe(0);
    const enqueued = await runCli(['enqueue', 'work', '--from', 'payloads.ndjson'], { cwd: dir, env });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const ids = enqueued.stdout.trim().split('\n');
    expect(new Set(ids).size).toBe(JOBS);
    const store: Store = await openTestStore(db);
    cleanups.push(() => store.close());

    // First worker: kill -9 once it is well into the work.
    const first = startWorker();
    await waitUntil(() => readLedger(ledger).length >= 100, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: 'the first worker to start 100 jobs',
    });
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const runningAtKill = new Set(
      (await store.jobList({ state: 'running', limit: 1000 })).jobs.map((job) => job.id),
    );
    expect(runningAtKill.size, 'jobs were running when the worker died').toBeGreaterThan(0);
    const ledgerAtKill = readLedger(ledger);

    // Second worker: recovers the lapsed leases (2 s) and finishes everything.
    const second = startWorker();
    await waitUntil(
      async () => (await store.jobList({ state: 'completed', limit: 1000 })).jobs.length === JOBS,
      {
        timeoutMs: 90_000,
        intervalMs: 200,
        message: 'every job to complete',
      },
    );
    process.kill(second.pid, 'SIGTERM');
    expect((await second.exited).code).toBe(0);

    const jobs = await allJobs(store);
    expect(jobs).toHaveLength(JOBS);
    expect(jobs.filter((job) => job.state !== 'completed')).toEqual([]);
    expect(new Set(jobs.map((job) => job.id))).toEqual(new Set(ids));

    const byJob = new Map<string, LedgerRow[]>();
    for (const row of readLedger(ledger)) byJob.set(row.jobId, [...(byJob.get(row.jobId) ?? []), row]);
    expect(byJob.size, 'every job ran').toBe(JOBS);

    const ranTwice = [...byJob].filter(([, runs]) => runs.length > 1).map(([id]) => id);
    expect(
      ranTwice.filter((id) => !runningAtKill.has(id)),
      'ran twice without being running at the kill',
    ).toEqual([]);
    for (const job of jobs) {
      const runs = byJob.get(job.id) ?? [];
      expect(runs.length, `job ${job.id} ran at most once per attempt`).toBeLessThanOrEqual(job.attempt);
      if (runningAtKill.has(job.id)) {
        // Its killed attempt was rescued (attempt spent) and the second worker ran attempt 2.
        expect(job.attempt).toBe(2);
        expect(runs.at(-1)).toMatchObject({ attempt: 2, pid: second.pid });
      } else {
        expect(job.attempt).toBe(1);
        expect(runs).toHaveLength(1);
      }
    }
    // Jobs the dead worker had finished and persisted before the kill never ran again.
    const finishedBeforeKill = [...new Set(ledgerAtKill.map((row) => row.jobId))].filter(
      (id) => !runningAtKill.has(id),
    );
    expect(finishedBeforeKill.length).toBeGreaterThan(0);
    for (const id of finishedBeforeKill) expect(byJob.get(id)).toHaveLength(1);

    // The run history names the lapse.
    const someKilled = [...runningAtKill][0]!;
    const history = await store.jobRunList({ jobId: someKilled });
    expect(history.map((run) => run.outcome)).toEqual(['lease_lapsed', 'completed']);
  });
});
