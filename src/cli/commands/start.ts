/**
 * `nightshift start`: everything in one process. Today that is migrate, then the scheduler (syncing
 * the config's schedules), the REST API and a worker; the dashboard joins them as it lands. `--demo`
 * runs the order-export example instead of your config (without the API: it is a batch that ends).
 */
import type { Command } from 'commander';
import { usageError } from '../arguments.js';
import { DEMO_CONFIG, runDemo } from '../demo.js';
import { runServices } from '../run-services.js';
import { SERVICE, withCommonOptions, withSession } from '../session.js';
import { httpOf, withHttpOptions, type HttpFlags } from './serve.js';
import { withWorkerOptions, type WorkerFlags } from './worker.js';

/** Registers `start`. */
export function registerStart(program: Command): void {
  withCommonOptions(
    withHttpOptions(
      withWorkerOptions(
        program
          .command('start')
          .description('migrate, then run the scheduler, the REST API and a worker until SIGTERM/SIGINT')
          .option('--demo', 'run the order-export demo on ./nightshift-demo.db and print a summary'),
      ),
    ),
  ).action(async (flags: WorkerFlags & HttpFlags & { demo?: boolean }) => {
    if (flags.demo === true) {
      if (flags.config !== undefined) throw usageError('--demo brings its own config; drop --config');
      if (flags.host !== undefined || flags.port !== undefined)
        throw usageError('--demo serves no API; drop --host and --port');
      await withSession(
        { ...flags, config: DEMO_CONFIG },
        (session) => runDemo(session, { ...flags, scheduler: true }),
        SERVICE,
      );
      return;
    }
    await withSession(
      flags,
      async (session) => {
        const { config } = await session.requireConfig();
        await runServices(session, config, { ...flags, scheduler: true, http: httpOf(flags) });
      },
      SERVICE,
    );
  });
}
