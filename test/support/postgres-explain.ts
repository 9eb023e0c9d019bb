/** EXPLAIN helpers for the plan tests on PostgreSQL. */
import type pg from 'pg';
import { withAdmin } from './postgres-harness.js';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';

/** EXPLAIN ANALYZE of a statement inside a rolled-back transaction: the plan text, nothing changed. */
export async function explainClaim(
  text: string,
  values: unknown[],
  options: { storeSettings?: boolean; warm?: string } = {},
): Promise<string> {
  return withAdmin(async (client) => {
    await client.query('BEGIN');
    try {
      // The planner settings of the store's direct connections (src/store/postgres/pool.ts), for this
      // transaction only; without them, a connection through a pooler.
      if (options.storeSettings === true)
        await client.query(PLANNER_SETTINGS.replaceAll('SET ', 'SET LOCAL '));
      // Run first on the same connection, as a store's connection has run it before (a function's
      // statements are planned at its first call on a connection, reading the catalogs).
      if (options.warm !== undefined) await client.query(options.warm);
      const nested = await logNestedPlans(client);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${text}`,
        values,
      );
      return [rows.map((r) => r['QUERY PLAN']).join('\n'), ...nested()].join('\n');
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

/** The plan of one CTE: its lines up to the next CTE at the same depth (or the nested plans). */
export function cte(plan: string, name: string): string {
  const start = plan.indexOf(`  CTE ${name}\n`);
  const ends = ['\n  CTE ', `\n${NESTED}`]
    .map((marker) => plan.indexOf(marker, start + 1))
    .filter((at) => at !== -1);
  return plan.slice(start, ends.length === 0 ? undefined : Math.min(...ends));
}

const NESTED = 'Nested statement: ';

/**
 * Plans of the statements that functions run inside the explained one (the claim's requirement-set
 * probes, migration 021), which EXPLAIN does not show: auto_explain logs each run of them to this
 * client, for the rest of the open transaction. Call inside a transaction, just before the explained
 * statement (every statement is logged, and only the explained one is recognised); the returned function
 * stops listening and gives each run's plan, headed `Nested statement: ` and its text.
 */
export async function logNestedPlans(client: pg.ClientBase): Promise<() => string[]> {
  await client.query("LOAD 'auto_explain'");
  await client.query(
    `SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on;
     SET LOCAL auto_explain.log_analyze = on; SET LOCAL auto_explain.log_buffers = on;
     SET LOCAL auto_explain.log_timing = off; SET LOCAL client_min_messages = log`,
  );
  const plans: string[] = [];
  const listener = (notice: { message: string | undefined }): void => {
    const logged = /plan:\nQuery Text: ([\s\S]*)$/.exec(notice.message ?? '')?.[1];
    // The explained statement itself is logged too (EXPLAIN ANALYZE runs it; a prepared one under the
    // text of its PREPARE): EXPLAIN shows it.
    if (logged !== undefined && !/^\s*(EXPLAIN|PREPARE)\b/i.test(logged)) plans.push(`${NESTED}${logged}`);
  };
  client.on('notice', listener);
  return () => {
    client.off('notice', listener);
    return plans;
  };
}

/** The plans of nested statements (see `logNestedPlans`) appended to `plan`. */
export function nestedPlans(plan: string): string[] {
  return plan.split(`\n${NESTED}`).slice(1);
}
