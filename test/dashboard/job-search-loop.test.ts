/**
 * The job list's search loop (dashboard/src/job-search.ts) against a list read as GET /jobs reads it:
 * newest first, each read walking a bounded number of jobs past its cursor. Paging with it gives every
 * match once, in order, whatever the layout; it stops by itself after MAX_READS reads or MAX_SEARCH_MS,
 * on Stop, and on a read that fails, each time with the cursor to go on from; the caller's abort
 * rejects. The jobs it says it searched are counted by the store's walk bound, the same number. The
 * page in Chromium: job-search.test.ts.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MAX_READS,
  MAX_SEARCH_MS,
  WALK_MAX,
  searchPage,
  type ReadPage,
  type SearchedPage,
} from '../../dashboard/src/job-search.js';
import type { Job, JobPage } from '../../dashboard/src/types.js';
import { JOB_LIST_WALK_MAX } from '../../src/store/store.js';

/**
 * A list of `matches.length` jobs, newest first, of which those marked true match the filter; a read
 * walks at most `walk` of them past its cursor (the index it stopped at), as the store's bounded walk.
 */
function list(matches: boolean[], walk: number) {
  const reads: Array<{ cursor: string | undefined; limit: number }> = [];
  const read: ReadPage = (cursor, limit) => {
    reads.push({ cursor, limit });
    let at = cursor === undefined ? 0 : Number(cursor);
    const end = Math.min(matches.length, at + walk);
    const jobs: Job[] = [];
    for (; at < end && jobs.length < limit; at += 1)
      if (matches[at] === true) jobs.push({ id: String(at) } as Job);
    return Promise.resolve({ jobs, nextCursor: at >= matches.length ? null : String(at), nextDueInMs: null });
  };
  return { read, reads };
}

const search = (
  read: ReadPage,
  cursor: string | undefined,
  pageSize: number,
  publish: (page: SearchedPage) => void = () => undefined,
  signal = new AbortController().signal,
) => searchPage(read, { cursor, pageSize, signal, publish });

const ids = (page: JobPage) => page.jobs.map((job) => job.id);

afterEach(() => {
  vi.useRealTimers();
});

describe('searchPage', () => {
  it("counts the jobs a read walks as the store's bound", () => {
    expect(WALK_MAX).toBe(JOB_LIST_WALK_MAX);
  });

  it('gives a page one read filled as it came, with no search', async () => {
    const { read, reads } = list([true, true, true, false], 10);
    const page = await search(read, undefined, 2);
    expect(ids(page)).toEqual(['0', '1']);
    expect(page.search).toBeNull();
    expect(reads).toEqual([{ cursor: undefined, limit: 2 }]);
  });

  it('reads on for the jobs a page lacks, and tells how far it got before each read', async () => {
    // Matches at 1, 12, 13, 25; each read walks 10 jobs.
    const matches = Array.from({ length: 30 }, (_, i) => [1, 12, 13, 25].includes(i));
    const { read, reads } = list(matches, 10);
    const published: Array<{ ids: string[]; reads: number }> = [];
    const page = await search(read, undefined, 3, (found) => {
      expect(found.search?.stop).toBeTypeOf('function');
      published.push({ ids: ids(found), reads: found.search?.reads ?? 0 });
    });
    expect(ids(page)).toEqual(['1', '12', '13']);
    expect(page.nextCursor).toBe('14');
    expect(page.search).toEqual({ reads: 2, stop: null, cut: null });
    expect(reads).toEqual([
      { cursor: undefined, limit: 3 },
      { cursor: '10', limit: 2 },
    ]);
    expect(published).toEqual([{ ids: ['1'], reads: 1 }]);
  });

  it('pages through any list giving every match once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        // About one job in seven matches.
        fc.array(
          fc.nat({ max: 6 }).map((n) => n === 0),
          { maxLength: 400 },
        ),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 12 }),
        async (matches, walk, pageSize) => {
          const { read } = list(matches, walk);
          const seen: string[] = [];
          let cursor: string | undefined;
          for (;;) {
            const page = await search(read, cursor, pageSize);
            expect(page.jobs.length).toBeLessThanOrEqual(pageSize);
            // Short only at the list's end, or when cut.
            if (page.jobs.length < pageSize && page.nextCursor !== null)
              expect(page.search?.cut).toEqual({ kind: 'most-reads' });
            seen.push(...ids(page));
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          expect(seen).toEqual(matches.flatMap((match, i) => (match ? [String(i)] : [])));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops by itself after MAX_READS reads, with the cursor to go on from', async () => {
    const { read, reads } = list(Array<boolean>(10_000).fill(false), 10);
    const page = await search(read, undefined, 50);
    expect(reads).toHaveLength(MAX_READS);
    expect(page).toMatchObject({ jobs: [], nextCursor: String(MAX_READS * 10) });
    expect(page.search).toEqual({ reads: MAX_READS, stop: null, cut: { kind: 'most-reads' } });
  });

  it('stops by itself after MAX_SEARCH_MS, letting the read in flight then finish', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { read: walk, reads } = list(Array<boolean>(10_000).fill(false), 10);
    // Each read takes 3 s: the fourth ends 12 s in, and no fifth starts.
    const read: ReadPage = async (cursor, limit, signal) => {
      vi.setSystemTime(Date.now() + 3_000);
      return walk(cursor, limit, signal);
    };
    const page = await search(read, undefined, 50);
    expect(reads).toHaveLength(Math.ceil(MAX_SEARCH_MS / 3_000));
    expect(page.search?.cut).toEqual({ kind: 'most-time' });
    expect(page.nextCursor).toBe(String(reads.length * 10));
  });

  it('on Stop abandons the read in flight and keeps what it found, to go on from where that read started', async () => {
    const matches = Array.from({ length: 100 }, (_, i) => i === 3);
    const { read: walk } = list(matches, 10);
    let abandoned = false;
    let stop: (() => void) | null = null;
    const read: ReadPage = (cursor, limit, signal) =>
      cursor === undefined
        ? walk(cursor, limit, signal)
        : new Promise<JobPage>((_, reject) => {
            signal.addEventListener('abort', () => {
              abandoned = true;
              reject(new Error('aborted'));
            });
            stop?.();
          });
    const page = await search(read, undefined, 5, (found) => {
      stop = found.search?.stop ?? null;
    });
    expect(abandoned).toBe(true);
    expect(ids(page)).toEqual(['3']);
    expect(page.nextCursor).toBe('10');
    expect(page.search).toEqual({ reads: 1, stop: null, cut: { kind: 'stopped' } });
  });

  it('ends with what it found when a later read fails, and rejects when the first does', async () => {
    const { read: walk } = list(
      Array.from({ length: 100 }, (_, i) => i === 3 || i === 14),
      10,
    );
    const failing =
      (after: number): ReadPage =>
      (cursor, limit, signal) =>
        Number(cursor ?? 0) >= after
          ? Promise.reject(new Error('statement timeout'))
          : walk(cursor, limit, signal);
    const page = await search(failing(20), undefined, 5);
    expect(ids(page)).toEqual(['3', '14']);
    expect(page.nextCursor).toBe('20');
    expect(page.search).toEqual({
      reads: 2,
      stop: null,
      cut: { kind: 'failed', message: 'statement timeout' },
    });
    await expect(search(failing(0), undefined, 5)).rejects.toThrow('statement timeout');
  });

  it("rejects once the caller's signal is aborted, abandoning the read in flight", async () => {
    const { read: walk } = list(Array<boolean>(100).fill(false), 10);
    const caller = new AbortController();
    const read: ReadPage = (cursor, limit, signal) =>
      cursor === undefined
        ? walk(cursor, limit, signal)
        : new Promise<JobPage>((_, reject) => {
            signal.addEventListener('abort', () => reject(new Error('abandoned')));
            caller.abort();
          });
    await expect(search(read, undefined, 5, undefined, caller.signal)).rejects.toThrow('abandoned');
  });
});
