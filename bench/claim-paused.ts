/**
 * Claim throughput with and without paused queues (`npm run bench:claim-paused`): a backlog of 20,000
 * jobs in queue `work` drained by claims of 100 through `store.jobClaim` on each backend, (a) with no
 * queue paused, (b) with an unrelated queue paused, (c) with a paused queue holding 20,000 jobs that
 * sort ahead of `work` (higher priority): the case the claim from all queues walks past (see the
 * paused-queue notes in src/store/postgres/sql/job-claim.ts). Figures in docs/BENCHMARKS.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { openStore } from '../src/store/open.js';
import type { NewJob, Store } from '../src/store/store.js';
import { createDatabase } from './postgres-database.js';

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

/** Claims (from all queues) until `work` is drained; jobs per second. */
async function drain(store: Store): Promise<number> {
  const started = performance.now();
  let claimed = 0;
  while (claimed < BACKLOG) {
    const batch = await store.jobClaim({ workerId: 'bench', limit: 100, leaseMs: 60_000 });
    if (batch.length === 0) throw new Error(`drained ${claimed} of ${BACKLOG}`);
    claimed += batch.length;
  }
  return claimed / ((performance.now() - started) / 1_000);
}

async function measure(backend: 'sqlite' | 'postgres', variant: 'none' | 'other' | 'ahead'): Promise<number> {
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
    return await drain(store);
  } finally {
    await store.close();
    await drop();
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  for (const variant of ['none', 'other', 'ahead'] as const) {
    if (variant !== 'none' && process.env['NIGHTSHIFT_BENCH_CLAIM_BASELINE']) continue;
    const rate = await measure(backend, variant);
    console.log(
      `${backend} paused=${variant}: ${rate.toFixed(0)} claimed jobs/s (batches of 100, ${BACKLOG} jobs)`,
    );
  }
}
