/** Setup shared by the conformance tests: stores on a frozen clock and jobs claimed in one line. */
import { v7 as uuidv7 } from 'uuid';
import type { ClaimedJob, NewJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';

/** Opens a store whose clock stands at the current time until `h.advanceClock` moves it. */
export async function openFrozen(h: StoreHarness): Promise<Store> {
  const store = await h.open();
  await h.freezeClock(store, Date.now());
  return store;
}

/** The store's clock in ms. */
export async function nowMs(store: Store): Promise<number> {
  return (await store.now()).getTime();
}

/** Inserts one job and returns it as stored. */
export async function insertOne(store: Store, overrides: Partial<NewJob> = {}) {
  const [result] = await store.jobInsertMany({ jobs: [newJob(overrides)] });
  if (!result) throw new Error('insert returned no result');
  return result.job;
}

/**
 * Inserts a job on a queue of its own and claims it, so the test holds exactly that attempt whatever
 * else the store contains.
 */
export async function claimOne(
  store: Store,
  overrides: Partial<NewJob> = {},
  claim: { workerId?: string; leaseMs?: number } = {},
): Promise<ClaimedJob> {
  const queue = overrides.queue ?? `q-${uuidv7()}`;
  await insertOne(store, { ...overrides, queue });
  const [claimed] = await store.jobClaim({
    workerId: claim.workerId ?? 'worker-1',
    queues: [queue],
    limit: 1,
    leaseMs: claim.leaseMs ?? 30_000,
  });
  if (!claimed) throw new Error('claimOne: nothing claimed');
  return claimed;
}

/** Fetches a job that must exist. */
export async function mustGet(store: Store, id: string) {
  const job = await store.jobGet({ id });
  if (!job) throw new Error(`job ${id} not found`);
  return job;
}

/** Inserts a job allowed one attempt, claims it and fails it for good. */
export async function failOne(store: Store, overrides: Partial<NewJob> = {}): Promise<ClaimedJob> {
  const job = await claimOne(store, { maxAttempts: 1, ...overrides });
  await store.jobFinishMany({
    finishes: [
      {
        id: job.id,
        leaseToken: job.leaseToken,
        outcome: 'failed',
        error: { message: 'x', reason: 'failed' },
      },
    ],
  });
  return job;
}

/** Claims the job waiting on `queue` again (after a retry or a rescue), as `workerId`. */
export async function claimAgain(store: Store, queue: string, workerId: string): Promise<ClaimedJob> {
  const [claimed] = await store.jobClaim({ workerId, queues: [queue], limit: 1, leaseMs: 30_000 });
  if (!claimed) throw new Error(`claimAgain: nothing to claim on ${queue}`);
  return claimed;
}
