/**
 * `npm run bench`: every scenario for every system in one run on this machine, printed as tables with
 * nightshift/peer ratios and recorded in bench/results/latest.json (kept out of git: figures belong to
 * the machine that made them). Systems run one after another, never concurrently, so none competes
 * with another for the 2 cores; rounds interleave the systems so a slow spell of the machine is spread
 * over all of them instead of landing on one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aggregate } from './aggregate.js';
import { formatApiBench, runApiBench } from './api.js';
import { parseOptions, USAGE } from './options.js';
import type { BenchOptions } from './options.js';
import { buildRecord, formatRecord } from './report.js';
import type { SystemResult } from './report.js';
import {
  destroyOpenSessions,
  measureEnqueue,
  measureLatency,
  measureProcess,
  SCENARIOS,
} from './scenarios.js';
import type { Measurement, ScenarioName, ScenarioSizes } from './scenarios.js';
import type { BenchSystem } from './system.js';
import { SYSTEMS } from './systems/index.js';

/** Small enough to be quick, large enough to JIT the hot paths and fill connection pools. */
const WARMUP: Omit<ScenarioSizes, 'batchSize'> = { jobs: 1_000, latencySamples: 10 };

const MEASURES = { enqueue: measureEnqueue, process: measureProcess, latency: measureLatency } as const;

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** Runs every system through every round; a system that fails sits out the rest and reports why. */
async function runAll(systems: readonly BenchSystem[], options: BenchOptions): Promise<SystemResult[]> {
  const rounds = new Map<string, Map<ScenarioName, Measurement[]>>(systems.map((s) => [s.name, new Map()]));
  const errors = new Map<string, string>();
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const system of systems) {
      if (errors.has(system.name)) continue;
      try {
        if (round === 1 && options.warmup) {
          log(`${system.name}: warm-up`);
          const sizes = { ...WARMUP, batchSize: options.batchSize };
          for (const scenario of SCENARIOS) await MEASURES[scenario](system, sizes);
        }
        for (const scenario of SCENARIOS) {
          const m = await MEASURES[scenario](system, options);
          const list = rounds.get(system.name)?.get(scenario) ?? [];
          list.push(m);
          rounds.get(system.name)?.set(scenario, list);
          const latency = m.latencyMs
            ? `, p50 ${m.latencyMs.p50.toFixed(1)} ms, p95 ${m.latencyMs.p95.toFixed(1)} ms`
            : '';
          log(`round ${round} ${system.name}: ${scenario} ${m.jobsPerSecond.toFixed(0)} jobs/s${latency}`);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        errors.set(system.name, message);
        log(`${system.name}: FAILED: ${message}`);
      }
    }
  }
  return systems.map((system) => {
    const result: SystemResult = {
      name: system.name,
      isNightshift: system.isNightshift,
      settings: system.settings,
      measurements: {},
    };
    const error = errors.get(system.name);
    if (error !== undefined) {
      result.error = error;
      return result;
    }
    for (const [scenario, list] of rounds.get(system.name) ?? [])
      result.measurements[scenario] = aggregate(list);
    return result;
  });
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const unknown = options.only.filter((name) => !SYSTEMS.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown system(s): ${unknown.join(', ')}\n${USAGE}`);
    return 2;
  }
  const systems = SYSTEMS.filter((s) => options.only.length === 0 || options.only.includes(s.name));

  // Ctrl-C mid-run: drop the databases, files and Redis keys of the scenario in flight, then exit.
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void destroyOpenSessions().finally(() => process.exit(130));
  });
  const loadAtStart = os.loadavg()[0] ?? 0;
  const results = await runAll(systems, options);
  const record = buildRecord(options, results, loadAtStart);
  console.log(formatRecord(record));
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  log('wrote bench/results/latest.json');
  // The REST API's overhead per enqueue against the library's (bench/api.ts; alone: npm run bench:api).
  const api = await runApiBench(log);
  console.log(`\nPOST /api/v1/jobs against ns.enqueue\n${formatApiBench(api)}`);
  await writeFile(path.join(resultsDir, 'api.json'), `${JSON.stringify(api, null, 2)}\n`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}

process.exitCode = await main();
