/**
 * Turns measurements into the printed tables, the nightshift/peer ratios, and the JSON record.
 * Ratios are literally nightshift divided by peer: for throughput above 1 favours nightshift, for
 * latency below 1 does.
 */
import os from 'node:os';
import type { BenchOptions } from './options.js';
import type { Aggregate } from './aggregate.js';
import { SCENARIOS } from './scenarios.js';
import type { ScenarioName } from './scenarios.js';

/** Everything one system produced in a run. */
export interface SystemResult {
  name: string;
  isNightshift: boolean;
  settings: string;
  measurements: Partial<Record<ScenarioName, Aggregate>>;
  /** Set when the system failed a scenario; it sits out the remaining scenarios and rounds. */
  error?: string;
}

/** One nightshift-versus-peer comparison in one scenario. */
export interface Ratio {
  scenario: ScenarioName;
  nightshift: string;
  peer: string;
  /** nightshift jobs/s over peer jobs/s (enqueue, process), or nightshift p50 over peer p50 (latency). */
  value: number;
  /** For latency: nightshift p95 over peer p95. */
  p95?: number;
}

/** The JSON written to bench/results/latest.json. */
export interface BenchRecord {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  /** 1-minute load average before and after the run: how much else the machine was doing. */
  loadAverage: { start: number; end: number };
  options: BenchOptions;
  results: SystemResult[];
  ratios: Ratio[];
}

const SCENARIO_TITLES: Record<ScenarioName, string> = {
  enqueue: 'bulk enqueue',
  process: 'process ready no-op jobs, one worker process',
  latency: 'enqueue-to-start latency, one job at a time',
};

/** Every nightshift/peer ratio the results allow. */
export function computeRatios(results: SystemResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const scenario of SCENARIOS) {
    for (const ours of results.filter((r) => r.isNightshift)) {
      const mine = ours.measurements[scenario];
      if (mine === undefined) continue;
      for (const peer of results.filter((r) => !r.isNightshift)) {
        const theirs = peer.measurements[scenario];
        if (theirs === undefined) continue;
        if (scenario === 'latency' && mine.latencyMs && theirs.latencyMs) {
          ratios.push({
            scenario,
            nightshift: ours.name,
            peer: peer.name,
            value: mine.latencyMs.p50 / theirs.latencyMs.p50,
            p95: mine.latencyMs.p95 / theirs.latencyMs.p95,
          });
        } else if (scenario !== 'latency') {
          ratios.push({
            scenario,
            nightshift: ours.name,
            peer: peer.name,
            value: mine.jobsPerSecond / theirs.jobsPerSecond,
          });
        }
      }
    }
  }
  return ratios;
}

/** Builds the JSON record of a run. */
export function buildRecord(
  options: BenchOptions,
  results: SystemResult[],
  loadAtStart: number,
): BenchRecord {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? 0 },
    options,
    results,
    ratios: computeRatios(results),
  };
}

/** The human-readable report: machine, settings, one table per scenario, ratios. */
export function formatRecord(record: BenchRecord): string {
  const { machine, options } = record;
  const lines: string[] = [
    `nightshift benchmark, ${record.date}`,
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}`,
    `load average (1 min): ${record.loadAverage.start.toFixed(1)} at start, ${record.loadAverage.end.toFixed(1)} at end`,
    `sizes: ${options.rounds} rounds of ${options.jobs} jobs per throughput scenario and ${options.latencySamples} latency ` +
      `samples; ${options.batchSize} jobs per enqueue call; warm-up ${options.warmup ? 'on' : 'off'}`,
    'throughput is the median round (range in brackets); latency percentiles pool all rounds',
    '',
    'settings:',
    ...record.results.map((r) => `  ${r.name}: ${r.settings}`),
  ];
  for (const scenario of SCENARIOS) {
    lines.push('', `${SCENARIO_TITLES[scenario]}:`);
    const rows: string[][] = [['system', 'jobs/s', 'range', 'p50 ms', 'p95 ms', 'p99 ms']];
    for (const result of record.results) {
      const m = result.measurements[scenario];
      if (m === undefined) {
        rows.push([result.name, result.error === undefined ? 'not run' : 'failed', '', '', '', '']);
        continue;
      }
      rows.push([
        result.name,
        m.jobsPerSecond.toFixed(0),
        `(${Math.min(...m.jobsPerSecondByRound).toFixed(0)}..${Math.max(...m.jobsPerSecondByRound).toFixed(0)})`,
        m.latencyMs ? m.latencyMs.p50.toFixed(1) : '-',
        m.latencyMs ? m.latencyMs.p95.toFixed(1) : '-',
        m.latencyMs ? m.latencyMs.p99.toFixed(1) : '-',
      ]);
    }
    lines.push(...table(rows));
  }
  lines.push(
    '',
    'ratios nightshift/peer (throughput: above 1 favours nightshift; latency: p50, p95 in brackets, below 1 favours nightshift):',
  );
  const ratioRows: string[][] = [['scenario', 'nightshift', 'peer', 'ratio']];
  for (const ratio of record.ratios) {
    const p95 = ratio.p95 === undefined ? '' : ` (${formatRatio(ratio.p95)})`;
    ratioRows.push([ratio.scenario, ratio.nightshift, ratio.peer, `${formatRatio(ratio.value)}${p95}`]);
  }
  lines.push(...table(ratioRows));
  const failures = record.results.filter((r) => r.error !== undefined);
  if (failures.length > 0) {
    lines.push('', 'failures:', ...failures.map((r) => `  ${r.name}: ${r.error ?? ''}`));
  }
  return lines.join('\n');
}

/** Two decimals, or two significant digits for ratios below 0.1 so they never print as 0.00x. */
function formatRatio(value: number): string {
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, col) => (col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
  );
}
