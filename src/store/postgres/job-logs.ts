/** The job log part of PostgresStore (see JobLogStore in ../store.ts). */
import type pg from 'pg';
import type { JobLogLevel, JobLogLine } from '../../job.js';
import type { JobLogStore, NewJobLogLine } from '../store.js';
import { toStoreError } from './pool.js';
import { isUuid } from './job-row.js';
import * as sql from './sql/job-logs.js';

interface JobLogRow {
  attempt: number;
  at: Date;
  level: JobLogLevel;
  message: string;
  data: unknown;
}

/** Job log lines in one schema. */
export class PostgresJobLogs implements JobLogStore {
  private readonly sql: { [K in keyof typeof sql]: string };

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
  ) {
    this.sql = {
      jobLogAppend: sql.jobLogAppend(quotedSchema),
      jobLogList: sql.jobLogList(quotedSchema),
    };
  }

  async jobLogAppend(params: { lines: NewJobLogLine[] }): Promise<void> {
    const { lines } = params;
    if (lines.length === 0) return;
    // Arrays per column: one statement and one round trip whatever the number of lines.
    await this.query(this.sql.jobLogAppend, [
      lines.map((line) => line.jobId),
      lines.map((line) => line.attempt),
      lines.map((line) => line.seq),
      lines.map((line) => line.at.getTime()),
      lines.map((line) => line.level),
      lines.map((line) => line.message),
      lines.map((line) => line.data),
    ]);
  }

  async jobLogList(params: { jobId: string }): Promise<JobLogLine[]> {
    if (!isUuid(params.jobId)) return [];
    const rows = await this.query<JobLogRow>(this.sql.jobLogList, [params.jobId]);
    return rows.map((row) => ({
      attempt: row.attempt,
      at: row.at,
      level: row.level,
      message: row.message,
      data: row.data ?? null,
    }));
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ text, values })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
