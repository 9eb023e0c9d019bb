/**
 * `nightshift migrate`: brings the database schema to this version's latest, says what it did, and
 * writes the config's queue limits and rates, as the services do when they start.
 */
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

/** Registers `migrate`. */
export function registerMigrate(program: Command): void {
  withCommonOptions(program.command('migrate').description('apply pending database migrations')).action(
    async (flags: CommonOptions) => {
      await withSession(
        flags,
        async (session) => {
          // Loaded before the database opens, even with --db: a broken config creates nothing.
          const queues = (await session.config())?.config.queues;
          const store = await session.openStore();
          const { from, to } = await store.migrate();
          if (queues !== undefined) {
            const { applyQueueLimits, checkQueuesConfig } = await import('../../queue-limits.js');
            await applyQueueLimits(store, checkQueuesConfig(queues, 'config_error').limits);
          }
          if (session.json) printJson(session.stdout, { from, to });
          else
            session.stdout.write(
              from === to
                ? `schema already at version ${to}\n`
                : `schema migrated from version ${from} to ${to}\n`,
            );
        },
        { create: true },
      );
    },
  );
}
