/** Deleting old final jobs with their runs, steps and log lines (the pruner). */
import type { PruneParams } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/job-maintenance.js';

// Deleting a few hundred rows (with their runs and steps) takes a few ms, so other writers wait at
// most that long for the lock between batches.
const PRUNE_BATCH = 500;

/** `jobPrune`: deletes old final jobs in batches of at most PRUNE_BATCH, each its own short transaction. */
export async function jobPrune(conn: SqliteConnection, params: PruneParams): Promise<{ deleted: number }> {
  let deleted = 0;
  while (deleted < params.limit) {
    const batch = Math.min(PRUNE_BATCH, params.limit - deleted);
    const changes = await conn.write(
      (now) => conn.stmt(sql.jobPrune).run({ before: now - params.olderThanMs, limit: batch }).changes,
    );
    deleted += changes;
    if (changes < batch) break;
  }
  return { deleted };
}
