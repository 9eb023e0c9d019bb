/**
 * A job's page and the job list in real headless Chromium against a real API server (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres), as an operator acting on one job: the Cancel
 * confirmation's buttons say which one cancels and which one leaves the job alone.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

const TASKS = {
  'report.build': defineTask({ handler: () => null }),
};

describe(`a job's actions in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

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
    await screenshot(page, `job-cancel-confirm-${backend}`);
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    await until(() => dialog.count()).toBe(0);
    expect((await server.ns.getJob(job.id))?.state).toBe('scheduled');

    await toolbar.getByRole('button', { name: 'Cancel' }).click();
    await dialog.getByRole('button', { name: 'Yes, cancel' }).click();
    await until(async () => (await server.ns.getJob(job.id))?.state).toBe('cancelled');
    await context.close();
  });
});
