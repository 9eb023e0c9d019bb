/** `nightshift worker` and `nightshift start` processes under signals and misbehaving handlers. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { CLI_TEST_TIMEOUT_MS, runCli, spawnCli, tempDir } from './cli-process.js';
import { openTestStore, writeBasicConfig } from './fixtures.js';

vi.setConfig({ testTimeout: CLI_TEST_TIMEOUT_MS, hookTimeout: CLI_TEST_TIMEOUT_MS });

const dir = tempDir();
// A grace period far longer than the test: only a second signal can end the process quickly.
writeBasicConfig(dir, { worker: { graceMs: 120_000 } });
const db = `sqlite:${join(dir, 'jobs.db')}`;
let store: Store;
const children: Array<ReturnType<typeof spawnCli>> = [];

beforeAll(async () => {
  const migrated = await runCli(['migrate', '--db', db], { cwd: dir });
  expect(migrated.code, migrated.stderr).toBe(0);
  store = await openTestStore(db);
});

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function startWorker(
  queue: string,
  ...flags: string[]
): {
  logs: () => string;
  exited: Promise<number | null>;
  kill: (s: NodeJS.Signals) => void;
} {
  const child = spawnCli(['worker', '--queues', queue, ...flags], { cwd: dir, env: { NIGHTSHIFT_DB: db } });
  children.push(child);
  let logs = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { logs: () => logs, exited, kill: (signal) => child.kill(signal) };
}

async function enqueue(...args: string[]): Promise<string> {
  const result = await runCli(['enqueue', ...args, '--db', db], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('worker process', () => {
  it('worker --labels registers its labels and runs the jobs requiring them, not others', async () => {
    const eu = await enqueue('echo', '--payload', '"eu"', '--queue', 'areas', '--requires', 'region:eu');
    const gpu = await enqueue('echo', '--payload', '"gpu"', '--queue', 'areas', '--requires', 'gpu');
    const worker = startWorker('areas', '--labels', 'region:eu,dmz');
    await waitUntil(async () => (await store.jobGet({ id: eu }))?.state === 'completed', {
      timeoutMs: 60_000,
      message: 'the region:eu job to complete',
    });
    const registered = await store.workerList({ staleMs: 60_000 });
    expect(registered.map((w) => w.labels)).toContainEqual(['dmz', 'region:eu']);
    expect((await store.jobGet({ id: gpu }))?.state).toBe('queued');
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('a leaked rejection or a throw from a timer is logged, and the worker keeps running jobs', async () => {
    const leaky = await enqueue('leaky', '--queue', 'leaks');
    const worker = startWorker('leaks');
    await waitUntil(async () => (await store.jobGet({ id: leaky }))?.state === 'completed', {
      timeoutMs: 60_000,
      message: 'the leaky job to complete',
    });
    await waitUntil(() => worker.logs().includes('thrown from a timer'), {
      timeoutMs: 30_000,
      message: 'the timer throw to be logged',
    });
    expect(worker.logs()).toContain('leaked rejection');

    // Still alive and working after both.
    const after = await enqueue('echo', '--payload', '"after"', '--queue', 'leaks');
    await waitUntil(async () => (await store.jobGet({ id: after }))?.state === 'completed', {
      timeoutMs: 60_000,
      message: 'a later job to complete',
    });
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('SIGTERM waits for running jobs; a second SIGTERM releases them without spending the attempt', async () => {
    const id = await enqueue('slow', '--payload', '{"ms":600000}', '--queue', 'long');
    const worker = startWorker('long');
    await waitUntil(async () => (await store.jobGet({ id }))?.state === 'running', {
      timeoutMs: 60_000,
      message: 'the slow job to start',
    });

    worker.kill('SIGTERM');
    await waitUntil(() => worker.logs().includes('shutting down gracefully'), {
      timeoutMs: 30_000,
      message: 'the first signal to be seen',
    });
    expect((await store.jobGet({ id }))?.state).toBe('running');

    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const job = await store.jobGet({ id });
    expect(job).toMatchObject({ state: 'queued', attempt: 0 });
    expect((await store.jobRunList({ jobId: id })).map((run) => run.outcome)).toEqual(['released']);
  });

  it('start runs the config schedules, the API and a worker in one process', async () => {
    const startDir = tempDir();
    writeBasicConfig(startDir, { schedules: [{ id: 'tick', task: 'echo', everyMs: 1000, payload: 'tick' }] });
    const startDb = `sqlite:${join(startDir, 'jobs.db')}`;
    // Port 0: any free port, so parallel test files never compete for the default one.
    const child = spawnCli(['start', '--port', '0'], { cwd: startDir, env: { NIGHTSHIFT_DB: startDb } });
    children.push(child);
    child.stdout.resume();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

    // The schema appears when start has migrated; until then opening or reading fails.
    const startStore = await waitUntil(
      async () => {
        const candidate = await openTestStore(startDb).catch(() => undefined);
        const migrated = await candidate?.schemaVersion().catch(() => undefined);
        if (candidate !== undefined && migrated !== undefined && migrated.current === migrated.latest)
          return candidate;
        await candidate?.close();
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'start to migrate' },
    );
    try {
      const tick = await waitUntil(
        async () =>
          (await startStore.jobList({ state: 'completed', limit: 10 })).jobs.find(
            (job) => job.scheduleId === 'tick',
          ),
        { timeoutMs: 60_000, intervalMs: 100, message: 'a scheduled tick to complete' },
      );
      expect(tick).toMatchObject({ task: 'echo', result: 'tick' });
      const url = await waitUntil(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)?.[1], {
        message: 'the API to listen',
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/queues`)).status).toBe(401);
    } finally {
      await startStore.close();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(startDir, { recursive: true, force: true });
  });
});
