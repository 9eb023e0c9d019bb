/**
 * The dashboard's create and delete forms in real headless Chromium against a real API server
 * (SQLite, and PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): an admin creates a schedule through
 * the New schedule form (the store has it, with every option set), a bad cron shows the API's refusal
 * and creates nothing, a taken id shows the conflict, and a schedule is deleted only after the
 * confirmation; an operator enqueues a job, follows the link to it and is told when its idempotency
 * key named an existing job, payload JSON that does not parse is refused before any request, and a
 * payload the task's schema refuses shows the server's refusal.
 * Operators see no New schedule or Delete, viewers no Enqueue job; the empty schedule list says how
 * to create one, by role. The Workers page's stuck jobs sit apart from the worker table.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

const TASKS = {
  'report.build': defineTask({ schema: z.object({ region: z.string() }), handler: () => null }),
  'email.send': defineTask({ schema: z.object({ to: z.string() }), handler: () => ({ sent: true }) }),
};

describe(`dashboard forms in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(token: string, path: string): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(token)}`);
    return { page, context };
  }

  /** Picks `task` in the Enqueue job form's Task select, once the server's tasks have loaded. */
  async function pickTask(form: Locator, task: string): Promise<void> {
    const select = form.getByLabel('Task', { exact: true });
    await until(() => select.isEnabled()).toBe(true);
    await select.selectOption(task);
  }

  /** The requests the page sends with `method` to `path` under /api/v1, counted as they leave. */
  function requestsTo(page: Page, method: string, path: string): { count: number } {
    const seen = { count: 0 };
    page.on('request', (request) => {
      if (request.method() === method && new URL(request.url()).pathname === `/api/v1${path}`) seen.count++;
    });
    return seen;
  }

  it('says how to create the first schedule: the form for an admin, the config, CLI or API for others', async () => {
    const admin = await open(server.tokens.admin, '/schedules');
    await until(() => admin.page.getByText('No schedules yet.').count()).toBe(1);
    expect(await admin.page.locator('main .hint').textContent()).toMatch(
      /^Create one with New schedule above, or declare it in the config's schedules/,
    );
    await admin.context.close();
    const operator = await open(server.tokens.operator, '/schedules');
    await until(() => operator.page.getByText('No schedules yet.').count()).toBe(1);
    expect(await operator.page.locator('main .hint').textContent()).toBe(
      "An admin creates them: in the config's schedules, with nightshift schedules create ID --task NAME --cron EXPR, or with POST /api/v1/schedules.",
    );
    await operator.context.close();
  });

  it('creates a schedule from the New schedule form, and the store has it with every option given', async () => {
    const { page, context } = await open(server.tokens.admin, '/schedules');
    await page.getByRole('button', { name: 'New schedule' }).click();
    const form = page.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Id', { exact: true }).fill('weekday-report');
    await form.getByLabel('Task', { exact: true }).fill('report.build');
    await form.getByLabel('Cron expression').fill('30 6 * * 1-5');
    await form.getByLabel('Time zone').fill('Europe/London');
    await form.getByLabel('Overlap').selectOption('queue');
    await form.getByLabel('Catch-up', { exact: true }).selectOption('all');
    await form.getByLabel('Catch-up limit').fill('3');
    await form.getByLabel('Payload (JSON)').fill('{ "region": "emea" }');
    await form.getByText('More options').click();
    await form.getByLabel('Queue').fill('reports');
    await form.getByLabel('Priority').fill('5');
    await form.getByLabel('Jitter', { exact: true }).fill('2');
    await form.getByLabel('Jitter unit').selectOption('min');
    await form.getByLabel('Suspend after failures').fill('4');
    await form.getByLabel('Create it paused').check();
    await screenshot(page, `forms-new-schedule-${backend}`);
    await form.getByRole('button', { name: 'Create schedule' }).click();

    const outcome = page.getByRole('status').filter({ hasText: /^Schedule / });
    await until(() => outcome.textContent()).toBe('Schedule weekday-report created, paused.');
    expect(await form.count()).toBe(0);
    const row = page.getByRole('table', { name: 'Schedules' }).getByRole('row', { name: /weekday-report/ });
    await until(() => row.textContent()).toMatch(/30 6 \* \* 1-5Europe\/London.*paused/);
    const stored = (await server.ns.schedules.get('weekday-report'))?.schedule;
    expect(stored).toMatchObject({
      task: 'report.build',
      cron: '30 6 * * 1-5',
      everyMs: null,
      timezone: 'Europe/London',
      payload: { region: 'emea' },
      overlap: 'queue',
      catchUp: 'all',
      catchUpLimit: 3,
      queue: 'reports',
      priority: 5,
      jitterMs: 120_000,
      maxConsecutiveFailures: 4,
      paused: true,
      source: 'api',
    });

    // An interval, with only what is required: the server's defaults for the rest.
    await page.getByRole('button', { name: 'New schedule' }).click();
    await form.getByLabel('Id', { exact: true }).fill('sync');
    await form.getByLabel('Task', { exact: true }).fill('email.send');
    await form.getByLabel('Rule').selectOption('every');
    await form.getByLabel('Every', { exact: true }).fill('90');
    await form.getByLabel('Every unit').selectOption('s');
    await form.getByLabel('Payload (JSON)').fill('{"to": "ops@example.com"}');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await until(() => outcome.textContent()).toBe('Schedule sync created.');
    expect((await server.ns.schedules.get('sync'))?.schedule).toMatchObject({
      cron: null,
      everyMs: 90_000,
      timezone: 'UTC',
      overlap: 'skip',
      catchUp: 'latest',
      queue: null,
      paused: false,
    });
    await until(() => page.getByRole('row', { name: /^sync/ }).textContent()).toMatch(/every 1\.5 min/);
    await context.close();
  });

  it('shows the API’s refusal of a bad cron and of a taken id beside the form, keeps what was typed, and creates nothing', async () => {
    const { page, context } = await open(server.tokens.admin, '/schedules');
    await page.getByRole('button', { name: 'New schedule' }).click();
    const form = page.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Id', { exact: true }).fill('broken');
    await form.getByLabel('Task', { exact: true }).fill('report.build');
    await form.getByLabel('Cron expression').fill('0 6 * *');
    await form.getByLabel('Payload (JSON)').fill('{"region": "apac"}');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    const refusal = form.getByRole('alert');
    await until(() => refusal.textContent()).toBe(
      'The server refused it: schedule "broken": cron "0 6 * *" must have 5 fields, or 6 with seconds first',
    );
    expect(await server.ns.schedules.get('broken')).toBeUndefined();
    expect(await form.getByLabel('Id', { exact: true }).inputValue()).toBe('broken');
    expect(await form.getByLabel('Cron expression').inputValue()).toBe('0 6 * *');
    expect(await form.getByLabel('Payload (JSON)').inputValue()).toBe('{"region": "apac"}');
    await screenshot(page, `forms-schedule-refused-${backend}`);

    // The id an earlier test created: 409, and the existing schedule is left as it was.
    await form.getByLabel('Id', { exact: true }).fill('weekday-report');
    await form.getByLabel('Cron expression').fill('0 7 * * *');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await until(() => refusal.textContent()).toBe(
      'The server refused it: schedule "weekday-report" already exists. Pick another id, or edit that schedule.',
    );
    expect((await server.ns.schedules.get('weekday-report'))?.schedule.cron).toBe('30 6 * * 1-5');
    expect(await form.getByLabel('Id', { exact: true }).inputValue()).toBe('weekday-report');
    await context.close();
  });

  it('deletes a schedule only once the admin confirms', async () => {
    const { page, context } = await open(server.tokens.admin, '/schedules');
    const table = page.getByRole('table', { name: 'Schedules' });
    const remove = table.getByRole('button', { name: 'Delete schedule sync' });
    await until(() => remove.count()).toBe(1);
    await remove.click();
    const dialog = page.getByRole('dialog', { name: 'Delete schedule sync?' });
    expect(await dialog.textContent()).toMatch(/the jobs it made are kept/);
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    expect(await dialog.count()).toBe(0);
    expect(await server.ns.schedules.get('sync')).toBeDefined();

    await remove.click();
    await dialog.getByRole('button', { name: 'Yes, delete' }).click();
    await until(() =>
      page
        .getByRole('status')
        .filter({ hasText: /^Schedule / })
        .textContent(),
    ).toBe('Schedule sync deleted.');
    expect(await server.ns.schedules.get('sync')).toBeUndefined();
    await until(() => table.getByRole('row', { name: /^sync/ }).count()).toBe(0);
    expect(await table.getByRole('row', { name: /weekday-report/ }).count()).toBe(1);
    await context.close();
  });

  it('edits a schedule through the same form, sending only what changed; a config schedule offers no Edit', async () => {
    const { page, context } = await open(server.tokens.admin, '/schedules');
    const patches: unknown[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PATCH') patches.push(request.postDataJSON());
    });
    const table = page.getByRole('table', { name: 'Schedules' });
    await table.getByRole('button', { name: 'Edit schedule weekday-report' }).click();
    const form = page.getByRole('form', { name: 'Edit schedule weekday-report' });
    // As stored: the rule, the jitter in the unit that holds it whole, the payload as JSON.
    expect(await form.getByLabel('Cron expression').inputValue()).toBe('30 6 * * 1-5');
    expect(await form.getByLabel('Time zone').inputValue()).toBe('Europe/London');
    expect(await form.getByLabel('Payload (JSON)').inputValue()).toBe('{\n  "region": "emea"\n}');
    await form.getByText('More options').click();
    expect(await form.getByLabel('Jitter', { exact: true }).inputValue()).toBe('2');
    expect(await form.getByLabel('Jitter unit').inputValue()).toBe('min');

    await form.getByRole('button', { name: 'Save schedule' }).click();
    await until(() => form.getByRole('status').textContent()).toBe('Nothing changed.');
    // Jitter has no empty value (no jitter is 0): emptying it is refused before anything is sent.
    await form.getByLabel('Jitter', { exact: true }).fill('');
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await until(() => form.getByRole('alert').textContent()).toBe(
      'Jitter cannot be emptied once set: give a value. Nothing was sent.',
    );
    expect(patches).toEqual([]);

    // Queue, priority and the failure bound go back to the task's and to none, sent as null.
    await form.getByLabel('Jitter', { exact: true }).fill('2');
    await form.getByLabel('Queue').fill('');
    await form.getByLabel('Priority').fill('');
    await form.getByLabel('Suspend after failures').fill('');
    await form.getByLabel('Rule').selectOption('every');
    await form.getByLabel('Every', { exact: true }).fill('15');
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await until(() =>
      page
        .getByRole('status')
        .filter({ hasText: /^Schedule / })
        .textContent(),
    ).toBe('Schedule weekday-report saved.');
    expect(patches).toEqual([
      { everyMs: 900_000, queue: null, priority: null, maxConsecutiveFailures: null },
    ]);
    expect((await server.ns.schedules.get('weekday-report'))?.schedule).toMatchObject({
      cron: null,
      everyMs: 900_000,
      queue: null,
      priority: null,
      maxConsecutiveFailures: null,
      jitterMs: 120_000,
      payload: { region: 'emea' },
    });

    // The server refuses changes to a schedule the config declares, and a sync would bring a
    // deleted one back: no Edit, and the confirmation of a delete says so.
    await server.ns.schedules.sync([
      { id: 'from-config', task: 'report.build', cron: '0 1 * * *', payload: { region: 'all' } },
    ]);
    await page.reload();
    const row = table.getByRole('row', { name: /from-config/ });
    await until(() => row.textContent()).toMatch(/from config/);
    expect(await row.getByRole('button', { name: /Edit/ }).count()).toBe(0);
    await row.getByRole('button', { name: 'Delete schedule from-config' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete schedule from-config?' });
    expect(await dialog.textContent()).toMatch(
      /declared in the config file: the next scheduler start creates it again/,
    );
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    await context.close();
  });

  it('offers an operator no New schedule and no Delete, and a viewer no Enqueue job', async () => {
    const operator = await open(server.tokens.operator, '/schedules');
    const row = operator.page.getByRole('row', { name: /weekday-report/ });
    await until(() => row.getByRole('button', { name: 'Resume schedule weekday-report' }).count()).toBe(1);
    expect(await operator.page.getByRole('button', { name: /New schedule|Delete/ }).count()).toBe(0);
    expect(await operator.page.getByRole('form').count()).toBe(0);
    await operator.context.close();

    const viewer = await open(server.tokens.viewer, '/jobs');
    await until(() => viewer.page.getByRole('search', { name: 'Filter jobs' }).count()).toBe(1);
    await until(() => viewer.page.getByLabel('Signed in role').textContent()).toBe('viewer');
    expect(await viewer.page.getByRole('button', { name: /Enqueue/ }).count()).toBe(0);
    expect(await viewer.page.getByRole('form', { name: 'Enqueue job' }).count()).toBe(0);
    await viewer.context.close();
  });

  it('enqueues a job from the operator’s form, links to it, and says when its idempotency key named one already', async () => {
    const { page, context } = await open(server.tokens.operator, '/jobs');
    await page.getByRole('button', { name: 'Enqueue job' }).click();
    const form = page.getByRole('form', { name: 'Enqueue job' });
    await pickTask(form, 'email.send');
    await form.getByLabel('Queue', { exact: true }).fill('outbox');
    await form.getByLabel('Priority').fill('7');
    await form.getByLabel('Due').selectOption('delay');
    await form.getByLabel('Delay', { exact: true }).fill('2');
    await form.getByLabel('Delay unit').selectOption('h');
    await form.getByLabel('Idempotency key').fill('welcome-42');
    await form.getByLabel('Max attempts').fill('3');
    await form.getByLabel('Payload (JSON)').fill('{"to": "new@example.com"}');
    await form.getByText('More options').click();
    await form.getByLabel('Concurrency key').fill('tenant-a');
    await form.getByLabel('Concurrency limit').fill('2');
    await form.getByLabel('Required labels').fill('region:eu, gpu');
    await form.getByLabel('Group').fill('acme');
    await screenshot(page, `forms-enqueue-${backend}`);
    await form.getByRole('button', { name: 'Enqueue', exact: true }).click();

    // The form's outcome: the Task field says under it, as a status too, that no worker runs email.send.
    const done = form.getByRole('status').filter({ hasText: /^(Enqueued|A job with)/ });
    await until(() => done.textContent()).toMatch(
      /^Enqueued email\.send on queue outbox \(scheduled\)\. Open job /,
    );
    const { jobs } = await server.ns.listJobs({ queue: 'outbox' });
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job).toMatchObject({
      task: 'email.send',
      payload: { to: 'new@example.com' },
      priority: 7,
      idempotencyKey: 'welcome-42',
      maxAttempts: 3,
      concurrencyKey: 'tenant-a',
      requires: ['gpu', 'region:eu'],
      group: 'acme',
      state: 'scheduled',
    });
    // Two hours from when it was created, give or take the request's time.
    const due = job!.runAt.getTime() - job!.createdAt.getTime();
    expect(due).toBeGreaterThanOrEqual(7_200_000 - 1_000);
    expect(due).toBeLessThanOrEqual(7_200_000 + 1_000);

    // The same key again: the API answers 200 with the first job, and the form says so.
    await form.getByRole('button', { name: 'Enqueue', exact: true }).click();
    await until(() => done.textContent()).toBe(
      `A job with idempotency key welcome-42 already existed (scheduled): nothing new was enqueued. Open job ${job!.id}`,
    );
    expect((await server.ns.listJobs({ queue: 'outbox' })).jobs).toHaveLength(1);

    await done.getByRole('link', { name: `Open job ${job!.id}` }).click();
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('email.send scheduled');
    expect(new URL(page.url()).pathname).toBe(`/jobs/${job!.id}`);
    await context.close();
  });

  it('refuses payload JSON that does not parse before sending anything, and shows the API’s refusal of a payload its schema refuses', async () => {
    const { page, context } = await open(server.tokens.operator, '/jobs');
    const posts = requestsTo(page, 'POST', '/jobs');
    const before = (await server.ns.listJobs({})).jobs.length;
    await page.getByRole('button', { name: 'Enqueue job' }).click();
    const form = page.getByRole('form', { name: 'Enqueue job' });
    await pickTask(form, 'email.send');
    await form.getByLabel('Payload (JSON)').fill("{ to: 'x@example.com' }");
    await form.getByRole('button', { name: 'Enqueue', exact: true }).click();
    const refusal = form.getByRole('alert');
    await until(() => refusal.textContent()).toMatch(
      /^The payload is not valid JSON \(.+\)\. Nothing was sent\.$/,
    );
    expect(posts.count).toBe(0);
    expect((await server.ns.listJobs({})).jobs).toHaveLength(before);
    expect(await form.getByLabel('Payload (JSON)').inputValue()).toBe("{ to: 'x@example.com' }");
    await screenshot(page, `forms-enqueue-refused-${backend}`);

    await form.getByLabel('Payload (JSON)').fill('{"to": 42}');
    await form.getByRole('button', { name: 'Enqueue', exact: true }).click();
    await until(() => refusal.textContent()).toMatch(/^The server refused it: .*\bto\b/);
    expect(posts.count).toBe(1);
    expect((await server.ns.listJobs({})).jobs).toHaveLength(before);
    await context.close();
  });

  it('sets the Workers page’s stuck jobs apart from the worker table, as the overview spaces its cards', async () => {
    const worker = server.ns.startWorker({ queues: ['idle'], concurrency: 1, pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      const { page, context } = await open(server.tokens.viewer, '/workers');
      const table = page.getByRole('table', { name: 'Workers' });
      await until(() => table.getByRole('row').count()).toBe(2);
      const tableBox = await table.boundingBox();
      const headingBox = await page.getByRole('heading', { name: 'Stuck jobs' }).boundingBox();
      // A card's padding and the gap between cards: 16 px and more, where the heading sat at 0 px.
      expect(headingBox!.y - (tableBox!.y + tableBox!.height)).toBeGreaterThanOrEqual(16);
      await context.close();
    } finally {
      await worker.stop();
    }
  });
});
