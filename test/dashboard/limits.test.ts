/**
 * The dashboard's Limits page in real headless Chromium against a real API server (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): a queue limit with its running jobs, concurrency
 * keys running and idle (the "running only" toggle hides the idle ones; one an operator's rate made,
 * with no job, shows no limit), groups with weights and ready jobs paged with "More groups", an
 * operator setting a group's weight and a key's limit and rate, limiting a new queue with "Limit a
 * queue" and setting and removing a queue's limit and rate in its row (the database has each; a form
 * with nothing to set sends nothing, a refused period changes nothing), and a viewer seeing no control.
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

  /** The text of a row's Actions cell: its two buttons. */
  const CONTROLS = 'Set limitSet rate';

  /** The requests the page sends with PUT, by path under /api/v1, as they leave. */
  function puts(page: Page): string[] {
    const seen: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PUT') seen.push(new URL(request.url()).pathname.slice('/api/v1'.length));
    });
    return seen;
  }

  /** What the server says of a queue's limit and rate (undefined: never given either). */
  const queueLimit = async (queue: string) => (await server.ns.queueLimits()).find((q) => q.queue === queue);

  /** The page's status line (or alert) saying what the last row action did. */
  const status = (page: Page) => page.locator('#limits-title + p').textContent();

  /** The message the API refuses `body` with at PUT `path`, asked directly. */
  async function refusalOf(path: string, body: unknown): Promise<string> {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.tokens.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    return ((await response.json()) as { error: { message: string } }).error.message;
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
    expect(await page.getByRole('button', { name: /^Set (the )?(weight|limit|rate)/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Limit a queue' }).count()).toBe(0);
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
      CONTROLS,
    ]);
    await page.getByRole('button', { name: 'Set the limit of key tenant-a' }).click();
    await form.getByRole('button', { name: 'Remove' }).click();
    await until(() => cells(page, 'Concurrency keys', 'tenant-a')).toEqual([
      'tenant-a',
      '2 / 3',
      '–',
      '–',
      CONTROLS,
    ]);
    expect((await server.ns.concurrencyKeys()).find((k) => k.key === 'tenant-a')?.operatorLimit).toBeNull();
    await context.close();
  });

  it('lets an operator limit a new queue with a limit and a rate, sending nothing without either', async () => {
    const { page, context } = await open(server.tokens.operator);
    const webhooks = () => cells(page, 'Queue limits', 'webhooks');
    const sent = puts(page);
    await page.getByRole('button', { name: 'Limit a queue' }).click();
    const form = page.getByRole('form', { name: 'Limit a queue' });
    // The queues holding jobs are suggested.
    await until(() =>
      form
        .locator('datalist option')
        .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual(expect.arrayContaining(['parked', 'reports']));

    await form.getByLabel('Queue').fill('webhooks');
    await form.getByRole('button', { name: 'Limit queue' }).click();
    expect(await form.getByRole('alert').textContent()).toBe(
      'Give a running limit, a rate (starts per period), or both. Nothing was sent.',
    );
    expect(sent).toEqual([]);

    await form.getByLabel('Running limit').fill('5');
    await form.getByLabel('Starts').fill('10');
    expect(await form.getByLabel('Per', { exact: true }).inputValue()).toBe('1');
    expect(await form.getByLabel('Per unit').inputValue()).toBe('s');
    await form.getByRole('button', { name: 'Limit queue' }).click();
    await until(() => form.getByRole('status').textContent()).toBe(
      'Queue webhooks: rate set to 10 per 1.0 s, limit set to 5.',
    );
    expect(await queueLimit('webhooks')).toEqual({
      queue: 'webhooks',
      limit: 5,
      running: 0,
      rate: { limit: 10, periodMs: 1_000 },
    });
    await until(webhooks).toEqual(['webhooks', '0 / 5', '10 / 1.0 s', CONTROLS]);

    // A period over a day: the server's refusal, and neither the rate nor the limit is set.
    sent.length = 0;
    await form.getByLabel('Queue').fill('overnight');
    await form.getByLabel('Per', { exact: true }).fill('2');
    await form.getByLabel('Per unit').selectOption('d');
    await form.getByRole('button', { name: 'Limit queue' }).click();
    await until(() => form.getByRole('alert').textContent()).toBe(
      `The server refused it: ${await refusalOf('/limits/queues/overnight/rate', { rate: { limit: 10, periodMs: 172_800_000 } })}`,
    );
    expect(sent).toEqual(['/limits/queues/overnight/rate']);
    expect(await queueLimit('overnight')).toBeUndefined();

    // A queue name over 255 bytes: the same.
    sent.length = 0;
    const long = 'q'.repeat(256);
    await form.getByLabel('Queue').fill(long);
    await form.getByLabel('Per unit').selectOption('s');
    await form.getByRole('button', { name: 'Limit queue' }).click();
    const tooLong = await refusalOf(`/limits/queues/${long}/rate`, { rate: { limit: 10, periodMs: 2_000 } });
    await until(() => form.getByRole('alert').textContent()).toBe(`The server refused it: ${tooLong}`);
    expect(sent).toEqual([`/limits/queues/${long}/rate`]);
    expect(await queueLimit(long)).toBeUndefined();

    // The limit failing after the rate was set (the server gone between them): the line says so.
    await page.route(`${server.url}/api/v1/limits/queues/bursty`, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'unavailable', message: 'the database is down' } }),
      }),
    );
    await form.getByLabel('Queue').fill('bursty');
    await form.getByRole('button', { name: 'Limit queue' }).click();
    await until(() => form.getByRole('alert').textContent()).toBe(
      'The server refused it: the database is down. Before that: rate set to 10 per 2.0 s.',
    );
    expect((await queueLimit('bursty'))?.rate).toEqual({ limit: 10, periodMs: 2_000 });
    await until(() => cells(page, 'Queue limits', 'bursty')).toEqual([
      'bursty',
      '0 / none',
      '10 / 2.0 s',
      CONTROLS,
    ]);
    await screenshot(page, `limits-queue-form-${backend}`);
    await context.close();
  });

  it("lets an operator set and remove a queue's limit and rate in its row", async () => {
    const { page, context } = await open(server.tokens.operator);
    const webhooks = () => cells(page, 'Queue limits', 'webhooks');
    await until(webhooks).toEqual(['webhooks', '0 / 5', '10 / 1.0 s', CONTROLS]);
    await page.getByRole('button', { name: 'Set the limit of queue webhooks' }).click();
    const limit = page.getByRole('form', { name: 'Limit of queue webhooks' });
    expect(await limit.getByRole('spinbutton').inputValue()).toBe('5');
    await limit.getByRole('spinbutton').fill('8');
    await limit.getByRole('button', { name: 'Save' }).click();
    await until(webhooks).toEqual(['webhooks', '0 / 8', '10 / 1.0 s', CONTROLS]);
    expect(await status(page)).toBe('Queue webhooks: limit set to 8.');
    expect((await queueLimit('webhooks'))?.limit).toBe(8);
    await page.getByRole('button', { name: 'Set the limit of queue webhooks' }).click();
    await limit.getByRole('button', { name: 'Remove' }).click();
    await until(webhooks).toEqual(['webhooks', '0 / none', '10 / 1.0 s', CONTROLS]);
    expect(await status(page)).toBe('Queue webhooks: limit removed.');
    expect((await queueLimit('webhooks'))?.limit).toBeNull();

    await page.getByRole('button', { name: 'Set the rate of queue webhooks' }).click();
    const rate = page.getByRole('form', { name: 'Rate of queue webhooks' });
    // The form starts from the rate in force.
    expect(await rate.getByLabel('Rate of queue webhooks: starts').inputValue()).toBe('10');
    expect(await rate.getByLabel('Rate of queue webhooks: period', { exact: true }).inputValue()).toBe('1');
    expect(await rate.getByLabel('Rate of queue webhooks: period unit').inputValue()).toBe('s');
    await rate.getByLabel('Rate of queue webhooks: starts').fill('30');
    await rate.getByLabel('Rate of queue webhooks: period unit').selectOption('min');
    await rate.getByRole('button', { name: 'Save' }).click();
    await until(webhooks).toEqual(['webhooks', '0 / none', '30 / 1.0 min', CONTROLS]);
    expect(await status(page)).toBe('Queue webhooks: rate set to 30 per 1.0 min.');
    expect((await queueLimit('webhooks'))?.rate).toEqual({ limit: 30, periodMs: 60_000 });
    await page.getByRole('button', { name: 'Set the rate of queue webhooks' }).click();
    await rate.getByRole('button', { name: 'Remove' }).click();
    await until(webhooks).toEqual(['webhooks', '0 / none', '–', CONTROLS]);
    expect(await status(page)).toBe('Queue webhooks: rate removed.');
    expect((await queueLimit('webhooks'))?.rate).toBeNull();
    await context.close();
  });

  it("lets an operator set and remove a key's rate; a refused period changes nothing", async () => {
    const { page, context } = await open(server.tokens.operator);
    const tenantB = () => cells(page, 'Concurrency keys', 'tenant-b');
    const rateOf = async (key: string) =>
      (await server.ns.concurrencyKeys()).find((k) => k.key === key)?.rate;
    await page.getByRole('button', { name: 'Set the rate of key tenant-b' }).click();
    const form = page.getByRole('form', { name: 'Rate of key tenant-b' });
    await form.getByLabel('Rate of key tenant-b: starts').fill('60');
    await form.getByLabel('Rate of key tenant-b: period unit').selectOption('min');
    await form.getByRole('button', { name: 'Save' }).click();
    await until(tenantB).toEqual(['tenant-b', '0 / 5', '5', '60 / 1.0 min', CONTROLS]);
    expect(await status(page)).toBe('Key tenant-b: rate set to 60 per 1.0 min.');
    expect(await rateOf('tenant-b')).toEqual({ limit: 60, periodMs: 60_000 });

    // Two days is over the API's bound: its message on the status line, the rate as it was.
    const sent = puts(page);
    await page.getByRole('button', { name: 'Set the rate of key tenant-b' }).click();
    await form.getByLabel('Rate of key tenant-b: period', { exact: true }).fill('2');
    await form.getByLabel('Rate of key tenant-b: period unit').selectOption('d');
    await form.getByRole('button', { name: 'Save' }).click();
    await until(() => page.getByRole('alert').textContent()).toBe(
      await refusalOf('/limits/keys/tenant-b/rate', { rate: { limit: 60, periodMs: 172_800_000 } }),
    );
    expect(sent).toEqual(['/limits/keys/tenant-b/rate']);
    expect(await rateOf('tenant-b')).toEqual({ limit: 60, periodMs: 60_000 });

    await form.getByRole('button', { name: 'Remove' }).click();
    await until(tenantB).toEqual(['tenant-b', '0 / 5', '5', '–', CONTROLS]);
    expect(await status(page)).toBe('Key tenant-b: rate removed.');
    expect(await rateOf('tenant-b')).toBeNull();
    await context.close();
  });

  it('fits a phone screen in dark mode', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${server.url}/limits#token=${encodeURIComponent(server.tokens.operator)}`);
    await until(() => page.getByRole('table', { name: 'Groups' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Set the weight of group acme' }).click();
    await page.getByRole('button', { name: 'Set the rate of key tenant-a' }).click();
    await page.getByRole('button', { name: 'Limit a queue' }).click();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, `limits-phone-dark-${backend}`);
    await context.close();
  });
});
