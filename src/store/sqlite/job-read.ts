/** Listing jobs newest first, paged by an opaque cursor. */
import { NightshiftError } from '../../errors.js';
import type { Job } from '../../job.js';
import type { JobListParams, JobMatch } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { toJob, type JobRow } from './job-row.js';
import { JOB_LIST, JOB_LIST_DEAD } from './sql/job-read.js';

// The cursor is the (created_at, id) of the last job on the page, base64url-encoded so callers treat
// it as opaque and the encoding may change without breaking them.
function encodeCursor(job: JobRow): string {
  return Buffer.from(JSON.stringify([job.created_at, job.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the error below: a malformed cursor is the caller's mistake, not a crash.
  }
  throw new NightshiftError('invalid_argument', 'invalid job list cursor');
}

/** The JOB_MATCH_FILTERS parameters of a filter (sql/job-read.ts). */
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
    search: match.search?.toLowerCase() ?? null,
    createdAfter: match.createdAfter?.getTime() ?? null,
    createdBefore: match.createdBefore?.getTime() ?? null,
  };
}

/** A page of jobs matching the filters, newest first, and the cursor of the next page. */
export async function jobList(
  conn: SqliteConnection,
  params: JobListParams,
): Promise<{ jobs: Job[]; nextCursor: string | null }> {
  const cursor = params.cursor === undefined ? null : decodeCursor(params.cursor);
  const limit = Math.max(1, Math.floor(params.limit));
  const rows = await conn.read(
    () =>
      conn.stmt(params.state === 'failed' || params.state === 'cancelled' ? JOB_LIST_DEAD : JOB_LIST).all({
        ...matchParams(params),
        state: params.state ?? null,
        cursorCreatedAt: cursor?.createdAt ?? null,
        cursorId: cursor?.id ?? null,
        // One extra row tells whether another page exists without a count query.
        limit: limit + 1,
      }) as JobRow[],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { jobs: page.map(toJob), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
