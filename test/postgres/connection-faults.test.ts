/**
 * Connection faults (reliability scenarios 13 and 14, store side): a missing server, a backend killed
 * under a query, idle connections killed behind the pool's back, and a killed LISTEN connection. The
 * store must answer `database_unavailable` (never crash the process) and heal without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import pg from 'pg';
import { toStoreError } from '../../src/store/postgres/pool.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { StoreEvents } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const schema = uniqueSchema('faults');
let store: PostgresStore;

beforeAll(async () => {
  store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  await dropSchema(schema);
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** Terminates this file's store backends whose last query matched `pattern`; returns how many. */
async function terminate(pattern: string): Promise<number> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE application_name = 'nightshift' AND pid <> pg_backend_pid()
         AND query LIKE '%' || $1 || '%' AND query LIKE $2`,
      [schema, pattern],
    );
    return rows[0]?.n ?? 0;
  });
}

describe('PostgreSQL connection faults', () => {
  it('reports a server that is not there as database_unavailable', async () => {
    const absent = await PostgresStore.open({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema,
    });
    try {
      for (const call of [() => absent.jobGet({ id: newJob().id }), () => absent.migrate()]) {
        const error = await errorOf(call());
        expect(error).toBeInstanceOf(NightshiftError);
        expect((error as NightshiftError).code).toBe('database_unavailable');
        expect((error as NightshiftError).cause).toMatchObject({ code: 'ECONNREFUSED' });
      }
    } finally {
      await absent.close();
    }
  });

  it('reports a pool whose every connection stays busy as database_unavailable', async () => {
    // node-postgres' own pool, as the store's extends it, with its wait shortened: the error its
    // release gives after waiting for a free connection, mapped as the store maps every driver error.
    const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    try {
      const error = toStoreError(await errorOf(pool.query('SELECT 1')));
      expect(error.code).toBe('database_unavailable');
      expect(error.message).toMatch(/no connection of the store's pool became free within 10 s/);
    } finally {
      held.release();
      await pool.end();
    }
  });

  // One retry: about one run in ten on a loaded 2-core machine, the cancel never reaches the server
  // within the wait (nothing of this store's in pg_stat_activity; not yet explained, see docs/RELIABILITY.md).
  // The wait below ends well inside the test's timeout, so a failed attempt leaves through withAdmin,
  // whose closed connection releases the row lock and lets that attempt's cancel end: a retry once
  // found it still blocked beside its own (two backends to terminate) when the test timed out first.
  it(
    'rejects a query whose backend is killed under it with database_unavailable, then recovers',
    { retry: 1, timeout: 60_000 },
    async () => {
      const [inserted] = await store.jobInsertMany({ jobs: [newJob({ queue: 'faults' })] });
      const id = inserted?.job.id ?? '';
      // Hold the row so the store's cancel blocks inside the server, then kill that backend.
      const holder = await withAdmin(async (admin) => {
        await admin.query('BEGIN');
        await admin.query(`SELECT 1 FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [id]);
        let settled: { error: unknown } | undefined;
        const pending = errorOf(store.jobCancel({ id })).then((error) => (settled = { error }));
        await waitUntil(
          async () => {
            // Answered before it ever waited (a connection refused by a busy server, say): say so, not "timed out".
            if (settled) throw new Error(`the cancel settled before blocking: ${String(settled.error)}`);
            const { rows } = await admin.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
              [schema],
            );
            return rows[0]?.n === 1;
          },
          // A new pool connection (connect, then its session settings) can take seconds on a loaded machine.
          { timeoutMs: 30_000, message: "the store's cancel never waited on the held row lock" },
        );
        expect(await terminate('%dequeued%')).toBe(1);
        const { error } = await pending;
        await admin.query('ROLLBACK');
        return error;
      });
      expect(holder).toBeInstanceOf(NightshiftError);
      expect((holder as NightshiftError).code).toBe('database_unavailable');
      // Nothing changed, and the store serves the retry on a fresh connection.
      expect((await store.jobGet({ id }))?.state).toBe('queued');
      expect((await store.jobCancel({ id })).outcome).toBe('cancelled');
    },
  );

  it('survives its idle pooled connections being killed: no crash, later calls succeed', async () => {
    // Reads on the pool itself, so each connection's last statement names the schema (terminate).
    await Promise.all(Array.from({ length: 4 }, () => store.jobList({ state: 'running', limit: 1 })));
    expect(await terminate('%')).toBeGreaterThan(0);
    // A call may meet a connection killed before the pool noticed; it is told so, and the next one works.
    const job = newJob({ queue: 'faults-idle' });
    await waitUntil(async () => {
      const error = await errorOf(store.jobInsertMany({ jobs: [job] }));
      if (error !== undefined) expect((error as NightshiftError).code).toBe('database_unavailable');
      return error === undefined;
    });
    expect((await store.jobGet({ id: job.id }))?.queue).toBe('faults-idle');
  });

  it('delivers events across stores over LISTEN/NOTIFY and re-listens after the connection is killed', async () => {
    const peer = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    const ready: Array<StoreEvents['job:ready']> = [];
    const finished: Array<StoreEvents['job:finished']> = [];
    try {
      peer.listen('job:ready', (e) => ready.push(e));
      peer.listen('job:finished', (e) => finished.push(e));
      await waitUntil(() => peer.crossProcessEventsLive);

      await store.jobInsertMany({ jobs: [newJob({ queue: 'notify-1' }), newJob({ queue: 'notify-1' })] });
      // One notification per statement and queue, not per row.
      await waitUntil(() => ready.some((e) => e.queue === 'notify-1'));
      const [claimed] = await store.jobClaim({
        workerId: 'w',
        queues: ['notify-1'],
        limit: 1,
        leaseMs: 30_000,
      });
      if (!claimed) throw new Error('nothing claimed');
      await store.jobFinishMany({
        finishes: [{ id: claimed.id, leaseToken: claimed.leaseToken, outcome: 'completed' }],
      });
      await waitUntil(() => finished.some((e) => e.id === claimed.id && e.state === 'completed'));
      expect(ready.filter((e) => e.queue === 'notify-1')).toHaveLength(1);

      expect(await terminate('LISTEN%')).toBe(1);
      await waitUntil(() => !peer.crossProcessEventsLive);
      await waitUntil(() => peer.crossProcessEventsLive);
      await store.jobInsertMany({ jobs: [newJob({ queue: 'notify-2' })] });
      await waitUntil(() => ready.some((e) => e.queue === 'notify-2'));
    } finally {
      await peer.close();
    }
  });

  it('does not hear its own notifications twice: local events only', async () => {
    const seen: Array<string | null> = [];
    const stop = store.listen('job:ready', (e) => seen.push(e.queue));
    try {
      await waitUntil(() => store.crossProcessEventsLive);
      await store.jobInsertMany({ jobs: [newJob({ queue: 'self-1' })] });
      await store.jobInsertMany({ jobs: [newJob({ queue: 'self-2' })] });
      // NOTIFY is delivered in commit order, so once a peer's later notification arrives, our own two
      // have reached the listener too (and must have been dropped as ours).
      const peer = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 1 });
      try {
        await peer.jobInsertMany({ jobs: [newJob({ queue: 'self-marker' })] });
        await waitUntil(() => seen.includes('self-marker'));
      } finally {
        await peer.close();
      }
      expect(seen.filter((q) => q === 'self-1')).toHaveLength(1);
      expect(seen.filter((q) => q === 'self-2')).toHaveLength(1);
    } finally {
      stop();
    }
  });
});
