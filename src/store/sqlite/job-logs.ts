/** The job log part of SqliteStore (see JobLogStore in ../store.ts). */
import type { JobLogLevel, JobLogLine } from '../../job.js';
import type { JobLogStore, NewJobLogLine } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/job-logs.js';

interface JobLogRow {
  attempt: number;
  at: number;
  level: JobLogLevel;
  message: string;
  data: string | null;
}

/** Job log lines in one database. */
export class SqliteJobLogs implements JobLogStore {
  constructor(private readonly conn: SqliteConnection) {}

  async jobLogAppend(params: { lines: NewJobLogLine[] }): Promise<void> {
    if (params.lines.length === 0) return;
    await this.conn.write(() => {
      const insert = this.conn.stmt(sql.jobLogAppend);
      for (const line of params.lines) insert.run({ ...line, at: line.at.getTime() });
    });
  }

  async jobLogList(params: { jobId: string }): Promise<JobLogLine[]> {
    const rows = await this.conn.read(() => this.conn.stmt(sql.jobLogList).all(params.jobId) as JobLogRow[]);
    return rows.map((row) => ({
      attempt: row.attempt,
      at: new Date(row.at),
      level: row.level,
      message: row.message,
      data: row.data === null ? null : (JSON.parse(row.data) as unknown),
    }));
  }
}
