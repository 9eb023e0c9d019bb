/**
 * Transactional enqueue (reliability scenario 11) and idempotency under concurrency (scenario 12) on
 * PostgreSQL, with real caller transactions on separate connections.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const schema = uniqueSchema('txenq');
let store: PostgresStore;
let callers: pg.Pool;

beforeAll(async () => {
  store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 20 });
  await store.migrate();
  callers = new pg.Pool({ connectionString: TEST_PG_URL, max: 4 });
});

afterAll(async () => {
  await callers.end();
  await store.close();
  await dropSchema(schema);
});

/** Runs `fn` inside BEGIN on a caller's own connection; commits unless told to roll back. */
async function inCallerTx<T>(
  fn: (client: pg.PoolClient) => Promise<T>,
  end: 'COMMIT' | 'ROLLBACK',
): Promise<T> {
  const client = await callers.connect();
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    await client.query(end);
    return value;
  } finally {
    client.release();
  }
}

describe('PostgreSQL transactional enqueue', () => {
  it('a rolled-back enqueue never exists and is never claimable', async () => {
    const queue = 'tx-rollback';
    const job = newJob({ queue });
    const [result] = await inCallerTx((tx) => store.jobInsertMany({ jobs: [job], tx }), 'ROLLBACK');
    expect(result?.created).toBe(true);
    expect(await store.jobGet({ id: job.id })).toBeUndefined();
    expect(await store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 })).toEqual([]);
  });

  it('a job committed late becomes claimable only after the commit', async () => {
    const queue = 'tx-late';
    const job = newJob({ queue });
    const client = await callers.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE orders (id int) ON COMMIT DROP');
      await client.query('INSERT INTO orders VALUES (1)');
      await store.jobInsertMany({ jobs: [job], tx: client });
      // Inside the caller's open transaction: invisible to everyone else, claims get nothing.
      expect(await store.jobGet({ id: job.id })).toBeUndefined();
      expect(await store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 })).toEqual(
        [],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const claimed = await store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([job.id]);
    expect(claimed[0]?.attempt).toBe(1);
  });

  it('a fenced insert on a caller transaction needs the attempt to hold its lease', async () => {
    const queue = 'tx-fence';
    await store.jobInsertMany({ jobs: [newJob({ queue })] });
    const [parent] = await store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 30_000 });
    if (!parent) throw new Error('no parent claimed');
    const child = newJob({ queue: 'tx-fence-children', parentId: parent.id });
    const [made] = await inCallerTx(
      (tx) =>
        store.jobInsertMany({ jobs: [child], tx, fence: { id: parent.id, leaseToken: parent.leaseToken } }),
      'COMMIT',
    );
    expect(made?.job.parentId).toBe(parent.id);
    expect((await store.jobGet({ id: child.id }))?.state).toBe('queued');

    await store.jobFinishMany({
      finishes: [{ id: parent.id, leaseToken: parent.leaseToken, outcome: 'completed' }],
    });
    const late = newJob({ queue: 'tx-fence-children' });
    const refused = await inCallerTx(
      (tx) =>
        store
          .jobInsertMany({ jobs: [late], tx, fence: { id: parent.id, leaseToken: parent.leaseToken } })
          .then(
            () => undefined,
            (e: unknown) => e,
          ),
      'ROLLBACK',
    );
    expect(refused).toBeInstanceOf(LeaseLostError);
    expect(await store.jobGet({ id: late.id })).toBeUndefined();
  });
});

describe('PostgreSQL idempotency under concurrency', () => {
  it('20 concurrent enqueues with one key make one job; 19 callers are told it existed', async () => {
    const jobs = Array.from({ length: 20 }, () => newJob({ queue: 'idem', idempotencyKey: 'order-42' }));
    const results = (await Promise.all(jobs.map((job) => store.jobInsertMany({ jobs: [job] })))).flat();
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const winner = created[0]?.job.id;
    for (const r of results) expect(r.job.id).toBe(winner);
    const listed = await store.jobList({ queue: 'idem', limit: 50 });
    expect(listed.jobs.map((j) => j.id)).toEqual([winner]);
  });

  it('waits for an uncommitted holder of the key: existing job after its commit, own job after its rollback', async () => {
    for (const end of ['COMMIT', 'ROLLBACK'] as const) {
      const key = `pending-${end}`;
      const holderJob = newJob({ queue: 'idem-pending', idempotencyKey: key });
      const client = await callers.connect();
      let racer: Promise<Array<{ created: boolean; job: { id: string } }>> | undefined;
      try {
        await client.query('BEGIN');
        await store.jobInsertMany({ jobs: [holderJob], tx: client });
        const racerJob = newJob({ queue: 'idem-pending', idempotencyKey: key });
        racer = store.jobInsertMany({ jobs: [racerJob] });
        // The racer's INSERT must be blocked on the holder's uncommitted row before the holder ends.
        await waitUntil(async () => {
          const { rows } = await callers.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%jobs%'`,
            [schema],
          );
          return rows[0]?.n === 1;
        });
        await client.query(end);
        const [outcome] = await racer;
        if (end === 'COMMIT') expect(outcome).toMatchObject({ created: false, job: { id: holderJob.id } });
        else expect(outcome).toMatchObject({ created: true, job: { id: racerJob.id } });
      } finally {
        client.release();
      }
    }
  });

  it('a batch retried after its COMMIT went through unseen returns the jobs it made, creating nothing', async () => {
    const keyed = newJob({ queue: 'retried-batch', idempotencyKey: 'retried-key' });
    const plain = newJob({ queue: 'retried-batch' });
    const first = await store.jobInsertMany({ jobs: [keyed, plain] });
    expect(first.map((r) => r.created)).toEqual([true, true]);
    // The same batch again, as a caller does when the reply to the first was lost.
    const again = await store.jobInsertMany({ jobs: [keyed, plain, newJob({ queue: 'retried-batch' })] });
    expect(again.map((r) => r.created)).toEqual([false, false, true]);
    expect(again[0]?.job.id).toBe(keyed.id);
    expect(again[1]?.job).toEqual(first[1]?.job);
    expect((await store.jobList({ queue: 'retried-batch', limit: 10 })).jobs).toHaveLength(3);
  });
});
