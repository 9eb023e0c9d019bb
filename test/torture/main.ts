/**
 * `npm run torture -- --backend sqlite|postgres --minutes N --seed S [--keep]`: one torture run
 * (run.ts), its numbers, and on a violation the offending job's history and the replay command.
 * Exit 0 when every property held, 1 on a violation, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { buildCompiledTree } from '../support/compiled-tree.js';
import { removeRunDirectory, runTorture } from './run.js';

function usage(message: string): never {
  process.stderr.write(
    `torture: ${message}\nusage: npm run torture -- --backend sqlite|postgres --minutes N --seed S [--keep]\n`,
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'sqlite' },
      minutes: { type: 'string', default: '1' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const backend = values.backend;
if (backend !== 'sqlite' && backend !== 'postgres')
  usage(`--backend must be sqlite or postgres, got ${backend}`);
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60)
  usage(`--minutes must be a number of minutes above 0, got ${values.minutes}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32)
  usage(`--seed must be an integer from 0 to 2^32-1, got ${String(values.seed)}`);

// Interrupted: exit through the exit hooks, which stop the private PostgreSQL and kill the children.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const say = (line: string): void => void process.stdout.write(`${line}\n`);
say(`torture: backend ${backend}, ${minutes} min, seed ${seed}`);
// The worker and scheduler processes run compiled, as in the test suite (test/support/compiled-tree.ts).
const tree = await buildCompiledTree();
process.on('exit', tree.remove);
const report = await runTorture({
  backend,
  minutes,
  seed,
  keep: values.keep,
  log: (line) => say(`torture: ${line}`),
});
const { stats } = report;
say(
  `operations ${stats.ops} (acknowledged ${stats.acknowledged}), jobs ${stats.jobs}, executions ${stats.executions}, drain ${stats.drainMs} ms, torn history lines ${stats.tornLines}`,
);
say(
  `faults ${Object.entries(stats.faults)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ')}`,
);
if (report.violations.length === 0) {
  say('every property held');
  if (!values.keep) removeRunDirectory(report);
  else say(`run directory ${report.dir}`);
  process.exit(0);
}
say(`${report.violations.length} violation(s); run directory kept: ${report.dir}`);
for (const [index, violation] of report.violations.entries()) {
  if (index >= 20) {
    say(`... and ${report.violations.length - 20} more`);
    break;
  }
  say(`\nVIOLATION ${violation.property}: ${violation.message}`);
  for (const line of report.excerpts[index] ?? []) say(`  ${line}`);
}
say(`\nseed ${seed}; replay: ${report.replay}`);
process.exit(1);
