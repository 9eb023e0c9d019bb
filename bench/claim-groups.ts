/**
 * Fair claiming's cost and effect on SQLite (`npm run bench:claim-groups`, docs/TENANCY.md):
 * - throughput: 20,000 jobs drained by claims of 100, each batch completed in one finish, without
 *   groups, over 1,000 groups, and in one group;
 * - B's wait: group A's 100,000 queued jobs, then B's 100, drained by claims of 10 until all of B's
 *   started; the claim rounds each of B's jobs waited, with groups and with the same jobs ungrouped.
 * PostgreSQL refuses grouped jobs so far.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { openStore } from '../src/store/open.js';
import type { NewJob, Store } from '../src/store/store.js';
import { percentile } from './stats.js';

const JOBS = Number(process.env['NIGHTSHIFT_BENCH_GROUP_JOBS'] ?? 20_000);
const BACKLOG = Number(process.env['NIGHTSHIFT_BENCH_GROUP_BACKLOG'] ?? 100_000);

function job(group: string | null): NewJob {
  return {
    id: uuidv7(),
    task: 'noop',
    queue: 'work',
    payload: null,
    priority: 0,
    runAt: null,
    delayMs: null,
    maxAttempts: 3,
    idempotencyKey: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    group,
    leaseMs: null,
    timeoutMs: null,
    scheduleId: null,
    scheduleSlot: null,
    parentId: null,
  };
}

async function withStore<T>(run: (store: Store) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-groups-'));
  const store = await openStore(`sqlite:${path.join(dir, 'bench.db')}`);
  await store.migrate();
  try {
    return await run(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function insert(store: Store, count: number, groupOf: (i: number) => string | null): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += 1_000) {
    const jobs = Array.from({ length: Math.min(1_000, count - done) }, (_, i) => job(groupOf(done + i)));
    ids.push(...jobs.map((j) => j.id));
    await store.jobInsertMany({ jobs });
  }
  return ids;
}

/** Claims of 100, each batch completed: jobs per second. */
async function throughput(groupOf: (i: number) => string | null): Promise<number> {
  return withStore(async (store) => {
    await insert(store, JOBS, groupOf);
    const started = performance.now();
    let done = 0;
    while (done < JOBS) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: 100, leaseMs: 60_000 });
      if (batch.length === 0) throw new Error(`drained ${done} of ${JOBS}`);
      await store.jobFinishMany({
        finishes: batch.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
      });
      done += batch.length;
    }
    return JOBS / ((performance.now() - started) / 1_000);
  });
}

/** Claim rounds of 10 until all of B's 100 jobs started: the round each of them started in. */
async function waitOfB(grouped: boolean): Promise<number[]> {
  return withStore(async (store) => {
    await insert(store, BACKLOG, () => (grouped ? 'A' : null));
    const b = new Set(await insert(store, 100, () => (grouped ? 'B' : null)));
    const rounds: number[] = [];
    for (let round = 1; rounds.length < 100; round += 1) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: 10, leaseMs: 60_000 });
      for (const j of batch) if (b.has(j.id)) rounds.push(round);
    }
    return rounds;
  });
}

const line = (label: string, value: number): void => console.log(`${label.padEnd(34)} ${value.toFixed(0)}`);
line('jobs/s, no groups', await throughput(() => null));
line('jobs/s, 1,000 groups', await throughput((i) => `g${i % 1_000}`));
line('jobs/s, one group', await throughput(() => 'one'));
for (const grouped of [true, false]) {
  const rounds = await waitOfB(grouped);
  const label = grouped ? 'with groups' : 'without groups';
  line(`B's wait p50 (claim rounds), ${label}`, percentile(rounds, 50));
  line(`B's wait p99 (claim rounds), ${label}`, percentile(rounds, 99));
}
