/**
 * Folds the rounds of one scenario for one system into the figure the report prints. On a shared
 * 2-core machine a single run can land on a burst of someone else's load, so throughput is the median
 * round (one bad round cannot move it) and latency pools every round's samples before taking
 * percentiles.
 */
import type { Measurement, ScenarioName } from './scenarios.js';
import { percentile, summarize } from './stats.js';
import type { LatencySummary } from './stats.js';

/** One system's result for one scenario across all rounds. */
export interface Aggregate {
  scenario: ScenarioName;
  /** Jobs per round. */
  jobs: number;
  /** Median over rounds of jobs per second. */
  jobsPerSecond: number;
  /** Every round's jobs per second, in run order. */
  jobsPerSecondByRound: number[];
  /** For `latency`: percentiles over the pooled samples of all rounds. */
  latencyMs?: LatencySummary;
}

/** Combines the rounds (at least one) of one scenario. */
export function aggregate(rounds: readonly Measurement[]): Aggregate {
  const first = rounds[0];
  if (first === undefined) throw new Error('aggregate of no rounds');
  const rates = rounds.map((m) => m.jobsPerSecond);
  const samples = rounds.flatMap((m) => m.samplesMs ?? []);
  return {
    scenario: first.scenario,
    jobs: first.jobs,
    jobsPerSecond: percentile(
      [...rates].sort((a, b) => a - b),
      50,
    ),
    jobsPerSecondByRound: rates,
    ...(samples.length > 0 && { latencyMs: summarize(samples) }),
  };
}
