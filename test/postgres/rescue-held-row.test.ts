/**
 * The rescue of lapsed leases on PostgreSQL never waits for a job row another transaction holds (a
 * finish in flight, a fenced write, a transaction left open by a client gone silent): it rescues the
 * rest of its pass, keeps the held job's claim due, and a later pass rescues that job once its row is
 * free, or finds it finished and drops the claim's row. A job is rescued once, never while its finish
 * commits, and its concurrency key's slot comes back once.
 *
 * The store's statement timeout is short: a rescue that waited for the held row would fail with it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { PostgresTestClock } from '../support/postgres-test-clock.js';

const schema = uniqueSchema('rescueheld');
const clock = new PostgresTestClock(schema);
let store: PostgresStore;
/** Another session, which holds a job's row in a transaction of its own. */
const holder = new pg.Client(TEST_PG_URL);

beforeAll(async () => {
  store = await PostgresStore.open({
    connectionString: TEST_PG_URL,
    schema,
    poolSize: 3,
    statementTimeoutMs: 5_000,
  });
  await store.migrate();
  await holder.connect();
});

afterAll(async () => {
  await holder.end();
  await store.close();
  await dropSchema(schema);
});

/** Jobs of `queue`, one per entry of `keys` (its concurrency key, room for all), claimed together: one token. */
async function claimTogether(queue: string, keys: string[]): Promise<ClaimedJob[]> {
  const jobs = keys.map((key) => newJob({ queue, concurrencyKey: key, concurrencyLimit: keys.length }));
  await store.jobInsertMany({ jobs });
  const claimed = await store.jobClaim({
    workerId: 'w',
    queues: [queue],
    limit: keys.length,
    leaseMs: 1_000,
  });
  expect(new Set(claimed.map((j) => j.leaseToken)).size).toBe(1);
  // In the order of `keys`.
  return jobs.map((job) => {
    const found = claimed.find((j) => j.id === job.id);
    if (!found) throw new Error(`job ${job.id} not claimed`);
    return found;
  });
}

/** The claim's job_leases row: whether it is due for the rescue, or undefined when it is gone. */
async function claimRow(token: string): Promise<{ due: boolean } | undefined> {
  const { rows } = await withAdmin((admin) =>
    admin.query<{ due: boolean }>(
      `SELECT expires_at < "${schema}".nightshift_now() AS due FROM "${schema}".job_leases WHERE token = $1`,
      [token],
    ),
  );
  return rows[0];
}

async function lapsedRuns(id: string): Promise<number> {
  const runs = await store.jobRunList({ jobId: id });
  return runs.filter((r) => r.outcome === 'lease_lapsed').length;
}

async function keyRunning(key: string): Promise<number | undefined> {
  const keys = await store.concurrencyKeyList({ limit: 100 });
  return keys.find((k) => k.key === key)?.running;
}

const ids = (jobs: ClaimedJob[]): string[] => jobs.map((j) => j.id).sort();

describe('PostgreSQL rescue of a claim with a job row held elsewhere', () => {
  it('rescues the rest of the pass at once and the held job on a later pass, once its row is free', async () => {
    const claim = await claimTogether('held', Array<string>(4).fill('held-key'));
    const other = await claimTogether('held-other', Array<string>(2).fill('held-other-key'));
    const [held, ...rest] = claim;
    if (!held) throw new Error('nothing claimed');
    await clock.advance(2_000);

    await holder.query('BEGIN');
    try {
      await holder.query(`SELECT 1 FROM "${schema}".jobs WHERE id = $1 FOR SHARE`, [held.id]);
      // Without SKIP LOCKED the rescue waited here for the holder, until the statement timeout.
      const first = await store.jobRescueLapsed({ limit: 100 });
      expect({ requeued: [...first.requeued].sort(), failed: first.failed }).toEqual({
        requeued: [...ids(rest), ...ids(other)].sort(),
        failed: [],
      });
      expect((await store.jobGet({ id: held.id }))?.state).toBe('running');
      // The held job's claim stays due, the other claim's row is gone.
      expect(await claimRow(held.leaseToken)).toEqual({ due: true });
      expect(await claimRow(other[0]?.leaseToken ?? '')).toBeUndefined();
      expect(await keyRunning('held-key')).toBe(1);
      expect(await keyRunning('held-other-key')).toBe(0);

      // Passes while the row is still held rescue nothing, twice or otherwise.
      await clock.advance(1_000);
      expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
      expect(await claimRow(held.leaseToken)).toEqual({ due: true });
    } finally {
      await holder.query('ROLLBACK');
    }

    await clock.advance(1_000);
    expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [held.id], failed: [] });
    expect(await claimRow(held.leaseToken)).toBeUndefined();
    expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
    for (const job of [...claim, ...other]) {
      expect((await store.jobGet({ id: job.id }))?.state).toBe('queued');
      expect(await lapsedRuns(job.id)).toBe(1);
    }
    expect(await keyRunning('held-key')).toBe(0);
  });

  it('leaves a job whose finish is in flight to that finish, and drops the claim row once it committed', async () => {
    // The finishing job's key is its own: a finish in flight also holds its key's row, which the
    // rescue's give-back of the others would wait for (only job rows are skipped).
    const claim = await claimTogether('finishing', ['finishing-key', 'rest-key', 'rest-key']);
    const [finishing, ...rest] = claim;
    if (!finishing) throw new Error('nothing claimed');
    await clock.advance(2_000);

    // The worker's completion holds the job's row until its transaction commits; the rescue runs on
    // another connection meanwhile.
    const during = await store.transaction(async (tx) => {
      const { accepted } = await store.jobFinishMany({
        finishes: [{ id: finishing.id, leaseToken: finishing.leaseToken, outcome: 'completed', result: 1 }],
        tx,
      });
      expect(accepted).toEqual([finishing.id]);
      return store.jobRescueLapsed({ limit: 100 });
    });
    expect({ requeued: [...during.requeued].sort(), failed: during.failed }).toEqual({
      requeued: ids(rest),
      failed: [],
    });
    expect(await claimRow(finishing.leaseToken)).toEqual({ due: true });

    await clock.advance(1_000);
    expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
    expect(await claimRow(finishing.leaseToken)).toBeUndefined();
    const done = await store.jobGet({ id: finishing.id });
    expect(done).toMatchObject({ state: 'completed', result: 1 });
    expect(await lapsedRuns(finishing.id)).toBe(0);
    for (const job of rest) expect(await lapsedRuns(job.id)).toBe(1);
    expect(await keyRunning('finishing-key')).toBe(0);
    expect(await keyRunning('rest-key')).toBe(0);
  });
  it('keeps the claim due while a job not yet lapsed is skipped, then follows its lease end', async () => {
    const lapsing = newJob({ queue: 'not-lapsed' });
    const living = newJob({ queue: 'not-lapsed', leaseMs: 3_600_000 });
    await store.jobInsertMany({ jobs: [lapsing, living] });
    const claimed = await store.jobClaim({ workerId: 'w', queues: ['not-lapsed'], limit: 2, leaseMs: 1_000 });
    const token = claimed[0]?.leaseToken ?? '';
    await clock.advance(2_000);

    await holder.query('BEGIN');
    try {
      // The living job's worker holds its row (a renewal, a fenced write): the rescue cannot read its
      // lease end now, so the claim stays due for the next pass to read it.
      await holder.query(`SELECT 1 FROM "${schema}".jobs WHERE id = $1 FOR SHARE`, [living.id]);
      expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [lapsing.id], failed: [] });
      await clock.advance(1);
      expect(await claimRow(token)).toEqual({ due: true });
    } finally {
      await holder.query('ROLLBACK');
    }

    expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
    const { rows } = await withAdmin((admin) =>
      admin.query<{ expires_at: Date }>(`SELECT expires_at FROM "${schema}".job_leases WHERE token = $1`, [
        token,
      ]),
    );
    expect(rows[0]?.expires_at).toEqual((await store.jobGet({ id: living.id }))?.leaseExpiresAt);
    await store.jobFinishMany({ finishes: [{ id: living.id, leaseToken: token, outcome: 'completed' }] });
  });
});
