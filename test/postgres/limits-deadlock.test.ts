/**
 * Two finish batches that end jobs of the same two keys and limited queues in opposite orders, at once,
 * over and over. The slots they give back lock the key and queue rows; locked in the order the batch
 * ended its jobs, the two batches deadlocked and PostgreSQL aborted one. They must both commit, and
 * every count must be back at zero afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { postgresHarness } from '../support/postgres-harness.js';

const LEASE = { leaseMs: 60_000 };
const PER_SIDE = 120;

describe('PostgreSQL finish batches over shared keys', () => {
  const harness = postgresHarness('limitsdeadlock');
  let store: Store;
  let peer: Store;

  beforeAll(async () => {
    store = await harness.open();
    peer = await harness.openPeer(store);
    await store.queueSetLimit({ queue: 'qa', limit: 10_000 });
    await store.queueSetLimit({ queue: 'qb', limit: 10_000 });
  });

  afterAll(() => harness.close());

  it('end jobs of two keys in opposite orders at once without a deadlock', async () => {
    for (let round = 0; round < 15; round += 1) {
      // Ids are time-ordered and a batch's completions are applied in id order: the first batch ends
      // its A jobs then its B jobs, the second its B jobs then its A jobs.
      const group = (queue: string, key: string) =>
        Array.from({ length: PER_SIDE }, () =>
          newJob({ queue, concurrencyKey: key, concurrencyLimit: 10_000 }),
        );
      const groups = [group('qa', 'ka'), group('qb', 'kb'), group('qb', 'kb'), group('qa', 'ka')];
      await store.jobInsertMany({ jobs: groups.flat() });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 4 * PER_SIDE, ...LEASE });
      expect(claimed).toHaveLength(4 * PER_SIDE);
      const token = new Map(claimed.map((j) => [j.id, j.leaseToken]));
      // Odd rounds end the second batch by failure: the statement for every outcome but completion.
      const outcome = round % 2 === 0 ? ('completed' as const) : ('failed' as const);
      const batch = (jobs: Array<{ id: string }>, ending: 'completed' | 'failed') =>
        jobs.map((j) => ({ id: j.id, leaseToken: token.get(j.id) ?? '', outcome: ending }));
      const outcomes = await Promise.allSettled([
        store.jobFinishMany({ finishes: batch([...groups[0]!, ...groups[1]!], 'completed') }),
        peer.jobFinishMany({ finishes: batch([...groups[2]!, ...groups[3]!], outcome) }),
      ]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual(['ok', 'ok']);
    }
    expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
      { key: 'ka', running: 0, limit: 10_000, operatorLimit: null, rate: null },
      { key: 'kb', running: 0, limit: 10_000, operatorLimit: null, rate: null },
    ]);
    expect((await store.queueLimitList()).map((q) => q.running)).toEqual([0, 0]);
  });
});
