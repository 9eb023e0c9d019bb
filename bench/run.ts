/**
 * `npm run bench`: every scenario for every system in one run on this machine, printed as tables with
 * nightshift/peer ratios and recorded in bench/results/latest.json (kept out of git: figures belong to
 * the machine that made them). Systems run one after another, never concurrently, so on a 2-core
 * machine none of them competes with another for CPU.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE } from './options.js';
import type { BenchOptions } from './options.js';
import { buildRecord, formatRecord } from './report.js';
import type { SystemResult } from './report.js';
import { measureEnqueue, measureLatency, measureProcess } from './scenarios.js';
import type { ScenarioSizes } from './scenarios.js';
import type { BenchSystem } from './system.js';
import { SYSTEMS } from './systems/index.js';

/** Small enough to be quick, large enough to JIT the hot paths and fill connection pools. */
const WARMUP: Omit<ScenarioSizes, 'batchSize'> = { jobs: 1_000, latencySamples: 10 };

async function runSystem(system: BenchSystem, options: BenchOptions): Promise<SystemResult> {
  const result: SystemResult = { name: system.name, isNightshift: system.isNightshift, settings: system.settings, measurements: {} };
  try {
    if (options.warmup) {
      log(`${system.name}: warm-up`);
      const sizes = { ...WARMUP, batchSize: options.batchSize };
      await measureEnqueue(system, sizes);
      await measureProcess(system, sizes);
      await measureLatency(system, sizes);
    }
    for (const measure of [measureEnqueue, measureProcess, measureLatency]) {
      const m = await measure(system, options);
      result.measurements[m.scenario] = m;
      const latency = m.latencyMs ? `, p50 ${m.latencyMs.p50.toFixed(1)} ms, p95 ${m.latencyMs.p95.toFixed(1)} ms` : '';
      log(`${system.name}: ${m.scenario} ${m.jobsPerSecond.toFixed(0)} jobs/s${latency}`);
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`${system.name}: FAILED: ${result.error}`);
  }
  return result;
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
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

  const results: SystemResult[] = [];
  for (const system of systems) results.push(await runSystem(system, options));

  const record = buildRecord(options, results);
  console.log(formatRecord(record));
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  log(`wrote ${path.join('bench', 'results', 'latest.json')}`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}

process.exitCode = await main();
