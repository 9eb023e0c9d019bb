/**
 * The task catalog in the dashboard, in real headless Chromium against a real API server (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): the Enqueue job form's Task select lists exactly
 * the tasks the server declares, shows a picked task's defaults as placeholders and its payload
 * schema, fills an empty payload from the schema (never over typed text), and warns while no running
 * worker implements the task, until one registers; with no declared task the form says how to
 * declare one. The Tasks page lists every task with its workers, highlights a declared task no worker
 * runs, and shows a task only another process's worker knows. The Workers page counts each worker's
 * tasks. Light and dark screenshots go to test-artifacts/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

// The catalog is read again every 5 s (no event marks a worker's registration): room for two reads.
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

const TASKS = {
  'report.build': defineTask({
    schema: z.object({
      region: z.string(),
      format: z.enum(['pdf', 'csv']),
      window: z.object({ days: z.number().int(), until: z.string().optional() }),
      notify: z.boolean().optional(),
    }),
    queue: 'reports',
    priority: 4,
    maxAttempts: 3,
    timeoutMs: 120_000,
    handler: () => null,
  }),
  // zod has no JSON Schema for a Date: the catalog gives no schema for it.
  'calendar.remind': defineTask({ schema: z.object({ at: z.date() }), handler: () => null }),
  'email.send': defineTask({ schema: z.object({ to: z.string() }), handler: () => ({ sent: true }) }),
};

describe(`task catalog in the dashboard in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;
  /** Another deployment's instance on the same database: its workers run tasks this server lacks. */
  let other: Nightshift;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
    other = await Nightshift.connect({
      db: server.store,
      migrate: false,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        'email.send': () => ({ sent: true }),
        'thumbnails.make': () => null,
        // More tasks than a table cell could list in a line: the Workers page folds them.
        ...Object.fromEntries(
          Array.from({ length: 30 }, (_, i) => [`media.transcode.variant-${i}`, () => null]),
        ),
      },
    });
  });
  afterAll(async () => {
    await other?.close();
    await browser?.close();
    await server?.close();
  });

  async function open(
    token: string,
    path: string,
    colorScheme: 'light' | 'dark' = 'light',
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
    const page = await context.newPage();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(token)}`);
    return { page, context };
  }

  async function openEnqueueForm(token: string, colorScheme: 'light' | 'dark' = 'light') {
    const opened = await open(token, '/jobs', colorScheme);
    await opened.page.getByRole('button', { name: 'Enqueue job' }).click();
    return { ...opened, form: opened.page.getByRole('form', { name: 'Enqueue job' }) };
  }

  it('lists the declared tasks in the Task select, and shows a picked task’s defaults and schema', async () => {
    // A worker of the other deployment runs a task this server does not declare: not offered.
    const remote = other.startWorker({ workerId: 'remote-1', queues: ['nothing'], pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      const { context, form } = await openEnqueueForm(server.tokens.operator);
      const select = form.getByLabel('Task', { exact: true });
      await until(() => select.isEnabled()).toBe(true);
      expect(await select.locator('option').allTextContents()).toEqual([
        'Pick a task',
        'calendar.remind',
        'email.send',
        'report.build',
      ]);
      expect(await form.getByLabel('Queue', { exact: true }).getAttribute('placeholder')).toBe("the task's");

      await select.selectOption('report.build');
      expect(await form.getByLabel('Queue', { exact: true }).getAttribute('placeholder')).toBe(
        "the task's: reports",
      );
      expect(await form.getByLabel('Priority').getAttribute('placeholder')).toBe("the task's: 4");
      expect(await form.getByLabel('Max attempts').getAttribute('placeholder')).toBe("the task's: 3");
      await form.getByText('Payload schema', { exact: true }).click();
      const schema = JSON.parse(
        (await form.getByLabel('Payload schema of report.build').textContent()) ?? '',
      ) as Record<string, unknown>;
      expect(schema).toMatchObject({ type: 'object', required: ['region', 'format', 'window'] });

      // A schema JSON Schema cannot express: said so, no button.
      await select.selectOption('calendar.remind');
      expect(await form.getByText(/^calendar\.remind gives no payload JSON Schema/).count()).toBe(1);
      expect(await form.getByRole('button', { name: 'Fill from schema' }).count()).toBe(0);
      await context.close();
    } finally {
      await remote.stop();
    }
  });

  it('fills an empty payload with the schema’s required properties, never over typed text, and enqueues it', async () => {
    const { context, form } = await openEnqueueForm(server.tokens.operator);
    const select = form.getByLabel('Task', { exact: true });
    await until(() => select.isEnabled()).toBe(true);
    await select.selectOption('report.build');
    const payload = form.getByLabel('Payload (JSON)');
    await payload.fill('{"region": "emea"}');
    expect(await form.getByRole('button', { name: 'Fill from schema' }).count()).toBe(0);
    await payload.fill('');
    await form.getByRole('button', { name: 'Fill from schema' }).click();
    expect(JSON.parse(await payload.inputValue())).toEqual({
      region: '',
      format: 'pdf',
      window: { days: 0 },
    });
    expect(await form.getByRole('button', { name: 'Fill from schema' }).count()).toBe(0);
    await payload.fill('{"region": "emea", "format": "csv", "window": {"days": 7}}');
    await form.getByRole('button', { name: 'Enqueue', exact: true }).click();
    await until(() =>
      form
        .getByRole('status')
        .filter({ hasText: /^Enqueued/ })
        .count(),
    ).toBe(1);
    const { jobs } = await server.ns.listJobs({ task: 'report.build' });
    expect(jobs.map((job) => [job.queue, job.priority, job.maxAttempts, job.payload])).toEqual([
      ['reports', 4, 3, { region: 'emea', format: 'csv', window: { days: 7 } }],
    ]);
    await context.close();
  });

  it('warns while no running worker would run the picked task in its queue, and stops once one does', async () => {
    const { page, context, form } = await openEnqueueForm(server.tokens.operator);
    const select = form.getByLabel('Task', { exact: true });
    await until(() => select.isEnabled()).toBe(true);
    await select.selectOption('report.build');
    const warning = form.getByText('No running worker implements this task: the job waits until one does.');
    await until(() => warning.count()).toBe(1);
    await form.getByLabel('Payload (JSON)').fill('');
    await form.getByText('Payload schema', { exact: true }).click();
    await screenshot(page, `tasks-enqueue-unserved-${backend}`);

    // A worker implementing it that claims from other queues only: the job would still wait.
    const elsewhere = server.ns.startWorker({
      workerId: 'local-1',
      queues: ['nothing'],
      pollIntervalMs: 200,
    });
    const queueWarning = form.getByText(
      'No running worker that implements this task claims from queue reports: the job waits until one does.',
    );
    try {
      await until(() => warning.count()).toBe(0);
      await until(() => queueWarning.count()).toBe(1);
      // The queue typed in the form is the one judged.
      await form.getByLabel('Queue', { exact: true }).fill('nothing');
      await until(() => queueWarning.count()).toBe(0);
      expect(await form.getByText('Implemented by 1 running worker').count()).toBe(1);
      await form.getByLabel('Queue', { exact: true }).fill('');
      await until(() => queueWarning.count()).toBe(1);
      const reports = server.ns.startWorker({
        workerId: 'local-2',
        queues: ['reports'],
        pollIntervalMs: 200,
      });
      try {
        await until(() => queueWarning.count()).toBe(0);
        expect(await form.getByText('Implemented by 2 running workers').count()).toBe(1);
      } finally {
        await reports.stop();
      }
    } finally {
      await elsewhere.stop();
    }
    // Gone again once they stopped.
    await until(() => warning.count()).toBe(1);
    await context.close();

    const dark = await openEnqueueForm(server.tokens.operator, 'dark');
    const darkSelect = dark.form.getByLabel('Task', { exact: true });
    await until(() => darkSelect.isEnabled()).toBe(true);
    await darkSelect.selectOption('report.build');
    await dark.form.getByRole('button', { name: 'Fill from schema' }).click();
    await dark.form.getByText('Payload schema', { exact: true }).click();
    await screenshot(dark.page, `tasks-enqueue-dark-${backend}`);
    await dark.context.close();
  });

  it('shows the Tasks page: workers per task, a declared task nobody runs, a task only a worker knows', async () => {
    const local = server.ns.startWorker({ workerId: 'local-2', queues: ['nothing'], pollIntervalMs: 200 });
    const remote = other.startWorker({ workerId: 'remote-2', queues: ['nothing'], pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(2);
      const { page, context } = await open(server.tokens.viewer, '/tasks');
      const table = page.getByRole('table', { name: 'Tasks' });
      const row = (name: string) =>
        table.getByRole('row', { name: new RegExp(`^${name.replace('.', '\\.')}`) });
      await until(() => row('thumbnails.make').count()).toBe(1);
      expect(await table.getByRole('rowheader').allTextContents()).toEqual([
        'calendar.remind',
        'email.send',
        ...Array.from({ length: 30 }, (_, i) => `media.transcode.variant-${i}`).sort(),
        'report.build',
        'thumbnails.make',
      ]);
      // Both deployments run email.send.
      await row('email.send').getByText('2 workers').click();
      expect(await row('email.send').getByRole('listitem').allTextContents()).toEqual([
        'local-2',
        'remote-2',
      ]);
      // Only the other deployment's worker knows thumbnails.make: no defaults here.
      expect(await row('thumbnails.make').textContent()).toMatch(
        /^thumbnails\.makeno: only a worker knows it/,
      );
      expect(await row('thumbnails.make').getAttribute('class')).toBeNull();
      // Both workers claim from `nothing` only: the declared tasks' jobs in their own queues would wait.
      await until(() => row('report.build').getAttribute('class')).toBe('unserved');
      expect(await row('report.build').getByText('none claims from reports').count()).toBe(1);
      expect(await row('email.send').getByText('none claims from default').count()).toBe(1);
      expect(
        await page
          .getByRole('status')
          .filter({ hasText: /claim from other queues only/ })
          .textContent(),
      ).toBe(
        "3 declared tasks have running workers that claim from other queues only: jobs in the task's own queue wait until a worker implementing it claims from that queue.",
      );
      await screenshot(page, `tasks-page-${backend}`);
      // A worker claiming from `reports`: report.build is served, email.send still is not.
      const reports = server.ns.startWorker({
        workerId: 'local-3',
        queues: ['reports'],
        pollIntervalMs: 200,
      });
      try {
        await until(() => row('report.build').getByText('none claims from reports').count()).toBe(0);
        expect(await row('report.build').getAttribute('class')).toBeNull();
        expect(await row('email.send').getByText('none claims from default').count()).toBe(1);
      } finally {
        await reports.stop();
      }
      await context.close();
    } finally {
      await Promise.all([local.stop(), remote.stop()]);
    }

    // No worker now: every declared task is highlighted, and the page says its jobs would wait.
    const { page, context } = await open(server.tokens.viewer, '/tasks');
    const table = page.getByRole('table', { name: 'Tasks' });
    const reportRow = table.getByRole('row', { name: /^report\.build/ });
    await until(() => reportRow.getAttribute('class')).toBe('unserved');
    expect(await reportRow.getByText('no running worker').count()).toBe(1);
    expect(await table.locator('tr.unserved').count()).toBe(3);
    await until(() =>
      page
        .getByRole('status')
        .filter({ hasText: /declared tasks have no running worker/ })
        .textContent(),
    ).toBe('3 declared tasks have no running worker: their jobs wait until a worker implementing them runs.');
    await reportRow.getByText('JSON Schema').click();
    await screenshot(page, `tasks-page-unserved-${backend}`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, `tasks-page-dark-${backend}`);
    await context.close();
  });

  it('counts each worker’s tasks on the Workers page, the names folded under the count', async () => {
    const remote = other.startWorker({ workerId: 'remote-3', queues: ['nothing'], pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      const { page, context } = await open(server.tokens.viewer, '/workers');
      const row = page.getByRole('table', { name: 'Workers' }).getByRole('row', { name: /^remote-3/ });
      const count = row.getByText('32 tasks');
      await until(() => count.count()).toBe(1);
      const folded = await row.boundingBox();
      await count.click();
      expect(await row.getByRole('listitem').count()).toBe(32);
      // Opened, the list scrolls inside its cell instead of stretching the row without bound.
      expect((await row.boundingBox())!.height).toBeLessThan(folded!.height + 260);
      await screenshot(page, `tasks-workers-${backend}`);
      await context.close();
    } finally {
      await remote.stop();
    }
  });

  it('suggests the catalog’s tasks and the queues holding jobs in the Jobs filter', async () => {
    await server.ns.enqueue('email.send', { to: 'filter@example.com' }, { queue: 'filter-suggested' });
    const remote = other.startWorker({ workerId: 'remote-4', queues: ['nothing'], pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      const { page, context } = await open(server.tokens.viewer, '/jobs');
      const filter = page.getByRole('search', { name: 'Filter jobs' });
      const offered = (input: string) =>
        filter
          .getByLabel(input, { exact: true })
          .evaluate((element: HTMLInputElement) =>
            Array.from(element.list?.options ?? [], (option) => option.value),
          );
      await until(() => offered('Task')).toContain('thumbnails.make');
      const tasks = await offered('Task');
      expect(tasks.slice(0, 3)).toEqual(['calendar.remind', 'email.send', 'media.transcode.variant-0']);
      expect(tasks).toContain('report.build');
      expect(await offered('Queue')).toContain('filter-suggested');
      // Still free text: a task of the past, in no catalog, filters as before.
      await filter.getByLabel('Task', { exact: true }).fill('retired.task');
      await filter.getByRole('button', { name: 'Apply filter' }).click();
      await until(() => page.evaluate(() => location.search)).toBe('?task=retired.task');
      await context.close();
    } finally {
      await remote.stop();
    }
  });

  it('says how to declare a task when the server declares none', async () => {
    const bare = await startTestServer(backend, { tasks: {} });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${bare.url}/jobs#token=${encodeURIComponent(bare.tokens.operator)}`);
      await page.getByRole('button', { name: 'Enqueue job' }).click();
      const form = page.getByRole('form', { name: 'Enqueue job' });
      await until(() => form.getByRole('status').first().textContent()).toBe(
        "This server declares no task, so it enqueues none. Declare one in its config's tasks, contracts or implementations (nightshift.config.ts) and restart it.",
      );
      expect(await form.getByLabel('Task', { exact: true }).count()).toBe(0);
      await screenshot(page, `tasks-enqueue-none-declared-${backend}`);
      await form.getByRole('button', { name: 'Enqueue', exact: true }).click();
      await until(() => form.getByRole('alert').textContent()).toBe(
        'Pick a task the server declares. Nothing was sent.',
      );
      expect((await bare.ns.listJobs({})).jobs).toEqual([]);
      await context.close();
    } finally {
      await bare.close();
    }
  });
});
