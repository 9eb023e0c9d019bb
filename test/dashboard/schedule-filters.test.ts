/**
 * The Schedules page in real headless Chromium against a real API server (SQLite, and PostgreSQL with
 * NIGHTSHIFT_TEST_BACKEND=postgres), holding 180 per-tenant schedules: it shows one page of them, filters
 * by task (suggested from the task catalog), state and id prefix, keeps the filter in the address through
 * a reload, pages the filtered list, and shows a schedule a link names even when it is on no page shown.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

const pad = (n: number) => String(n).padStart(3, '0');

describe(`the Schedules page's filter in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend)]);
    // Tenant a: 120 schedules, every third paused; tenant b: 60, every fourth paused.
    await server.ns.schedules.upsertMany([
      ...Array.from({ length: 120 }, (_, i) => ({
        id: `tenant-a:${pad(i)}`,
        task: 'noop',
        everyMs: 3_600_000,
        paused: i % 3 === 0,
      })),
      ...Array.from({ length: 60 }, (_, i) => ({
        id: `tenant-b:${pad(i)}`,
        task: 'noop',
        everyMs: 3_600_000,
        paused: i % 4 === 0,
      })),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<{ page: Page; context: BrowserContext; table: Locator }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.viewer)}`);
    return { page, context, table: page.getByRole('table', { name: 'Schedules' }) };
  }

  /** The ids of the rows the table shows, in order. */
  function shownIds(table: Locator): Promise<string[]> {
    return table
      .locator('tbody th[scope="row"]')
      .evaluateAll((cells) => cells.map((cell) => cell.firstChild?.textContent ?? ''));
  }

  it('shows one page of many schedules, with a next page', async () => {
    const { page, context, table } = await open('/schedules');
    await until(() => shownIds(table)).toEqual(Array.from({ length: 50 }, (_, i) => `tenant-a:${pad(i)}`));
    const pager = page.getByRole('navigation', { name: 'Pages' });
    expect(await pager.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    await pager.getByRole('button', { name: 'Next page' }).click();
    await until(() => shownIds(table)).toEqual(
      Array.from({ length: 50 }, (_, i) => `tenant-a:${pad(i + 50)}`),
    );
    await context.close();
  });

  it('filters by id prefix and state, keeps the filter in the address through a reload, and pages it', async () => {
    const { page, context, table } = await open('/schedules');
    const form = page.getByRole('search', { name: 'Filter schedules' });
    // The task input suggests the catalog's tasks.
    await until(() =>
      form.locator('datalist option').evaluateAll((options) => options.map((o) => o.getAttribute('value'))),
    ).toContain('noop');
    await form.getByLabel('Id starts with').fill('tenant-b:');
    await form.getByLabel('State').selectOption('paused');
    await form.getByRole('button', { name: 'Apply filter' }).click();
    const pausedB = Array.from({ length: 15 }, (_, i) => `tenant-b:${pad(i * 4)}`);
    await until(() => shownIds(table)).toEqual(pausedB);
    expect(new URL(page.url()).search).toBe('?state=paused&idPrefix=tenant-b%3A');
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await screenshot(page, `schedules-filtered-${backend}`);

    await page.reload();
    await until(() => shownIds(table)).toEqual(pausedB);
    expect(await form.getByLabel('Id starts with').inputValue()).toBe('tenant-b:');
    expect(await form.getByLabel('State').inputValue()).toBe('paused');

    // Tenant a's 80 active schedules: two pages, each only matches.
    await form.getByLabel('Id starts with').fill('tenant-a:');
    await form.getByLabel('State').selectOption('active');
    await form.getByLabel('Task').fill('noop');
    await form.getByRole('button', { name: 'Apply filter' }).click();
    const activeA = Array.from({ length: 120 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .map((i) => `tenant-a:${pad(i)}`);
    await until(() => shownIds(table)).toEqual(activeA.slice(0, 50));
    expect(new URL(page.url()).search).toBe('?task=noop&state=active&idPrefix=tenant-a%3A');
    await page.getByRole('button', { name: 'Next page' }).click();
    await until(() => shownIds(table)).toEqual(activeA.slice(50));

    await form.getByLabel('Id starts with').fill('tenant-c:');
    await form.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => page.getByText('No schedule matches this filter.').count()).toBe(1);
    await form.getByRole('button', { name: 'Clear' }).click();
    await until(() => shownIds(table)).toEqual(Array.from({ length: 50 }, (_, i) => `tenant-a:${pad(i)}`));
    expect(new URL(page.url()).search).toBe('');
    await context.close();
  });

  it('shows the schedule a link names when it is on no page shown', async () => {
    const { context, table } = await open('/schedules?schedule=tenant-b:042');
    const row = table.locator('tr[aria-current="location"]');
    await until(() =>
      row
        .locator('th')
        .first()
        .evaluate((cell) => cell.firstChild?.textContent),
    ).toBe('tenant-b:042');
    expect((await shownIds(table)).slice(0, 2)).toEqual(['tenant-b:042', 'tenant-a:000']);
    await context.close();
  });
});
