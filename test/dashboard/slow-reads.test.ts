/**
 * A page following a busy cluster while a read is slower than the live ticks (every 400 ms while
 * events flow): the overview's queue list, made slow here by holding each answer 1.5 s (a list counting
 * a history of millions of jobs takes seconds), is asked once at a time, once more after the burst
 * of events, and shows what the last answer says; it used to start a read at every tick, piling them
 * up. Finished counts the server reused (a long history's) are dated under the list. On SQLite, and on PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer } from '../api/api-server.js';
import { launchChromium } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';
const TASKS = { 'email.send': defineTask({ handler: () => ({ sent: true }) }) };
const SLOW_MS = 1_500;

describe(`a read slower than the live ticks, in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('keeps one queue list request in flight while events flow, and shows the last answer', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    let inFlight = 0;
    let most = 0;
    let made = 0;
    await context.route('**/api/v1/queues', async (route) => {
      made += 1;
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(SLOW_MS);
      try {
        await route.continue();
      } finally {
        inFlight -= 1;
      }
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/#token=${encodeURIComponent(server.tokens.viewer)}`);
    await until(() => page.getByRole('heading', { name: 'Overview' }).count()).toBe(1);
    // Twenty enqueues over 4 s: about ten live ticks, each of which started a read of its own before.
    for (let i = 0; i < 20; i += 1) {
      await server.ns.enqueue('email.send', { to: `${i}@example.com` }, { queue: 'burst' });
      await sleep(200);
    }
    const row = page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /burst/ });
    await until(() => row.locator('td.count-queued').textContent()).toBe('20');
    expect(most).toBe(1);
    // The first read, then one per slow answer while the ticks came, and one after the last tick.
    expect(made).toBeGreaterThanOrEqual(3);
    expect(made).toBeLessThanOrEqual(Math.ceil(4_000 / SLOW_MS) + 3);
    await context.close();
  });

  it('says how old reused finished counts are, and nothing while they are current', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The server's answer as it is, or with the finished counts reused 25 s ago (as a count of a
    // history of millions of jobs is: test/library/queue-finished-counts.test.ts).
    let reusedAgeMs = 0;
    await context.route('**/api/v1/queues', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { queues: Array<{ finishedCountsAgeMs: number }> };
      expect(body.queues.every((queue) => queue.finishedCountsAgeMs === 0)).toBe(true);
      if (reusedAgeMs > 0) for (const queue of body.queues) queue.finishedCountsAgeMs = reusedAgeMs;
      await route.fulfill({ response, json: body });
    });
    await server.ns.enqueue('email.send', { to: 'age@example.com' }, { queue: 'aged' });
    const page = await context.newPage();
    await page.goto(`${server.url}/#token=${encodeURIComponent(server.tokens.viewer)}`);
    const row = page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /aged/ });
    await until(() => row.count()).toBe(1);
    const note = page.locator('p.finished-age');
    expect(await note.count()).toBe(0);
    reusedAgeMs = 25_000;
    await server.ns.enqueue('email.send', { to: 'age2@example.com' }, { queue: 'aged' });
    await until(() => note.textContent()).toMatch(
      /^Completed, failed and cancelled counts as of 2\d s ago: counting a long history is reused for a while\.$/,
    );
    await context.close();
  });
});
