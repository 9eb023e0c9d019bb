/**
 * Where the CPU of the `process` scenario goes, per system: Node's own CPU (this process, every thread)
 * and PostgreSQL's (every server process, from /proc) per job drained, beside the drain rate. Both
 * share one machine's cores, so a system's rate follows the sum.
 *
 *   npm run bench:cpu -- [--only a,b] [--jobs N] [--rounds N] [--concurrency N]
 *
 * Linux only (/proc). SQLite and Redis systems show their store's work under Node or not at all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { processCpuMs } from './server-cost.js';
import { payloads } from './system.js';
import type { WorkerProfile } from './system.js';
import { SYSTEMS } from './systems/index.js';
import { waitUntil } from './wait.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '100' },
  },
});
/** Recommended settings at the concurrency asked (100: the burst scenario's c100 rows). */
const PROFILE: WorkerProfile = { mode: 'recommended', concurrency: Number(values.concurrency) };
const jobs = Number(values.jobs);
const rounds = Number(values.rounds);
const only = values.only?.split(',');
const systems = SYSTEMS.filter((s) => (only ? only.includes(s.name) : s.name !== 'bullmq'));

/** CPU time of every process named postgres*, in ms (server-cost.ts `processCpuMs`). */
function postgresCpuMs(): number {
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
    } catch {
      continue; // The process ended between the listing and the read.
    }
    ms += processCpuMs(Number(pid)) ?? 0;
  }
  return ms;
}

for (const system of systems) {
  for (let round = 0; round <= rounds; round += 1) {
    const session = await system.open();
    try {
      // Round 0 is a warm-up of 1,000 jobs, as in `npm run bench`.
      const count = round === 0 ? 1_000 : jobs;
      for (let start = 0; start < count; start += 1_000)
        await session.enqueueBulk(payloads(start, Math.min(1_000, count - start)));
      const cpu = process.cpuUsage();
      const server = postgresCpuMs();
      const started = performance.now();
      await session.startWorker(PROFILE, () => undefined);
      await waitUntil(`${count} jobs finished`, async () => (await session.completed()) >= count, {
        intervalMs: 10,
      });
      const wallMs = performance.now() - started;
      const node = process.cpuUsage(cpu);
      const serverMs = postgresCpuMs() - server;
      await session.stopWorker();
      if (round === 0) continue;
      const perJob = (ms: number): string => ((ms * 1000) / count).toFixed(1).padStart(6);
      console.log(
        `${system.name.padEnd(20)} ${Math.round((count / wallMs) * 1000)
          .toString()
          .padStart(7)} jobs/s  Node ${perJob((node.user + node.system) / 1000)} µs/job  ` +
          `PostgreSQL ${perJob(serverMs)} µs/job`,
      );
    } finally {
      await session.destroy();
    }
  }
}
