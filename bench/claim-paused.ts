/**
 * Claim throughput with and without paused queues (`npm run bench:claim-paused`): a backlog of 20,000
 * jobs in queue `work` drained by claims of 100 through `store.jobClaim` on each backend, (a) with no
 * queue paused, (b) with an unrelated queue paused, (c) with a paused queue holding 20,000 jobs that
 * sort ahead of `work` (higher priority): the case the claim from all queues walks past (see the
 * paused-queue notes in src/store/postgres/sql/job-claim.ts). Figures in docs/BENCHMARKS.md.
 *
 * Beside the rate, the CPU per claimed job, steadier than the rate on a shared machine: this process's
 * for SQLite, the bench database's server processes' (Linux /proc) for PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { openStore } from '../src/store/open.js';
import type { NewJob, Store } from '../src/store/store.js';
import { createDatabase } from './postgres-database.js';
import { processCpuUs, serverCpuUs } from './server-cpu.js';

const BACKLOG = Number(process.env['NIGHTSHIFT_BENCH_CLAIM_JOBS'] ?? 20_000);

function job(queue: string, priority: number): NewJob {
  return {
    id: uuidv7(),
    task: 'noop',
    queue,
    payload: null,
    priority,
    runAt: null,
    delayMs: null,
    maxAttempts: 3,
    idempotencyKey: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    requires: null,
    group: null,
    leaseMs: null,
    timeoutMs: null,
    scheduleId: null,
    scheduleSlot: null,
    parentId: null,
  };
}

async function fill(store: Store, queue: string, priority: number): Promise<void> {
  for (let done = 0; done < BACKLOG; done += 1_000) {
    await store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => job(queue, priority)) });
  }
}

/** Claims (from all queues) until `work` is drained: jobs per second, CPU µs per job. */
async function drain(store: Store, cpuUs: () => Promise<number>): Promise<{ rate: number; cpu: number }> {
  // One claim first, so the pool's connections exist when the server's CPU is first read.
  let claimed = (await store.jobClaim({ workerId: 'bench', limit: 100, leaseMs: 60_000 })).length;
  const cpuBefore = await cpuUs();
  const started = performance.now();
  const counted = claimed;
  while (claimed < BACKLOG) {
    const batch = await store.jobClaim({ workerId: 'bench', limit: 100, leaseMs: 60_000 });
    if (batch.length === 0) throw new Error(`drained ${claimed} of ${BACKLOG}`);
    claimed += batch.length;
  }
  const seconds = (performance.now() - started) / 1_000;
  const cpu = ((await cpuUs()) - cpuBefore) / (claimed - counted);
  return { rate: (claimed - counted) / seconds, cpu };
}

async function measure(
  backend: 'sqlite' | 'postgres',
  variant: 'none' | 'other' | 'ahead',
): Promise<{ rate: number; cpu: number }> {
  let url: string;
  let drop: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-claim-bench-'));
    url = `sqlite:${path.join(dir, 'bench.db')}`;
    drop = () => rm(dir, { recursive: true, force: true });
  } else {
    ({ url, drop } = await createDatabase('claim_paused'));
  }
  const store = await openStore(url);
  try {
    await store.migrate();
    await fill(store, 'work', 0);
    if (variant === 'other') await store.queuePause({ queue: 'elsewhere' });
    if (variant === 'ahead') {
      await fill(store, 'held', 5);
      await store.queuePause({ queue: 'held' });
    }
    return await drain(
      store,
      backend === 'sqlite' ? () => Promise.resolve(processCpuUs()) : () => serverCpuUs(url),
    );
  } finally {
    await store.close();
    await drop();
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  for (const variant of ['none', 'other', 'ahead'] as const) {
    if (variant !== 'none' && process.env['NIGHTSHIFT_BENCH_CLAIM_BASELINE']) continue;
    const { rate, cpu } = await measure(backend, variant);
    const whose = backend === 'sqlite' ? 'this process' : 'server';
    console.log(
      `${backend} paused=${variant}: ${rate.toFixed(0)} claimed jobs/s, ${cpu.toFixed(1)} µs CPU (${whose}) ` +
        `per job (batches of 100, ${BACKLOG} jobs)`,
    );
  }
}
