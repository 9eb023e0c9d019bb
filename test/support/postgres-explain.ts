/** EXPLAIN helpers for the plan tests on PostgreSQL. */
import { withAdmin } from './postgres-harness.js';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';

/** EXPLAIN ANALYZE of a statement inside a rolled-back transaction: the plan text, nothing changed. */
export async function explainClaim(
  text: string,
  values: unknown[],
  options: { storeSettings?: boolean } = {},
): Promise<string> {
  return withAdmin(async (client) => {
    await client.query('BEGIN');
    try {
      // The planner settings of the store's direct connections (src/store/postgres/pool.ts), for this
      // transaction only; without them, a connection through a pooler.
      if (options.storeSettings === true)
        await client.query(PLANNER_SETTINGS.replaceAll('SET ', 'SET LOCAL '));
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${text}`,
        values,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

/** The shared buffers the whole statement touched (its top Buffers line). */
export function sharedBuffers(plan: string): number {
  const top = /Buffers: shared hit=(\d+)(?: read=(\d+))?/.exec(plan);
  return Number(top?.[1] ?? 0) + Number(top?.[2] ?? 0);
}

/** The plan of one CTE: its lines up to the next CTE at the same depth. */
export function cte(plan: string, name: string): string {
  const start = plan.indexOf(`  CTE ${name}\n`);
  const end = plan.indexOf('\n  CTE ', start + 1);
  return plan.slice(start, end === -1 ? undefined : end);
}
