/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';

/** What one run measures, and how much of it. */
export interface BenchOptions {
  /** Scenario names to run; empty means every scenario of the default run. */
  scenarios: string[];
  /** System names to run; empty means the default set. */
  only: string[];
  quick: boolean;
  /** Rounds of `process` and `enqueue`; they report the median round. */
  rounds: number;
  /** Jobs per burst drain and per bulk-enqueue measurement. */
  jobs: number;
  /** Jobs per bulk-enqueue call, the same for every system. */
  batchSize: number;
  /** Worker concurrencies of the burst drain. */
  concurrencies: number[];
  /** Longest a drain may take before its rate is taken over the jobs finished so far, seconds. */
  capSeconds: number;
  /** Offered rates of the steady-load scenario, jobs/s. */
  rates: number[];
  /** Seconds each steady load is offered. */
  durationSeconds: number;
  /** The first seconds of each steady load, whose jobs' latencies are reported apart as its start-up. */
  startupSeconds: number;
  /** Concurrent callers and seconds of the single-call enqueue measurement. */
  callers: number;
  callSeconds: number;
  /** Jobs the cross-process producer sends, one at a time. */
  samples: number;
  /** Seconds an idle worker is watched. */
  idleSeconds: number;
  /** Jobs of the backlog scenario. */
  backlogJobs: number;
  /** Jobs per drain of the tenancy scenario, and group A's backlog in its fairness measurement. */
  tenancyJobs: number;
  /** Rounds of the tenancy scenario's drains; the median round is reported. */
  tenancyRounds: number;
}

/** Usage text printed by `--help` and on a bad flag. */
export const USAGE = `usage: npm run bench -- [--quick] [--scenario a,b] [--only a,b] [flags]
  --quick            short settings (in brackets below): a few minutes in all
  --scenario a,b     run only these: process, enqueue, steady, cross-process, idle, backlog, api,
                     tenancy (default: all but backlog and tenancy, which are long and run only when
                     named: --scenario backlog, --scenario tenancy)
  --only a,b         systems: nightshift-postgres, nightshift-pgbouncer, nightshift-sqlite,
                     graphile-worker, pg-boss, bullmq (default: all; --quick leaves out nightshift-pgbouncer)
  --rounds N         rounds of process and enqueue, median reported (3 [3])
  --jobs N           jobs per burst drain and bulk-enqueue round (20000 [5000])
  --batch N          jobs per bulk-enqueue call (1000)
  --concurrency a,b  worker concurrencies of the burst drain (10,100)
  --cap S            longest drain before its rate is taken over what finished (60 [5])
  --rates a,b        offered jobs/s of the steady load (1000,2000,5000 [2000])
  --duration S       seconds each steady load is offered (30 [3])
  --startup S        its first seconds, reported apart from the rest as the start-up; 0 for
                     none (5 [1], at most a third of --duration)
  --callers N        concurrent single-call enqueuers (50)
  --call-seconds S   seconds of single-call enqueueing (10 [3])
  --samples N        jobs of the cross-process latency scenario (200 [50])
  --idle S           seconds an idle worker is watched (30 [5])
  --backlog-jobs N   jobs of the backlog scenario (1000000)
  --tenancy-jobs N   jobs per tenancy drain, and group A's backlog (100000 [20000])
  --tenancy-rounds N rounds of the tenancy drains, median reported (3 [1])`;

/** Parses `argv` (without node and script); throws with a message on bad input. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      scenario: { type: 'string' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      jobs: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      cap: { type: 'string' },
      rates: { type: 'string' },
      duration: { type: 'string' },
      startup: { type: 'string' },
      callers: { type: 'string' },
      'call-seconds': { type: 'string' },
      samples: { type: 'string' },
      idle: { type: 'string' },
      'backlog-jobs': { type: 'string' },
      'tenancy-jobs': { type: 'string' },
      'tenancy-rounds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const quick = values.quick === true;
  const pick = (full: number, short: number): number => (quick ? short : full);
  const durationSeconds = positiveInt('--duration', values.duration, pick(30, 3));
  const startupSeconds =
    values.startup === undefined
      ? Math.min(pick(5, 1), Math.floor(durationSeconds / 3))
      : nonNegativeInt('--startup', values.startup);
  if (startupSeconds >= durationSeconds) {
    throw new Error(`--startup (${startupSeconds}) must be shorter than --duration (${durationSeconds})`);
  }
  return {
    scenarios: list(values.scenario),
    only: list(values.only),
    quick,
    rounds: positiveInt('--rounds', values.rounds, 3),
    jobs: positiveInt('--jobs', values.jobs, pick(20_000, 5_000)),
    batchSize: positiveInt('--batch', values.batch, 1_000),
    concurrencies: intList('--concurrency', values.concurrency, [10, 100]),
    capSeconds: positiveInt('--cap', values.cap, pick(60, 5)),
    rates: intList('--rates', values.rates, quick ? [2_000] : [1_000, 2_000, 5_000]),
    durationSeconds,
    startupSeconds,
    callers: positiveInt('--callers', values.callers, 50),
    callSeconds: positiveInt('--call-seconds', values['call-seconds'], pick(10, 3)),
    samples: positiveInt('--samples', values.samples, pick(200, 50)),
    idleSeconds: positiveInt('--idle', values.idle, pick(30, 5)),
    backlogJobs: positiveInt('--backlog-jobs', values['backlog-jobs'], 1_000_000),
    tenancyJobs: positiveInt('--tenancy-jobs', values['tenancy-jobs'], pick(100_000, 20_000)),
    tenancyRounds: positiveInt('--tenancy-rounds', values['tenancy-rounds'], pick(3, 1)),
  };
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

function intList(flag: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  return list(raw).map((item) => positiveInt(flag, item, 0));
}

function nonNegativeInt(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < 0)
    throw new Error(`${flag} must be a whole number of seconds, got ${raw}`);
  return value;
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${flag} must be a positive integer, got ${raw}`);
  return value;
}
