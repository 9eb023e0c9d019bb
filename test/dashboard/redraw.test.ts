/**
 * The schedules page draws its relative times again when they would read differently ("in 10.0 min",
 * "now", "due 30 s ago" with "no scheduler has taken it"), in the browser alone: nothing is read from
 * the server, one timer serves the whole page (not one per row), and it goes with the page. So do a
 * job's page (its due time), the workers page (start and heartbeat ages), the job list (creation ages
 * and when a scheduled job comes due),
 * the overview (each queue's oldest ready age) and the alerts (since when, and what a message measures),
 * the overview's queue table and alerts sharing one timer. Both clocks
 * are moved by hand: the store's (frozen: no scheduler runs, so the slot stays untaken) and the
 * browser's (Playwright's clock, paused and run forward), so "half a minute later" takes no half
 * minute. On SQLite, and on PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextChange } from '../../dashboard/src/redraw.js';
import { relative } from '../../dashboard/src/format.js';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer } from '../api/api-server.js';
import { launchChromium } from './browser.js';

/** Waits for the page to catch up: a busy two-core machine renders well past vitest's 1 s default. */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';
const MINUTE = 60_000;
const TASKS = {
  'email.send': defineTask({ handler: () => ({ sent: true }) }),
  long: defineTask({ handler: () => 'done', maxDurationMs: 2 * MINUTE }),
};

/** The timeouts the page arms and those that fire, each by its delay, recorded from now on. */
interface Timers {
  armed: number[];
  fired: number[];
  /** The most timeouts longer than 1 s (not Preact's own short waits) pending at once. */
  mostPending: number;
}

declare global {
  interface Window {
    timers: Timers;
  }
}

/**
 * Opens `path` as a viewer in a new context whose clock starts at `time` (ms since the epoch) and runs
 * until paused, with the page's timeouts recorded in `window.timers`, and counts the reads of `read` (one
 * API path or several). The event stream is never answered: no event reloads the page, and no
 * reconnection arms a timer.
 */
async function openAt(
  browser: Browser,
  server: TestServer,
  path: string,
  time: number,
  read: string | string[],
): Promise<{ page: Page; context: BrowserContext; reads: () => number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route('**/api/v1/events', () => undefined);
  const page = await context.newPage();
  await page.clock.install({ time });
  // After the clock's own script, so the page's timers are the clock's, recorded as they are armed.
  await context.addInitScript(() => {
    const setTimeoutOfClock = window.setTimeout.bind(window);
    const clearTimeoutOfClock = window.clearTimeout.bind(window);
    const pending = new Set<number>();
    window.timers = { armed: [], fired: [], mostPending: 0 };
    window.setTimeout = ((handler: () => void, delay = 0, ...rest: unknown[]) => {
      window.timers.armed.push(delay);
      const fire = () => {
        pending.delete(timer);
        window.timers.fired.push(delay);
        handler();
      };
      const timer = setTimeoutOfClock(fire, delay, ...rest);
      if (delay > 1_000) {
        pending.add(timer);
        window.timers.mostPending = Math.max(window.timers.mostPending, pending.size);
      }
      return timer;
    }) as typeof window.setTimeout;
    window.clearTimeout = ((timer: number | undefined) => {
      if (timer !== undefined) pending.delete(timer);
      clearTimeoutOfClock(timer);
    }) as typeof window.clearTimeout;
  });
  let reads = 0;
  page.on('request', (request) => {
    if ([read].flat().includes(new URL(request.url()).pathname)) reads += 1;
  });
  await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.viewer)}`);
  return { page, context, reads: () => reads };
}

/**
 * Stops the page's clock at `time`, with the effects of the last draw run. A draw arms its redraw timer in
 * an effect Preact runs after its waits of 35 ms and 0 ms; a clock stopped while those are pending runs
 * them only when it runs on, and a timer they arm for a moment already past then waits for the clock to
 * move. So the clock stops 100 ms short and runs those 100 ms: the pending effects run, and a timer
 * armed for any moment up to `time` fires.
 */
async function stopClockAt(page: Page, time: number): Promise<void> {
  await page.clock.pauseAt(time - 100);
  await page.clock.runFor(100);
}

describe('the first moment a relative time reads differently', () => {
  it('is found to the millisecond, however far ahead, and none when the text stays', () => {
    const at = Date.UTC(2026, 0, 1);
    const textAt = (ms: number) => (now: number) => relative(new Date(at + ms).toISOString(), now);
    // "in 10.0 h" until 9.95 h are left, 3 min on; "in 1.1 s" until 1,049 ms are left.
    const hours = textAt(10 * 3_600_000);
    expect(nextChange(hours, at, 2 ** 31)).toBe(at + 180_000);
    expect([hours(at + 179_999), hours(at + 180_000)]).toEqual(['in 10.0 h', 'in 9.9 h']);
    const second = textAt(1_100);
    expect(nextChange(second, at, 2 ** 31)).toBe(at + 51);
    expect([second(at + 50), second(at + 51)]).toEqual(['in 1.1 s', 'in 1.0 s']);
    expect(nextChange(() => 'now', at, 2 ** 31)).toBeNull();
    // Looked for no further than asked.
    const threshold = (now: number) => (now < at + 5_000 ? 'before' : 'after');
    expect(nextChange(threshold, at, 4_999)).toBeNull();
    expect(nextChange(threshold, at, 5_000)).toBe(at + 5_000);
  });
});

describe(`pages drawing their relative times again, in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    [browser, server] = await Promise.all([
      launchChromium(),
      startTestServer(backend, {
        tasks: TASKS,
        alerts: { stuckJobGraceMs: MINUTE, queues: { aging: { oldestReadyAgeMs: MINUTE } } },
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('redraws when a slot comes and when it is 30 s overdue, reading nothing, by one timer that goes with the page', async () => {
    // Just past a 10-minute boundary: slots of every 10 minutes fall on them, the next 599 s ahead.
    const start = Math.floor(Date.now() / (10 * MINUTE)) * 10 * MINUTE + 1_000;
    await server.clock.freeze(start);
    for (const id of ['soon', 'twin', 'quiet']) {
      await server.ns.schedules.create({ id, task: 'email.send', everyMs: 10 * MINUTE });
    }
    await server.ns.schedules.pause('quiet');
    const slot = (await server.ns.schedules.get('soon'))?.schedule.nextSlotAt?.getTime() ?? 0;
    expect(slot).toBe(start + 599_000);
    expect((await server.ns.schedules.get('twin'))?.schedule.nextSlotAt?.getTime()).toBe(slot);

    const { page, context, reads } = await openAt(browser, server, '/schedules', start, '/api/v1/schedules');
    const nextRun = (id: string) => page.locator(`#schedule-${id} td`).nth(1);
    await until(() => nextRun('soon').innerText()).toMatch(/^in (10\.0|9\.9) min$/);
    expect(await nextRun('quiet').innerText()).toBe('none while paused');
    await stopClockAt(page, start + 30_000);

    // A millisecond before the slot's 30 s are over it reads "now"; at the 30th second, overdue.
    await page.clock.runFor(slot + 29_999 - (start + 30_000));
    await until(() => nextRun('soon').innerText()).toBe('now');
    await page.clock.runFor(1);
    await until(() => nextRun('soon').innerText()).toBe('due 30 s ago\nno scheduler has taken it');
    expect(await nextRun('twin').innerText()).toBe('due 30 s ago\nno scheduler has taken it');
    await page.clock.runFor(1_000);
    await until(() => nextRun('soon').innerText()).toBe('due 31 s ago\nno scheduler has taken it');
    expect(reads()).toBe(1);

    // From "due 2.0 min ago" to "due 3.0 min ago" both rows change together every 6 s: ten draws, each
    // arming one timer of about 6 s for the page, not one per row, and Preact's own two short waits
    // for its effects (35 ms and 0 ms); nothing else, and nothing in a loop.
    await page.clock.runFor(slot + 2 * MINUTE - (slot + 31_000));
    await until(() => nextRun('soon').innerText()).toMatch(/^due 2\.0 min ago/);
    await page.evaluate(() => (window.timers = { armed: [], fired: [], mostPending: 0 }));
    await page.clock.runFor(MINUTE);
    await until(() => nextRun('soon').innerText()).toMatch(/^due 3\.0 min ago/);
    const { armed } = await page.evaluate(() => window.timers);
    expect(armed.filter((delay) => delay > 1_000)).toHaveLength(10);
    expect(armed.length).toBeLessThanOrEqual(30);
    expect(reads()).toBe(1);

    // Another page: the schedules' pending timer is cleared, nothing fires for them any more.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Limits' }).click();
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Limits');
    await page.evaluate(() => (window.timers = { armed: [], fired: [], mostPending: 0 }));
    await page.clock.runFor(10 * MINUTE);
    expect((await page.evaluate(() => window.timers.fired)).filter((delay) => delay > 1_000)).toEqual([]);
    await context.close();
  });

  it('redraws a job’s due time on its page as it counts down, reading nothing', async () => {
    const start = Date.UTC(2026, 0, 1, 12);
    await server.clock.freeze(start);
    const { job } = await server.ns.enqueue('email.send', {}, { delayMs: 10 * MINUTE });
    const { page, context, reads } = await openAt(
      browser,
      server,
      `/jobs/${job.id}`,
      start,
      `/api/v1/jobs/${job.id}`,
    );
    const due = page.locator('dl.facts dt:text-is("Due") + dd');
    // Read as the page first draws, however long a busy machine takes to load it.
    await until(() => due.innerText()).toMatch(/^in \d+\.\d min$/);
    await stopClockAt(page, start + 30_000);
    await until(() => due.innerText()).toBe('in 9.5 min');
    // "in 10 s" until 10 s are left to the millisecond, then tenths of a second.
    await page.clock.runFor(10 * MINUTE - 10_001 - 30_000);
    await until(() => due.innerText()).toBe('in 10 s');
    await page.clock.runFor(2);
    await until(() => due.innerText()).toBe('in 10.0 s');
    expect(reads()).toBe(1);
    await context.close();
  });

  it('redraws the workers’ start and heartbeat ages as they grow, reading the list again once its heartbeat turns 10 s old', async () => {
    const start = Date.UTC(2026, 0, 1, 13);
    await server.clock.freeze(start);
    // On a queue nobody enqueues to; its heartbeats, at the frozen time, keep it listed.
    const worker = server.ns.startWorker({ queues: ['idle'], pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      const [registered] = await server.ns.workers();
      expect([registered?.startedAt.getTime(), registered?.heartbeatAt.getTime()]).toEqual([start, start]);
      const { page, context, reads } = await openAt(browser, server, '/workers', start, '/api/v1/workers');
      const row = page.getByRole('table', { name: 'Workers' }).getByRole('row').nth(1);
      // The last two cells: started, heartbeat.
      const ages = async () => (await row.locator('td').allInnerTexts()).slice(-2);
      await until(ages).toEqual([expect.stringMatching(/ ago$/), expect.stringMatching(/ ago$/)]);
      await stopClockAt(page, start + MINUTE);
      await until(ages).toEqual(['1.0 min ago', '1.0 min ago']);
      await page.clock.runFor(MINUTE);
      await until(ages).toEqual(['2.0 min ago', '2.0 min ago']);
      // Read once more when the heartbeat shown turned 10 s old (a live worker would have beaten again
      // by then); with the store's clock frozen its heartbeat had not moved, so nothing after that.
      expect(reads()).toBe(2);
      await context.close();
    } finally {
      await worker.stop();
    }
  });
  it('redraws the job list’s creation ages as they grow, reading nothing', async () => {
    const start = Date.UTC(2026, 0, 1, 14);
    await server.clock.freeze(start);
    const { id } = await server.ns.enqueue('email.send', {}, { queue: 'listed' });
    const { page, context, reads } = await openAt(
      browser,
      server,
      '/jobs?queue=listed',
      start,
      '/api/v1/jobs',
    );
    const created = page
      .getByRole('table', { name: 'Jobs' })
      .getByRole('row', { name: new RegExp(id.slice(-12)) })
      .locator('td')
      .nth(4);
    await until(() => created.innerText()).toMatch(/ ago$/);
    await stopClockAt(page, start + 30_000);
    await until(() => created.innerText()).toBe('30 s ago');
    // Seconds until the minute, to the millisecond, then minutes.
    await page.clock.runFor(29_999);
    await until(() => created.innerText()).toBe('60 s ago');
    await page.clock.runFor(1);
    await until(() => created.innerText()).toBe('1.0 min ago');
    await page.clock.runFor(MINUTE);
    await until(() => created.innerText()).toBe('2.0 min ago');
    expect(await created.getAttribute('title')).toBe(new Date(start).toISOString());
    expect(reads()).toBe(1);
    await server.ns.cancelJob(id);
    await context.close();
  });

  it('shows when a scheduled job on the job list comes due, redrawn as it counts down, reading nothing', async () => {
    const start = Date.UTC(2026, 0, 1, 14, 30);
    await server.clock.freeze(start);
    const later = await server.ns.enqueue('email.send', {}, { queue: 'due-listed', delayMs: 10 * MINUTE });
    const ready = await server.ns.enqueue('email.send', {}, { queue: 'due-listed' });
    const { page, context, reads } = await openAt(
      browser,
      server,
      '/jobs?queue=due-listed',
      start,
      '/api/v1/jobs',
    );
    const stateCell = (id: string) =>
      page
        .getByRole('table', { name: 'Jobs' })
        .getByRole('row', { name: new RegExp(id.slice(-12)) })
        .locator('td')
        .nth(1);
    await until(() => stateCell(later.id).innerText()).toMatch(/^scheduled\ndue in \d+\.\d min$/);
    // A queued job is not waiting for a time: it says nothing of one.
    expect(await stateCell(ready.id).innerText()).toBe('queued');
    expect(await stateCell(later.id).locator('div').getAttribute('title')).toBe(
      new Date(start + 10 * MINUTE).toISOString(),
    );
    await stopClockAt(page, start + 30_000);
    await until(() => stateCell(later.id).innerText()).toBe('scheduled\ndue in 9.5 min');
    // "in 10 s" until 10 s are left to the millisecond, then tenths of a second.
    await page.clock.runFor(10 * MINUTE - 10_001 - 30_000);
    await until(() => stateCell(later.id).innerText()).toBe('scheduled\ndue in 10 s');
    await page.clock.runFor(2);
    await until(() => stateCell(later.id).innerText()).toBe('scheduled\ndue in 10.0 s');
    expect(reads()).toBe(1);
    await server.ns.cancelJob(later.id);
    await server.ns.cancelJob(ready.id);
    await context.close();
  });

  it('redraws the overview’s oldest ready age and its alerts (message and since) by one timer, reading nothing', async () => {
    const start = Date.UTC(2026, 0, 1, 15);
    await server.clock.freeze(start);
    const { id } = await server.ns.enqueue('email.send', {}, { queue: 'aging' });
    // Two minutes unclaimed, past the queue's one-minute threshold since the first.
    await server.clock.advance(2 * MINUTE);
    const { page, context, reads } = await openAt(browser, server, '/', start + 2 * MINUTE, [
      '/api/v1/queues',
      '/api/v1/alerts',
    ]);
    const oldest = page
      .getByRole('table', { name: 'Queues' })
      .getByRole('row', { name: /aging/ })
      .locator('td.oldest-ready');
    const alerts = page.getByRole('region', { name: 'Alerts' });
    const alert = alerts.getByRole('link', { name: /oldest ready age/ });
    // No worker runs here: past the default minute's grace, the queue is unserved too.
    const unserved = alerts.getByRole('link', { name: /unserved queue queue aging/ });
    const shown = async () => [
      await oldest.innerText(),
      await alert.innerText(),
      await alert.getAttribute('title'),
      await unserved.innerText(),
      await unserved.getAttribute('title'),
    ];
    // Read as the page first draws: the server's "120.0 s" in the dashboard's units.
    await until(shown).toEqual([
      expect.stringMatching(/^2\.\d min$/),
      expect.stringMatching(
        /^oldest ready age queue aging: a job due 2\.\d min ago is still unclaimed \(threshold 60\.0 s\)$/,
      ),
      expect.stringMatching(/^since 1\.\d min ago$/),
      expect.stringMatching(
        /^unserved queue queue aging: a job due 2\.\d min ago waits and no live worker claims from this queue \(no worker is running\)$/,
      ),
      expect.stringMatching(/^since 1\.\d min ago$/),
    ]);
    // The ages count from the answers' arrival, a moment (however long the page took) after the start
    // of this browser's clock: half a minute on they read 2.5 min, whatever that moment was up to 3 s.
    await stopClockAt(page, start + 2.5 * MINUTE);
    const at = (age: string, since: string) => [
      age,
      `oldest ready age queue aging: a job due ${age} ago is still unclaimed (threshold 60.0 s)`,
      `since ${since} ago`,
      `unserved queue queue aging: a job due ${age} ago waits and no live worker claims from this queue (no worker is running)`,
      `since ${since} ago`,
    ];
    await until(shown).toEqual(at('2.5 min', '1.5 min'));

    // From 2.5 to 3.5 minutes the three texts change every 6 s, each from its own moment (the two
    // answers' arrival, the alert's start): the queue table and the alerts wait on one timer for the
    // page, never one each.
    await page.evaluate(() => (window.timers = { armed: [], fired: [], mostPending: 0 }));
    await page.clock.runFor(MINUTE);
    await until(shown).toEqual(at('3.5 min', '2.5 min'));
    const { armed, mostPending } = await page.evaluate(() => window.timers);
    expect(armed.filter((delay) => delay > 1_000).length).toBeGreaterThanOrEqual(10);
    expect(mostPending).toBe(1);
    expect(reads()).toBe(2);
    await server.ns.cancelJob(id);
    await context.close();
  });

  it('redraws the Workers page’s stuck-job and max-duration alerts as they last, reading nothing', async () => {
    const start = Date.UTC(2026, 0, 1, 16);
    await server.clock.freeze(start);
    const { id } = await server.ns.enqueue('long', {}, { queue: 'stuck' });
    // Claimed by a worker that is gone: nobody renews its lease (1 min) or rescues the job.
    const [claimed] = await server.store.jobClaim({
      workerId: 'gone',
      queues: ['stuck'],
      limit: 1,
      leaseMs: MINUTE,
    });
    expect(claimed?.id).toBe(id);
    // Three minutes on: past its maxDurationMs (2 min) for 1 min, past its lease's grace (1 min) for 1 min.
    await server.clock.advance(3 * MINUTE);
    const { page, context, reads } = await openAt(
      browser,
      server,
      '/workers',
      start + 3 * MINUTE,
      '/api/v1/alerts',
    );
    const alerts = page.getByRole('region', { name: 'Stuck jobs' }).getByRole('link');
    const shown = async () =>
      Promise.all(
        (await alerts.all()).map(async (link) => [await link.innerText(), await link.getAttribute('title')]),
      );
    // Each alert's message says how long it lasted, its title since when: by the alert's start.
    const at = (ran: string, overSince: string, ended: string) => [
      [`max duration long job ${id} has run ${ran}, past its maxDurationMs 120000`, `since ${overSince} ago`],
      [
        `stuck job long job ${id} is running, but its lease (worker gone) ended ${ended} ago and no rescuer has recovered it`,
        `since ${ended} ago`,
      ],
    ];
    await until(async () => (await shown()).length).toBe(2);
    await stopClockAt(page, start + 3.5 * MINUTE);
    await until(shown).toEqual(at('3.5 min', '1.5 min', '2.5 min'));
    await page.clock.runFor(MINUTE);
    await until(shown).toEqual(at('4.5 min', '2.5 min', '3.5 min'));
    expect(reads()).toBe(1);
    const { accepted } = await server.store.jobFinishMany({
      finishes: [{ id, leaseToken: claimed?.leaseToken ?? '', outcome: 'completed', result: null }],
    });
    expect(accepted).toEqual([id]);
    await context.close();
  });
});
