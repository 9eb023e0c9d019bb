/** `nightshift migrate`: brings the database schema to this version's latest, and says what it did. */
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
          const store = await session.openStore();
          const { from, to } = await store.migrate();
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
