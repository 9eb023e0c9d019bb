/**
 * `nightshift scheduler`: runs only the scheduler in this process, until SIGTERM/SIGINT. With a config
 * module its schedules are synced first (an invalid one stops the command with exit code 1 or 2
 * before anything is written; a config without `schedules` deletes the config schedules the database
 * had, since the config is their source); without a config module, the schedules already in the
 * database run.
 */
import type { Command } from 'commander';
import { MAX_TIMER_MS } from '../../validation/bounds.js';
import { parseInteger } from '../arguments.js';
import { SERVICE, withCommonOptions, withSession, type CommonOptions } from '../session.js';
import { DEFAULT_GRACE_MS } from '../../runtime/stop-options.js';
import { runUntilSignal } from '../shutdown.js';

/** Registers `scheduler`. */
export function registerScheduler(program: Command): void {
  withCommonOptions(
    program
      .command('scheduler')
      .description('run the scheduler until SIGTERM/SIGINT (any number may run at once)')
      .option('--poll <ms>', 'time between passes', (v) => parseInteger('--poll', v, [10, MAX_TIMER_MS])),
  ).action(async (flags: CommonOptions & { poll?: number }) => {
    await withSession(
      flags,
      async (session) => {
        const ns = await session.connect();
        const loaded = await session.config();
        const schedules = loaded === null ? undefined : (loaded.config.schedules ?? []);
        // The command's one outage bound, as for the wait at start (database-wait.ts).
        const maxStoreDownMs = loaded?.config.worker?.maxStoreDownMs;
        const scheduler = ns.startScheduler({
          ...(schedules !== undefined && { schedules }),
          ...(flags.poll !== undefined && { pollIntervalMs: flags.poll }),
          ...(maxStoreDownMs !== undefined && { maxStoreDownMs }),
        });
        await scheduler.ready;
        const logger = session.logger();
        logger.info({ db: await session.dbUrl() }, 'scheduler running');
        // A store unreachable past the scheduler's outage bound ends the command with exit code 1.
        await runUntilSignal(
          { stop: (options) => ns.stop(options), failed: scheduler.failed },
          { graceMs: DEFAULT_GRACE_MS, logger },
        );
      },
      SERVICE,
    );
  });
}
