/**
 * Steady load: a producer in the benchmark's process offers jobs at a fixed rate for `--duration`
 * seconds, open loop (it never waits for earlier calls, as independent requests would not), to a
 * worker in its own process at concurrency 10 with the system's recommended settings. Two producers:
 * `single`, one single-job call per job; `bulk`, one bulk call per 10 ms tick with the jobs due.
 * Enqueue-to-start latency comes from the worker process (now minus the payload's stamp). After the
 * offering ends the worker gets `--cap` seconds to start what was enqueued; jobs still waiting then
 * count with the time they had waited (a lower bound), and a percentile that lands on one is marked
 * with `>=`. PostgreSQL CPU per job covers the offering and the drain.
 *
 * Latency is reported in two parts, by when a job was enqueued: the first `--startup` seconds, when
 * the worker process and the producer have only just started (connections being opened, code not yet
 * optimized), and the rest, the steady state. One figure over both would be set by the start-up alone
 * (the first second's jobs are ~3% of a 30 s run, more than the 1% a p99 leaves out).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { meterPostgres, meterRedis } from '../server-cost.js';
import type { ServerCost } from '../server-cost.js';
import { REFERENCE_PEER } from '../systems/index.js';
import { failure, formatCount, formatMs, formatRatio, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { withSession } from '../session.js';
import { percentile } from '../stats.js';
import { nowMs } from '../system.js';
import type { BenchPayload, BenchSession, BenchSystem, WorkerProfile } from '../system.js';
import { startWorkerFor } from '../worker-child.js';

const PROFILE: WorkerProfile = { mode: 'recommended', concurrency: 10 };
const TICK_MS = 10;
const PRODUCERS = ['single', 'bulk'] as const;
type Producer = (typeof PRODUCERS)[number];

/** Enqueue-to-start latencies of the jobs enqueued in one part of the offering. */
interface Window {
  samples: number[];
  /** How long each job not started when the drain was given up had waited by then. */
  censored: number[];
}

/** Percentiles of a window, printed; `>=` marks one that lands on a job never started. */
interface Latency {
  p50: string;
  p95: string;
  p99: string;
  p99Ms: number;
}

interface SteadyResult {
  enqueuedPerSecond: number;
  errors: number;
  firstError?: string;
  started: number;
  enqueued: number;
  /** The jobs enqueued after the start-up. */
  steady: Latency;
  /** The jobs enqueued in the first `--startup` seconds; absent with `--startup 0`. */
  startup?: Latency;
  serverCpuUsPerJob?: number;
}

function summarize(window: Window): Latency {
  const firstCensored = Math.min(...window.censored);
  const all = [...window.samples, ...window.censored].sort((a, b) => a - b);
  const show = (p: number): string => {
    if (all.length === 0) return '-';
    const value = percentile(all, p);
    return `${window.censored.length > 0 && value >= firstCensored ? '>=' : ''}${formatMs(value)}`;
  };
  return {
    p50: show(50),
    p95: show(95),
    p99: show(99),
    p99Ms: all.length === 0 ? Number.NaN : percentile(all, 99),
  };
}

/** Offers `rate` jobs/s for `seconds`; resolves with the stamps of the jobs enqueued successfully. */
async function offer(
  session: BenchSession,
  producer: Producer,
  rate: number,
  seconds: number,
): Promise<{
  stamps: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
  beganAtMs: number;
}> {
  const stamps: number[] = [];
  const calls: Array<Promise<void>> = [];
  let errors = 0;
  let firstError: string | undefined;
  let sent = 0;
  const send = (items: BenchPayload[], call: Promise<void>): void => {
    calls.push(
      call.then(
        () => {
          for (const item of items) stamps.push(item.at);
        },
        (error: unknown) => {
          errors += items.length;
          firstError ??= failure(error);
        },
      ),
    );
  };
  const beganAtMs = nowMs();
  const begin = performance.now();
  const end = begin + seconds * 1000;
  for (let now = begin; now < end; now = performance.now()) {
    const due = Math.floor(((now - begin) * rate) / 1000) - sent;
    if (due > 0) {
      const at = nowMs();
      const items = Array.from({ length: due }, (_, i) => ({ seq: sent + i, at }));
      sent += due;
      if (producer === 'bulk') send(items, session.enqueueBulk(items));
      else for (const item of items) send([item], session.enqueueOne(item));
    }
    await sleep(TICK_MS);
  }
  await Promise.all(calls);
  return {
    stamps,
    errors,
    ...(firstError !== undefined && { firstError }),
    elapsedMs: performance.now() - begin,
    beganAtMs,
  };
}

async function measure(
  system: BenchSystem,
  producer: Producer,
  rate: number,
  seconds: number,
  startupSeconds: number,
  capSeconds: number,
): Promise<SteadyResult> {
  return withSession(system, async (session) => {
    const worker = await startWorkerFor(system, session, PROFILE);
    let cost: ServerCost | undefined;
    let offered: Awaited<ReturnType<typeof offer>>;
    try {
      const meter =
        session.database !== undefined
          ? await meterPostgres(session.database)
          : system.store === 'redis'
            ? await meterRedis()
            : undefined;
      offered = await offer(session, producer, rate, seconds);
      await worker.waitStarted(offered.stamps.length, capSeconds * 1000).catch(() => undefined);
      cost = await meter?.stop();
    } finally {
      await worker.stop();
    }
    const drainedAt = nowMs();
    const startupEndsAt = offered.beganAtMs + startupSeconds * 1000;
    const startup: Window = { samples: [], censored: [] };
    const rest: Window = { samples: [], censored: [] };
    const { latenciesMs, enqueuedAtMs } = worker;
    for (let i = 0; i < latenciesMs.length; i += 1) {
      const window = (enqueuedAtMs[i] as number) < startupEndsAt ? startup : rest;
      window.samples.push(latenciesMs[i] as number);
    }
    // Jobs never started wait longest: they are the last enqueued, FIFO being every system's order here.
    const sortedStamps = [...offered.stamps].sort((a, b) => a - b);
    for (const at of sortedStamps.slice(latenciesMs.length)) {
      (at < startupEndsAt ? startup : rest).censored.push(drainedAt - at);
    }
    return {
      enqueuedPerSecond: (offered.stamps.length / offered.elapsedMs) * 1000,
      errors: offered.errors,
      ...(offered.firstError !== undefined && { firstError: offered.firstError }),
      started: latenciesMs.length,
      enqueued: offered.stamps.length,
      steady: summarize(rest),
      ...(startupSeconds > 0 && { startup: summarize(startup) }),
      ...(cost !== undefined &&
        system.store === 'postgres' &&
        latenciesMs.length > 0 && {
          serverCpuUsPerJob: (cost.cpuMs * 1000) / latenciesMs.length,
        }),
    };
  });
}

/** Columns of the table; the last is each row's settings. */
const HEADER = [
  'system',
  'producer',
  'offered/s',
  'enqueued/s',
  'errors',
  'started',
  'p50',
  'p95',
  'p99',
  'p99 vs',
  'start-up p99',
  'vs',
  'PG CPU µs/job',
  'vs',
  'settings',
];

export const steadyScenario: Scenario = {
  name: 'steady',
  inDefaultRun: true,
  async run({ systems, options, log }) {
    const rows: string[][] = [];
    for (const rate of options.rates) {
      for (const producer of PRODUCERS) {
        const results = new Map<string, SteadyResult | string>();
        for (const system of systems) {
          try {
            const r = await measure(
              system,
              producer,
              rate,
              options.durationSeconds,
              options.startupSeconds,
              options.capSeconds,
            );
            results.set(system.name, r);
            log(
              `steady ${rate}/s ${producer} ${system.name}: enqueued ${r.enqueuedPerSecond.toFixed(0)}/s, ` +
                `${r.errors} errors, p50 ${r.steady.p50} p99 ${r.steady.p99} ms, start-up p99 ${r.startup?.p99 ?? '-'} ms`,
            );
          } catch (error) {
            results.set(system.name, failure(error));
            log(`steady ${rate}/s ${producer} ${system.name}: ${failure(error)}`);
          }
        }
        const reference = results.get(REFERENCE_PEER);
        for (const system of systems) {
          const r = results.get(system.name);
          const settings = system.settings(PROFILE);
          if (r === undefined || typeof r === 'string') {
            const lead = [system.name, producer, formatCount(rate)];
            rows.push(messageRow(lead, r ?? 'not run', HEADER.length, settings));
            continue;
          }
          const peer =
            typeof reference === 'object' && system.name !== REFERENCE_PEER ? reference : undefined;
          rows.push([
            system.name,
            producer,
            formatCount(rate),
            formatCount(r.enqueuedPerSecond),
            r.errors === 0 ? '0' : `${r.errors} (${r.firstError ?? ''})`,
            `${formatCount(r.started)}/${formatCount(r.enqueued)}`,
            r.steady.p50,
            r.steady.p95,
            r.steady.p99,
            peer ? formatRatio(r.steady.p99Ms / peer.steady.p99Ms) : '',
            r.startup?.p99 ?? '-',
            peer?.startup !== undefined && r.startup !== undefined
              ? formatRatio(r.startup.p99Ms / peer.startup.p99Ms)
              : '',
            r.serverCpuUsPerJob === undefined ? '-' : r.serverCpuUsPerJob.toFixed(0),
            peer?.serverCpuUsPerJob !== undefined && r.serverCpuUsPerJob !== undefined
              ? formatRatio(r.serverCpuUsPerJob / peer.serverCpuUsPerJob)
              : '',
            settings,
          ]);
        }
      }
    }
    const section: Section = {
      title: `steady load: offered rate for ${options.durationSeconds} s, worker in its own process at concurrency 10`,
      notes: [
        'single: one single-job call per job, open loop; bulk: one bulk call every 10 ms with the jobs due',
        'enqueued/s: jobs enqueued without error over the time until the last enqueue call settled',
        `latency: enqueue call to handler start, ms; '>=': jobs not started ${options.capSeconds} s after the offering ended count with what they had waited`,
        options.startupSeconds > 0
          ? `p50/p95/p99: jobs enqueued after the first ${options.startupSeconds} s; start-up p99: jobs enqueued in the first ${options.startupSeconds} s, the worker and producer just started`
          : 'p50/p95/p99: every job (--startup 0)',
        `vs: ratio to ${REFERENCE_PEER} in the same row (below 1 favours the row); PG CPU: server CPU of the database's backends per started job, µs`,
      ],
      header: HEADER,
      rows,
    };
    return [section];
  },
};
