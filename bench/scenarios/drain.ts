/**
 * One timed drain, shared by the burst scenario: a fresh instance holding `jobs` ready no-op jobs, one
 * worker started in this process, and the clock running until the system itself reports every job
 * finished, or until the cap, after which the rate is taken over what finished by then.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { meterPostgres } from '../server-cost.js';
import type { ServerCostMeter } from '../server-cost.js';
import { withSession } from '../session.js';
import { payloads } from '../system.js';
import type { BenchSystem, WorkerProfile } from '../system.js';

/** What one drain measured. */
export interface DrainResult {
  jobs: number;
  finished: number;
  jobsPerSecond: number;
  /** PostgreSQL CPU per finished job, µs; undefined off PostgreSQL. */
  serverCpuUsPerJob?: number;
}

/** How often the finished count is read: often enough to time a drain of a second within 1%. */
const POLL_MS = 10;

/** Drains `jobs` jobs with `profile`; throws if a system started a job twice or skipped one. */
export function timeDrain(
  system: BenchSystem,
  profile: WorkerProfile,
  jobs: number,
  batchSize: number,
  capSeconds: number,
): Promise<DrainResult> {
  return withSession(system, async (session) => {
    for (let start = 0; start < jobs; start += batchSize)
      await session.enqueueBulk(payloads(start, Math.min(batchSize, jobs - start)));
    let started = 0;
    const meter: ServerCostMeter | undefined =
      session.database === undefined ? undefined : await meterPostgres(session.database);
    const begin = performance.now();
    const deadline = begin + capSeconds * 1000;
    await session.startWorker(profile, () => {
      started += 1;
    });
    // Some systems answer `completed()` with a query on the instance's database, whose CPU the meter
    // would charge to them: ask only once every job has started, or at the cap.
    let finished = 0;
    while (finished < jobs && performance.now() < deadline) {
      await sleep(POLL_MS);
      if (started >= jobs) finished = await session.completed();
    }
    if (finished < jobs) finished = await session.completed();
    const elapsedMs = performance.now() - begin;
    const cost = await meter?.stop();
    await session.stopWorker();
    // A system that ran a job twice, or skipped one, would make its rate meaningless.
    if (finished === jobs && started !== jobs)
      throw new Error(`${system.name} started ${started} jobs for ${jobs} enqueued`);
    return {
      jobs,
      finished,
      jobsPerSecond: (finished / elapsedMs) * 1000,
      ...(cost !== undefined && finished > 0 && { serverCpuUsPerJob: (cost.cpuMs * 1000) / finished }),
    };
  });
}
