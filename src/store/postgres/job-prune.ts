/** Deleting old final jobs with their runs, steps and log lines (the pruner). */
import type { PruneParams } from '../store.js';
import type { PostgresConnection } from './connection.js';

/** `jobPrune`: deletes up to `limit` final jobs finished more than `olderThanMs` ago, in one statement. */
export async function jobPrune(conn: PostgresConnection, params: PruneParams): Promise<{ deleted: number }> {
  const limit = Math.floor(params.limit);
  if (limit <= 0) return { deleted: 0 };
  const [row] = await conn.rows<{ deleted: number }>(conn.sql.jobPrune, [params.olderThanMs, limit]);
  return { deleted: row?.deleted ?? 0 };
}
