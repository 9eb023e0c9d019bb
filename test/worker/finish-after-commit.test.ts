import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import type { Nightshift } from '../../src/nightshift.js';
import { engineEnv, FAST_WORKER, gate, nextEvent } from './engine-harness.js';

const env = engineEnv();

/** Every `job:lease_lost` of `ns`, by job id. */
function leaseLosses(ns: Nightshift): string[] {
  const lost: string[] = [];
  ns.events.on('job:lease_lost', ({ jobId }) => lost.push(jobId));
  return lost;
}

describe('a finish whose reply is lost', () => {
  it('reports the completion it committed, once, instead of a lost lease', async () => {
    const ns = await env.connect({ tasks: { work: () => 'done' } });
    const { id } = await ns.enqueue('work');
    // A spy on the real store: the first finish commits, then its reply is "lost" on the way back.
    const finishMany = ns.store.jobFinishMany.bind(ns.store);
    const answers: string[][] = [];
    ns.store.jobFinishMany = async (params) => {
      const answer = await finishMany(params);
      answers.push(answer.accepted);
      if (answers.length === 1)
        throw new NightshiftError('database_unavailable', 'connection lost after COMMIT');
      return answer;
    };
    const lost = leaseLosses(ns);
    const completed = nextEvent(ns, 'job:completed', (e) => e.jobId === id);
    ns.startWorker(FAST_WORKER);

    expect(await ns.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed', result: 'done' });
    expect(await completed).toMatchObject({ jobId: id, attempt: 1, result: 'done' });
    // The retry really was refused: the first try had ended the attempt.
    expect(answers).toEqual([[id], []]);
    expect(lost).toEqual([]);
    expect((await ns.getJobRuns(id)).map((r) => [r.attempt, r.outcome])).toEqual([[1, 'completed']]);
  });

  it('asks again when the check itself fails, and still reports the completion once', async () => {
    const ns = await env.connect({ tasks: { work: () => 'done' } });
    const { id } = await ns.enqueue('work');
    const finishMany = ns.store.jobFinishMany.bind(ns.store);
    let finishes = 0;
    ns.store.jobFinishMany = async (params) => {
      const answer = await finishMany(params);
      finishes += 1;
      if (finishes === 1) throw new NightshiftError('database_unavailable', 'connection lost after COMMIT');
      return answer;
    };
    const runList = ns.store.jobRunList.bind(ns.store);
    let reads = 0;
    ns.store.jobRunList = async (params) => {
      reads += 1;
      if (reads === 1) throw new NightshiftError('database_unavailable', 'connection lost');
      return runList(params);
    };
    const lost = leaseLosses(ns);
    const completed = nextEvent(ns, 'job:completed', (e) => e.jobId === id);
    ns.startWorker(FAST_WORKER);

    expect(await completed).toMatchObject({ jobId: id, result: 'done' });
    expect(reads).toBe(2);
    expect(finishes).toBe(3);
    expect(lost).toEqual([]);
    expect((await ns.getJobRuns(id)).map((r) => [r.attempt, r.outcome])).toEqual([[1, 'completed']]);
  });

  it('still reports a lost lease when the retried finish lost to another attempt', async () => {
    const started = gate();
    const proceed = gate();
    const ns = await env.connect({
      tasks: {
        work: async () => {
          started.open();
          await proceed.promise;
          return 'A';
        },
      },
    });
    const { id } = await ns.enqueue('work');
    // The first finish fails before writing anything, so it is retried as one that may have committed.
    const finishMany = ns.store.jobFinishMany.bind(ns.store);
    let calls = 0;
    ns.store.jobFinishMany = async (params) => {
      calls += 1;
      if (calls === 1) throw new NightshiftError('database_unavailable', 'connection lost before COMMIT');
      return finishMany(params);
    };
    const completed: string[] = [];
    ns.events.on('job:completed', ({ jobId }) => completed.push(jobId));
    // A long lease: renewal must not notice the takeover first, so the refusal decides. One slot: the
    // running handler keeps it, so this worker cannot re-claim the rescued job before B does.
    ns.startWorker({ ...FAST_WORKER, leaseMs: 60_000, concurrency: 1 });
    await started.promise;
    const past = new Date((await ns.store.now()).getTime() - 1_000);
    await env.harness().setJobFields(ns.store, id, { leaseExpiresAt: past });
    expect((await ns.store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([id]);
    const peer = await env.peerStore(ns);
    const [claimB] = await peer.jobClaim({ workerId: 'worker-B', limit: 1, leaseMs: 60_000 });
    expect(claimB?.id).toBe(id);

    const lost = nextEvent(ns, 'job:lease_lost', (e) => e.jobId === id, 20_000);
    proceed.open();
    expect(await lost).toMatchObject({ jobId: id, attempt: 1 });
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(completed).toEqual([]);
    expect(await ns.getJob(id)).toMatchObject({
      state: 'running',
      workerId: 'worker-B',
      attempt: 2,
      result: null,
    });
    expect((await ns.getJobRuns(id)).map((r) => [r.attempt, r.outcome])).toEqual([[1, 'lease_lapsed']]);
  });
});
