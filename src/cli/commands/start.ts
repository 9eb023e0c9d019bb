/**
 * `nightshift start`: everything in one process. Today that is migrate, then the scheduler (syncing
 * the config's schedules), the REST API with the dashboard, and a worker. `--demo` runs the
 * order-export example instead of your config, with its dashboard, and ends with it unless `--serve`.
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
          .option('--demo', 'run the order-export demo on ./nightshift-demo.db and print a summary')
          .option('--serve', 'with --demo: keep serving the dashboard after the demo, until Ctrl-C'),
      ),
    ),
  ).action(async (flags: WorkerFlags & HttpFlags & { demo?: boolean; serve?: boolean }, command: Command) => {
    if (flags.demo === true) {
      if (flags.config !== undefined) throw usageError('--demo brings its own config; drop --config');
      if (flags.host !== undefined)
        throw usageError('--demo serves its dashboard on 127.0.0.1 only; drop --host');
      if (flags.readOnly === true) throw usageError('--demo serves its own dashboard; drop --read-only');
      const { host: _host, readOnly: _readOnly, ...demoFlags } = flags;
      // The demo runs on its own file unless a --db is typed: NIGHTSHIFT_DB, exported for the
      // application, would get the demo's jobs, its schedule and the admin token it issues.
      const { db: _db, ...withoutDb } = flags;
      const options = command.getOptionValueSource('db') === 'cli' ? flags : withoutDb;
      await withSession(
        { ...options, config: DEMO_CONFIG },
        (session) => runDemo(session, { ...demoFlags, scheduler: true }),
        SERVICE,
      );
      return;
    }
    if (flags.serve === true) throw usageError('--serve goes with --demo; start serves until Ctrl-C anyway');
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
