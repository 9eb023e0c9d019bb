/**
 * The store's clock on PostgreSQL (migration 016): every statement reads the time through the schema's
 * `nightshift_now()`, which the planner inlines, so each plans exactly as it did with now() written in
 * its place; and a test moves the clock of every store on a schema by replacing that function
 * (test/support/postgres-test-clock.ts), prepared statements included.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';
import * as apiTokens from '../../src/store/postgres/sql/api-tokens.js';
import * as concurrencyLimits from '../../src/store/postgres/sql/concurrency-limits.js';
import * as events from '../../src/store/postgres/sql/events.js';
import * as fleet from '../../src/store/postgres/sql/fleet.js';
import * as observe from '../../src/store/postgres/sql/observe.js';
import * as rateLimits from '../../src/store/postgres/sql/rate-limits.js';
import * as schedules from '../../src/store/postgres/sql/schedules.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, TEST_PG_URL } from '../support/postgres-harness.js';
import { PostgresTestClock } from '../support/postgres-test-clock.js';
import { waitUntil } from '../support/wait-until.js';

const HOUR = 3_600_000;

// One pooled connection: the claims below run on the connection that prepared them.
const db = migratedStore('clock', { poolSize: 1 });
const s = `"${db.schema}"`;
const clock = new PostgresTestClock(db.schema);

/** Every complete statement of the store that reads its clock, rendered for this schema. */
function clockStatements(): Map<string, string> {
  const found = new Map<string, string>();
  for (const [name, statement] of Object.entries(renderStatements(s))) found.set(name, statement.text);
  for (const module of [apiTokens, concurrencyLimits, events, fleet, observe, rateLimits, schedules]) {
    for (const [name, render] of Object.entries(module) as Array<[string, unknown]>) {
      if (typeof render !== 'function' || render.length !== 1) continue;
      const text = (render as (schema: string) => unknown)(s);
      if (typeof text !== 'string') continue;
      // Fragments (a CASE for a claim, a CTE list) are checked inside the statements that use them.
      if (/^\s*(SELECT|WITH|INSERT|UPDATE|DELETE)\b/.test(text)) found.set(name, text);
    }
  }
  for (const [name, text] of found) if (!text.includes(`${s}.nightshift_now()`)) found.delete(name);
  return found;
}

describe('the store clock on PostgreSQL', () => {
  const client = new pg.Client({ connectionString: TEST_PG_URL });

  beforeAll(async () => {
    await client.connect();
    await client.query(PLANNER_SETTINGS);
    // The plan a prepared statement keeps; it does not depend on the arguments, so NULLs do.
    await client.query('SET plan_cache_mode = force_generic_plan');
  });

  afterAll(async () => {
    await client.end();
  });

  /** EXPLAIN VERBOSE of `text`'s generic plan. */
  async function genericPlan(text: string): Promise<string> {
    await client.query(`PREPARE probe AS ${text}`);
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = 'probe'`,
      );
      const nulls = Array.from({ length: rows[0]?.n ?? 0 }, () => 'NULL').join(', ');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (VERBOSE, COSTS OFF) EXECUTE probe${nulls === '' ? '' : `(${nulls})`}`,
      );
      return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('DEALLOCATE probe');
    }
  }

  it('plans every statement exactly as with now() in place of nightshift_now()', async () => {
    const statements = clockStatements();
    // The hot path and the rest: claim, finish, renewal, rescue, prune, insert, events, fleet, tokens.
    for (const name of ['jobClaim', 'jobClaimFromQueues', 'jobFinishMany', 'jobFinishManyComplete']) {
      expect(statements.has(name), name).toBe(true);
    }
    for (const name of ['jobLeaseRenew', 'jobRescueLapsed', 'jobPrune', 'jobInsertMany', 'workerHeartbeat']) {
      expect(statements.has(name), name).toBe(true);
    }
    expect(statements.size).toBeGreaterThan(30);
    for (const [name, text] of statements) {
      const plan = await genericPlan(text);
      expect(plan, name).not.toContain('nightshift_now');
      expect(plan, name).toBe(await genericPlan(text.replaceAll(`${s}.nightshift_now()`, 'now()')));
    }
  });

  it('fills the time columns a statement leaves out from the store clock', async () => {
    const insert = await genericPlan(renderStatements(s).jobInsertMany.text);
    expect(insert).not.toContain('nightshift_now');
    await clock.advance(HOUR);
    const [inserted] = await db.store.jobInsertMany({ jobs: [newJob({ queue: 'columns' })] });
    const { rows } = await client.query<{ ahead: number }>(
      `SELECT extract(epoch FROM created_at - now()) * 1000 AS ahead FROM ${s}.jobs WHERE id = $1`,
      [inserted?.job.id],
    );
    // Written an hour ahead of the server's clock, less the moments between the two statements.
    expect(Number(rows[0]?.ahead)).toBeGreaterThan(HOUR - 60_000);
    await clock.advance(-HOUR);
  });

  it('moves the clock of prepared statements, to the ms when frozen', async () => {
    const queue = 'moved';
    const job = newJob({ queue, delayMs: HOUR });
    await db.store.jobInsertMany({ jobs: [job] });
    // Past the five custom plans: the claim now runs a kept generic plan, which the move must replace.
    for (let i = 0; i < 6; i += 1) {
      expect(await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 1_000 })).toEqual(
        [],
      );
    }
    const at = Date.parse('2031-02-03T04:05:06.789Z');
    await clock.freeze(at);
    expect((await db.store.now()).getTime()).toBe(at);
    const [claimed] = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 1_000 });
    expect(claimed?.id).toBe(job.id);
    expect(claimed?.startedAt?.getTime()).toBe(at);
    expect(claimed?.leaseExpiresAt?.getTime()).toBe(at + 1_000);
    await clock.advance(1_001);
    expect((await db.store.now()).getTime()).toBe(at + 1_001);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [job.id], failed: [] });
    // The replaced function is inlined like the original.
    expect(await genericPlan(renderStatements(s).jobClaim.text)).not.toContain('nightshift_now');
  });

  it('refuses a time or step it could not apply exactly, and keeps the time', async () => {
    const at = Date.parse('2031-02-03T04:05:06.789Z');
    await clock.freeze(at);
    await expect(clock.advance(0.5)).rejects.toThrow(/whole ms/);
    await expect(clock.freeze(at + 0.5)).rejects.toThrow(/whole ms/);
    expect((await db.store.now()).getTime()).toBe(at);
  });

  it('lists the queues on one clock: a job coming due meanwhile is counted scheduled with its due time, or queued', async () => {
    const queue = 'coming-due';
    await clock.freeze(Date.parse('2031-03-04T05:06:07.000Z'));
    await db.store.jobInsertMany({ jobs: [newJob({ queue, delayMs: 1_000 })] });
    // Every read of job_queue (the throttled counts, the next due times) waits for this lock, and the
    // clock moves past the job's due time meanwhile. The list's reads were four statements, each on its
    // own clock (one pooled connection runs them in turn): the counts before the lock saw the job
    // scheduled, the next due times after it saw it due, and neither said when it joined the queued.
    const locker = new pg.Client({ connectionString: TEST_PG_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${s}.job_queue IN ACCESS EXCLUSIVE MODE`);
      const listing = db.store.queueList({
        workerStaleMs: 60_000,
        finishedCounts: [],
        finishedCountsAgeMs: 0,
      });
      await waitUntil(async () => {
        const { rows } = await client.query(
          `SELECT 1 FROM pg_locks WHERE relation = '${s}.job_queue'::regclass AND NOT granted`,
        );
        return rows.length > 0;
      });
      await clock.advance(2_000);
      await locker.query('COMMIT');
      const info = (await listing).find((q) => q.name === queue);
      expect({ counts: info?.counts, nextDueInMs: info?.nextDueInMs }).toMatchObject({
        counts: { scheduled: 0, queued: 1 },
        nextDueInMs: null,
      });
    } finally {
      await locker.end();
    }
  });
});
