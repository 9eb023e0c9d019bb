/**
 * The planner settings behind a transaction pooler. On direct connections the store sets
 * `enable_seqscan = off` and `jit = off` itself (PLANNER_SETTINGS in pool.ts); through a transaction
 * pooler it cannot, since a session SET stays on whichever server connection ran it and reaches other
 * clients of that pool. Without them, statements planned on statistics taken while the tables were
 * small (autovacuum off, or not yet caught up) read whole tables: the claim's ready scan became a
 * sequential scan and sort of `job_queue` (test/postgres/hot-plans.test.ts run without the settings).
 * The role's or database's own defaults reach every server connection, so the check reads what the
 * server hands out and names the fix when it is missing.
 */
import type { Logger } from '../../logger.js';
import type { PostgresConnection } from './connection.js';
import { quoteIdent } from './pool.js';

interface PlannerRow {
  role: string;
  enable_seqscan: string;
  jit: string;
}

/** Logs a warning when the pooled connections plan with sequential scans or JIT on; never throws. */
export async function checkPlannerSettings(conn: PostgresConnection, logger: Logger): Promise<void> {
  let row: PlannerRow | undefined;
  try {
    [row] = await conn.rows<PlannerRow>(
      {
        text: `SELECT current_user AS role, current_setting('enable_seqscan') AS enable_seqscan,
                      current_setting('jit') AS jit`,
      },
      [],
    );
  } catch (error) {
    // Advice only: the caller's own statements report an unreachable server.
    logger.debug({ err: error }, 'could not read the planner settings behind the pooler');
    return;
  }
  if (row === undefined || (row.enable_seqscan === 'off' && row.jit === 'off')) return;
  const role = quoteIdent(row.role);
  logger.warn(
    { role: row.role, enable_seqscan: row.enable_seqscan, jit: row.jit },
    'behind a transaction pooler the store cannot set its planner settings; without enable_seqscan = off ' +
      'and jit = off, claims and completions may read whole tables once statistics are stale. Set them ' +
      `for the role: ALTER ROLE ${role} SET enable_seqscan = off; ALTER ROLE ${role} SET jit = off ` +
      '(docs/SCALING.md, "Poolers")',
  );
}
