/**
 * Fair claiming's cost and effect on both backends (`npm run bench:claim-groups`, docs/TENANCY.md):
 * - throughput: 100,000 jobs drained by one claimer, claims of 100 through `store.jobClaim`, each batch
 *   completed in one `jobFinishMany`: without groups (off), over 1,000 groups (100 jobs each), over
 *   100,000 groups (one job each) and in one group. The variants run in turns, REPEAT times each; the
 *   median rate of each is printed with its ratio to off, and the median CPU per job (this process's,
 *   plus the bench database's server processes' on PostgreSQL), steadier than the rate on a shared
 *   machine, with the rate it allows as a ratio to off.
 * - B's wait: group A's 100,000 queued jobs, then group B's 100, drained by claims of 10 until all of
 *   B's started: the claim round each of B's jobs started in and the time since B's enqueue, p50 and
 *   p99, with groups and with the same jobs ungrouped.
 * Environment: NIGHTSHIFT_BENCH_GROUP_JOBS (100,000), NIGHTSHIFT_BENCH_GROUP_BACKLOG (100,000),
 * NIGHTSHIFT_BENCH_GROUP_REPEAT (3), NIGHTSHIFT_BENCH_GROUP_BACKENDS (sqlite,postgres).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { openStore } from '../src/store/open.js';
import type { NewJob, Store } from '../src/store/store.js';
import { createDatabase } from './postgres-database.js';
import { processCpuUs, serverCpuUs } from './server-cpu.js';
import { median, percentile } from './stats.js';

type Backend = 'sqlite' | 'postgres';

const JOBS = Number(process.env['NIGHTSHIFT_BENCH_GROUP_JOBS'] ?? 100_000);
const BACKLOG = Number(process.env['NIGHTSHIFT_BENCH_GROUP_BACKLOG'] ?? 100_000);
const REPEAT = Number(process.env['NIGHTSHIFT_BENCH_GROUP_REPEAT'] ?? 3);
const BACKENDS = (process.env['NIGHTSHIFT_BENCH_GROUP_BACKENDS'] ?? 'sqlite,postgres').split(
  ',',
) as Backend[];

const VARIANTS: Record<string, (i: number) => string | null> = {
  off: () => null,
  '1,000 groups': (i) => `g${i % 1_000}`,
  '100,000 groups': (i) => `g${i % 100_000}`,
  'one group': () => 'one',
};

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
    requires: null,
    group,
    leaseMs: null,
    timeoutMs: null,
    scheduleId: null,
    scheduleSlot: null,
    parentId: null,
  };
}

async function withStore<T>(
  backend: Backend,
  run: (store: Store, cpuUs: () => Promise<number>) => Promise<T>,
): Promise<T> {
  let url: string;
  let drop: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-groups-'));
    url = `sqlite:${path.join(dir, 'bench.db')}`;
    drop = () => rm(dir, { recursive: true, force: true });
  } else {
    ({ url, drop } = await createDatabase('claim_groups'));
  }
  const store = await openStore(url);
  const cpuUs = async (): Promise<number> =>
    processCpuUs() + (backend === 'postgres' ? await serverCpuUs(url) : 0);
  try {
    await store.migrate();
    return await run(store, cpuUs);
  } finally {
    await store.close();
    await drop();
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

interface Throughput {
  rate: number;
  cpuUs: number;
}

/** Claims of 100, each batch completed: jobs per second and CPU µs per job. */
async function throughput(backend: Backend, groupOf: (i: number) => string | null): Promise<Throughput> {
  return withStore(backend, async (store, cpuUs) => {
    await insert(store, JOBS, groupOf);
    const cpuBefore = await cpuUs();
    const started = performance.now();
    let done = 0;
    while (done < JOBS) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: 100, leaseMs: 600_000 });
      if (batch.length === 0) throw new Error(`drained ${done} of ${JOBS}`);
      await store.jobFinishMany({
        finishes: batch.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
      });
      done += batch.length;
    }
    const rate = JOBS / ((performance.now() - started) / 1_000);
    return { rate, cpuUs: ((await cpuUs()) - cpuBefore) / JOBS };
  });
}

/** Claim rounds of 10 until all of B's 100 jobs started: each one's round and ms since B's enqueue. */
async function waitOfB(backend: Backend, grouped: boolean): Promise<{ rounds: number[]; ms: number[] }> {
  return withStore(backend, async (store) => {
    await insert(store, BACKLOG, () => (grouped ? 'A' : null));
    const b = new Set(await insert(store, 100, () => (grouped ? 'B' : null)));
    const enqueued = performance.now();
    const rounds: number[] = [];
    const ms: number[] = [];
    for (let round = 1; rounds.length < 100; round += 1) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: 10, leaseMs: 600_000 });
      if (batch.length === 0) throw new Error(`B's jobs never started: ${rounds.length} of 100`);
      for (const j of batch) {
        if (!b.has(j.id)) continue;
        rounds.push(round);
        ms.push(performance.now() - enqueued);
      }
    }
    return { rounds, ms };
  });
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

for (const backend of BACKENDS) {
  const runs = new Map<string, Throughput[]>(Object.keys(VARIANTS).map((name) => [name, []]));
  for (let run = 0; run < REPEAT; run += 1) {
    for (const [name, groupOf] of Object.entries(VARIANTS)) {
      runs.get(name)?.push(await throughput(backend, groupOf));
    }
  }
  const offRate = median((runs.get('off') ?? []).map((r) => r.rate));
  const offCpu = median((runs.get('off') ?? []).map((r) => r.cpuUs));
  for (const [name, values] of runs) {
    const rate = median(values.map((r) => r.rate));
    const cpu = median(values.map((r) => r.cpuUs));
    console.log(
      `${backend} ${name}: ${rate.toFixed(0)} jobs/s (${values.map((r) => r.rate.toFixed(0)).join(', ')}), ` +
        `${(rate / offRate).toFixed(2)} of off; CPU ${cpu.toFixed(1)} µs/job ` +
        `(${values.map((r) => r.cpuUs.toFixed(1)).join(', ')}), jobs per CPU second ${(offCpu / cpu).toFixed(2)} of off`,
    );
  }
  for (const grouped of [true, false]) {
    const { rounds, ms } = await waitOfB(backend, grouped);
    const r = sorted(rounds);
    const t = sorted(ms);
    console.log(
      `${backend} B's wait ${grouped ? 'with groups' : 'without groups'}: p50 ${percentile(r, 50)} / p99 ` +
        `${percentile(r, 99)} claim rounds of 10, p50 ${percentile(t, 50).toFixed(0)} / p99 ` +
        `${percentile(t, 99).toFixed(0)} ms (behind ${BACKLOG} of A's jobs)`,
    );
  }
}
