/**
 * A big backlog (`--backlog-jobs`, 1,000,000 by default): enqueued in bulk first, then drained by a
 * worker in its own process at concurrency 100 with recommended settings, which reports its RSS after
 * 20,000 jobs started and after the last, and its heap in use after a full collection at both. Long
 * (minutes per system), so it runs only when named: `--scenario backlog`. Without `--only` it runs nightshift's two backends and graphile-worker.
 */
import { performance } from 'node:perf_hooks';
import { failure, formatCount, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { withSession } from '../session.js';
import { payloads } from '../system.js';
import type { BenchSystem, WorkerProfile } from '../system.js';
import { startWorkerFor } from '../worker-child.js';

const PROFILE: WorkerProfile = { mode: 'recommended', concurrency: 100 };
const EARLY = 20_000;
const ENQUEUE_BATCH = 5_000;
const DEFAULT_SYSTEMS = ['nightshift-postgres', 'nightshift-sqlite', 'graphile-worker'];
const DRAIN_TIMEOUT_MS = 3 * 60 * 60 * 1000;

interface BacklogResult {
  earlyRss: number;
  lastRss: number;
  earlyHeap: number;
  lastHeap: number;
  jobsPerSecond: number;
}

function measure(system: BenchSystem, jobs: number, log: (line: string) => void): Promise<BacklogResult> {
  return withSession(system, async (session) => {
    for (let start = 0; start < jobs; start += ENQUEUE_BATCH) {
      await session.enqueueBulk(payloads(start, Math.min(ENQUEUE_BATCH, jobs - start)));
      if ((start / ENQUEUE_BATCH) % 40 === 0) log(`backlog ${system.name}: enqueued ${formatCount(start)}`);
    }
    const begin = performance.now();
    const worker = await startWorkerFor(system, session, PROFILE, [Math.min(EARLY, jobs), jobs]);
    try {
      await worker.waitStarted(jobs, DRAIN_TIMEOUT_MS);
      const elapsedMs = performance.now() - begin;
      await worker.stop();
      const early = worker.rss[0];
      const last = worker.rss[worker.rss.length - 1];
      if (early === undefined || last === undefined) throw new Error('the worker reported no RSS');
      return {
        earlyRss: early.rssBytes,
        lastRss: last.rssBytes,
        earlyHeap: early.heapBytes,
        lastHeap: last.heapBytes,
        jobsPerSecond: (jobs / elapsedMs) * 1000,
      };
    } finally {
      await worker.stop();
    }
  });
}

/** Columns of the table; the last is each row's settings. */
const HEADER = [
  'system',
  `RSS @${formatCount(EARLY)}`,
  'RSS @all',
  'growth',
  `heap @${formatCount(EARLY)}`,
  'heap @all',
  'drain jobs/s',
  'settings',
];

export const backlogScenario: Scenario = {
  name: 'backlog',
  inDefaultRun: false,
  async run({ systems, options, log }) {
    const chosen =
      options.only.length > 0 ? systems : systems.filter((s) => DEFAULT_SYSTEMS.includes(s.name));
    const mib = (bytes: number, digits = 0): string => (bytes / 2 ** 20).toFixed(digits);
    const rows: string[][] = [];
    for (const system of chosen) {
      try {
        const r = await measure(system, options.backlogJobs, log);
        rows.push([
          system.name,
          mib(r.earlyRss),
          mib(r.lastRss),
          `${(((r.lastRss - r.earlyRss) / r.earlyRss) * 100).toFixed(0)}%`,
          mib(r.earlyHeap, 1),
          mib(r.lastHeap, 1),
          formatCount(r.jobsPerSecond),
          system.settings(PROFILE),
        ]);
        log(
          `backlog ${system.name}: RSS ${mib(r.earlyRss)} -> ${mib(r.lastRss)} MiB, heap ${mib(r.earlyHeap, 1)} -> ${mib(r.lastHeap, 1)} MiB`,
        );
      } catch (error) {
        rows.push(messageRow([system.name], failure(error), HEADER.length, system.settings(PROFILE)));
      }
    }
    const section: Section = {
      title: `backlog of ${formatCount(options.backlogJobs)} jobs, worker in its own process at concurrency 100`,
      notes: [
        `RSS of the worker process after ${formatCount(EARLY)} jobs started and after the last, MiB; drain rate from the worker process's start (its boot included)`,
        'heap: V8 heap in use right after, following a full garbage collection (what the worker still holds), MiB',
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
