/**
 * Producer and worker in different OS processes, at low load: the worker (recommended settings,
 * concurrency 10) runs in its own process; the benchmark's process enqueues `--samples` jobs one at a
 * time at random (exponential) intervals averaging 50 ms, about 20 jobs/s. Random arrivals keep a
 * polling system from falling into, or out of, phase with the producer, so its figure reflects its
 * polling interval fairly. On SQLite this is where a worker must learn of another process's insert.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { REFERENCE_PEER } from '../systems/index.js';
import { failure, formatMs, formatRatio, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { withSession } from '../session.js';
import { summarize } from '../stats.js';
import type { LatencySummary } from '../stats.js';
import { nowMs } from '../system.js';
import type { BenchSystem, WorkerProfile } from '../system.js';
import { startWorkerFor } from '../worker-child.js';

const PROFILE: WorkerProfile = { mode: 'recommended', concurrency: 10 };
const MEAN_GAP_MS = 50;
const START_TIMEOUT_MS = 30_000;

function measure(system: BenchSystem, samples: number): Promise<LatencySummary> {
  return withSession(system, async (session) => {
    const worker = await startWorkerFor(system, session, PROFILE);
    try {
      for (let seq = 0; seq < samples; seq += 1) {
        await sleep(Math.min(-Math.log(1 - Math.random()) * MEAN_GAP_MS, MEAN_GAP_MS * 5));
        await session.enqueueOne({ seq, at: nowMs() });
      }
      await worker.waitStarted(samples, START_TIMEOUT_MS);
    } finally {
      await worker.stop();
    }
    return summarize(worker.latenciesMs);
  });
}

/** Columns of the table; the last is each row's settings. */
const HEADER = ['system', 'p50', 'p95', 'p99', 'max', 'p50 vs', 'settings'];

export const crossProcessScenario: Scenario = {
  name: 'cross-process',
  inDefaultRun: true,
  async run({ systems, options, log }) {
    const results = new Map<string, LatencySummary | string>();
    for (const system of systems) {
      try {
        const m = await measure(system, options.samples);
        results.set(system.name, m);
        log(`cross-process ${system.name}: p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms`);
      } catch (error) {
        results.set(system.name, failure(error));
        log(`cross-process ${system.name}: ${failure(error)}`);
      }
    }
    const reference = results.get(REFERENCE_PEER);
    const rows = systems.map((system) => {
      const m = results.get(system.name);
      const settings = system.settings(PROFILE);
      if (m === undefined || typeof m === 'string')
        return messageRow([system.name], m ?? 'not run', HEADER.length, settings);
      const peer = typeof reference === 'object' && system.name !== REFERENCE_PEER ? reference : undefined;
      return [
        system.name,
        formatMs(m.p50),
        formatMs(m.p95),
        formatMs(m.p99),
        formatMs(m.max),
        peer ? formatRatio(m.p50 / peer.p50) : '',
        settings,
      ];
    });
    const section: Section = {
      title: 'enqueue-to-start latency, producer and worker in separate processes, ~20 jobs/s',
      notes: [
        `${options.samples} jobs, one at a time at random intervals averaging ${MEAN_GAP_MS} ms; worker at concurrency 10 in its own process`,
        `ms; vs: p50 over ${REFERENCE_PEER}'s (below 1 favours the row)`,
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
