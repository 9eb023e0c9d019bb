import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.js';
import { defineTask } from '../../src/task.js';
import { engineEnv, FAST_WORKER, nextEvent } from './engine-harness.js';

const env = engineEnv();

class RefusedByPartner extends NonRetryableError {
  override readonly name = 'RefusedByPartner';
}

describe('NonRetryableError', () => {
  it('fails the job at once with attempts left, while other errors still retry', async () => {
    const calls = { permanent: 0, subclass: 0, transient: 0 };
    const ns = await env.connect({
      tasks: {
        permanent: defineTask({
          maxAttempts: 5,
          handler: () => {
            calls.permanent += 1;
            throw new NonRetryableError('the partner said no');
          },
        }),
        subclass: defineTask({
          maxAttempts: 5,
          handler: () => {
            calls.subclass += 1;
            return Promise.reject(new RefusedByPartner('refused for good'));
          },
        }),
        transient: defineTask({
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: () => {
            calls.transient += 1;
            throw new Error('try again');
          },
        }),
      },
    });
    const [permanent, subclass, transient] = await ns.enqueueMany([
      { task: 'permanent' },
      { task: 'subclass' },
      { task: 'transient' },
    ]);
    const failed = nextEvent(ns, 'job:failed', (e) => e.jobId === permanent!.id);
    ns.startWorker(FAST_WORKER);
    expect(await failed).toMatchObject({ attempt: 1, error: { message: 'the partner said no' } });

    const done = await Promise.all(
      [permanent, subclass, transient].map((job) => ns.waitFor(job!.id, { timeoutMs: 10_000 })),
    );
    expect(done.map((job) => [job.state, job.attempt])).toEqual([
      ['failed', 1],
      ['failed', 1],
      ['failed', 2],
    ]);
    expect(done[0]?.error).toMatchObject({ name: 'NonRetryableError', reason: 'failed' });
    expect(done[1]?.error).toMatchObject({ name: 'RefusedByPartner', message: 'refused for good' });
    expect(calls).toEqual({ permanent: 1, subclass: 1, transient: 2 });
    const runs = await ns.getJobRuns(permanent!.id);
    expect(runs.map((run) => run.outcome)).toEqual(['failed']);
  });
});
