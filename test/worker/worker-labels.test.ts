/**
 * Worker labels end to end: two workers (as two processes would run them, each on its own store) offer
 * different labels; each job runs on a worker offering every label it requires, jobs without
 * requirements run on either, and a job requiring a label no worker offers waits. Runs on SQLite, and
 * on PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

const tasks = {
  work: () => 'done',
  // A task whose jobs need a GPU unless the enqueue says otherwise.
  render: defineTask({ requires: ['gpu'], handler: () => 'rendered' }),
};

describe('worker labels', () => {
  it('runs each job on a worker offering its labels, jobs without requirements anywhere', async () => {
    const eu = await env.connect({ tasks });
    const us = await env.connectPeer(eu, { tasks });
    const enqueue = async (count: number, requires?: string[]) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        ids.push((await eu.enqueue('work', { i }, requires === undefined ? {} : { requires })).id);
      }
      return ids;
    };
    const euJobs = await enqueue(10, ['region:eu']);
    const usJobs = await enqueue(10, ['region:us']);
    const euGpu = await enqueue(4, ['region:eu', 'gpu']);
    const plain = await enqueue(10);
    const render = (await eu.enqueue('render', {})).id;
    const renderAnywhere = (await eu.enqueue('render', {}, { requires: [] })).id;

    eu.startWorker({ ...FAST_WORKER, workerId: 'worker-eu', labels: ['region:eu'], concurrency: 3 });
    us.startWorker({ ...FAST_WORKER, workerId: 'worker-us', labels: ['region:us', 'x'], concurrency: 3 });

    const ranOn = async (ids: string[]) => {
      const workers = new Set<string | null>();
      for (const id of ids) {
        const job = await eu.waitFor(id, { timeoutMs: 20_000 });
        expect(job.state).toBe('completed');
        workers.add(job.workerId);
      }
      return [...workers].sort();
    };
    expect(await ranOn(euJobs)).toEqual(['worker-eu']);
    expect(await ranOn(usJobs)).toEqual(['worker-us']);
    expect(await ranOn([renderAnywhere])).toHaveLength(1);
    const plainWorkers = await ranOn(plain);
    expect(plainWorkers.length).toBeGreaterThanOrEqual(1);
    expect(plainWorkers.every((w) => w === 'worker-eu' || w === 'worker-us')).toBe(true);

    // Nobody offers gpu: those jobs wait, claimed by neither.
    const workers = await eu.workers();
    expect(workers.map((w) => [w.id, w.labels])).toEqual([
      ['worker-eu', ['region:eu']],
      ['worker-us', ['region:us', 'x']],
    ]);
    for (const id of [...euGpu, render]) {
      const job = await eu.getJob(id);
      expect(job?.state).toBe('queued');
      expect(job?.attempt).toBe(0);
    }
    expect((await eu.getJob(render))?.requires).toEqual(['gpu']);

    // A worker offering both takes them.
    const gpu = await env.connectPeer(eu, { tasks });
    gpu.startWorker({ ...FAST_WORKER, workerId: 'worker-gpu', labels: ['gpu', 'region:eu'] });
    expect(await ranOn([...euGpu, render])).toEqual(['worker-gpu']);
  });
});
