/**
 * Finished-job notifications across stores: a finish batch larger than one NOTIFY payload holds is
 * split into several messages, plain completions and other final outcomes alike, and a peer store
 * hears every job exactly once with its final state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreEvents } from '../../src/store/store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const schema = uniqueSchema('notify');
let store: PostgresStore;
let peer: PostgresStore;

beforeAll(async () => {
  store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
  await store.migrate();
  peer = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 1 });
});

afterAll(async () => {
  await peer.close();
  await store.close();
  await dropSchema(schema);
});

describe('PostgreSQL finished-job notifications', () => {
  it('tells a peer about every job of a large mixed finish batch, once, with its final state', async () => {
    const heard: Array<StoreEvents['job:finished']> = [];
    peer.listen('job:finished', (event) => heard.push(event));
    await waitUntil(() => peer.crossProcessEventsLive);

    const jobs = Array.from({ length: 400 }, () => newJob({ queue: 'notify-batch' }));
    await store.jobInsertMany({ jobs });
    const claimed = await store.jobClaim({
      workerId: 'w',
      queues: ['notify-batch'],
      limit: 400,
      leaseMs: 30_000,
    });
    expect(claimed).toHaveLength(400);
    const error = { message: 'no', name: 'Error', reason: 'failed' as const };
    // 350 plain completions (more than two payloads' worth) and 50 failures for good.
    const { accepted } = await store.jobFinishMany({
      finishes: claimed.map((job, index) =>
        index < 350
          ? { id: job.id, leaseToken: job.leaseToken, outcome: 'completed' as const, result: index }
          : { id: job.id, leaseToken: job.leaseToken, outcome: 'failed' as const, error, retryDelayMs: null },
      ),
    });
    expect(accepted).toHaveLength(400);

    await waitUntil(() => heard.length >= 400);
    const states = new Map(heard.map((event) => [event.id, event.state]));
    expect(heard).toHaveLength(400);
    expect(states.size).toBe(400);
    claimed.forEach((job, index) => expect(states.get(job.id)).toBe(index < 350 ? 'completed' : 'failed'));
  });
});
