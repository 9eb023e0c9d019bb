/**
 * The three measurements, written once against `BenchSession`. Each scenario opens its own session so
 * no system inherits rows, bloat or warm caches from a previous scenario, and destroys it afterwards.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarize } from './stats.js';
import type { LatencySummary } from './stats.js';
import type { BenchSession, BenchSystem } from './system.js';

/** Mean pause between arrivals in the latency scenario: 20 jobs/s, a load every system handles idle. */
export const LATENCY_MEAN_GAP_MS = 50;

/** Names of the scenarios, in the order they run and print. */
export const SCENARIOS = ['enqueue', 'process', 'latency'] as const;

/** A scenario's name. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** What one scenario measured for one system. */
export interface Measurement {
  scenario: ScenarioName;
  /** Jobs per second; for `latency`, the offered arrival rate achieved, which is not a capacity figure. */
  jobsPerSecond: number;
  /** Enqueue-to-start latency, for `latency` only. */
  latencyMs?: LatencySummary;
  /** The raw latency samples behind `latencyMs`, so rounds can be pooled. */
  samplesMs?: number[];
  jobs: number;
  elapsedMs: number;
}

/** Sizes for one run. */
export interface ScenarioSizes {
  jobs: number;
  batchSize: number;
  latencySamples: number;
}

/** Sessions open right now, so an interrupted run can still drop their databases and keys. */
const openSessions = new Set<BenchSession>();

/** Destroys every session still open (on SIGINT); errors are reported, not thrown. */
export async function destroyOpenSessions(): Promise<void> {
  const sessions = [...openSessions];
  openSessions.clear();
  const outcomes = await Promise.allSettled(sessions.map((session) => session.destroy()));
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') console.error('cleanup failed:', outcome.reason);
  }
}

async function withSession<T>(system: BenchSystem, work: (session: BenchSession) => Promise<T>): Promise<T> {
  const session = await system.open();
  openSessions.add(session);
  try {
    return await work(session);
  } finally {
    if (openSessions.delete(session)) await session.destroy();
  }
}

/** (1) Time to insert `jobs` jobs with the bulk API; nothing is consuming them. */
export function measureEnqueue(system: BenchSystem, sizes: ScenarioSizes): Promise<Measurement> {
  return withSession(system, async (session) => {
    const started = performance.now();
    await session.enqueueBulk(sizes.jobs, sizes.batchSize);
    const elapsedMs = performance.now() - started;
    return {
      scenario: 'enqueue',
      jobs: sizes.jobs,
      elapsedMs,
      jobsPerSecond: (sizes.jobs / elapsedMs) * 1000,
    };
  });
}

/** (2) Time from starting one worker on `jobs` ready no-op jobs until the system reports all of them finished. */
export function measureProcess(system: BenchSystem, sizes: ScenarioSizes): Promise<Measurement> {
  return withSession(system, async (session) => {
    await session.enqueueBulk(sizes.jobs, sizes.batchSize);
    let started = 0;
    const begin = performance.now();
    await session.startWorker(() => {
      started += 1;
    });
    await session.waitCompleted(sizes.jobs);
    const elapsedMs = performance.now() - begin;
    await session.stopWorker();
    // A system that ran a job twice, or skipped one, would make its rate meaningless.
    if (started !== sizes.jobs)
      throw new Error(`${system.name} started ${started} jobs for ${sizes.jobs} enqueued`);
    return {
      scenario: 'process',
      jobs: sizes.jobs,
      elapsedMs,
      jobsPerSecond: (sizes.jobs / elapsedMs) * 1000,
    };
  });
}

/**
 * (3) Enqueue-to-start latency at low load: jobs arrive one at a time at random (exponential) intervals
 * averaging `LATENCY_MEAN_GAP_MS`, from a producer in the same process as the worker, whether or not
 * the previous job started (an open loop). Random arrivals keep a polling system from falling into, or
 * out of, phase with the producer, so its figure reflects its polling interval fairly.
 */
export function measureLatency(system: BenchSystem, sizes: ScenarioSizes): Promise<Measurement> {
  return withSession(system, async (session) => {
    const enqueuedAt = new Map<number, number>();
    const samples: number[] = [];
    let allStarted!: () => void;
    const done = new Promise<void>((resolve) => (allStarted = resolve));
    await session.startWorker((payload) => {
      // The handler may run before `enqueueOne` resolves, so the enqueue time is taken before the call.
      const at = enqueuedAt.get(payload.seq);
      if (at === undefined) return;
      samples.push(performance.now() - at);
      enqueuedAt.delete(payload.seq);
      if (samples.length === sizes.latencySamples) allStarted();
    });
    const begin = performance.now();
    for (let seq = 0; seq < sizes.latencySamples; seq += 1) {
      await sleep(Math.min(-Math.log(1 - Math.random()) * LATENCY_MEAN_GAP_MS, LATENCY_MEAN_GAP_MS * 5));
      enqueuedAt.set(seq, performance.now());
      await session.enqueueOne({ seq });
    }
    await withTimeout(done, 30_000, `${sizes.latencySamples} jobs of ${system.name} to start`);
    const elapsedMs = performance.now() - begin;
    await session.stopWorker();
    return {
      scenario: 'latency',
      jobs: sizes.latencySamples,
      elapsedMs,
      jobsPerSecond: (sizes.latencySamples / elapsedMs) * 1000,
      latencyMs: summarize(samples),
      samplesMs: samples,
    };
  });
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}
