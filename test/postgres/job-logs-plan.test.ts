/**
 * The job log statements' plans on PostgreSQL with no statistics (autovacuum off, never analyzed), as a
 * fresh deployment runs them: reading one job's lines and deleting them with their job (jobDelete and
 * retention) go through job_logs_job_idx, never a scan of every job's lines.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { jobLogList } from '../../src/store/postgres/sql/job-logs.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import type { NewJobLogLine } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('logplan');
const { schema } = db;
const sql = renderStatements(`"${schema}"`);
let someJob = '';

beforeAll(async () => {
  // 400 jobs with 50 lines each: 20,000 lines, and no ANALYZE.
  const inserted = await db.store.jobInsertMany({ jobs: Array.from({ length: 400 }, () => newJob()) });
  const lines: NewJobLogLine[] = inserted.flatMap(({ job }) =>
    Array.from({ length: 50 }, (_, seq) => ({
      jobId: job.id,
      attempt: 1,
      seq,
      at: new Date(),
      level: 'info' as const,
      message: `line ${seq}`,
      data: null,
    })),
  );
  await db.store.jobLogAppend({ lines });
  someJob = inserted[7]!.job.id;
});

async function explain(text: string, values: unknown[]): Promise<string> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${text}`, values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('PostgreSQL job log plans without statistics', () => {
  it('reads one job’s lines through job_logs_job_idx', async () => {
    const plan = await explain(jobLogList(`"${schema}"`), [someJob]);
    expect(plan).toMatch(/Index (Only )?Scan (using|on) job_logs_job_idx/);
    expect(plan).not.toContain('Seq Scan on job_logs');
    expect(await db.store.jobLogList({ jobId: someJob })).toHaveLength(50);
  });

  it('deletes a job’s lines with the job through the index, in jobDelete and in retention', async () => {
    for (const text of [sql.jobDelete.text, sql.jobPrune.text]) {
      const values = text === sql.jobDelete.text ? [someJob] : [60_000, 100];
      const plan = await explain(text, values);
      expect(plan).toMatch(/Delete on job_logs[\s\S]*job_logs_job_idx/);
      expect(plan).not.toContain('Seq Scan on job_logs');
    }
  });
});
