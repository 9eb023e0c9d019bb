/**
 * A job's page and the job list in real headless Chromium against a real API server (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres), as an operator acting on one job: the Cancel
 * confirmation's buttons say which one cancels and which one leaves the job alone (a cancel's and a
 * delete's look dangerous, a retry's does not), and a job running again after a failed attempt shows
 * that attempt's error as the last attempt's, not as its own; on a phone a run's error keeps its width
 * in the Runs table, which scrolls sideways. On the job list a bulk action is offered only when it
 * applies to a selected job (no Retry for scheduled and queued ones).
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

// The second attempt of sync.run holds until the test lets it go.
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));

const TASKS = {
  'report.build': defineTask({ handler: () => null }),
  'report.broken': defineTask({
    maxAttempts: 1,
    handler: () => {
      throw new Error('the warehouse answered with an empty report for every region');
    },
  }),
  'sync.run': defineTask({
    backoff: { baseMs: 10, jitter: 0 },
    handler: async (_payload: unknown, ctx) => {
      if (ctx.job.attempt === 1) throw new Error('upstream refused the first sync');
      await held;
      return { synced: true };
    },
  }),
};

describe(`a job's actions and errors in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
  });
  afterAll(async () => {
    release();
    await browser?.close();
    await server?.close();
  });

  /** Whether a button is styled as a dangerous action (red, as Delete). */
  const isDanger = (button: Locator) => button.evaluate((element) => element.classList.contains('danger'));

  async function open(path: string): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.operator)}`);
    return { page, context };
  }

  it('asks before cancelling with buttons that cannot be mistaken: going back leaves the job waiting', async () => {
    const { job } = await server.ns.enqueue('report.build', {}, { delayMs: 3_600_000 });
    const { page, context } = await open(`/jobs/${job.id}`);
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('report.build scheduled');
    const toolbar = page.getByRole('toolbar', { name: 'Job actions' });
    await toolbar.getByRole('button', { name: 'Cancel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
    // One button cancels the job; the other, which closes the question, does not say "Cancel" too.
    expect(await dialog.getByRole('button').allTextContents()).toEqual(['Yes, cancel', 'No, go back']);
    // A cancel ends the job's work: its button looks dangerous, as a delete's does.
    expect(await isDanger(dialog.getByRole('button', { name: 'Yes, cancel' }))).toBe(true);
    await screenshot(page, `job-cancel-confirm-${backend}`);
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    await until(() => dialog.count()).toBe(0);
    expect((await server.ns.getJob(job.id))?.state).toBe('scheduled');

    await toolbar.getByRole('button', { name: 'Cancel' }).click();
    await dialog.getByRole('button', { name: 'Yes, cancel' }).click();
    await until(async () => (await server.ns.getJob(job.id))?.state).toBe('cancelled');

    // A retry destroys nothing: its button does not look like a delete's.
    await until(() => toolbar.getByRole('button', { name: 'Retry' }).isEnabled()).toBe(true);
    await toolbar.getByRole('button', { name: 'Retry' }).click();
    const retry = page.getByRole('dialog', { name: 'Retry this job?' });
    expect(await isDanger(retry.getByRole('button', { name: 'Yes, retry' }))).toBe(false);
    await retry.getByRole('button', { name: 'No, go back' }).click();
    await toolbar.getByRole('button', { name: 'Delete' }).click();
    const remove = page.getByRole('dialog', { name: 'Delete this job?' });
    expect(await isDanger(remove.getByRole('button', { name: 'Yes, delete' }))).toBe(true);
    await remove.getByRole('button', { name: 'No, go back' }).click();
    expect((await server.ns.getJob(job.id))?.state).toBe('cancelled');
    await context.close();
  });

  it('offers a bulk action on the selected jobs only when it applies to one of them, and says which', async () => {
    const { job: later } = await server.ns.enqueue(
      'report.build',
      {},
      { queue: 'picked', delayMs: 3_600_000 },
    );
    const { job: ready } = await server.ns.enqueue('report.build', {}, { queue: 'picked' });
    const { job: stopped } = await server.ns.enqueue('report.build', {}, { queue: 'picked' });
    await server.ns.cancelJob(stopped.id);
    const { page, context } = await open('/jobs?queue=picked');
    const table = page.getByRole('table', { name: 'Jobs' });
    await until(() => table.getByRole('row').count()).toBe(4);
    const toolbar = page.getByRole('toolbar', { name: 'Actions on selected jobs' });
    const enabled = async (): Promise<Record<string, boolean>> => {
      const names = ['Retry', 'Cancel', 'Delete'];
      const states = await Promise.all(
        names.map((name) => toolbar.getByRole('button', { name }).isEnabled()),
      );
      return Object.fromEntries(names.map((name, i) => [name, states[i] ?? false]));
    };
    // A scheduled and a queued job: only Cancel applies; the server would refuse a retry or a delete.
    await page.getByLabel(`Select job ${later.id}`).check();
    await page.getByLabel(`Select job ${ready.id}`).check();
    await until(enabled).toEqual({ Retry: false, Cancel: true, Delete: false });
    expect(await toolbar.getByRole('button', { name: 'Retry' }).getAttribute('title')).toBe(
      'No selected job is failed or cancelled',
    );
    // With a cancelled one too, Retry and Delete apply to it, and the confirmation says to it alone.
    await page.getByLabel(`Select job ${stopped.id}`).check();
    await until(enabled).toEqual({ Retry: true, Cancel: true, Delete: true });
    await toolbar.getByRole('button', { name: 'Retry' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry 3 selected job(s)?' });
    expect(await isDanger(dialog.getByRole('button', { name: 'Yes, retry' }))).toBe(false);
    await until(() => dialog.getByText('Only 1 of them is failed or cancelled').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Yes, retry' }).click();
    await until(() => page.getByRole('status').filter({ hasText: 'Retried' }).textContent()).toMatch(
      /^Retried 1 of 3 job\(s\); 2 refused/,
    );
    const states = await Promise.all([later, ready, stopped].map((job) => server.ns.getJob(job.id)));
    expect(states.map((job) => job?.state)).toEqual(['scheduled', 'queued', 'queued']);
    await context.close();
  });

  it("shows a running retry's earlier error as the last attempt's, on its page and in the list", async () => {
    const { job } = await server.ns.enqueue('sync.run', {}, { queue: 'sync' });
    const worker = server.ns.startWorker({ queues: ['sync'], concurrency: 1, pollIntervalMs: 50 });
    try {
      await until(async () => {
        const now = await server.ns.getJob(job.id);
        return `${now?.state} ${now?.attempt}`;
      }).toBe('running 2');

      const { page, context } = await open(`/jobs/${job.id}`);
      await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('sync.run running');
      // The error belongs to attempt 1, which failed; attempt 2 runs now and has not failed.
      const lastError = page.getByRole('region', { name: 'Last attempt error' });
      await until(() => lastError.count()).toBe(1);
      expect(await lastError.textContent()).toMatch(/upstream refused the first sync/);
      expect(await page.getByRole('region', { name: 'Error', exact: true }).count()).toBe(0);
      // Its start is the running attempt's own.
      const terms = await page.locator('dl.facts dt').allTextContents();
      expect(terms).toContain('Started');
      expect(terms).not.toContain('Last attempt started');
      await screenshot(page, `job-running-again-${backend}`);

      await page.goto(`${server.url}/jobs?queue=sync&state=running`);
      const table = page.getByRole('table', { name: 'Jobs' });
      await until(() => table.getByRole('row').count()).toBe(2);
      expect(await table.locator('td.wide').allTextContents()).toEqual([
        'Last attempt error: upstream refused the first sync',
      ]);
      await context.close();
    } finally {
      release();
      await worker.stop();
    }
    expect((await server.ns.getJob(job.id))?.state).toBe('completed');
  });

  it("keeps a run's error readable on a phone: the Runs table scrolls instead of squeezing it", async () => {
    const { job } = await server.ns.enqueue('report.broken', {}, { queue: 'broken' });
    const worker = server.ns.startWorker({ queues: ['broken'], concurrency: 1, pollIntervalMs: 50 });
    await until(async () => (await server.ns.getJob(job.id))?.state).toBe('failed');
    await worker.stop();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/jobs/${job.id}#token=${encodeURIComponent(server.tokens.operator)}`);
    const error = page.getByRole('table', { name: 'Runs' }).getByText(/^the warehouse answered/);
    await until(() => error.count()).toBe(1);
    // Squeezed into what was left of 390 px, the 62 characters took one line per word or two.
    const lines = await error.evaluate((element) => {
      const text = document.createRange();
      text.selectNodeContents(element);
      return new Set(Array.from(text.getClientRects()).map((rect) => Math.round(rect.top))).size;
    });
    expect(lines).toBeLessThanOrEqual(3);
    await screenshot(page, `job-runs-phone-${backend}`);
    await context.close();
  });
});
