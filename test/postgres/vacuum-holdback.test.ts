/**
 * Reliability scenario 25, PostgreSQL bloat: a steady load of claims and completions while an
 * idle-in-transaction session stays open. Its snapshot keeps vacuum from removing the rows the load
 * deletes and updates, so each claim walks more dead index entries; once it closes, a vacuum removes
 * them and the claim's work falls back. The work is measured in buffers touched (EXPLAIN ANALYZE of the
 * claim statement), not in wall-clock time, and both causes are readable through `ns.databaseHealth()`:
 * the job tables' dead rows and the oldest transaction's age and state.
 *
 * A private server (own-postgres.ts) with autovacuum off: the oldest transaction is a whole-database
 * figure, so the shared test database, where other sessions' transactions come and go, cannot host it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import type { DatabaseHealth } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { ownPostgresUnavailable, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { waitUntil } from '../support/wait-until.js';

const skip = ownPostgresUnavailable();
const ROUNDS = 50;
const BATCH = 100;
let server: OwnPostgres;
let ns: Nightshift;

beforeAll(async () => {
  if (skip !== null) return;
  server = await startOwnPostgres();
  await server.query('ALTER SYSTEM SET autovacuum = off');
  await server.query('SELECT pg_reload_conf()');
  ns = await Nightshift.connect({ db: server.url, logger: createLogger({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await ns?.close();
  await server?.remove();
});

/** Rounds of the steady load: enqueue a batch, claim it, complete it. Returns the jobs completed. */
async function steadyLoad(rounds: number): Promise<number> {
  let completed = 0;
  for (let round = 0; round < rounds; round += 1) {
    await ns.store.jobInsertMany({ jobs: Array.from({ length: BATCH }, () => newJob()) });
    const claimed = await ns.store.jobClaim({ workerId: 'load', limit: BATCH, leaseMs: 30_000 });
    const { accepted } = await ns.store.jobFinishMany({
      finishes: claimed.map((job) => ({
        id: job.id,
        leaseToken: job.leaseToken,
        outcome: 'completed' as const,
      })),
    });
    completed += accepted.length;
  }
  return completed;
}

/** Shared buffers one claim of the single ready job touches (EXPLAIN ANALYZE, rolled back). */
async function claimBuffers(): Promise<number> {
  const sql = renderStatements('"nightshift"');
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${sql.jobClaim.text}`,
      ['probe', 1, 30_000],
    );
    await client.query('ROLLBACK');
    const top = /Buffers: shared hit=(\d+)(?: read=(\d+))?/.exec(rows.map((r) => r['QUERY PLAN']).join('\n'));
    return Number(top?.[1] ?? 0) + Number(top?.[2] ?? 0);
  } finally {
    await client.end();
  }
}

function deadRows(health: DatabaseHealth, tables: string[]): number {
  if (health.dialect !== 'postgres') throw new Error('expected PostgreSQL health');
  return health.tables.filter((t) => tables.includes(t.table)).reduce((sum, t) => sum + t.deadRows, 0);
}

describe.skipIf(skip !== null)(
  'PostgreSQL vacuum held back by an idle-in-transaction session (scenario 25)',
  () => {
    it('exposes the dead rows and the oldest transaction, and the claim recovers once the session closes', async () => {
      const jobTables = ['jobs', 'job_queue', 'job_leases'];
      // Warm up and vacuum, so what follows starts from a clean table.
      expect(await steadyLoad(2)).toBe(2 * BATCH);
      await server.query('VACUUM nightshift.jobs, nightshift.job_queue, nightshift.job_leases');

      // The session that holds the snapshot: a repeatable-read transaction that read once and idles.
      const idle = new pg.Client({ connectionString: server.url });
      await idle.connect();
      await idle.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await idle.query('SELECT count(*) FROM nightshift.jobs');

      // The steady load runs on: every job is claimed and completed while the session idles.
      expect(await steadyLoad(ROUNDS)).toBe(ROUNDS * BATCH);
      await server.query('VACUUM nightshift.jobs, nightshift.job_queue, nightshift.job_leases');
      const held = await waitUntil(
        async () => {
          const health = await ns.databaseHealth();
          return deadRows(health, jobTables) >= ROUNDS * BATCH ? health : undefined;
        },
        { timeoutMs: 20_000, message: 'dead rows kept by the idle session never showed' },
      );
      if (held.dialect !== 'postgres') throw new Error('expected PostgreSQL health');
      expect(held.oldestTransaction?.state).toBe('idle in transaction');
      expect(held.oldestTransaction?.ageMs).toBeGreaterThan(0);
      await ns.store.jobInsertMany({ jobs: [newJob()] });
      const slow = await claimBuffers();

      // The session ends; one vacuum removes what it kept, and the same claim touches markedly fewer buffers.
      await idle.query('ROLLBACK');
      await idle.end();
      const cleared = await waitUntil(
        async () => {
          // Again each time: sessions report their row changes up to 10 s late (PostgreSQL 15's stats
          // flush interval), and a late report adds dead rows that the vacuum before it had removed.
          await server.query('VACUUM nightshift.jobs, nightshift.job_queue, nightshift.job_leases');
          const health = await ns.databaseHealth();
          return deadRows(health, jobTables) < BATCH ? health : undefined;
        },
        {
          timeoutMs: 40_000,
          intervalMs: 500,
          message: 'dead rows stayed after the session closed and vacuum ran',
        },
      );
      if (cleared.dialect !== 'postgres') throw new Error('expected PostgreSQL health');
      // The idle-in-transaction session is gone; another session's statement may be running right now.
      expect(cleared.oldestTransaction?.pid).not.toBe(held.oldestTransaction?.pid);
      const recovered = await claimBuffers();
      expect(recovered * 1.5, `claim buffers held back ${slow}, after ${recovered}`).toBeLessThan(slow);
      // And the load goes on at full pace.
      expect(await steadyLoad(2)).toBe(2 * BATCH);
    }, 120_000);
  },
);
