/**
 * The per-job cost of `isolation: 'thread'`: one worker drains N ready no-op jobs, with the handler in
 * the worker's own thread and then in handler threads, each on a fresh database; prints jobs/s of
 * each and the difference per job. A first `concurrency` jobs (higher priority, so claimed first)
 * warm the worker up and start its threads; the rate is measured over the N after them, and the
 * warm-up's time is printed apart: it is what a worker's first isolated jobs wait for their threads.
 * Runs the compiled package (`npm run build` first), as users do: from sources every thread would
 * load tsx.
 *
 *   node --import tsx bench/isolation-cost.ts [--db sqlite|postgres] [--jobs N] [--concurrency C] [--rounds R]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Nightshift, createLogger, type Isolation } from '../dist/index.js';
import { createDatabase } from './postgres-database.js';
import { waitUntil } from './wait.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    jobs: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const NOOP_MODULE = new URL('./fixtures/noop-task.mjs', import.meta.url);

async function database(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (values.db === 'postgres') return createDatabase('isolation');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-isolation-bench-'));
  return {
    url: `sqlite:${path.join(dir, 'jobs.db')}`,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

interface Drain {
  jobsPerSecond: number;
  warmUpMs: number;
}

/** Drains `jobs` no-op jobs with the handler isolated as `isolation` says, after a warm-up. */
async function drain(isolation: Isolation): Promise<Drain> {
  const { url, drop } = await database();
  const ns = await Nightshift.connect({
    db: url,
    logger: createLogger({ level: 'silent' }),
    tasks: { noop: { isolation, module: NOOP_MODULE, export: 'noop', handler: () => null } },
  });
  try {
    await ns.enqueueMany(
      Array.from({ length: concurrency }, () => ({ task: 'noop', payload: null, priority: 1 })),
    );
    for (let start = 0; start < jobs; start += 1_000) {
      const size = Math.min(1_000, jobs - start);
      await ns.enqueueMany(Array.from({ length: size }, () => ({ task: 'noop', payload: null })));
    }
    let completed = 0;
    ns.events.on('job:completed', () => (completed += 1));
    const started = performance.now();
    const worker = ns.startWorker({ concurrency, claimBatchMax: 100 });
    await waitUntil('the warm-up jobs completed', () => completed >= concurrency, { intervalMs: 1 });
    const warm = performance.now();
    const warmCompleted = completed;
    await waitUntil(`${jobs} jobs completed`, () => completed >= jobs + concurrency, { intervalMs: 1 });
    const elapsedMs = performance.now() - warm;
    await worker.stop();
    return {
      jobsPerSecond: ((jobs + concurrency - warmCompleted) / elapsedMs) * 1_000,
      warmUpMs: warm - started,
    };
  } finally {
    await ns.close();
    await drop();
  }
}

const runs: Record<'none' | 'thread', Drain[]> = { none: [], thread: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const mode of ['none', 'thread'] as const) runs[mode].push(await drain(mode));
}
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
const show = (list: number[]): string => list.map((value) => value.toFixed(0)).join(', ');
const rate = (mode: 'none' | 'thread'): number => median(runs[mode].map((run) => run.jobsPerSecond));
console.log(`${values.db}, ${jobs} no-op jobs, concurrency ${concurrency}, median of ${rounds} rounds`);
for (const [mode, label] of [
  ['none', "in the worker's thread"],
  ['thread', 'in handler threads'],
] as const) {
  const rates = runs[mode].map((run) => run.jobsPerSecond);
  const warmUps = runs[mode].map((run) => run.warmUpMs);
  console.log(`  ${label}: ${rate(mode).toFixed(0)} jobs/s (${show(rates)}); warm-up ${show(warmUps)} ms`);
}
console.log(`  added per job: ${(1e6 / rate('thread') - 1e6 / rate('none')).toFixed(0)} µs of wall time`);
