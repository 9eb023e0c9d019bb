/**
 * `npm run bench`: the scenarios of bench/scenarios/ for every system, one after another on this
 * machine, printed as tables with each row's settings and ratios to graphile-worker, and recorded in
 * bench/results/latest.json (kept out of git: figures belong to the machine that made them). Systems
 * never run at the same time, so none competes with another for the cores.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE } from './options.js';
import type { BenchOptions } from './options.js';
import { buildRecord, formatRecord } from './report.js';
import { failure } from './scenario.js';
import type { Scenario, Section } from './scenario.js';
import { apiScenario } from './scenarios/api.js';
import { backlogScenario } from './scenarios/backlog.js';
import { crossProcessScenario } from './scenarios/cross-process.js';
import { enqueueScenario } from './scenarios/enqueue.js';
import { idleScenario } from './scenarios/idle.js';
import { processScenario } from './scenarios/process.js';
import { steadyScenario } from './scenarios/steady.js';
import { tenancyScenario } from './scenarios/tenancy.js';
import { destroyOpenSessions } from './session.js';
import { SYSTEMS } from './systems/index.js';

/** Every scenario, in the order they run and print. */
const SCENARIOS: readonly Scenario[] = [
  processScenario,
  enqueueScenario,
  steadyScenario,
  crossProcessScenario,
  idleScenario,
  backlogScenario,
  apiScenario,
  tenancyScenario,
];

/** Run only when named in `--only`: it needs a PgBouncer binary, and repeats nightshift-postgres's work. */
const OPT_IN = ['nightshift-pgbouncer'];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function choose(options: BenchOptions): { scenarios: Scenario[]; error?: string } {
  const unknownSystems = options.only.filter((name) => !SYSTEMS.some((s) => s.name === name));
  const unknownScenarios = options.scenarios.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknownSystems.length > 0 || unknownScenarios.length > 0)
    return { scenarios: [], error: `unknown: ${[...unknownSystems, ...unknownScenarios].join(', ')}` };
  return {
    scenarios: SCENARIOS.filter((s) =>
      options.scenarios.length === 0
        ? s.inDefaultRun && !(options.quick && s === apiScenario)
        : options.scenarios.includes(s.name),
    ),
  };
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
  const { scenarios, error } = choose(options);
  if (error !== undefined) {
    console.error(`${error}\n${USAGE}`);
    return 2;
  }
  const systems = SYSTEMS.filter((s) =>
    options.only.length > 0 ? options.only.includes(s.name) : !OPT_IN.includes(s.name),
  );

  // Ctrl-C mid-run: drop the databases, files and Redis keys of the scenario in flight, then exit.
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void destroyOpenSessions().finally(() => process.exit(130));
  });
  const loadAtStart = os.loadavg()[0] ?? 0;
  const sections: Section[] = [];
  let failed = false;
  for (const scenario of scenarios) {
    log(`scenario ${scenario.name}`);
    try {
      sections.push(...(await scenario.run({ systems, options, log })));
    } catch (error) {
      failed = true;
      sections.push({ title: scenario.name, notes: [failure(error)], header: [], rows: [] });
    }
  }
  failed ||= sections.some((s) => s.rows.some((row) => row.some((cell) => cell.startsWith('failed:'))));
  const record = buildRecord(options, sections, loadAtStart);
  console.log(formatRecord(record));
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  log('wrote bench/results/latest.json');
  return failed ? 1 : 0;
}

process.exitCode = await main();
