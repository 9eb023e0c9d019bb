/**
 * The overview's throughput and latency charts in Chromium, with the store's clock moved by hand so
 * every attempt ends at a known time: Auto zooms to the shortest range that holds the attempts (a
 * burst of seconds gets second buckets, as after the demo) and widens as they age, reading again with
 * no event, past a quiet hour to 6 h and then 24 h; a chosen range reads in its own buckets, counts as
 * a rate of its unit, and lives in the address (reload, back and forward, a shared link; an unknown
 * one reads as Auto); a bucket alone is a dot; each bucket tells its time and values on hover; time
 * labels fall on round times; a range without attempts says so instead of drawing flat lines, and
 * reads nothing until an event. On SQLite, and on PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer } from '../api/api-server.js';
import { newJob } from '../support/jobs.js';
import { launchChromium, screenshot } from './browser.js';

/** Waits for the page to catch up: a busy two-core machine renders well past vitest's 1 s default. */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';
const MINUTE = 60_000;
const TASKS = { 'report.build': defineTask({ handler: () => null }) };

describe(`overview charts in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;
  // 12 s into a minute: both bursts below end within it, 23.5 s apart, the last at :39, which puts the
  // Auto minute's last quarter label (:30) near "now" at the chart's right end.
  const start = Math.floor(Date.now() / MINUTE) * MINUTE + 12_000;

  /**
   * `completed` and `failed` jobs (one attempt each) due now, claimed 2 s later and finished 1.5 s
   * after that: each attempt waited 2.0 s and ran 1.5 s, and ended 3.5 s from now.
   */
  async function burst(completed: number, failed: number): Promise<void> {
    const { store, clock } = server;
    await store.jobInsertMany({
      jobs: Array.from({ length: completed + failed }, () =>
        newJob({ task: 'report.build', maxAttempts: 1 }),
      ),
    });
    await clock.advance(2_000);
    const claimed = await store.jobClaim({ workerId: 'w', limit: completed + failed, leaseMs: 60_000 });
    expect(claimed).toHaveLength(completed + failed);
    await clock.advance(1_500);
    await store.jobFinishMany({
      finishes: claimed.map((job, i) =>
        i < completed
          ? { id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: null }
          : {
              id: job.id,
              leaseToken: job.leaseToken,
              outcome: 'failed',
              error: { message: 'x', reason: 'failed' },
            },
      ),
    });
  }

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
    await server.clock.freeze(start);
    await burst(3, 0); // ends at start + 3.5 s
    await server.clock.advance(20_000);
    await burst(1, 1); // ends at start + 27 s, the store's now
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /**
   * The overview (at `path`) as a viewer, the browser's clock installed (so "6 s later" takes none);
   * `reads` gathers the `minutes` of every GET /stats the page makes, in order.
   */
  async function open(
    path = '/',
    viewport = { width: 1280, height: 900 },
  ): Promise<{ page: Page; context: BrowserContext; card: Locator; reads: string[] }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const reads: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/v1/stats') reads.push(url.searchParams.get('minutes') ?? '');
    });
    await page.clock.install();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.viewer)}`);
    return { page, context, card: page.getByRole('region', { name: 'Throughput and latency' }), reads };
  }
  /** The page's address without its origin. */
  const address = (page: Page) => {
    const url = new URL(page.url());
    return url.pathname + url.search;
  };
  /** The label of the range picked (none, when no radio is checked). */
  const checked = async (card: Locator) =>
    (
      await card
        .getByRole('radio', { checked: true })
        .evaluateAll((radios) => radios.map((radio) => (radio as HTMLInputElement).labels?.[0]?.textContent))
    ).join();
  const chart = (card: Locator, title: string) => card.getByRole('img', { name: new RegExp(`^${title}:`) });
  const label = (card: Locator, title: string) => chart(card, title).getAttribute('aria-label');
  // Texts read without waiting for the element (a locator's textContent waits for it with no end), so
  // a poll that fails says what the card showed.
  const caption = async (card: Locator) => (await card.locator('.chart-range').allTextContents()).join();
  const status = async (card: Locator) => (await card.getByRole('status').allTextContents()).join();
  /**
   * The throughput chart's time labels as shown: at least two matching `tick`, then `now` at the end,
   * none overlapping the next (a label near the right end ran into "now" on a chart a third of the
   * page wide).
   */
  async function expectTimeLabels(card: Locator, tick: RegExp): Promise<void> {
    const shown = chart(card, 'Throughput').locator('xpath=..').locator('.chart-times > span:visible');
    const texts = await shown.allTextContents();
    expect(texts.at(-1)).toBe('now');
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const text of texts.slice(0, -1)) expect(text).toMatch(tick);
    const boxes = await shown.evaluateAll((spans) =>
      spans.map((span) => span.getBoundingClientRect()).map(({ left, right }) => ({ left, right })),
    );
    for (let i = 1; i < boxes.length; i += 1) {
      expect(boxes[i]?.left, `"${texts[i]}" starts after "${texts[i - 1]}" ends`).toBeGreaterThan(
        boxes[i - 1]?.right ?? Infinity,
      );
    }
  }
  /** A local time as the charts write it. */
  const clockText = (page: Page, at: number, seconds: boolean) =>
    page.evaluate(
      ([time, withSeconds]) =>
        new Date(time).toLocaleTimeString(undefined, {
          hour: '2-digit',
          minute: '2-digit',
          ...(withSeconds ? { second: '2-digit' } : {}),
        }),
      [at, seconds] as const,
    );

  it('zooms Auto to a minute of second buckets around a burst of seconds, each bucket alone a dot', async () => {
    const { page, context, card } = await open();
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    expect(await card.getByRole('radio', { name: 'Auto' }).isChecked()).toBe(true);
    // The current second holds the second burst (1 completed, 1 failed); the peak is the first, 3 in a second.
    expect(await label(card, 'Throughput')).toBe(
      'Throughput: latest completed 1/s, failed 1/s, retried 0/s; peak 3/s',
    );
    expect(await label(card, 'Wait before start')).toBe(
      'Wait before start: latest p50 2.0 s, p95 2.0 s, p99 2.0 s; peak 2.0 s',
    );
    expect(await label(card, 'Run time')).toBe(
      'Run time: latest p50 1.5 s, p95 1.5 s, p99 1.5 s; peak 1.5 s',
    );
    // Latencies exist in two lone seconds: two dots per percentile, no line.
    const p50 = chart(card, 'Wait before start').locator('g').first();
    expect(await p50.locator('path.line').getAttribute('d')).toBe('');
    expect(await p50.locator('path.dots').getAttribute('d')).toMatch(
      /^M[\d.]+,[\d.]+ l0,0 M[\d.]+,[\d.]+ l0,0$/,
    );
    // Counts are 0 between the bursts: one line through the minute, no dot.
    const completed = chart(card, 'Throughput').locator('g').first();
    expect(((await completed.locator('path.line').getAttribute('d')) ?? '').split(' L')).toHaveLength(60);
    expect(await completed.locator('path.dots').getAttribute('d')).toBe('');
    // Every second tells its time and values; the first burst's second says what ended in it.
    const titles = await chart(card, 'Throughput').locator('rect.bucket > title').allTextContents();
    expect(titles).toHaveLength(60);
    expect(titles.filter((t) => !t.endsWith('completed 0/s, failed 0/s, retried 0/s'))).toEqual([
      `${await clockText(page, start + 3_000, true)}: completed 3/s, failed 0/s, retried 0/s`,
      `${await clockText(page, start + 27_000, true)}: completed 1/s, failed 1/s, retried 0/s`,
    ]);
    // Labels on whole quarter minutes (a minute of seconds: 15 s apart), then now.
    await expectTimeLabels(card, /^\d\d:\d\d:(00|15|30|45)\b/);
    await screenshot(page, `stats-auto-${backend}`);
    // A phone's chart as wide as the page: none overlaps either.
    await page.setViewportSize({ width: 390, height: 844 });
    await expectTimeLabels(card, /^\d\d:\d\d:(00|15|30|45)\b/);
    await context.close();
  });

  it('reads a chosen range in its own buckets, counts as a rate per minute from a minute up', async () => {
    const { context, card } = await open();
    await until(() => caption(card)).toMatch(/^Auto: /);
    await card.getByRole('radio', { name: '1 h' }).check();
    await until(() => caption(card)).toBe('Last 1 h, one point per minute');
    // Both bursts ended in the current minute: its rate, the peak, and one dot per percentile.
    expect(await label(card, 'Throughput')).toBe(
      'Throughput: latest completed 4/min, failed 1/min, retried 0/min; peak 4/min',
    );
    const p99 = chart(card, 'Run time').locator('g').last();
    expect(await p99.locator('path.dots').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+ l0,0$/);
    expect(await chart(card, 'Throughput').locator('rect.bucket').count()).toBe(60);
    await card.getByRole('radio', { name: '15 min' }).check();
    await until(() => caption(card)).toBe('Last 15 min, one point per 15 s');
    expect(await chart(card, 'Throughput').locator('rect.bucket').count()).toBe(60);
    // 3 attempts in one 15 s bucket are 0.2 a second.
    expect(await label(card, 'Throughput')).toMatch(/; peak 0\.2\/s$/);
    await context.close();
  });

  it('keeps the chosen range in the address, so a reload shows it, and the page where the reader is', async () => {
    // A short window, so the card is below the fold and the reader scrolls to it.
    const { page, context, card } = await open('/', { width: 1280, height: 400 });
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    await card.evaluate((element) => element.scrollIntoView());
    const scrolled = await page.evaluate(() => scrollY);
    expect(scrolled).toBeGreaterThan(0);
    // Its label, as a reader clicks it: with the card scrolled to the top, playwright's check() of the
    // hidden radio finds the label in its way and never clicks.
    await card.getByText('6 h', { exact: true }).click();
    await until(() => caption(card)).toBe('Last 6 h, one point per 5 min');
    expect(address(page)).toBe('/?range=6h');
    expect(await page.evaluate(() => scrollY)).toBe(scrolled);
    await page.reload();
    await until(() => caption(card)).toBe('Last 6 h, one point per 5 min');
    expect(await checked(card)).toBe('6 h');
    // Auto is the overview's plain address.
    await card.getByRole('radio', { name: 'Auto' }).check();
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    expect(address(page)).toBe('/');
    await context.close();
  });

  it('goes back and forward through the ranges picked', async () => {
    const { page, context, card } = await open();
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    await card.getByRole('radio', { name: '1 h' }).check();
    await until(() => caption(card)).toBe('Last 1 h, one point per minute');
    await card.getByRole('radio', { name: '15 min' }).check();
    await until(() => caption(card)).toBe('Last 15 min, one point per 15 s');
    await page.goBack();
    await until(() => caption(card)).toBe('Last 1 h, one point per minute');
    expect([address(page), await checked(card)]).toEqual(['/?range=1h', '1 h']);
    await page.goBack();
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    expect([address(page), await checked(card)]).toEqual(['/', 'Auto']);
    await page.goForward();
    await until(() => caption(card)).toBe('Last 1 h, one point per minute');
    expect(await checked(card)).toBe('1 h');
    await context.close();
  });

  it('opens the range a link names, and Auto for a range it does not know, without an error', async () => {
    const { page, context, card } = await open('/?range=15m');
    await until(() => caption(card)).toBe('Last 15 min, one point per 15 s');
    expect(await checked(card)).toBe('15 min');
    for (const bogus of ['2d', '6H', '']) {
      await page.goto(`${server.url}/?range=${bogus}`);
      await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
      expect(await checked(card)).toBe('Auto');
      expect(await page.getByRole('alert').count()).toBe(0);
    }
    await context.close();
  });

  it('widens Auto as the attempts age, reading again with no event', async () => {
    const { page, context, card } = await open();
    await until(() => caption(card)).toBe('Auto: last 1 min, one point per second');
    await server.clock.advance(3 * MINUTE);
    // A second bucket's range reads again within 5 s (no event comes: nothing runs).
    await page.clock.runFor(6_000);
    await until(() => caption(card)).toBe('Auto: last 5 min, one point per 5 s');
    await context.close();
  });

  it('widens Auto past a quiet hour to 6 h, then 24 h, reading a longer range only when the shorter is empty', async () => {
    await server.clock.advance(2 * 60 * MINUTE);
    const { page, context, card, reads } = await open();
    await until(() => caption(card)).toBe(
      'Auto: last 6 h, one point per 5 min (no attempt ended in the last 1 h)',
    );
    // The hour, found empty, then six hours; never the day.
    expect(reads).toEqual(['60', '360']);
    expect(await checked(card)).toBe('Auto');
    // 4 completed in one 5-minute bucket: 0.8 a minute.
    expect(await label(card, 'Throughput')).toBe(
      'Throughput: latest completed 0/min, failed 0/min, retried 0/min; peak 0.8/min',
    );
    // Six hours: labels on whole hours (2 h apart), then now.
    await expectTimeLabels(card, /^\d\d:00\b/);
    await screenshot(page, `stats-6h-${backend}`);
    /** Moves the store's clock by `storeMs`, then the page's by `pageMs`, gathering the reads anew. */
    const age = async (storeMs: number, pageMs: number) => {
      await server.clock.advance(storeMs);
      reads.length = 0;
      await page.clock.runFor(pageMs);
    };
    // Past six hours, the next read (a 5-minute bucket later) finds the day.
    await age(6 * 60 * MINUTE, 5 * MINUTE + 1_000);
    await until(() => caption(card)).toBe(
      'Auto: last 24 h, one point per 20 min (no attempt ended in the last 6 h)',
    );
    expect(reads).toEqual(['60', '360', '1440']);
    // Past a day, the next read (a 20-minute bucket later) finds nothing: the card says so.
    await age(24 * 60 * MINUTE, 20 * MINUTE + 1_000);
    await until(() => status(card)).toBe(
      'No job attempt ended in the last 24 h. The charts fill in as jobs complete, fail or retry.',
    );
    expect(reads).toEqual(['60', '360', '1440']);
    expect(await card.getByRole('img').count()).toBe(0);
    // Empty, it stays so until an attempt ends, which sends an event: nothing is read meanwhile.
    await age(0, 30 * MINUTE);
    expect(reads).toEqual([]);
    // Forced: after runFor, an unforced check waited for the element to be still (animation frames,
    // which the installed clock drives) and never ended.
    await card.getByRole('radio', { name: '15 min' }).check({ force: true });
    await until(() => status(card)).toBe(
      'No job attempt ended in the last 15 min. The charts fill in as jobs complete, fail or retry.',
    );
    await context.close();
  });
});
