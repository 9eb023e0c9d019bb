/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';
import type { ScenarioSizes } from './scenarios.js';

/** What one run measures. */
export interface BenchOptions extends ScenarioSizes {
  /** Times every system runs every scenario, interleaved with the other systems. */
  rounds: number;
  /** System names to run; empty means all. */
  only: string[];
  warmup: boolean;
}

/** Usage text printed by `--help` and on a bad flag. */
export const USAGE = `usage: npm run bench -- [--jobs N] [--samples N] [--rounds N] [--batch N] [--only a,b] [--no-warmup]
  --jobs N      jobs per throughput scenario and round (default 20000)
  --samples N   jobs in the latency scenario per round (default 100)
  --rounds N    rounds; throughput reports the median round, latency pools all rounds (default 3)
  --batch N     jobs per bulk-enqueue call, the same for every system (default 1000)
  --only a,b    run only these systems (nightshift-postgres, nightshift-pgbouncer, nightshift-sqlite, graphile-worker, pg-boss, bullmq)
  --no-warmup   skip the small untimed round each system runs first`;

/** Parses `argv` (without node and script); throws with a message on bad input. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: 'string' },
      samples: { type: 'string' },
      rounds: { type: 'string' },
      batch: { type: 'string' },
      only: { type: 'string' },
      'no-warmup': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  return {
    jobs: positiveInt('--jobs', values.jobs, 20_000),
    latencySamples: positiveInt('--samples', values.samples, 100),
    rounds: positiveInt('--rounds', values.rounds, 3),
    batchSize: positiveInt('--batch', values.batch, 1_000),
    only:
      values.only === undefined
        ? []
        : values.only
            .split(',')
            .map((name) => name.trim())
            .filter(Boolean),
    warmup: values['no-warmup'] !== true,
  };
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${flag} must be a positive integer, got ${raw}`);
  return value;
}
