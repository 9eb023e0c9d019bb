/**
 * Burst drain: one worker on a pre-filled backlog of ready no-op jobs, at each `--concurrency` with
 * every system's recommended settings, and once more with every system as installed (its own default
 * concurrency). Rounds interleave the systems so a slow spell of the shared machine is spread over
 * all of them; each figure is the median round, and its ratio is to graphile-worker's median in the
 * same run and row. Each timed drain follows an untimed one of the same system and settings.
 */
import { REFERENCE_PEER } from '../systems/index.js';
import { failure, formatCount, formatRatio, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { median } from '../stats.js';
import type { WorkerProfile } from '../system.js';
import { timeDrain } from './drain.js';
import type { DrainResult } from './drain.js';

/**
 * An untimed drain before every timed one, with the same settings: small enough to be quick, large
 * enough to compile the hot paths again. The systems share this process, and V8 drops the compiled
 * code of functions left unused through several collections, so without it a system timed right after
 * a long drain of another (graphile-worker's defaults row takes ~12 s) paid for compiling its code again
 * inside its timing: a worker that runs for hours never does. Measured (2026-12-06, one run each):
 * nightshift's c10 rows, timed after that drain, made 0.67x (PostgreSQL) and 0.85x (SQLite) of its
 * defaults rows' rate, which use the same settings; with a warm-up of 500 jobs before each, 1.05x and
 * 0.96x in one run but 0.81x and 0.80x in the next; with 2,000, 0.92x and 1.02x.
 */
const WARMUP_JOBS = 2_000;
const WARMUP_CAP_SECONDS = 3;

function profileLabel(profile: WorkerProfile): string {
  return profile.mode === 'defaults' ? 'defaults' : `c${profile.concurrency}`;
}

/** Columns of the table; the last is each row's settings. */
const HEADER = [
  'system',
  'worker',
  'jobs/s',
  'range',
  `vs ${REFERENCE_PEER}`,
  'PG CPU µs/job',
  'note',
  'settings',
];

export const processScenario: Scenario = {
  name: 'process',
  inDefaultRun: true,
  async run({ systems, options, log }) {
    const profiles: WorkerProfile[] = [
      ...options.concurrencies.map((concurrency) => ({ mode: 'recommended' as const, concurrency })),
      { mode: 'defaults', concurrency: 0 },
    ];
    const results = new Map<string, DrainResult[]>();
    const errors = new Map<string, string>();
    const key = (system: string, profile: WorkerProfile): string => `${system} ${profileLabel(profile)}`;
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const profile of profiles) {
        for (const system of systems) {
          const k = key(system.name, profile);
          if (errors.has(system.name) || errors.has(k)) continue;
          try {
            await timeDrain(system, profile, WARMUP_JOBS, options.batchSize, WARMUP_CAP_SECONDS);
            const result = await timeDrain(
              system,
              profile,
              options.jobs,
              options.batchSize,
              options.capSeconds,
            );
            results.set(k, [...(results.get(k) ?? []), result]);
            log(
              `process round ${round} ${k}: ${result.jobsPerSecond.toFixed(0)} jobs/s (${result.finished}/${result.jobs})`,
            );
          } catch (error) {
            errors.set(k, failure(error));
            log(`process ${k}: ${failure(error)}`);
          }
        }
      }
    }
    const rows: string[][] = [];
    for (const profile of profiles) {
      const reference = results.get(key(REFERENCE_PEER, profile));
      const referenceRate = reference ? median(reference.map((r) => r.jobsPerSecond)) : undefined;
      for (const system of systems) {
        const k = key(system.name, profile);
        const list = results.get(k);
        const settings = system.settings(profile);
        if (list === undefined || list.length === 0) {
          const why = errors.get(k) ?? errors.get(system.name) ?? 'not run';
          rows.push(messageRow([system.name, profileLabel(profile)], why, HEADER.length, settings));
          continue;
        }
        const rates = list.map((r) => r.jobsPerSecond);
        const rate = median(rates);
        const cpu = list.flatMap((r) => (r.serverCpuUsPerJob === undefined ? [] : [r.serverCpuUsPerJob]));
        const capped = list.filter((r) => r.finished < r.jobs).length;
        rows.push([
          system.name,
          profileLabel(profile),
          formatCount(rate),
          `${formatCount(Math.min(...rates))}..${formatCount(Math.max(...rates))}`,
          referenceRate === undefined || system.name === REFERENCE_PEER
            ? ''
            : formatRatio(rate / referenceRate),
          cpu.length > 0 ? median(cpu).toFixed(0) : '-',
          capped > 0 ? `capped ${capped}/${list.length}` : '',
          settings,
        ]);
      }
    }
    const section: Section = {
      title: `burst drain: ${formatCount(options.jobs)} ready no-op jobs, one worker in the benchmark's process`,
      notes: [
        `median of ${options.rounds} rounds (range); ratio: jobs/s over ${REFERENCE_PEER}'s in the same row kind and run`,
        `c<N>: each system's recommended settings at concurrency N; defaults: each system as installed`,
        `PG CPU: server CPU of the instance's database backends per finished job, µs (median)`,
        `capped: rounds stopped at --cap ${options.capSeconds} s, rate taken over the jobs finished by then`,
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
