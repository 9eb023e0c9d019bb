/**
 * The filters and paging of the library's reads beside `listJobs` (job-filter.ts) and
 * `schedules.list`: a page of cluster events (`ns.readEvents`), of concurrency keys
 * (`ns.concurrencyKeys`) and of groups (`ns.groups`). Checked before anything is read, with the same
 * checks: a filter of the wrong type would read an empty page (or fail in one backend's driver only),
 * a misspelt one would read every row, and a page without bound would read the whole log.
 */
import type { ClusterEventFilter } from '../cluster-events.js';
import type { EventReadParams } from '../store/store.js';
import {
  booleanIn,
  idIn,
  intIn,
  MAX_KEY_BYTES,
  MAX_KEYS_PAGE,
  MAX_NAME_BYTES,
  MAX_PAGE,
  textIn,
} from './bounds.js';
import { keyNames, refuseUnknownKeys } from './known-keys.js';

/** Paging of `ns.concurrencyKeys` and `ns.groups`. */
export interface RunningPageParams {
  /** The last key (or group) of the page before; absent or empty: from the first. */
  after?: string;
  /** Rows per page: default 100, at most `MAX_KEYS_PAGE`. */
  limit?: number;
  /** True keeps only the keys (or groups) with running jobs. */
  running?: boolean;
}

/** `ns.readEvents`'s filters and paging. */
export interface EventReadInput extends ClusterEventFilter {
  /** An event's id or a previous page's `next`; absent: from the oldest event kept. */
  after?: string;
  /** Events per page: default 100, at most `MAX_PAGE`. */
  limit?: number;
}

const RUNNING_PAGE_OPTION_NAMES = keyNames<RunningPageParams>({ after: true, limit: true, running: true });
const READ_EVENTS_OPTION_NAMES = keyNames<EventReadInput>({
  queue: true,
  task: true,
  jobId: true,
  after: true,
  limit: true,
});

const DEFAULT_LIMIT = 100;

/** The checked paging of `ns.<what>` (concurrencyKeys, groups); throws `invalid_argument`. */
export function runningPageParams(
  input: RunningPageParams,
  what: string,
): { after?: string; limit: number; running?: boolean } {
  refuseUnknownKeys(input, RUNNING_PAGE_OPTION_NAMES, `${what} option`);
  const { after, running } = input;
  if (running !== undefined) booleanIn('running', running);
  return {
    // Empty: from the first, as absent (the REST API's `?after=`).
    ...(after !== undefined && { after: after === '' ? '' : textIn('after', after, MAX_KEY_BYTES) }),
    ...(running !== undefined && { running }),
    limit: intIn('limit', input.limit ?? DEFAULT_LIMIT, [1, MAX_KEYS_PAGE]),
  };
}

/** The checked parameters of `ns.readEvents`; throws `invalid_argument`. */
export function eventReadParams(input: EventReadInput): EventReadParams {
  refuseUnknownKeys(input, READ_EVENTS_OPTION_NAMES, 'readEvents option');
  const { queue, task, jobId, after } = input;
  return {
    ...(queue !== undefined && { queue: textIn('queue', queue, MAX_NAME_BYTES) }),
    ...(task !== undefined && { task: textIn('task', task, MAX_NAME_BYTES) }),
    ...(jobId !== undefined && { jobId: idIn('jobId', jobId) }),
    after: after === undefined ? null : idIn('after', after),
    limit: intIn('limit', input.limit ?? DEFAULT_LIMIT, [1, MAX_PAGE]),
  };
}
