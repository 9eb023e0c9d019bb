/**
 * The PostgreSQL event log's two hard parts: the read horizon (an open writing transaction holds back
 * every later event until it ends, then they all arrive in order, none lost), and the plans of its
 * statements on a table never analyzed (autovacuum is off in tests, as on a fresh install).
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import * as sql from '../../src/store/postgres/sql/events.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, TEST_PG_URL, withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const db = migratedStore('evlog');
const { schema } = db;

describe('PostgreSQL event log read horizon', () => {
  it('holds back events behind an open writing transaction, then delivers them all in order', async () => {
    const head = await db.store.eventHead();
    const early = newJob({ queue: 'horizon' });
    const late = newJob({ queue: 'horizon' });
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    try {
      await client.query('BEGIN');
      await db.store.jobInsertMany({ jobs: [early], tx: client });
      await db.store.jobInsertMany({ jobs: [late] });
      // `late` committed, but a transaction that started writing before it is still open.
      const held = await db.store.eventRead({ after: head, limit: 10, queue: 'horizon' });
      expect(held.events).toEqual([]);
      // The short page's cursor stays before the open transaction's events.
      await client.query('COMMIT');
      const read = await waitUntil(
        async () => {
          const page = await db.store.eventRead({ after: held.next, limit: 10, queue: 'horizon' });
          return page.events.length === 2 ? page : undefined;
        },
        { timeoutMs: 10_000 },
      );
      expect(read.events.map((e) => e.jobId)).toEqual([early.id, late.id]);
    } finally {
      await client.end();
    }
  });

  it('rolls the events back with the transaction that wrote them', async () => {
    const head = await db.store.eventHead();
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    try {
      await client.query('BEGIN');
      await db.store.jobInsertMany({ jobs: [newJob({ queue: 'rolled' })], tx: client });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
    const marker = newJob({ queue: 'rolled' });
    await db.store.jobInsertMany({ jobs: [marker] });
    const read = await waitUntil(
      async () => {
        const page = await db.store.eventRead({ after: head, limit: 10, queue: 'rolled' });
        return page.events.length > 0 ? page : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(read.events.map((e) => e.jobId)).toEqual([marker.id]);
  });
});

describe('PostgreSQL event log plans, no statistics', () => {
  beforeAll(async () => {
    // 3,000 log rows of one event each, never analyzed.
    for (let i = 0; i < 3; i += 1) {
      await db.store.eventAppend({
        events: Array.from({ length: 1_000 }, () => ({ type: 'queue:paused' as const, queue: 'plan' })),
      });
    }
  });

  async function explain(text: string, values: unknown[]): Promise<string> {
    return withAdmin(async (client) => {
      await client.query('BEGIN');
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${text}`,
          values,
        );
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await client.query('ROLLBACK');
      }
    });
  }

  it('reads a page by walking events_order_idx from the cursor, stopped by the limit', async () => {
    const head = (await db.store.eventRead({ after: null, limit: 1_500 })).next;
    // Reads stop below the oldest running transaction of the server: while another test's
    // transaction is open, the rows after the cursor are not readable yet. Wait until they are.
    await waitUntil(
      async () =>
        (await db.store.eventRead({ after: head, limit: 100 })).events.length > 0 ? true : undefined,
      { timeoutMs: 30_000 },
    );
    const [tx = '0', id = '0', n = '0'] = head.split('_');
    const plan = await explain(sql.eventRead(`"${schema}"`), [tx, id, n, null, null, null, 100]);
    expect(plan).toContain('Index Scan using events_order_idx');
    expect(plan).not.toMatch(/Seq Scan on events\b/);
    // The scan stopped at the page: 100 rows read, not the 1,500 after the cursor.
    expect(plan).toMatch(/Index Scan using events_order_idx[^\n]*\(actual rows=100 /);
  });

  it('prunes by walking the same index from its start, never the whole log', async () => {
    const plan = await explain(sql.eventPrune(`"${schema}"`), [3_600_000, 100]);
    expect(plan).toContain('Index Scan using events_order_idx');
    expect(plan).not.toMatch(/Seq Scan on events\b/);
  });
});
