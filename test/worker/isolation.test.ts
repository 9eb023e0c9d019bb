/**
 * `isolation: 'thread'`: handlers run in handler threads, where a crash, an out-of-memory or a hang
 * that ignores its signal is contained and ended for real, while checkpoints, steps, heartbeats, logs,
 * child jobs and the signal keep working through messages.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { engineEnv, FAST_WORKER, nextEvent } from './engine-harness.js';
import * as isolated from './fixtures/isolated-tasks.js';

// A handler thread loads tsx and the task module before its first job: seconds on a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

const env = engineEnv();
const dir = mkdtempSync(join(tmpdir(), 'nightshift-isolation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tasks = { ...isolated, plain: (payload: unknown) => payload };

describe('a handler in a thread', () => {
  it('that calls process.exit ends its thread only: the attempt fails and retries, the worker goes on', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('exits');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      attempt: 2,
      error: {
        name: 'HandlerThreadExitError',
        reason: 'failed',
        message: expect.stringContaining('exited with code 3') as unknown,
      },
    });
    const after = await ns.enqueue('whereAmI');
    expect((await ns.waitFor(after.id, { timeoutMs: 30_000 })).state).toBe('completed');
  });

  it('that throws outside its promise fails its attempt with that error', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('throwsInThread');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      attempt: 2,
      error: { name: 'Error', message: 'thrown at the top of the thread', reason: 'failed' },
    });
  });

  it('that returns what JSON cannot hold fails with invalid_result, as in the worker’s own thread', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('returnsBigInt');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      error: {
        code: 'invalid_result',
        message: expect.stringContaining('handler result is not JSON-serialisable') as unknown,
      },
    });
  });

  it('that passes a misspelt tx to saveCheckpoint is refused and saves nothing', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('misspellsTx');
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 30_000 });
    expect(done).toMatchObject({
      state: 'failed',
      error: {
        code: 'invalid_argument',
        message: expect.stringContaining('unknown ctx.saveCheckpoint option "txx"') as unknown,
      },
    });
    expect(done.checkpoint).toBeUndefined();
  });

  it('that runs out of memory is ended by its resource limit and fails, the worker goes on', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('allocates');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      error: {
        name: 'HandlerThreadOutOfMemoryError',
        reason: 'failed',
        message: expect.stringContaining('"maxOldGenerationSizeMb":16') as unknown,
      },
    });
    const after = await ns.enqueue('plain', 'still here');
    expect((await ns.waitFor(after.id, { timeoutMs: 30_000 })).result).toBe('still here');
  });

  it('that spins ignoring its signal times out, and its thread is ended for real', async () => {
    const file = join(dir, 'spins.txt');
    writeFileSync(file, '');
    const ns = await env.connect({ tasks });
    // One thread, warm (the timeout counts from the claim, the thread's start included).
    ns.startWorker({ ...FAST_WORKER, concurrency: 1, abortGraceMs: 100 });
    const warm = await ns.enqueue('warmsUp');
    await ns.waitFor(warm.id, { timeoutMs: 30_000 });
    const { id } = await ns.enqueue('spins', file);
    expect(await ns.waitFor(id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      error: { name: 'JobTimeoutError', reason: 'timeout' },
    });
    // It was running: it wrote. Then it stopped writing: the loop no longer runs anywhere.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ended = statSync(file).size;
    expect(ended).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statSync(file).size).toBe(ended);
  });

  it('uses checkpoint, step, heartbeat, log and child jobs across attempts', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('progresses', { base: 10 });
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 30_000 });
    expect(done.state).toBe('completed');
    const result = done.result as {
      resumedFrom: number;
      step: { threadId: number; attempt: number };
      threadId: number;
      child: { id: string; created: boolean };
      children: Array<{ id: string; created: boolean }>;
      refusals: unknown[];
      aborted: boolean;
    };
    // The second attempt resumed from the first one's checkpoint and got its step's recorded result.
    expect(result.resumedFrom).toBe(11);
    expect(result.step).toMatchObject({ attempt: 1 });
    expect(result.threadId).not.toBe(threadId);
    expect(result.step.threadId).not.toBe(threadId);
    expect(result.aborted).toBe(false);
    // The child was enqueued once, by the first attempt; the second found it.
    expect(result.child.created).toBe(false);
    expect(await ns.getJob(result.child.id)).toMatchObject({ task: 'plain', parentId: id });
    expect(result.children.map((c) => c.created)).toEqual([false, false]);
    for (const [index, c] of result.children.entries()) {
      expect(await ns.getJob(c.id)).toMatchObject({ task: 'plain', parentId: id, payload: { n: index + 1 } });
    }
    expect(await ns.getJob(result.children[1]!.id)).toMatchObject({ state: 'scheduled' });
    // An item refused in either thread is an EnqueueItemError with its index, and nothing was written.
    expect(result.refusals).toEqual([
      {
        itemError: true,
        index: 1,
        code: 'unknown_task',
        message: expect.stringMatching(/^item 1: .*"nope"/) as unknown,
      },
      {
        itemError: true,
        index: 1,
        code: 'invalid_payload',
        message: expect.stringMatching(/^item 1: payload .*JSON/) as unknown,
      },
    ]);
    const plain = (await ns.listJobs({ task: 'plain' })).jobs.filter((job) => job.parentId === id);
    expect(plain).toHaveLength(3);
    expect(done.checkpoint).toBe(12);
    expect((await ns.getJobRuns(id)).map((run) => run.outcome)).toEqual(['failed', 'completed']);
    // ctx.log in a thread is stored with its attempt like a line logged in the worker's own thread.
    expect(
      (await ns.getJobLogs(id)).map(({ attempt, message, data }) => ({ attempt, message, data })),
    ).toEqual([
      { attempt: 1, message: 'progress saved', data: { attempt: 1 } },
      { attempt: 2, message: 'progress saved', data: { attempt: 2 } },
    ]);
  });

  it('sees its signal abort with the reason’s own class when its job is cancelled', async () => {
    const ns = await env.connect({ tasks });
    // A short lease: the cancel is seen at its next renewal. One thread, warm: the handler is
    // listening by the time the cancel comes, instead of still loading.
    ns.startWorker({ ...FAST_WORKER, concurrency: 1, leaseMs: 600, abortGraceMs: 5_000 });
    const warm = await ns.enqueue('warmsUp');
    await ns.waitFor(warm.id, { timeoutMs: 30_000 });
    const { id } = await ns.enqueue('waitsForSignal');
    const claimed = nextEvent(ns, 'job:claimed', (e) => e.jobId === id);
    await claimed;
    await ns.cancelJob(id);
    const job = await ns.waitFor(id, { timeoutMs: 30_000 });
    expect(job.state).toBe('cancelled');
    expect(job.checkpoint).toEqual({ name: 'JobCancelledError', isJobCancelledError: true });
  });

  it('whose module fails to load, or lacks the export, fails with a message that says so', async () => {
    const ns = await env.connect({ tasks });
    const broken = await ns.enqueue('brokenModule');
    const missing = await ns.enqueue('missingExport');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(broken.id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      error: { message: 'this module throws when imported' },
    });
    expect(await ns.waitFor(missing.id, { timeoutMs: 30_000 })).toMatchObject({
      state: 'failed',
      error: {
        name: 'NightshiftError',
        message: expect.stringContaining('has no export "noSuchExport"') as unknown,
      },
    });
  });
});

describe('the worker’s isolation', () => {
  it('puts tasks without their own setting in threads; a task’s own setting wins', async () => {
    const ns = await env.connect({ tasks: isolated });
    const away = await ns.enqueue('whereAmI');
    const home = await ns.enqueue('staysHome');
    ns.startWorker({ ...FAST_WORKER, isolation: 'thread' });
    expect((await ns.waitFor(away.id, { timeoutMs: 30_000 })).result).not.toBe(threadId);
    expect((await ns.waitFor(home.id, { timeoutMs: 30_000 })).result).toBe(threadId);
  });

  it('refuses to start when a task it would isolate names no module', async () => {
    const ns = await env.connect({ tasks: { inline: () => 1, whereAmI: isolated.whereAmI } });
    const start = (): unknown => ns.startWorker({ ...FAST_WORKER, isolation: 'thread' });
    expect(start).toThrow(NightshiftError);
    expect(start).toThrow(/task "inline": the worker's isolation is 'thread'.*module: import\.meta\.url/);
  });
});

describe('isolation settings', () => {
  it('are checked when tasks are declared', async () => {
    const refused = async (definition: Record<string, unknown>): Promise<NightshiftError> => {
      const task = defineTask({ handler: () => 1, ...definition });
      const error = await Nightshift.connect({ db: 'sqlite::memory:', tasks: { t: task } }).catch(
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(NightshiftError);
      expect((error as NightshiftError).code).toBe('config_error');
      return error as NightshiftError;
    };
    expect((await refused({ isolation: 'thread' })).message).toMatch(
      /names no module|module: import\.meta\.url/,
    );
    expect((await refused({ isolation: 'process' })).message).toMatch(/isolation must be 'none', 'thread'/);
    expect(
      (
        await refused({
          isolation: { mode: 'thread', resourceLimits: { maxHeap: 1 } },
          module: import.meta.url,
        })
      ).message,
    ).toMatch(/unknown key "maxHeap"/);
    expect((await refused({ export: 'x' })).message).toMatch(/export is given without the module/);
    expect((await refused({ module: './relative.js' })).message).toMatch(/module must be a file URL/);
  });
});
