import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startChild } from '../support/child-process.js';
import { WorkerShutdownError } from '../../src/worker/abort-reasons.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { aborted, engineEnv, FAST_WORKER, gate, nextEvent } from './engine-harness.js';

const env = engineEnv();

describe('graceful shutdown', () => {
  it('releases a long job at the end of the grace period without spending the attempt, keeping its checkpoint', async () => {
    const started = gate();
    const seen: Array<{ attempt: number; checkpoint: unknown; reason?: unknown }> = [];
    const ns = await env.connect({
      tasks: {
        export: async (_p, ctx) => {
          const entry: (typeof seen)[number] = { attempt: ctx.job.attempt, checkpoint: ctx.checkpoint };
          seen.push(entry);
          if (ctx.checkpoint !== undefined) return { resumedFrom: ctx.checkpoint };
          await ctx.saveCheckpoint({ done: 3 });
          started.open();
          entry.reason = await aborted(ctx.signal);
          // The short moment after the abort: save the latest progress, then give up.
          await ctx.saveCheckpoint({ done: 4 });
          throw entry.reason;
        },
      },
    });
    const { id } = await ns.enqueue('export');
    const first = ns.startWorker({ ...FAST_WORKER, abortGraceMs: 5_000 });
    await started.promise;
    const released = nextEvent(ns, 'job:released', (e) => e.jobId === id);
    await first.stop({ graceMs: 50 });
    await released;
    expect(seen[0]?.reason).toBeInstanceOf(WorkerShutdownError);
    expect(await ns.getJob(id)).toMatchObject({ state: 'queued', attempt: 0, checkpoint: { done: 4 } });
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['released']);
    await expect(first.failed).resolves.toBeUndefined();

    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', attempt: 1, result: { resumedFrom: { done: 4 } } });
    expect(seen[1]).toMatchObject({ attempt: 1, checkpoint: { done: 4 } });
  });

  it('lets short jobs finish within the grace period and claims nothing after stop', async () => {
    const started = gate();
    const proceed = gate();
    const ns = await env.connect({
      tasks: {
        short: async () => {
          started.open();
          await proceed.promise;
          return 'finished';
        },
      },
    });
    const running = await ns.enqueue('short');
    const worker = ns.startWorker(FAST_WORKER);
    await started.promise;
    let claims = 0;
    ns.events.on('job:claimed', () => (claims += 1));
    const stopping = worker.stop({ graceMs: 10_000 });
    const later = await ns.enqueue('short');
    proceed.open();
    await stopping;
    expect(await ns.getJob(running.id)).toMatchObject({ state: 'completed', result: 'finished' });
    expect(await ns.getJob(later.id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(claims).toBe(0);
    expect(worker.runningCount).toBe(0);
  });

  it('a worker stopped as it starts stops at once, not after a poll interval', async () => {
    // Its claim lanes are then between their first yield and their first claim or wait.
    const ns = await env.connect({ tasks: { noop: () => undefined } });
    const worker = ns.startWorker({ ...FAST_WORKER, pollIntervalMs: 20_000 });
    const started = performance.now();
    await worker.stop();
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('a forced stop releases a handler that ignores its signal at once', async () => {
    const started = gate();
    const ns = await env.connect({
      tasks: {
        stubborn: () => {
          started.open();
          return new Promise(() => undefined);
        },
      },
    });
    const { id } = await ns.enqueue('stubborn');
    const worker = ns.startWorker({ ...FAST_WORKER, abortGraceMs: 60_000 });
    await started.promise;
    const graceful = worker.stop({ graceMs: 60_000 });
    await worker.stop({ force: true });
    await graceful;
    expect(await ns.getJob(id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['released']);
  });

  it('signal handlers stop every worker: first signal gracefully, second forced', async () => {
    const started = gate();
    const ns = await env.connect({
      tasks: {
        stubborn: () => {
          started.open();
          return new Promise(() => undefined);
        },
      },
    });
    const { id } = await ns.enqueue('stubborn');
    ns.startWorker(FAST_WORKER);
    ns.startWorker(FAST_WORKER);
    await started.promise;
    const stopped = gate<unknown>();
    // SIGUSR2 stands in for SIGTERM: emitting it reaches only listeners, never the test runner.
    const uninstall = installShutdownSignals(ns, {
      signals: ['SIGUSR2'],
      graceMs: 60_000,
      onStopped: (error) => stopped.open(error ?? 'ok'),
    });
    try {
      let workersStopped = 0;
      ns.events.on('worker:stopped', () => (workersStopped += 1));
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(await stopped.promise).toBe('ok');
      expect(workersStopped).toBe(2);
      expect(await ns.getJob(id)).toMatchObject({ state: 'queued', attempt: 0 });
    } finally {
      uninstall();
    }
  });

  it('leaves nothing behind that keeps the process alive once stopped and closed', async () => {
    // With the grace period's timer left running, the child would outlive this test's timeout.
    const dir = await mkdtemp(path.join(tmpdir(), 'nightshift-exit-'));
    const child = startChild(new URL('./fixtures/stop-then-exit.ts', import.meta.url), [
      path.join(dir, 'jobs.db'),
    ]);
    try {
      expect(await child.done).toEqual(['stopped']);
    } finally {
      child.process.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
