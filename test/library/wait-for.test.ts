import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { engineEnv, FAST_WORKER } from '../worker/engine-harness.js';

const env = engineEnv();

const tasks = {
  double: (n: number) => n * 2,
  broken: { maxAttempts: 1, handler: () => Promise.reject(new Error('no luck')) },
};

describe('waitFor', () => {
  it('waits from one instance for a job another instance on the same database runs', async () => {
    const caller = await env.connect({ tasks });
    const server = await env.connectPeer(caller, { tasks });
    server.startWorker(FAST_WORKER);
    const { id } = await caller.enqueue('double', 21);
    const done = await caller.waitFor(id, { timeoutMs: 10_000, pollIntervalMs: 20 });
    expect(done).toMatchObject({ id, state: 'completed', result: 42 });
    const failed = await caller.enqueue('broken');
    expect(await caller.waitFor(failed.id, { timeoutMs: 10_000, pollIntervalMs: 20 })).toMatchObject({
      state: 'failed',
      error: { message: 'no luck' },
    });
  });

  it('serves many concurrent waits in one process', async () => {
    const ns = await env.connect({ tasks });
    const jobs = await ns.enqueueMany(Array.from({ length: 50 }, (_, n) => ({ task: 'double', payload: n })));
    const waits = jobs.map(({ id }) => ns.waitFor(id, { timeoutMs: 10_000 }));
    ns.startWorker(FAST_WORKER);
    const results = await Promise.all(waits);
    expect(results.map((j) => j.result)).toEqual(Array.from({ length: 50 }, (_, n) => n * 2));
  });

  it('rejects with timeout when the job does not finish in time, and not_found for an unknown id', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('double', 1);
    const error = await ns.waitFor(id, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as NightshiftError).code).toBe('timeout');
    expect((await ns.getJob(id))?.state).toBe('queued');
    await expect(ns.waitFor('00000000-0000-7000-8000-000000000000')).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('store outage', () => {
  it('fails the worker when the store stays unreachable past maxStoreDownMs', async () => {
    const ns = await env.connect({ tasks });
    const errors: string[] = [];
    ns.events.on('store:error', (e) => errors.push(e.source));
    const fatal = new Promise((resolve) => ns.events.once('worker:fatal', resolve));
    const worker = ns.startWorker({ ...FAST_WORKER, maxStoreDownMs: 300 });
    // The connection goes away under the running worker.
    await ns.store.close();
    const error = await worker.failed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as NightshiftError).code).toBe('database_unavailable');
    await fatal;
    // SQLite refuses calls on a closed store at once, so errors are reported until the bound; a
    // PostgreSQL pool closed mid-connect leaves the claim hanging, which the unanswered-call bound catches.
    if (errors.length === 0) expect((error as NightshiftError).message).toMatch(/unanswered/);
    else expect(errors).toContain('claim');
  });
});
