/**
 * The dashboard's Limits page in real headless Chromium against a real API server (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): a queue limit with its running jobs, concurrency
 * keys running and idle (the "running only" toggle hides the idle ones; one an operator's rate made,
 * with no job, shows no limit), groups with weights and ready jobs paged with "More groups", an
 * operator setting a group's weight and a key's limit (the database has them), and a viewer seeing no
 * button.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import type { Worker } from '../../src/worker/worker.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

/** Released at the end: the held jobs run until then. */
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));

const TASKS = {
  hold: defineTask({ handler: () => released }),
  // Never claimed: its jobs wait in a queue no worker serves.
  idle: defineTask({ handler: () => undefined }),
};

// One more group than the page's 50 rows with the two named ones: "More groups" shows the rest.
const FILLER_GROUPS = 51;

describe(`dashboard limits page in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;
  let worker: Worker | undefined;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
    const { ns } = server;
    // 3 jobs of key tenant-a (limit 3) in a queue limited to 2: 2 run, the third waits on the queue.
    await ns.setQueueLimit('reports', 2);
    for (let i = 0; i < 3; i++) {
      await ns.enqueue('hold', { i }, { queue: 'reports', concurrencyKey: 'tenant-a', concurrencyLimit: 3 });
    }
    // A key with an operator's limit and nothing running.
    await ns.setConcurrencyLimit('tenant-b', 5);
    // A key with an operator's rate and no job: no limit until a job brings its own.
    await ns.setConcurrencyRate('tenant-c', { limit: 10, periodMs: 60_000 });
    // Groups waiting in a queue no worker serves: acme (3 ready, weight 4), zeta (1 ready).
    for (let i = 0; i < 3; i++) await ns.enqueue('idle', { i }, { queue: 'parked', group: 'acme' });
    await ns.enqueue('idle', {}, { queue: 'parked', group: 'zeta' });
    await ns.setGroupWeight('acme', 4);
    for (let i = 0; i < FILLER_GROUPS; i++) {
      await ns.enqueue('idle', {}, { queue: 'parked', group: `filler-${String(i).padStart(2, '0')}` });
    }
    worker = ns.startWorker({ queues: ['reports'], concurrency: 5, pollIntervalMs: 50 });
    // Both held jobs started before the page opens (expect.poll only works inside a test).
    while ((await ns.queueLimits()).find((q) => q.queue === 'reports')?.running !== 2) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    release();
    await worker?.stop();
    await browser?.close();
    await server?.close();
  });

  async function open(token: string): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/#token=${encodeURIComponent(token)}`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Limits' }).click();
    return { page, context };
  }

  /** The cells of the row named `name` in `table`. */
  const cells = (page: Page, table: string, name: string) =>
    page
      .getByRole('table', { name: table })
      .getByRole('row', { name: new RegExp(`^${name} `) })
      .locator('th, td')
      .allTextContents();

  it('shows the queue limit, the keys (running only on the toggle) and the groups, paged', async () => {
    const { page, context } = await open(server.tokens.viewer);
    expect(page.url()).toBe(`${server.url}/limits`);
    await until(() => cells(page, 'Queue limits', 'reports')).toEqual(['reports', '2 / 2', '–']);
    await until(() => cells(page, 'Concurrency keys', 'tenant-a')).toEqual(['tenant-a', '2 / 3', '–', '–']);
    expect(await cells(page, 'Concurrency keys', 'tenant-b')).toEqual(['tenant-b', '0 / 5', '5', '–']);
    expect((await cells(page, 'Concurrency keys', 'tenant-c')).slice(0, 3)).toEqual([
      'tenant-c',
      '0 / –',
      '–',
    ]);

    // Each part is a card: a heading does not sit flush under the table before it (it did at 0 px).
    const queueTable = (await page.getByRole('table', { name: 'Queue limits' }).boundingBox())!;
    const keysHeading = (await page.getByRole('heading', { name: 'Concurrency keys' }).boundingBox())!;
    expect(keysHeading.y - (queueTable.y + queueTable.height)).toBeGreaterThanOrEqual(16);

    const keyRows = page.getByRole('table', { name: 'Concurrency keys' }).getByRole('row');
    expect(await keyRows.count()).toBe(4);
    await page.getByLabel('Running only').check();
    await until(() => keyRows.count()).toBe(2);
    expect(await keyRows.nth(1).locator('th').textContent()).toBe('tenant-a');
    await page.getByLabel('Running only').uncheck();
    await until(() => keyRows.count()).toBe(4);

    // Groups by name: acme, filler-00 … filler-48 on the first page of 50.
    const groupRows = page.getByRole('table', { name: 'Groups' }).getByRole('row');
    await until(() => groupRows.count()).toBe(51);
    expect(await cells(page, 'Groups', 'acme')).toEqual(['acme', '4', '3', '0']);
    expect(
      await page
        .getByRole('table', { name: 'Groups' })
        .getByRole('row', { name: /^zeta / })
        .count(),
    ).toBe(0);
    await page.getByRole('button', { name: 'More groups' }).click();
    await until(() => groupRows.count()).toBe(1 + 2 + FILLER_GROUPS);
    expect(await cells(page, 'Groups', 'zeta')).toEqual(['zeta', '1', '1', '0']);
    expect(await page.getByRole('button', { name: 'More groups' }).count()).toBe(0);
    // A job enqueued now shows on the open page, without a reload (live events).
    await server.ns.enqueue('idle', {}, { queue: 'parked', group: 'zeta' });
    await until(() => cells(page, 'Groups', 'zeta')).toEqual(['zeta', '1', '2', '0']);
    // A viewer gets no action.
    expect(await page.getByRole('button', { name: /^Set (the )?(weight|limit)/ }).count()).toBe(0);
    await screenshot(page, `limits-${backend}`);
    await context.close();
  });

  it("lets an operator set a group's weight and a key's limit, and the database has them", async () => {
    const { page, context } = await open(server.tokens.operator);
    await until(() => cells(page, 'Groups', 'acme')).toEqual(['acme', '4', '3', '0', 'Set weight']);
    await page.getByRole('button', { name: 'Set the weight of group acme' }).click();
    const weight = page.getByRole('form', { name: 'Weight of group acme' });
    await weight.getByRole('spinbutton').fill('7');
    await weight.getByRole('button', { name: 'Save' }).click();
    await until(() => cells(page, 'Groups', 'acme')).toEqual(['acme', '7', '3', '0', 'Set weight']);
    expect((await server.ns.groups()).find((g) => g.group === 'acme')?.weight).toBe(7);
    expect(await page.getByRole('status').filter({ hasText: 'Group acme' }).textContent()).toBe(
      'Group acme: weight 7.',
    );

    await page.getByRole('button', { name: 'Set the limit of key tenant-a' }).click();
    const form = page.getByRole('form', { name: 'Limit of key tenant-a' });
    await form.getByRole('spinbutton').fill('1');
    await form.getByRole('button', { name: 'Save' }).click();
    // The limit in force falls to 1; the 2 running jobs keep running.
    await until(() => cells(page, 'Concurrency keys', 'tenant-a')).toEqual([
      'tenant-a',
      '2 / 1',
      '1',
      '–',
      'Set limit',
    ]);
    await page.getByRole('button', { name: 'Set the limit of key tenant-a' }).click();
    await form.getByRole('button', { name: 'Remove' }).click();
    await until(() => cells(page, 'Concurrency keys', 'tenant-a')).toEqual([
      'tenant-a',
      '2 / 3',
      '–',
      '–',
      'Set limit',
    ]);
    expect((await server.ns.concurrencyKeys()).find((k) => k.key === 'tenant-a')?.operatorLimit).toBeNull();
    await context.close();
  });

  it('fits a phone screen in dark mode', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${server.url}/limits#token=${encodeURIComponent(server.tokens.operator)}`);
    await until(() => page.getByRole('table', { name: 'Groups' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Set the weight of group acme' }).click();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, `limits-phone-dark-${backend}`);
    await context.close();
  });
});
