/**
 * The job list searching on past the API's walk bound, in real Chromium against a real server: a
 * history of 50,060 jobs where a rare queue's 60 lie on both sides of 50,000 common ones, so one read
 * of GET /jobs (which walks at most 50,000 jobs past its cursor) finds only the newest 20. The page
 * reads on by itself and shows a full page without a click on Next; Stop keeps what it found and Next
 * goes on from there; paging back and forth shows every rare job once; another filter or another page
 * abandons the search; and a filter that matches nothing stops after 20 reads, which live events do
 * not start again. On SQLite, and on PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/api-server.js';
import { newJob } from '../support/jobs.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';
// The store's JOB_LIST_WALK_MAX: one read walks this many jobs at most.
const WALK = 50_000;
const BATCH = 5_000;

/** Holds the reads that go on from a cursor while held, so a search can be caught midway. */
function gate() {
  let open: () => void = () => undefined;
  let held: Promise<void> | null = null;
  return {
    hold() {
      held = new Promise((resolve) => (open = resolve));
    },
    release() {
      held = null;
      open();
    },
    passed: () => held ?? Promise.resolve(),
  };
}

describe(`the job list searching past the walk bound, in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;
  // The rare queue's job ids in list order (newest first), as the store pages them.
  let rare: string[];

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend)]);
    const { store } = server;
    await store.jobInsertMany({ jobs: Array.from({ length: 40 }, () => newJob({ queue: 'rare' })) });
    for (let i = 0; i < WALK; i += BATCH)
      await store.jobInsertMany({ jobs: Array.from({ length: BATCH }, () => newJob({ queue: 'common' })) });
    await store.jobInsertMany({ jobs: Array.from({ length: 20 }, () => newJob({ queue: 'rare' })) });
    rare = [];
    let cursor: string | null = null;
    do {
      const page = await store.jobList({ queue: 'rare', limit: 1_000, ...(cursor !== null && { cursor }) });
      rare.push(...page.jobs.map((job) => job.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(rare).toHaveLength(60);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /**
   * A page whose reads of `queue` are counted (their addresses), held at `held` when from a cursor, and
   * counted again when the page abandons them (`abandoned`).
   */
  async function watched(queue: string, held = gate()) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const reads: URL[] = [];
    await context.route('**/api/v1/jobs?*', async (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get('queue') === queue) {
        reads.push(url);
        if (url.searchParams.has('cursor')) await held.passed();
      }
      // A read the page abandoned meanwhile (Stop, another filter) has no request left to continue.
      await route.continue().catch(() => undefined);
    });
    const page = await context.newPage();
    const abandoned: string[] = [];
    page.on('requestfailed', (request) => {
      if (new URL(request.url()).searchParams.get('queue') === queue) abandoned.push(request.url());
    });
    return { context, page, reads, held, abandoned };
  }

  const open = (page: Page, path: string) =>
    page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.viewer)}`);
  const shownIds = async (page: Page) =>
    (await page
      .getByRole('table', { name: 'Jobs' })
      .locator('a[href^="/jobs/"]')
      .evaluateAll((links) =>
        links.map((link) => link.getAttribute('href')?.slice('/jobs/'.length)),
      )) as string[];
  const rows = (page: Page) => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count();
  const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

  it('shows a full page of a rare queue without a click on Next, and pages on with no job twice', async () => {
    const { context, page, reads } = await watched('rare');
    await open(page, '/jobs?queue=rare');
    await until(() => rows(page)).toBe(51);
    // Two reads: the newest 20, then from where the first walk stopped, the 30 the page still lacked.
    expect(reads.map((url) => url.searchParams.get('limit'))).toEqual(['50', '30']);
    expect(await shownIds(page)).toEqual(rare.slice(0, 50));
    expect(await page.locator('p.searched').textContent()).toMatch(
      /^Searched up to 100,000 jobs for this page, at .+; not read again on live changes, which would search them all again\. Search again$/,
    );
    await button(page, 'Next page').click();
    await until(() => rows(page)).toBe(11);
    expect(await shownIds(page)).toEqual(rare.slice(50));
    expect(await page.locator('p.searched, p.walk-stopped, p.searching').count()).toBe(0);
    expect(await button(page, 'Next page').isDisabled()).toBe(true);
    await button(page, 'Previous page').click();
    await until(() => shownIds(page)).toEqual(rare.slice(0, 50));
    // Shown as it was left; Search again reads it again, to the same jobs.
    expect(reads).toHaveLength(3);
    await button(page, 'Search again').click();
    await until(() => Promise.resolve(reads.length)).toBe(5);
    await until(() => shownIds(page)).toEqual(rare.slice(0, 50));
    await context.close();
  });

  it('counts every job a bulk action on the filter would change, reading past the walk bound', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(
      `${server.url}/jobs?queue=rare&task=test.task#token=${encodeURIComponent(server.tokens.operator)}`,
    );
    await until(() => rows(page)).toBe(51);
    await page.getByLabel('Select all jobs on this page').check();
    await button(page, 'Select all matching this filter').click();
    await page
      .getByRole('toolbar', { name: 'Actions on selected jobs' })
      .getByRole('button', { name: 'Cancel' })
      .click();
    // A task in the filter: counted from the job list, whose first read found 20 of the 60 on SQLite
    // (its queued list walks the history), and "more than 20" undercounted them.
    const dialog = page.getByRole('dialog');
    await until(() => dialog.getByRole('paragraph').nth(1).textContent()).toBe(
      'This changes 60 job(s) now: 60 queued (running ones are asked to stop).',
    );
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    expect((await server.store.jobList({ queue: 'rare', state: 'cancelled', limit: 10 })).jobs).toEqual([]);
    await context.close();
  });

  it('shows its progress, Stop keeps what it found, and Next goes on from there', async () => {
    const held = gate();
    held.hold();
    const { context, page, reads } = await watched('rare', held);
    await open(page, '/jobs?queue=rare');
    const searching = page.locator('p.searching');
    await until(() => searching.textContent()).toBe(
      'Searching… up to 50,000 jobs searched, 20 matches. Stop',
    );
    // The page shows its progress just before it sends the read from the cursor: wait for that read.
    await until(() => Promise.resolve(reads.length)).toBe(2);
    expect(await shownIds(page)).toEqual(rare.slice(0, 20));
    await screenshot(page, `jobs-searching-${backend}`);
    // The page's end is not known yet.
    expect(await button(page, 'Next page').isDisabled()).toBe(true);
    await button(page, 'Stop').click();
    const stopped = page.locator('p.walk-stopped');
    await until(() => stopped.textContent()).toBe(
      'Stopped: 20 matches among up to 50,000 jobs searched. Next page searches on from there. Search again',
    );
    held.release();
    await screenshot(page, `jobs-search-stopped-${backend}`);
    expect(await searching.count()).toBe(0);
    expect(await shownIds(page)).toEqual(rare.slice(0, 20));
    const stopCursor = reads[1]?.searchParams.get('cursor');
    expect(stopCursor).toBeTruthy();

    // Next reads from the cursor the stopped read would have: the 40 older rare jobs, in one read.
    await button(page, 'Next page').click();
    await until(() => rows(page)).toBe(41);
    expect(reads[2]?.searchParams.get('cursor')).toBe(stopCursor);
    const second = await shownIds(page);
    expect(second).toEqual(rare.slice(20));
    // Back: the stopped page as it was (searched again, it would hold 30 of the next page's jobs too).
    await button(page, 'Previous page').click();
    await until(() => shownIds(page)).toEqual(rare.slice(0, 20));
    expect(await stopped.count()).toBe(1);
    await button(page, 'Next page').click();
    await until(() => shownIds(page)).toEqual(second);
    const all = [...rare.slice(0, 20), ...second];
    expect(new Set(all).size).toBe(60);
    await context.close();
  });

  it('abandons its search for another filter or another page', async () => {
    const held = gate();
    held.hold();
    const { context, page, reads, abandoned } = await watched('rare', held);
    await open(page, '/jobs?queue=rare');
    const searching = page.locator('p.searching');
    await until(() => searching.count()).toBe(1);
    // The page shows its progress just before it sends the read from the cursor: wait for that read.
    await until(() => Promise.resolve(reads.length)).toBe(2);
    expect(abandoned).toEqual([]);
    await page.getByLabel('Queue').fill('common');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => rows(page)).toBe(51);
    expect(await searching.count()).toBe(0);
    // The held read was abandoned, not left to finish for nothing.
    await until(() => Promise.resolve(abandoned)).toEqual([reads[1]?.href]);
    held.release();
    await sleep(1_000);
    // The first read and the held one: the search went no further once its filter had gone.
    expect(reads).toHaveLength(2);

    held.hold();
    await page.goBack();
    await until(() => searching.count()).toBe(1);
    await until(() => Promise.resolve(reads.length)).toBe(4);
    await page.getByRole('link', { name: 'Overview' }).click();
    await until(() => page.getByRole('heading', { name: 'Overview' }).count()).toBe(1);
    await until(() => Promise.resolve(abandoned)).toEqual([reads[1]?.href, reads[3]?.href]);
    held.release();
    await sleep(1_000);
    expect(reads).toHaveLength(4);
    await context.close();
  });

  it('stops by itself after 20 reads of a filter that matches nothing, and live events do not start it again', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Each read of queue "nowhere" answered as one whose walk found nothing, with a cursor: a million
    // jobs and more, none of them in that queue.
    const cursors: Array<string | null> = [];
    await context.route('**/api/v1/jobs?*', async (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get('queue') !== 'nowhere') return route.continue();
      cursors.push(url.searchParams.get('cursor'));
      await sleep(50);
      return route.fulfill({ json: { jobs: [], nextCursor: `walked-${cursors.length}`, nextDueInMs: null } });
    });
    const page = await context.newPage();
    await open(page, '/jobs?queue=nowhere');
    // Live events while it searches, and after.
    for (let i = 0; i < 10; i += 1) {
      await server.ns.enqueue('noop', {}, { queue: 'elsewhere' });
      await sleep(150);
    }
    const stopped = page.locator('p.walk-stopped');
    await until(() => stopped.textContent()).toBe(
      'Stopped by itself after searching up to 1,000,000 jobs, the most a page searches on its own: no match. Next page searches on from there. Search again',
    );
    expect(cursors).toEqual([null, ...Array.from({ length: 19 }, (_, i) => `walked-${i + 1}`)]);
    await server.ns.enqueue('noop', {}, { queue: 'elsewhere' });
    await sleep(2_000);
    expect(cursors).toHaveLength(20);
    expect(await page.getByText('No job matches this filter.').count()).toBe(0);
    await button(page, 'Next page').click();
    await until(() => Promise.resolve(cursors.length)).toBeGreaterThan(20);
    expect(cursors[20]).toBe('walked-20');
    await context.close();
  });
});
