/**
 * An open page follows a delayed job coming due. From its due time on a job reads `queued` (the store's
 * clock decides), but nothing is written at that moment, so no event reloads the page: the job list,
 * the job page and the overview's queue counts read again at the soonest due time they show, and not
 * before; a list of queued jobs when the next job matching it joins (the server says when); the alerts
 * when one begins by the passing of time (the server says when). Both clocks are moved by hand: the store's (test/api/api-server.ts) and the browser's
 * (Playwright's clock), so "ten minutes later" takes no ten minutes. On SQLite, and on PostgreSQL with
 * NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer } from '../api/api-server.js';
import { launchChromium } from './browser.js';

/** Waits for the page to catch up: a busy two-core machine renders well past vitest's 1 s default. */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';
const MINUTE = 60_000;
const TASKS = { 'email.send': defineTask({ handler: () => ({ sent: true }) }) };

describe(`pages reading again when a job comes due, in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    [browser, server] = await Promise.all([
      launchChromium(),
      startTestServer(backend, {
        tasks: TASKS,
        // No worker runs here: without it, every waiting queue would also raise unserved_queue a
        // minute on, another moment the alerts are read again (test/api/alert-changes.test.ts has it).
        alerts: { unservedGraceMs: null, queues: { aging: { oldestReadyAgeMs: 5 * MINUTE } } },
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /**
   * A page on `path` whose clock starts at `at` and runs from there, and the API reads it makes whose
   * path is `reads` (the query string aside). Its event stream is cut: no event reloads it (on
   * PostgreSQL a stream started from now may still bring the enqueues written just before), so every
   * read counted is the page's own.
   */
  async function open(path: string, at: number, reads: string): Promise<{ page: Page; made: () => number }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route('**/api/v1/events', (route) => route.abort());
    const page = await context.newPage();
    await page.clock.install({ time: at });
    let made = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === reads) made += 1;
    });
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.viewer)}`);
    return { page, made: () => made };
  }

  it('shows a delayed job queued once it is due on the job list, its page and the queue counts, reading nothing before', async () => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await server.clock.freeze(start);
    const enqueue = async (runAt: number) =>
      (
        await server.ns.enqueue(
          'email.send',
          { to: 'later@example.com' },
          { queue: 'later', runAt: new Date(runAt) },
        )
      ).id;
    const soon = await enqueue(start + 10 * MINUTE);
    const later = await enqueue(start + 120 * MINUTE);

    const list = await open('/jobs?queue=later', start, '/api/v1/jobs');
    const job = await open(`/jobs/${soon}`, start, `/api/v1/jobs/${soon}`);
    const overview = await open('/', start, '/api/v1/queues');
    const row = (id: string) =>
      list.page.getByRole('table', { name: 'Jobs' }).getByRole('row', { name: new RegExp(id.slice(-12)) });
    const heading = job.page.getByRole('heading', { level: 1 });
    const queue = overview.page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /later/ });
    const counts = () =>
      Promise.all(['scheduled', 'queued'].map((state) => queue.locator(`td.count-${state}`).textContent()));

    await until(() => row(soon).getByText('scheduled').count()).toBe(1);
    expect(await row(later).getByText('scheduled').count()).toBe(1);
    await until(() => heading.textContent()).toBe('email.send scheduled');
    await until(counts).toEqual(['2', '0']);
    const pages = [list, job, overview];
    expect(pages.map(({ made }) => made())).toEqual([1, 1, 1]);

    // Five minutes on, nothing is due: nothing is read again.
    for (const { page } of pages) await page.clock.fastForward(5 * MINUTE);
    // Ten minutes on, the sooner job is due by the store's clock: each page reads it once.
    await server.clock.advance(10 * MINUTE);
    for (const { page } of pages) await page.clock.fastForward(5 * MINUTE + 1_000);
    await until(() => row(soon).getByText('queued').count()).toBe(1);
    expect(await row(later).getByText('scheduled').count()).toBe(1);
    await until(() => heading.textContent()).toBe('email.send queued');
    await until(counts).toEqual(['1', '1']);
    expect(pages.map(({ made }) => made())).toEqual([2, 2, 2]);
    for (const { page } of pages) await page.context().close();
  });

  it('lists a delayed job among the queued ones once it is due, reading the list once then and not before', async () => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await server.clock.freeze(start);
    const enqueue = async (to: string, runAt: number) =>
      (await server.ns.enqueue('email.send', { to }, { queue: 'joining', runAt: new Date(runAt) })).id;
    const ready = await enqueue('ready@example.com', start);
    const delayed = await enqueue('delayed@example.com', start + 10 * MINUTE);
    // The queued list shows no scheduled job: only the server knows when the delayed one joins it.
    const list = await open('/jobs?state=queued&queue=joining', start, '/api/v1/jobs');
    const rows = list.page.getByRole('table', { name: 'Jobs' }).getByRole('row');
    const row = (id: string) => rows.filter({ hasText: id.slice(-12) });
    await until(() => row(ready).count()).toBe(1);
    expect(await row(delayed).count()).toBe(0);
    expect(list.made()).toBe(1);

    await list.page.clock.fastForward(5 * MINUTE);
    await server.clock.advance(10 * MINUTE);
    await list.page.clock.fastForward(5 * MINUTE + 1_000);
    await until(() => row(delayed).getByText('queued').count()).toBe(1);
    expect(list.made()).toBe(2);
    await list.page.context().close();
  });

  it('shows an alert that begins with nothing written (a ready job past its queue’s age threshold), reading the alerts once then', async () => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await server.clock.freeze(start);
    await server.ns.enqueue('email.send', { to: 'waiting@example.com' }, { queue: 'aging' });
    const overview = await open('/', start, '/api/v1/alerts');
    const alerts = overview.page.getByRole('region', { name: 'Alerts' });
    await until(() => alerts.getByText('no alerts').count()).toBe(1);
    expect(overview.made()).toBe(1);

    // Four minutes on, nothing has changed and nothing is read.
    await overview.page.clock.fastForward(4 * MINUTE);
    expect(overview.made()).toBe(1);
    // Past five minutes unclaimed by the store's clock: the alert holds, and the page reads it once.
    await server.clock.advance(5 * MINUTE + 1);
    await overview.page.clock.fastForward(MINUTE + 1_000);
    await until(() => alerts.getByRole('link', { name: /oldest ready age/ }).count()).toBe(1);
    expect(overview.made()).toBe(2);
    await overview.page.context().close();
  });

  it('reads a job past its due time by the browser’s clock again after 1 s, doubling, while the store’s clock says it is not due', async () => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await server.clock.freeze(start);
    const { id } = await server.ns.enqueue(
      'email.send',
      { to: 'ahead@example.com' },
      { queue: 'ahead', runAt: new Date(start + 10 * MINUTE) },
    );
    // This browser's clock is 20 minutes ahead of the store's: the job is due by its clock only.
    const job = await open(`/jobs/${id}`, start + 20 * MINUTE, `/api/v1/jobs/${id}`);
    const heading = job.page.getByRole('heading', { level: 1 });
    await until(() => heading.textContent()).toBe('email.send scheduled');
    // Reads at 1 s and 3 s after the first (then 7 s, 15 s, and every 15 s), not one after the other.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(job.made()).toBeLessThanOrEqual(3);
    expect(await heading.textContent()).toBe('email.send scheduled');
    await server.clock.advance(10 * MINUTE);
    await until(() => heading.textContent()).toBe('email.send queued');
    await job.page.context().close();
  });
});
