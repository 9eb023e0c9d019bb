/**
 * Enqueueing with no worker running, each round on a fresh instance: (a) bulk, `--jobs` jobs through
 * the system's bulk API, `--batch` per call, one call at a time; (b) single calls, `--callers`
 * concurrent callers each calling the single-job API as soon as its previous call settled, for
 * `--call-seconds`; rejected calls are counted, not retried. Medians of the rounds; ratios to
 * graphile-worker's medians in the same run.
 */
import { performance } from 'node:perf_hooks';
import { REFERENCE_PEER } from '../systems/index.js';
import { failure, formatCount, formatRatio, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { withSession } from '../session.js';
import { median } from '../stats.js';
import { nowMs, payloads } from '../system.js';
import type { BenchSystem } from '../system.js';

interface EnqueueRound {
  bulkPerSecond: number;
  singlePerSecond: number;
  errors: number;
  firstError?: string;
}

async function measure(
  system: BenchSystem,
  jobs: number,
  batchSize: number,
  callers: number,
  seconds: number,
): Promise<EnqueueRound> {
  const bulkPerSecond = await withSession(system, async (session) => {
    const started = performance.now();
    for (let start = 0; start < jobs; start += batchSize)
      await session.enqueueBulk(payloads(start, Math.min(batchSize, jobs - start)));
    return (jobs / (performance.now() - started)) * 1000;
  });
  return withSession(system, async (session) => {
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    let seq = 0;
    const started = performance.now();
    const end = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < end) {
          try {
            await session.enqueueOne({ seq: seq++, at: nowMs() });
            ok += 1;
          } catch (error) {
            errors += 1;
            firstError ??= failure(error);
          }
        }
      }),
    );
    const singlePerSecond = (ok / (performance.now() - started)) * 1000;
    return { bulkPerSecond, singlePerSecond, errors, ...(firstError !== undefined && { firstError }) };
  });
}

/** Columns of the table; the last is each row's settings. */
const HEADER = ['system', 'bulk jobs/s', 'vs', 'single jobs/s', 'vs', 'single errors', 'producer settings'];

export const enqueueScenario: Scenario = {
  name: 'enqueue',
  inDefaultRun: true,
  async run({ systems, options, log }) {
    const rounds = new Map<string, EnqueueRound[]>();
    const errors = new Map<string, string>();
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const system of systems) {
        if (errors.has(system.name)) continue;
        try {
          const m = await measure(
            system,
            options.jobs,
            options.batchSize,
            options.callers,
            options.callSeconds,
          );
          rounds.set(system.name, [...(rounds.get(system.name) ?? []), m]);
          log(
            `enqueue round ${round} ${system.name}: bulk ${m.bulkPerSecond.toFixed(0)}/s, ` +
              `single ${m.singlePerSecond.toFixed(0)}/s, ${m.errors} errors`,
          );
        } catch (error) {
          errors.set(system.name, failure(error));
          log(`enqueue ${system.name}: ${failure(error)}`);
        }
      }
    }
    const medians = (name: string) => {
      const list = rounds.get(name);
      if (list === undefined) return undefined;
      return {
        bulk: median(list.map((m) => m.bulkPerSecond)),
        single: median(list.map((m) => m.singlePerSecond)),
        errors: list.reduce((sum, m) => sum + m.errors, 0),
        firstError: list.find((m) => m.firstError !== undefined)?.firstError,
      };
    };
    const reference = medians(REFERENCE_PEER);
    const rows = systems.map((system) => {
      const m = medians(system.name);
      if (m === undefined)
        return messageRow(
          [system.name],
          errors.get(system.name) ?? 'not run',
          HEADER.length,
          system.producerSettings,
        );
      const vs = (mine: number, theirs: number | undefined): string =>
        theirs === undefined || system.name === REFERENCE_PEER ? '' : formatRatio(mine / theirs);
      return [
        system.name,
        formatCount(m.bulk),
        vs(m.bulk, reference?.bulk),
        formatCount(m.single),
        vs(m.single, reference?.single),
        m.errors === 0 ? '0' : `${m.errors} (${m.firstError ?? ''})`,
        system.producerSettings,
      ];
    });
    const section: Section = {
      title: 'enqueue, no worker running',
      notes: [
        `bulk: ${formatCount(options.jobs)} jobs, ${formatCount(options.batchSize)} per call, one call at a time`,
        `single: ${options.callers} concurrent callers, one job per call, for ${options.callSeconds} s; errors summed over rounds`,
        `median of ${options.rounds} rounds; ratios to ${REFERENCE_PEER}'s medians in the same run`,
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
