/**
 * Reading jobs: one by id, a filtered page newest first (opaque cursor), when the next one comes due,
 * counts, a job's run history.
 */
import { setImmediate } from 'node:timers/promises';
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
import { byText } from '../queue-throttle.js';
import type { SqliteConnection } from './connection.js';
import { toJob, toJobRun, type JobRow, type JobRunRow } from './job-row.js';
import * as sql from './sql/job-read.js';

// The cursor is the (created_at, id) of the last job on the page, base64url-encoded so callers treat
// it as opaque and the encoding may change without breaking them.
function encodeCursor(job: Pick<JobRow, 'created_at' | 'id'>): string {
  return Buffer.from(JSON.stringify([job.created_at, job.id])).toString('base64url');
}

function decodeCursor(cursor: string): { cursorCreatedAt: number; cursorId: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { cursorCreatedAt: value[0], cursorId: value[1] };
    }
  } catch {
    // Falls through to the error below: a malformed cursor is the caller's mistake, not a crash.
  }
  throw new NightshiftError('invalid_argument', 'invalid job list cursor');
}

/**
 * The cursor of the first page: after every job (the lists compare (created_at, id) with it as a
 * range of their index).
 */
const START_CURSOR = { cursorCreatedAt: Number.MAX_SAFE_INTEGER, cursorId: '' };

/**
 * `text` lowercased as SQLite's lower() lowercases the rows it is compared with: ASCII letters only.
 * String.toLowerCase would fold "É" in the search text while lower() leaves it in the rows, so a
 * search would miss the very text it was copied from.
 */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The jobListMatchFilters parameters of a filter (sql/job-read.ts). */
export function matchParams(match: JobMatch): {
  queue: string | null;
  task: string | null;
  search: string | null;
  createdAfter: number | null;
  createdBefore: number | null;
} {
  return {
    queue: match.queue ?? null,
    task: match.task ?? null,
    search: match.search === undefined ? null : lowerAscii(match.search),
    createdAfter: match.createdAfter?.getTime() ?? null,
    createdBefore: match.createdBefore?.getTime() ?? null,
  };
}

/**
 * A page of jobs matching the filters, newest first, and the cursor of the next page: a walk of at
 * most JOB_LIST_WALK_MAX jobs from the cursor, failed and cancelled ones through their partial index
 * (sql/job-read.ts jobListDead), the others through jobs_created (jobList); a walk that ends before
 * the page is full gives the matches it found and a cursor at the last job it read.
 */
export async function jobList(conn: SqliteConnection, params: JobListParams): Promise<JobPage> {
  const cursor = params.cursor === undefined ? null : decodeCursor(params.cursor);
  const limit = Math.max(1, Math.floor(params.limit));
  const dead = params.state === 'failed' || params.state === 'cancelled';
  const values = {
    ...matchParams(params),
    state: params.state ?? null,
    now: conn.clock(),
    ...(cursor ?? START_CURSOR),
    // One extra row tells whether another page exists without a count query.
    limit: limit + 1,
    walk: JOB_LIST_WALK_MAX,
  };
  return conn.read(() =>
    pageOf(
      conn.stmt(dead ? sql.jobListDead : sql.jobList).all(values) as JobRow[],
      limit,
      () =>
        conn.stmt(dead ? sql.jobListDeadWalkEnd : sql.jobListWalkEnd).get(values) as
          Pick<JobRow, 'created_at' | 'id'> | undefined,
    ),
  );
}

/**
 * A page from `rows` (read with one more than `limit`): its last job's cursor when there were more;
 * else, when the walk stopped at its bound (`stoppedAt`, asked only then), a cursor that searches on
 * from the last job it read; else none, the list ended.
 */
function pageOf(
  rows: JobRow[],
  limit: number,
  stoppedAt: () => Pick<JobRow, 'created_at' | 'id'> | undefined,
): JobPage {
  const jobs = rows.slice(0, limit);
  const last = jobs.at(-1);
  if (rows.length > limit && last !== undefined)
    return { jobs: jobs.map(toJob), nextCursor: encodeCursor(last) };
  const end = stoppedAt();
  return { jobs: jobs.map(toJob), nextCursor: end === undefined ? null : encodeCursor(end) };
}

/** `jobNextDue`: ms until the soonest scheduled job matching the filters comes due, or null. */
export async function jobNextDue(
  conn: SqliteConnection,
  match: Omit<JobMatch, 'state'>,
): Promise<number | null> {
  const row = await conn.read(
    () =>
      conn.stmt(sql.jobNextDue).get({ ...matchParams(match), now: conn.clock() }) as
        { inMs: number } | undefined,
  );
  return row === undefined ? null : row.inMs;
}

/** `jobGet`: one job, or undefined. */
export async function jobGet(conn: SqliteConnection, params: JobIdParams): Promise<Job | undefined> {
  const row = await conn.read(
    () => conn.stmt(sql.jobGet).get({ id: params.id, now: conn.clock() }) as JobRow | undefined,
  );
  return row ? toJob(row) : undefined;
}

/** `jobCountByQueue`: counts per (queue, state), a due scheduled job counted as queued. */
export function jobCountByQueue(conn: SqliteConnection): Promise<JobCount[]> {
  return conn.read(() => conn.stmt(sql.jobCountByQueue).all({ now: conn.clock() }) as JobCount[]);
}

/** Rows of jobs counted in one read of `jobFinishedCountByQueue` (~15 ms on a one-million-job file here). */
const FINISHED_COUNT_SLICE_ROWS = 25_000;

/**
 * `jobFinishedCountByQueue`: counts per queue of the finished states, a slice of the table by rowid
 * per read with the event loop free between two (setImmediate): counting a million finished jobs reads
 * every row, ~600 ms here, which in one read would stall this process's workers, heartbeats and HTTP
 * answers as long. An index of (queue, state) over the finished jobs read in ~60 ms, but it made every
 * finish write one more page to the log: a drain ran 13% slower. A job is counted once, in the state
 * its slice found it in; those inserted after the count began are left to the next count.
 */
export async function jobFinishedCountByQueue(conn: SqliteConnection): Promise<JobCount[]> {
  const { last } = await conn.read(() => conn.stmt(sql.jobLastRowid).get() as { last: number });
  const counts = new Map<string, JobCount>();
  let after = 0;
  for (;;) {
    const slice = await conn.read(() => {
      const { next } = conn.stmt(sql.jobNextRowid).get({ after }) as { next: number | null };
      if (next === null || next > last) return null;
      const upTo = Math.min(last, next - 1 + FINISHED_COUNT_SLICE_ROWS);
      return {
        upTo,
        rows: conn.stmt(sql.jobFinishedCountSlice).all({ after: next - 1, upTo }) as JobCount[],
      };
    });
    if (slice === null) break;
    after = slice.upTo;
    for (const { queue, state, count } of slice.rows) {
      const key = `${state}\u0000${queue}`;
      const kept = counts.get(key);
      if (kept === undefined) counts.set(key, { queue, state, count });
      else kept.count += count;
    }
    await setImmediate();
  }
  return [...counts.values()].sort((a, b) => byText(a.queue, b.queue) || byText(a.state, b.state));
}

/** `jobRunList`: a job's runs, oldest first. */
export async function jobRunList(conn: SqliteConnection, params: JobRunListParams): Promise<JobRun[]> {
  const rows = await conn.read(() => conn.stmt(sql.jobRunList).all(params.jobId) as JobRunRow[]);
  return rows.map(toJobRun);
}
