/**
 * The cost of stored job log lines: one worker drains N ready jobs whose handler writes two `ctx.log`
 * lines, and N whose handler writes none, each on a fresh database, in alternating rounds; prints
 * jobs/s of each and the difference per job. Runs the compiled package (`npm run build` first).
 *
 *   node --import tsx bench/job-logs-cost.ts [--db sqlite|postgres] [--jobs N] [--concurrency C] [--rounds R]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Nightshift, createLogger } from '../dist/index.js';
import { createDatabase } from './postgres-database.js';
import { waitUntil } from './wait.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

async function database(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (values.db === 'postgres') return createDatabase('job_logs');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-job-logs-bench-'));
  return {
    url: `sqlite:${path.join(dir, 'jobs.db')}`,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

type Mode = 'silent' | 'logs';

/** Drains `jobs` jobs; with `logs`, each handler writes two lines. Returns jobs per second. */
async function drain(mode: Mode): Promise<number> {
  const { url, drop } = await database();
  const ns = await Nightshift.connect({
    db: url,
    // The logger itself is silent in both modes: what is measured is storing the lines.
    logger: createLogger({ level: 'silent' }),
    tasks: {
      work: (payload: { n: number }, ctx) => {
        if (mode === 'logs') {
          ctx.log('fetched', { n: payload.n });
          ctx.log('done');
        }
        return null;
      },
    },
  });
  try {
    for (let start = 0; start < jobs; start += 1_000) {
      const size = Math.min(1_000, jobs - start);
      await ns.enqueueMany(
        Array.from({ length: size }, (_, i) => ({ task: 'work', payload: { n: start + i } })),
      );
    }
    let completed = 0;
    ns.events.on('job:completed', () => (completed += 1));
    const started = performance.now();
    const worker = ns.startWorker({ concurrency, claimBatchMax: 100 });
    await waitUntil(`${jobs} jobs completed`, () => completed >= jobs, { intervalMs: 1 });
    const elapsedMs = performance.now() - started;
    await worker.stop();
    return (jobs / elapsedMs) * 1_000;
  } finally {
    await ns.close();
    await drop();
  }
}

const runs: Record<Mode, number[]> = { silent: [], logs: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const mode of ['silent', 'logs'] as const) runs[mode].push(await drain(mode));
}
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
const show = (list: number[]): string => list.map((value) => value.toFixed(0)).join(', ');
console.log(`${values.db}, ${jobs} jobs, concurrency ${concurrency}, median of ${rounds} rounds`);
console.log(`  no ctx.log:         ${median(runs.silent).toFixed(0)} jobs/s (${show(runs.silent)})`);
console.log(`  2 ctx.log lines:    ${median(runs.logs).toFixed(0)} jobs/s (${show(runs.logs)})`);
console.log(
  `  added per job: ${(1e6 / median(runs.logs) - 1e6 / median(runs.silent)).toFixed(0)} µs of wall time`,
);
