/** Retention on SQLite: a large prune runs as several short transactions and honours its limit. */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { newJob } from './support/jobs.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const harness = sqliteHarness();
afterEach(() => harness.close());

describe('jobPrune on SQLite', () => {
  it('deletes more than one batch, stops at the limit, and lets other writers in between batches', async () => {
    const store = (await harness.open()) as SqliteStore;
    const jobs = Array.from({ length: 1_200 }, () => newJob());
    await store.jobInsertMany({ jobs });
    const longAgo = new Date(Date.now() - 86_400_000);
    // The SQLite harness writes synchronously, so 1,200 row updates fit in one quick transaction.
    store.database.transaction(() => {
      for (const job of jobs) {
        void harness.setJobFields(store, job.id, { state: 'completed', finishedAt: longAgo });
      }
    })();
    // An insert issued while the prune runs lands between two of its batches: the prune resolves
    // only after it. A single big delete would have resolved first, holding the lock all along.
    const order: string[] = [];
    const prune = store.jobPrune({ olderThanMs: 3_600_000, limit: 1_100 }).then((result) => {
      order.push('prune');
      return result;
    });
    const extra = newJob();
    const insert = store.jobInsertMany({ jobs: [extra] }).then(() => order.push('insert'));
    expect(await prune).toEqual({ deleted: 1_100 });
    await insert;
    expect(order).toEqual(['insert', 'prune']);
    expect((await store.jobGet({ id: extra.id }))?.state).toBe('queued');
    expect((await store.jobList({ limit: 500, state: 'completed' })).jobs).toHaveLength(100);
    expect(await store.jobPrune({ olderThanMs: 3_600_000, limit: 10_000 })).toEqual({ deleted: 100 });
    expect(await store.jobCountByQueue()).toEqual([{ queue: 'default', state: 'queued', count: 1 }]);
  });
});
