/**
 * A child insert fenced by its parent attempt's lease, without a caller's transaction, on PostgreSQL:
 * one statement that locks the parent's job row while the lease is current and inserts only then
 * (sql/job-insert.ts `jobInsertManyFence`). It writes nothing once the lease is gone, even when the
 * rescue that took it commits while the insert waits for the row, and it holds the row until its
 * children commit.
 *
 * Races are set up with other sessions' open transactions and read from pg_stat_activity: which
 * backend waits for which (pg_blocking_pids), never timing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import type { ClaimedJob, LeaseRef, StoreEvents } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { ownPostgresUnavailable, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { migratedStore, TEST_PG_URL, withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

// An insert, a rescue and a finish at once.
const db = migratedStore('fenced', { poolSize: 4 });
const { schema } = db;
const sql = renderStatements(`"${schema}"`);
/** Another session, whose open transaction holds what the insert must wait for. */
const holder = new pg.Client(TEST_PG_URL);

beforeAll(() => holder.connect());
afterAll(() => holder.end());

/** A job of `queue`, claimed: the parent attempt. */
async function claimParent(queue: string, leaseMs = 30_000): Promise<ClaimedJob> {
  await db.store.jobInsertMany({ jobs: [newJob({ queue })] });
  const [parent] = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs });
  if (!parent) throw new Error(`nothing claimed from ${queue}`);
  return parent;
}

const fenceOf = (parent: ClaimedJob): LeaseRef => ({ id: parent.id, leaseToken: parent.leaseToken });

/** The pid of the backend that waits for the holder's transaction: the insert's. */
async function blockedByHolder(): Promise<number> {
  const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const holderPid = rows[0]?.pid;
  return waitUntil(async () => {
    const blocked = await withAdmin((admin) =>
      admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [
        holderPid,
      ]),
    );
    return blocked.rows[0]?.pid;
  });
}

/** Waits until some backend waits for `pid`. */
async function somethingWaitsFor(pid: number): Promise<void> {
  await waitUntil(async () => {
    const { rows } = await withAdmin((admin) =>
      admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
        [pid],
      ),
    );
    return (rows[0]?.n ?? 0) > 0;
  });
}

/** How many rows of the job-indexing table and the event log name `id`. */
async function tracesOf(id: string): Promise<number> {
  const { rows } = await withAdmin((admin) =>
    admin.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM "${schema}".job_queue WHERE id = $1)
             + (SELECT count(*) FROM "${schema}".events WHERE $1 = ANY(job_ids)))::int AS n`,
      [id],
    ),
  );
  return rows[0]?.n ?? -1;
}

/** Whether the job's lease ended by the store's clock. */
async function lapsed(id: string): Promise<boolean> {
  const { rows } = await withAdmin((admin) =>
    admin.query<{ lapsed: boolean }>(
      `SELECT lease_expires_at < "${schema}".nightshift_now() AS lapsed FROM "${schema}".jobs WHERE id = $1`,
      [id],
    ),
  );
  return rows[0]?.lapsed === true;
}

/** Starts the store's rescue in the holder's open transaction; resolves with the jobs it took. */
async function rescueInHolder(): Promise<string[]> {
  await holder.query('BEGIN');
  const { rows } = await holder.query<{ id: string }>(sql.jobRescueLapsed.text, [10, 'unheard', 'holder']);
  return rows.map((r) => r.id);
}

describe('PostgreSQL fenced child insert without a transaction', () => {
  it('writes, notifies and emits nothing once the lease is lost; a held lease inserts and announces', async () => {
    const lost = await claimParent('fence-lost');
    await db.store.jobFinishMany({
      finishes: [{ id: lost.id, leaseToken: lost.leaseToken, outcome: 'completed' }],
    });
    const held = await claimParent('fence-held');
    const local: string[] = [];
    const heard: Array<StoreEvents['job:ready']> = [];
    const peer = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 1 });
    const stop = db.store.listen('job:ready', (e) => local.push(e.queue ?? ''));
    try {
      peer.listen('job:ready', (e) => heard.push(e));
      await waitUntil(() => peer.crossProcessEventsLive);
      const orphan = newJob({ queue: 'fence-lost-children', parentId: lost.id });
      await expect(db.store.jobInsertMany({ jobs: [orphan], fence: fenceOf(lost) })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await expect(db.store.jobInsertMany({ jobs: [], fence: fenceOf(lost) })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect(await db.store.jobGet({ id: orphan.id })).toBeUndefined();
      expect(await tracesOf(orphan.id)).toBe(0);

      expect(await db.store.jobInsertMany({ jobs: [], fence: fenceOf(held) })).toEqual([]);
      const child = newJob({ queue: 'fence-held-children', parentId: held.id });
      const [made] = await db.store.jobInsertMany({ jobs: [child], fence: fenceOf(held) });
      expect(made).toMatchObject({
        created: true,
        job: { id: child.id, parentId: held.id, state: 'queued' },
      });
      // NOTIFY is delivered in commit order: once the held insert's arrived, a lost one's would have.
      await waitUntil(() => heard.some((e) => e.queue === 'fence-held-children'));
      expect(heard.map((e) => e.queue)).toEqual(['fence-held-children']);
      expect(local).toEqual(['fence-held-children']);
    } finally {
      stop();
      await peer.close();
    }
  });

  it('answers children that lost to an existing key or id with the existing jobs', async () => {
    const parent = await claimParent('fence-again');
    const first = newJob({ queue: 'fence-again-children', parentId: parent.id, idempotencyKey: 'again:a' });
    const [made] = await db.store.jobInsertMany({ jobs: [first], fence: fenceOf(parent) });
    expect(made?.created).toBe(true);
    // A re-run's batch: the same key under a new id, the same id again, and a new child.
    const sameKey = newJob({ queue: 'fence-again-children', parentId: parent.id, idempotencyKey: 'again:a' });
    const fresh = newJob({ queue: 'fence-again-children', parentId: parent.id, idempotencyKey: 'again:b' });
    const results = await db.store.jobInsertMany({ jobs: [sameKey, first, fresh], fence: fenceOf(parent) });
    expect(results.map((r) => [r.job.id, r.created])).toEqual([
      [first.id, false],
      [first.id, false],
      [fresh.id, true],
    ]);
  });

  it('writes nothing when a rescue that commits while the insert waits for the row took the lease', async () => {
    const parent = await claimParent('fence-rescued', 1);
    await waitUntil(() => lapsed(parent.id));
    expect(await rescueInHolder()).toEqual([parent.id]);
    const child = newJob({ queue: 'fence-rescued-children', parentId: parent.id });
    const insert = db.store.jobInsertMany({ jobs: [child], fence: fenceOf(parent) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    try {
      await blockedByHolder();
    } finally {
      await holder.query('COMMIT');
    }
    // The lock read the row as the rescue committed it: no lease, no child.
    expect(await insert).toBeInstanceOf(LeaseLostError);
    expect(await db.store.jobGet({ id: child.id })).toBeUndefined();
    expect(await tracesOf(child.id)).toBe(0);
    expect(await db.store.jobGet({ id: parent.id })).toMatchObject({ state: 'queued', attempt: 1 });
  });

  it('inserts when the rescue it waited for rolls back', async () => {
    const parent = await claimParent('fence-kept', 1);
    await waitUntil(() => lapsed(parent.id));
    expect(await rescueInHolder()).toEqual([parent.id]);
    const child = newJob({ queue: 'fence-kept-children', parentId: parent.id });
    const insert = db.store.jobInsertMany({ jobs: [child], fence: fenceOf(parent) });
    try {
      await blockedByHolder();
    } finally {
      await holder.query('ROLLBACK');
    }
    expect((await insert)[0]?.created).toBe(true);
    expect(await db.store.jobGet({ id: child.id })).toMatchObject({ parentId: parent.id, state: 'queued' });
    // Its lease lapsed: finished here, so the next test's rescue has nothing else to take.
    const { accepted } = await db.store.jobFinishMany({
      finishes: [{ id: parent.id, leaseToken: parent.leaseToken, outcome: 'completed' }],
    });
    expect(accepted).toEqual([parent.id]);
  });

  it('holds the parent row until its children commit: a finish waits, the rescue passes the job over', async () => {
    const parent = await claimParent('fence-holds', 300);
    // The holder's uncommitted job takes the child's key: the insert, its fence already locked, waits.
    await holder.query('BEGIN');
    await db.store.jobInsertMany({
      jobs: [newJob({ queue: 'fence-holds-children', idempotencyKey: 'holds:child' })],
      tx: holder,
    });
    const child = newJob({
      queue: 'fence-holds-children',
      parentId: parent.id,
      idempotencyKey: 'holds:child',
    });
    const insert = db.store.jobInsertMany({ jobs: [child], fence: fenceOf(parent) });
    let finish: ReturnType<PostgresStore['jobFinishMany']> | undefined;
    try {
      const pid = await blockedByHolder();
      await waitUntil(() => lapsed(parent.id));
      // Lapsed, but its row is held: the rescue does not wait for it and takes nothing.
      expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
      finish = db.store.jobFinishMany({
        finishes: [{ id: parent.id, leaseToken: parent.leaseToken, outcome: 'completed' }],
      });
      // An UPDATE of the row (any change of its lease or state takes one) waits for the children.
      await somethingWaitsFor(pid);
    } finally {
      await holder.query('ROLLBACK');
    }
    expect((await insert)[0]).toMatchObject({ created: true, job: { id: child.id } });
    expect((await finish)?.accepted).toEqual([parent.id]);
    expect(await db.store.jobGet({ id: parent.id })).toMatchObject({ state: 'completed' });
    expect(await db.store.jobGet({ id: child.id })).toMatchObject({ parentId: parent.id, state: 'queued' });
  });
});

const noServer = ownPostgresUnavailable();

/**
 * What the server ran, counted by pg_stat_statements on a private server (the shared one does not
 * load it): `ctx.enqueue` in a loop pays one statement a child, as an unfenced enqueue does.
 */
describe.skipIf(noServer !== null)('PostgreSQL fenced child insert, statements counted', () => {
  let server: OwnPostgres;
  let own: PostgresStore;

  beforeAll(async () => {
    server = await startOwnPostgres({ settings: ["shared_preload_libraries = 'pg_stat_statements'"] });
    await server.query('CREATE EXTENSION pg_stat_statements');
    own = await PostgresStore.open({ connectionString: server.url, poolSize: 1 });
    await own.migrate();
  }, 120_000);

  afterAll(async () => {
    await own?.close();
    await server?.remove();
  });

  it('is one statement per call, with no BEGIN, lock or COMMIT of its own', async () => {
    await own.jobInsertMany({ jobs: [newJob({ queue: 'counted' })] });
    const [parent] = await own.jobClaim({ workerId: 'w', queues: ['counted'], limit: 1, leaseMs: 60_000 });
    if (!parent) throw new Error('nothing claimed');
    const fence = fenceOf(parent);
    await own.jobInsertMany({ jobs: [newJob({ parentId: parent.id })], fence });
    await server.query('SELECT pg_stat_statements_reset()');
    // As a handler's `await ctx.enqueue(...)` in a loop.
    for (let i = 0; i < 10; i += 1) {
      await own.jobInsertMany({ jobs: [newJob({ parentId: parent.id })], fence });
    }
    const ran = await server.query<{ query: string; calls: number }>(
      `SELECT query, calls::int FROM pg_stat_statements
       WHERE query NOT LIKE '%pg_stat_statements%'
         -- The event log's wake-up for other processes, sent at most once per gap whatever the writes.
         AND query <> 'SELECT pg_notify($1, $2)'`,
    );
    expect(ran.map((r) => r.calls)).toEqual([10]);
    expect(ran[0]?.query).toContain('FOR SHARE');
  });
});
