import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { retryDelayMs } from '../../src/worker/retry-policy.js';
import { engineEnv, FAST_WORKER, nextEvent } from './engine-harness.js';

const env = engineEnv();

describe('retries and run history', () => {
  it('retries a failing job with backoff and records one run row per attempt', async () => {
    let calls = 0;
    const ns = await env.connect({
      tasks: {
        flaky: defineTask({
          maxAttempts: 3,
          backoff: { baseMs: 300, maxMs: 300, jitter: 0 },
          handler: (_payload, ctx) => {
            calls += 1;
            if (ctx.job.attempt < 3) throw new Error(`boom ${ctx.job.attempt}`);
            return { ok: ctx.job.attempt };
          },
        }),
      },
    });
    const { id } = await ns.enqueue('flaky', {});
    const firstRetry = nextEvent(ns, 'job:retry', (e) => e.jobId === id);
    ns.startWorker(FAST_WORKER);
    const retry = await firstRetry;
    expect(retry).toMatchObject({
      attempt: 1,
      retryDelayMs: 300,
      error: { message: 'boom 1', reason: 'failed' },
    });
    // Persisted before the event: the job waits out its backoff as `scheduled`, due later than it started.
    const waiting = await ns.getJob(id);
    expect(waiting?.state).toBe('scheduled');
    expect(waiting!.runAt.getTime()).toBeGreaterThanOrEqual(waiting!.startedAt!.getTime() + 300);
    expect(waiting?.error?.message).toBe('boom 1');

    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', attempt: 3, result: { ok: 3 } });
    expect(calls).toBe(3);
    const runs = await ns.getJobRuns(id);
    expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'completed'],
    ]);
    expect(runs[0]?.error?.message).toBe('boom 1');
    expect(runs[0]?.error?.stack).toContain('boom 1');
    expect(new Set(runs.map((r) => r.workerId)).size).toBe(1);
    for (const run of runs) expect(run.finishedAt.getTime()).toBeGreaterThanOrEqual(run.startedAt.getTime());
  });

  it('ends failed after the last attempt, with message and stack, for rejections, sync throws and non-Errors', async () => {
    const ns = await env.connect({
      tasks: {
        rejects: {
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: () => Promise.reject(new TypeError('bad')),
        },
        throwsSync: {
          maxAttempts: 1,
          handler: () => {
            throw new RangeError('sync');
          },
        },
        throwsString: {
          maxAttempts: 1,
          handler: () => {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
            throw 'just a string';
          },
        },
        badResult: { maxAttempts: 1, handler: () => ({ n: 1n }) },
      },
    });
    const ids = await ns.enqueueMany([
      { task: 'rejects' },
      { task: 'throwsSync' },
      { task: 'throwsString' },
      { task: 'badResult' },
    ]);
    ns.startWorker(FAST_WORKER);
    const [rejects, throwsSync, throwsString, badResult] = await Promise.all(
      ids.map(({ id }) => ns.waitFor(id, { timeoutMs: 10_000 })),
    );
    expect(rejects).toMatchObject({
      state: 'failed',
      attempt: 2,
      error: { message: 'bad', name: 'TypeError', reason: 'failed' },
    });
    expect(rejects?.error?.stack).toContain('TypeError: bad');
    expect(throwsSync).toMatchObject({
      state: 'failed',
      attempt: 1,
      error: { message: 'sync', name: 'RangeError' },
    });
    expect(throwsString).toMatchObject({
      state: 'failed',
      error: { message: 'non-Error thrown: just a string' },
    });
    expect(throwsString?.error?.stack).toEqual(expect.any(String));
    expect(badResult?.state).toBe('failed');
    expect(badResult?.error?.message).toMatch(/result.*JSON/);
    expect((await ns.getJobRuns(rejects!.id)).map((r) => r.outcome)).toEqual(['failed', 'failed']);
  });

  it('records maxDurationExceeded and emits job:max_duration while the job keeps running', async () => {
    const ns = await env.connect({
      tasks: {
        slow: {
          maxDurationMs: 30,
          handler: () =>
            new Promise<string>((resolve) => ns.events.once('job:max_duration', () => resolve('done'))),
        },
      },
    });
    const { id } = await ns.enqueue('slow');
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', result: 'done' });
    expect((await ns.getJobRuns(id))[0]).toMatchObject({ outcome: 'completed', maxDurationExceeded: true });
  });
});

describe('retry policy', () => {
  const backoff = { baseMs: 1_000, maxMs: 3_600_000, jitter: 0.2 };

  it('doubles from the base, caps at max, and stops after the last attempt', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4].map((a) => retryDelayMs(backoff, a, 5, mid))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(backoff, 5, 5, mid)).toBeNull();
    expect(retryDelayMs(backoff, 40, 100, mid)).toBe(3_600_000);
    expect(retryDelayMs(backoff, 5_000, 10_000, mid)).toBe(3_600_000);
  });

  it('spreads delays by the jitter fraction', () => {
    expect(retryDelayMs(backoff, 3, 5, () => 0)).toBe(3_200);
    expect(retryDelayMs(backoff, 3, 5, () => 0.999_999)).toBe(4_800);
  });
});
