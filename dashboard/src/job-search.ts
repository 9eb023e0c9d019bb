/**
 * The job list's search past the API's walk bound. GET /jobs walks at most WALK_MAX jobs a page past
 * its cursor, so a filter that matches few jobs of a long history (a rare queue, a text searched among
 * a million finished jobs) comes back short, or empty, with a cursor to search on from. Rather than
 * leave the reader to press Next page until the matches show, the page reads on from that cursor by
 * itself, gathering matches until it holds a full page or the list ends, and shows how far it got
 * while it goes, with a Stop that keeps what it found. It stops by itself after MAX_READS reads or
 * MAX_SEARCH_MS, so a page left open on a filter that matches nothing does not keep the database
 * walking: Next page searches on from where it stopped.
 */
import type { JobPage } from './types.js';

/** The most jobs one GET /jobs read walks past its cursor (the store's JOB_LIST_WALK_MAX). */
export const WALK_MAX = 50_000;
/** The most reads one page makes by itself: 1,000,000 jobs searched. */
export const MAX_READS = 20;
/** How long one page searches by itself at most; a read in flight then is let finish. */
export const MAX_SEARCH_MS = 10_000;

/** Why a search ended before a full page or the list's end. */
export type SearchCut =
  { kind: 'stopped' } | { kind: 'most-reads' } | { kind: 'most-time' } | { kind: 'failed'; message: string };

/** How a page came to be when its first read did not fill it. */
export interface Search {
  /** The reads answered: each walked up to WALK_MAX jobs. */
  reads: number;
  /** While the search goes on: stops it, keeping what it found. Null once it ended. */
  stop: (() => void) | null;
  /** Why it ended short of a full page and of the list's end; null while it goes on, or when it got there. */
  cut: SearchCut | null;
}

export interface SearchedPage extends JobPage {
  /** When the last answer arrived (this browser's clock). */
  readAt: number;
  /** Null when one read gave the page (full, or the list's end), as every page was before. */
  search: Search | null;
}

/** Reads `limit` jobs at most of the list from `cursor` (undefined: its start). */
export type ReadPage = (cursor: string | undefined, limit: number, signal: AbortSignal) => Promise<JobPage>;

/**
 * Reads the page of `pageSize` jobs from `cursor`, reading on while an answer is short with a cursor.
 * Each read after the first asks for the jobs the page still lacks, so the page holds `pageSize` jobs
 * at most and its `nextCursor` continues right after them (or where the last walk stopped). `publish`
 * is given the page as found so far before each read after the first. Rejects when the first read
 * fails, and when `signal` is aborted (the answer would be dropped); Stop, the bounds and a later read
 * failing resolve with what was found, and the cursor to go on from.
 */
export async function searchPage(
  read: ReadPage,
  options: {
    cursor: string | undefined;
    pageSize: number;
    signal: AbortSignal;
    publish: (page: SearchedPage) => void;
  },
): Promise<SearchedPage> {
  const { pageSize, signal, publish } = options;
  const started = Date.now();
  // Stop abandons the read in flight at once, as the caller's signal does.
  const reading = new AbortController();
  const abandon = () => reading.abort();
  signal.addEventListener('abort', abandon, { once: true });
  try {
    const first = await read(options.cursor, pageSize, reading.signal);
    if (first.jobs.length >= pageSize || first.nextCursor === null)
      return { ...first, readAt: Date.now(), search: null };
    const jobs = [...first.jobs];
    let nextCursor: string | null = first.nextCursor;
    let reads = 1;
    let stopped = false;
    const stop = () => {
      stopped = true;
      reading.abort();
    };
    const page = (search: Search): SearchedPage => ({
      jobs: [...jobs],
      nextCursor,
      nextDueInMs: first.nextDueInMs,
      readAt: Date.now(),
      search,
    });
    let cut: SearchCut | null = null;
    while (jobs.length < pageSize && nextCursor !== null) {
      if (stopped) cut = { kind: 'stopped' };
      else if (reads >= MAX_READS) cut = { kind: 'most-reads' };
      else if (Date.now() - started >= MAX_SEARCH_MS) cut = { kind: 'most-time' };
      if (cut !== null) break;
      publish(page({ reads, stop, cut: null }));
      try {
        const more = await read(nextCursor, pageSize - jobs.length, reading.signal);
        jobs.push(...more.jobs);
        nextCursor = more.nextCursor;
        reads += 1;
      } catch (error) {
        if (signal.aborted) throw error;
        cut = stopped
          ? { kind: 'stopped' }
          : { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
        break;
      }
    }
    return page({ reads, stop: null, cut });
  } finally {
    signal.removeEventListener('abort', abandon);
  }
}
