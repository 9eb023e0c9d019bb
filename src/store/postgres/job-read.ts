/**
 * Reading jobs: one by id, a filtered page, when the next one comes due, counts per queue and state,
 * and a job's run history.
 */
import { NightshiftError } from '../../errors.js';
import type { Job, JobRun } from '../../job.js';
import {
  JOB_LIST_WALK_MAX,
  type JobCount,
  type JobIdParams,
  type JobListParams,
  type JobMatch,
  type JobPage,
  type JobRunListParams,
} from '../store.js';
import type { PostgresConnection } from './connection.js';
import { isUuid, toJob, toJobRun, type JobRow, type JobRunRow } from './job-row.js';

/** `jobGet`: one job, or undefined. */
export async function jobGet(conn: PostgresConnection, params: JobIdParams): Promise<Job | undefined> {
  if (!isUuid(params.id)) return undefined;
  const [row] = await conn.rows<JobRow>(conn.sql.jobGet, [params.id]);
  return row && toJob(row);
}

/**
 * `jobList`: a page of jobs, newest first; the cursor is the id of the last job the page read past:
 * its last job, or where a bounded walk stopped (sql/job-read.ts jobListWalk).
 */
export async function jobList(conn: PostgresConnection, params: JobListParams): Promise<JobPage> {
  const limit = Math.max(1, Math.floor(params.limit));
  const cursor = params.cursor === undefined ? null : decodeCursor(params.cursor);
  const values = [
    params.state ?? null,
    params.queue ?? null,
    params.task ?? null,
    cursor,
    // One extra row tells whether another page exists without a count query.
    limit + 1,
    ...matchValues(params),
  ];
  const state = params.state;
  const dead = state === 'failed' || state === 'cancelled';
  // Waiting and running jobs are found through the tables that hold only them (jobList): no walk.
  if (state !== undefined && state !== 'completed' && !dead)
    return page(await conn.rows<JobRow>(conn.sql.jobList, values), limit);
  const rows = await conn.rows<JobRow & { walked: string; matches: boolean }>(
    dead ? conn.sql.jobListDead : conn.sql.jobListWalk,
    [...values, JOB_LIST_WALK_MAX],
  );
  const matches = rows.filter((row) => row.matches);
  const stoppedAt = rows.find((row) => Number(row.walked) === JOB_LIST_WALK_MAX);
  if (matches.length <= limit && stoppedAt !== undefined)
    return { jobs: matches.map(toJob), nextCursor: idCursor(stoppedAt.id) };
  return page(matches, limit);
}

/** The first `limit` of `rows` (read with one more), and the cursor after them when there were more. */
function page(rows: JobRow[], limit: number): JobPage {
  const jobs = rows.slice(0, limit);
  const last = jobs.at(-1);
  return { jobs: jobs.map(toJob), nextCursor: rows.length > limit && last ? idCursor(last.id) : null };
}

function idCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

/**
 * `jobNextDue`: ms until the soonest scheduled job matching the filters comes due, rounded up (the
 * clock has microseconds: read again after this long, the job is due), or null.
 */
export async function jobNextDue(
  conn: PostgresConnection,
  match: Omit<JobMatch, 'state'>,
): Promise<number | null> {
  const [row] = await conn.rows<{ inMs: string | number }>(conn.sql.jobNextDue, [
    match.queue ?? null,
    match.task ?? null,
    ...matchValues(match),
  ]);
  return row === undefined ? null : Math.max(1, Math.ceil(Number(row.inMs)));
}

/** `jobCountByQueue`: counts per (queue, state). */
export function jobCountByQueue(conn: PostgresConnection): Promise<JobCount[]> {
  return conn.groupedRows<JobCount>(conn.sql.jobCountByQueue, []);
}

/** `jobFinishedCountByQueue`: counts per queue of the finished states. */
export function jobFinishedCountByQueue(conn: PostgresConnection): Promise<JobCount[]> {
  return conn.groupedRows<JobCount>(conn.sql.jobFinishedCountByQueue, []);
}

/** `jobRunList`: a job's runs, oldest first. */
export async function jobRunList(conn: PostgresConnection, params: JobRunListParams): Promise<JobRun[]> {
  if (!isUuid(params.jobId)) return [];
  return (await conn.rows<JobRunRow>(conn.sql.jobRunList, [params.jobId])).map(toJobRun);
}

/** The values of sql/job-read.ts `jobListMatchFilters`, in their order. */
export function matchValues(match: JobMatch): [string | null, Date | null, Date | null] {
  return [match.search ?? null, match.createdAfter ?? null, match.createdBefore ?? null];
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new NightshiftError('invalid_argument', 'invalid list cursor');
  return id;
}
