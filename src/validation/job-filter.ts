/**
 * The dashboard's job filters (`search`, `createdAfter`, `createdBefore`) as callers give them (a Date
 * or an ISO 8601 string), checked and normalised for the store. Shared by `ns.listJobs` and the API's
 * list, bulk-retry and bulk-cancel routes, so each refuses the same bad values before reading anything.
 * `ns.listJobs`'s other parameters are checked here too: a filter no job can match (a misspelt state,
 * a number for a queue) would list an empty page where the CLI and the API refuse it.
 */
import { NightshiftError } from '../errors.js';
import { isJobState, JOB_STATES } from '../job.js';
import type { JobListParams, JobMatch } from '../store/store.js';
import { dateIn, intIn, MAX_NAME_BYTES, MAX_PAGE, shown, textIn } from './bounds.js';
import { keyNames, refuseUnknownKeys } from './known-keys.js';

/** Longest `search` text, in UTF-8 bytes: a search term, not a document. */
export const MAX_SEARCH_BYTES = 200;

/** The filters as a caller gives them. */
export interface JobFilterInput {
  /** Case-insensitive text in the payload or result (their JSON text) or the error message. */
  search?: string | undefined;
  /** Jobs created at or after this time. */
  createdAfter?: Date | string | undefined;
  /** Jobs created before this time. */
  createdBefore?: Date | string | undefined;
}

// Date and time with a zone, or a date alone (midnight UTC): what the API documents as ISO 8601.
// `new Date()` alone would also take "March 7" or "7/3/2026", which mean different days to different
// readers.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function instant(option: string, value: Date | string): Date {
  if (typeof value === 'string' && !ISO_8601.test(value)) {
    throw new NightshiftError(
      'invalid_argument',
      `${option} must be an ISO 8601 date-time with a zone (2026-03-07T06:00:00Z) or a date, got ${JSON.stringify(value.slice(0, 60))}`,
    );
  }
  return dateIn(option, value);
}

/** The checked filters (absent ones left out); throws `invalid_argument` on a bad value. */
export function jobFilter(
  input: JobFilterInput,
): Pick<JobMatch, 'search' | 'createdAfter' | 'createdBefore'> {
  const filter: Pick<JobMatch, 'search' | 'createdAfter' | 'createdBefore'> = {};
  if (input.search !== undefined) filter.search = textIn('search', input.search, MAX_SEARCH_BYTES);
  if (input.createdAfter !== undefined) filter.createdAfter = instant('createdAfter', input.createdAfter);
  if (input.createdBefore !== undefined) filter.createdBefore = instant('createdBefore', input.createdBefore);
  return filter;
}

/** `ns.listJobs`'s parameters as a caller gives them: every one optional, dates as Date or text. */
export type JobListInput = Partial<Omit<JobListParams, keyof JobFilterInput>> & JobFilterInput;

const LIST_JOBS_OPTION_NAMES = keyNames<JobListParams>({
  state: true,
  queue: true,
  task: true,
  search: true,
  createdAfter: true,
  createdBefore: true,
  limit: true,
  cursor: true,
});

/** The checked parameters of one page of jobs (default limit 50); throws `invalid_argument`. */
export function jobListParams(input: JobListInput): JobListParams {
  // A misspelt filter would list every job.
  refuseUnknownKeys(input, LIST_JOBS_OPTION_NAMES, 'listJobs option');
  const { state, queue, task, cursor } = input;
  if (state !== undefined && !(typeof state === 'string' && isJobState(state))) {
    throw new NightshiftError(
      'invalid_argument',
      `state must be one of ${JOB_STATES.join(', ')}, got ${shown(state)}`,
    );
  }
  if (cursor !== undefined && typeof cursor !== 'string') {
    throw new NightshiftError(
      'invalid_argument',
      `cursor must be a previous page's nextCursor, got ${typeof cursor}`,
    );
  }
  return {
    ...(state !== undefined && { state }),
    ...(queue !== undefined && { queue: textIn('queue', queue, MAX_NAME_BYTES) }),
    ...(task !== undefined && { task: textIn('task', task, MAX_NAME_BYTES) }),
    ...(cursor !== undefined && { cursor }),
    ...jobFilter(input),
    // `??`: a limit given as null counts as not given, as it always has.
    limit: intIn('limit', input.limit ?? 50, [1, MAX_PAGE]),
  };
}
