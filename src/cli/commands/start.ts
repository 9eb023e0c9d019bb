/**
 * `nightshift start`: everything in one process. Today that is migrate, then a worker; the scheduler,
 * HTTP API and dashboard join it as they land. `--demo` runs the order-export example instead of your
 * config.
 */
import type { Command } from 'commander';
import { usageError } from '../arguments.js';
import { DEMO_CONFIG, runDemo } from '../demo.js';
import { runWorker } from '../run-worker.js';
import { withCommonOptions, withSession } from '../session.js';
import { withWorkerOptions, type WorkerFlags } from './worker.js';

/** Registers `start`. */
export function registerStart(program: Command): void {
  withCommonOptions(
    withWorkerOptions(
      program
        .command('start')
        .description('migrate, then run everything (today: a worker) until SIGTERM/SIGINT')
        .option('--demo', 'run the order-export demo on ./nightshift-demo.db and print a summary'),
    ),
  ).action(async (flags: WorkerFlags & { demo?: boolean }) => {
    if (flags.demo === true) {
      if (flags.config !== undefined) throw usageError('--demo brings its own config; drop --config');
      await withSession({ ...flags, config: DEMO_CONFIG }, (session) => runDemo(session, flags));
      return;
    }
    await withSession(flags, async (session) => {
      const { config } = await session.requireConfig();
      await runWorker(session, config, flags);
    });
  });
}
