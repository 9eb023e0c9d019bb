/**
 * Migration 020: the arrays written once per statement (event-log rows, a claim's job_leases row, a
 * finish's job_finish_log row) are compressed with lz4 instead of pglz when they pass the toast
 * threshold, as they do from about 100 jobs per statement. The test server is built with lz4, as the
 * PGDG packages are; the values a 500-job enqueue, claim and completion write must be stored lz4 and
 * read back whole.
 */
import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const db = migratedStore('lz4');
const { schema } = db;
const JOBS = 500;

describe('PostgreSQL batch arrays', () => {
  it('stores the event log, lease and finish-log arrays of a 500-job batch compressed with lz4', async () => {
    const lz4 = await withAdmin(async (admin) => {
      const { rows } = await admin.query<{ lz4: boolean }>(
        `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
      );
      return rows[0]?.lz4 === true;
    });
    // The premise: without lz4 in the server the migration leaves the columns alone, and this test
    // would prove nothing.
    expect(lz4).toBe(true);

    const head = await db.store.eventHead();
    const jobs = Array.from({ length: JOBS }, () => newJob({ queue: 'lz4' }));
    await db.store.jobInsertMany({ jobs });
    const claimed = await db.store.jobClaim({ workerId: 'w', limit: JOBS, leaseMs: 60_000 });
    expect(claimed).toHaveLength(JOBS);
    const finished = await db.store.jobFinishMany({
      finishes: claimed.map((job) => ({ id: job.id, leaseToken: job.leaseToken, outcome: 'completed' })),
    });
    expect(finished.accepted).toHaveLength(JOBS);

    const compression = await withAdmin(async (admin) => {
      const { rows } = await admin.query<{ source: string; method: string | null }>(
        `SELECT 'events ' || type AS source, pg_column_compression(job_ids) AS method FROM ${schema}.events
         UNION ALL SELECT 'job_leases', pg_column_compression(job_ids) FROM ${schema}.job_leases
         UNION ALL SELECT 'job_finish_log', pg_column_compression(job_ids) FROM ${schema}.job_finish_log
         ORDER BY 1`,
      );
      return rows;
    });
    expect(compression).toEqual([
      { source: 'events job:completed', method: 'lz4' },
      { source: 'events job:enqueued', method: 'lz4' },
      { source: 'events job:started', method: 'lz4' },
      { source: 'job_finish_log', method: 'lz4' },
      { source: 'job_leases', method: 'lz4' },
    ]);

    // Read back whole: every job's three events, in order. An event becomes readable once every older
    // writing transaction on the server ended, and other test files' may stay open for a while.
    const events = await waitUntil(
      async () => {
        const read: string[] = [];
        let after = head;
        for (;;) {
          const page = await db.store.eventRead({ after, limit: 1_000, queue: 'lz4' });
          read.push(...page.events.map((e) => `${e.type} ${e.jobId}`));
          if (page.events.length === 0) break;
          after = page.next;
        }
        return read.length >= 3 * JOBS ? read : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 50 },
    );
    const ids = jobs.map((j) => j.id);
    expect(events).toHaveLength(3 * JOBS);
    expect(events.filter((e) => e.startsWith('job:enqueued')).map((e) => e.split(' ')[1])).toEqual(ids);
    expect(new Set(events.filter((e) => e.startsWith('job:completed')).map((e) => e.split(' ')[1]))).toEqual(
      new Set(ids),
    );
  });
});
