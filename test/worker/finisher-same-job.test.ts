/**
 * Found by the torture run (SQLite, a write lock held past a lease): a finish of a stale attempt, sent
 * again after a failed flush, shared a batch with the finish of the same job's next attempt. The store
 * answers with the ids of the jobs it finished, so both attempts counted as accepted and the worker
 * emitted `job:completed` for an attempt whose lease was gone. Finishes of one job now go in separate
 * batches, and each is judged on its own answer.
 */
import { describe, expect, it } from 'vitest';
import type { JobFinish, Store } from '../../src/store/store.js';
import { Finisher } from '../../src/worker/finisher.js';
import { quietHealth } from '../support/quiet-health.js';

describe('finisher with two attempts of one job buffered', () => {
  it('reports the stale attempt refused and only the current one accepted', async () => {
    const batches: string[][] = [];
    // Only the current attempt's token is valid; the store names accepted finishes by job id.
    const store = {
      jobFinishMany: ({ finishes }: { finishes: JobFinish[] }) => {
        batches.push(finishes.map((finish) => finish.leaseToken));
        return Promise.resolve({
          accepted: finishes.filter((finish) => finish.leaseToken === 'current').map((finish) => finish.id),
        });
      },
    } as unknown as Store;
    const { logger, health } = quietHealth();
    const accepted: string[] = [];
    const refused: string[] = [];
    const finisher = new Finisher<string>(
      store,
      health,
      logger,
      {
        accepted: (item) => accepted.push(item),
        refused: (item) => refused.push(item),
        persisted: () => null,
      },
      { batchSize: 10, flushMs: 1 },
    );
    finisher.add({ id: 'job-1', leaseToken: 'stale', outcome: 'completed' }, 'stale attempt');
    finisher.add({ id: 'job-1', leaseToken: 'current', outcome: 'completed' }, 'current attempt');
    finisher.add({ id: 'job-2', leaseToken: 'current', outcome: 'completed' }, 'other job');
    expect(await finisher.drain(5_000)).toBe(true);
    expect(accepted.sort()).toEqual(['current attempt', 'other job']);
    expect(refused).toEqual(['stale attempt']);
    // The other job's finish still shares the first batch: only the second attempt of job-1 waits.
    expect(batches).toEqual([['stale', 'current'], ['current']]);
  });
});
