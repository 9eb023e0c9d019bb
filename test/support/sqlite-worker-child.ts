/**
 * A worker in its own process on a test's SQLite file, started by `startChild` (child-process.ts):
 *   sqlite-worker-child <file> <pollIntervalMs>
 * Runs task `wake.probe`, printing `started <job id> <Date.now()>` as each job starts, and `ready`
 * once its worker has started; stops when its stdin ends.
 */
import { Nightshift } from '../../src/nightshift.js';
import { createLogger } from '../../src/logger.js';

const [file, pollIntervalMs] = process.argv.slice(2);
if (!file || !pollIntervalMs) throw new Error('usage: sqlite-worker-child <file> <pollIntervalMs>');

const ns = await Nightshift.connect({
  db: `sqlite:${file}`,
  logger: createLogger({ level: 'silent' }),
  tasks: {
    'wake.probe': (_payload, ctx) => {
      process.stdout.write(`started ${ctx.job.id} ${Date.now()}\n`);
      return null;
    },
  },
});
ns.events.on('worker:started', () => process.stdout.write('ready\n'));
ns.startWorker({ pollIntervalMs: Number(pollIntervalMs), rescueIntervalMs: 0, pruneIntervalMs: 0 });
process.stdin.resume();
process.stdin.on('end', () => void ns.close());
