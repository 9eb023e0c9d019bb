/**
 * The dashboard's job filters (`search`, `createdAfter`, `createdBefore`) as callers give them (a Date
 * or an ISO 8601 string), checked and normalised for the store. Shared by `ns.listJobs` and the API's
 * list, bulk-retry and bulk-cancel routes, so each refuses the same bad values before reading anything.
 */
import { NightshiftError } from '../errors.js';
import type { JobMatch } from '../store/store.js';
import { dateIn, textIn } from './bounds.js';

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
