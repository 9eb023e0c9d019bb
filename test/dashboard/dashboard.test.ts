/**
 * The web dashboard in real headless Chromium against a real API server with real data (SQLite, and
 * PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): every page renders what the database holds (queue
 * counts, an alert, the stats charts, a job's log lines, a running worker), filters (state, text)
 * narrow the job list, a queue pause and a bulk retry change the database, a viewer sees no action and
 * is refused a forged change, a read-only server shows no action either, a job enqueued after the page
 * loaded appears without a reload, and the page asks for a token when it has none. Screenshots of each
 * page land in test-artifacts/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/job.js';
import { startApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { defineTask } from '../../src/task.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

/** Waits for the page to catch up: a busy two-core machine renders well past vitest's 1 s default. */
const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

/** Names as long as the API takes them, with no space to break at. */
const LONG_TASK = `report.${'quarterly'.repeat(16)}`;
const LONG_QUEUE = `reports-${'emea'.repeat(40)}`;

const TASKS = {
  'report.build': defineTask({
    handler: (payload: { region: string; fail?: boolean }, ctx) => {
      ctx.log('building report', { region: payload.region });
      if (payload.fail === true) throw new Error(`warehouse ${payload.region} unreachable`);
      return { rows: payload.region.length * 100 };
    },
  }),
  'email.send': defineTask({ handler: () => ({ sent: true }) }),
  'report.broken': defineTask({
    maxAttempts: 1,
    handler: () => {
      throw new Error('warehouse gone');
    },
  }),
  [LONG_TASK]: defineTask({ handler: () => null }),
};

/** Real history: completed and failed reports, emails waiting, a schedule. */
async function seed(server: Server): Promise<{ failed: Job[] }> {
  const { ns } = server;
  const regions = ['north', 'south', 'east', 'west', 'centre'];
  const jobs = await Promise.all(
    regions.map((region, i) =>
      ns.enqueue('report.build', { region, fail: i % 2 === 0 }, { queue: 'reports', maxAttempts: 1 }),
    ),
  );
  const worker = ns.startWorker({ queues: ['reports'], concurrency: 5, pollIntervalMs: 50 });
  const settled = await Promise.all(jobs.map(({ job }) => ns.waitFor(job.id, { timeoutMs: 15_000 })));
  await worker.stop();
  for (let i = 0; i < 4; i++)
    await ns.enqueue('email.send', { to: `user${i}@example.com` }, { queue: 'mail' });
  await ns.schedules.create({
    id: 'nightly-reports',
    task: 'report.build',
    cron: '0 3 * * *',
    payload: { region: 'all' },
  });
  return { failed: settled.filter((job) => job.state === 'failed') };
}

describe(`dashboard in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;
  let readOnly: Server;
  let failed: Job[];

  beforeAll(async () => {
    [browser, server, readOnly] = await Promise.all([
      launchChromium(),
      // The 4 queued emails exceed a depth of 3: a real queue_depth alert holds until they are cancelled.
      startTestServer(backend, { tasks: TASKS, alerts: { queues: { mail: { queueDepth: 3 } } } }),
      startTestServer(backend, { tasks: TASKS, readOnly: true }),
    ]);
    ({ failed } = await seed(server));
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.close(), readOnly?.close()]);
  });

  /** A page signed in with `token` (the `#token=` address `npm run demo` prints). */
  async function open(
    target: Server,
    token: string,
    path = '/',
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${target.url}${path}#token=${encodeURIComponent(token)}`);
    return { page, context };
  }

  it('asks for a token, then shows the overview with the queues the database holds', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('API token').fill(server.tokens.operator);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const queues = page.getByRole('table', { name: 'Queues' });
    await until(() => queues.getByRole('row').count()).toBe(3);
    const reports = queues.getByRole('row', { name: /reports/ });
    // 3 of the 5 reports failed (north, east, centre), 2 completed.
    await until(() => reports.locator('td.count-failed').textContent()).toBe('3');
    expect(await reports.locator('td.count-completed').textContent()).toBe('2');
    // No ready job: no oldest one and none held back, each written as the same dash.
    expect(await reports.locator('td.oldest-ready, td.held-back').allTextContents()).toEqual(['—', '—']);
    expect(await queues.getByRole('row', { name: /mail/ }).locator('td.count-queued').textContent()).toBe(
      '4',
    );
    expect(await page.getByLabel('Signed in role').textContent()).toBe('operator');
    const alert = page.getByRole('region', { name: 'Alerts' }).getByRole('link', { name: /queue depth/ });
    await until(() => alert.textContent()).toMatch(/queue mail holds 4 queued jobs, over its threshold of 3/);
    expect(await alert.getAttribute('href')).toBe('/jobs?queue=mail');
    // The seeded reports ended seconds ago: Auto draws them in a minute of second buckets (5 minutes
    // of 5 s buckets on a machine slow enough to spread them over more than a minute). Counts are a
    // line per outcome; each percentile is drawn, as a line or as dots.
    const stats = page.getByRole('region', { name: 'Throughput and latency' });
    await until(() => stats.locator('.chart-range').textContent()).toMatch(
      /^Auto: last (1 min, one point per second|5 min, one point per 5 s)$/,
    );
    const throughput = page.getByRole('img', { name: /^Throughput:/ });
    expect(await throughput.getAttribute('aria-label')).toMatch(/; peak [\d.]+\/s$/);
    expect(await throughput.locator('path.line[d^="M"]').count()).toBe(3);
    const runTime = page.getByRole('img', { name: /^Run time: latest p50 \d/ });
    expect(await runTime.locator('path[d^="M"]').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, `overview-${backend}`);
    await context.close();
  });

  it('narrows the job list with a filter and opens a job with its error, stack and runs', async () => {
    const { page, context } = await open(server, server.tokens.operator, '/jobs');
    const table = page.getByRole('table', { name: 'Jobs' });
    await until(() => table.getByRole('row').count()).toBe(10); // header + 9 jobs
    await page.getByLabel('State').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => table.getByRole('row').count()).toBe(4);
    expect(page.url()).toContain('state=failed');

    // Text in the error: the three failed reports; text in the payload: the one report for "south".
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Text').fill('unreachable');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => table.getByRole('row').count()).toBe(4);
    expect(await table.getByRole('cell', { name: 'failed' }).count()).toBe(3);
    // A failed job's error is its own: no label.
    expect(await table.locator('td.wide').allTextContents()).toEqual(
      Array(3).fill(expect.stringMatching(/^warehouse \w+ unreachable$/)),
    );
    await page.getByLabel('Text').fill('south');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => table.getByRole('row').count()).toBe(2);
    expect(await table.getByRole('row').nth(1).textContent()).toMatch(/completed.*south/);
    expect(page.url()).toContain('search=south');
    await screenshot(page, `jobs-filtered-${backend}`);
    await page.getByLabel('Text').fill('');
    await page.getByLabel('State').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await until(() => table.getByRole('row').count()).toBe(4);

    await table.getByRole('link', { name: 'report.build' }).first().click();
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/report\.build/);
    await until(() => page.getByRole('region', { name: 'Error' }).textContent()).toMatch(/unreachable/);
    expect(await page.getByLabel('Stack trace').textContent()).toMatch(/at /);
    expect(await page.locator('dl.facts dt').allTextContents()).toContain('Started');
    await until(() => page.getByRole('table', { name: 'Runs' }).getByRole('row').count()).toBe(2);
    expect(await page.getByRole('region', { name: 'Payload' }).textContent()).toContain('"fail": true');
    const logLines = page.getByRole('list', { name: 'Log lines' }).getByRole('listitem');
    await until(() => logLines.count()).toBe(1);
    expect(await logLines.textContent()).toMatch(
      /#1 info building report \{"region":"(north|east|centre)"\}/,
    );
    await screenshot(page, `job-detail-${backend}`);
    await context.close();
  });

  it('retries the selected failed jobs after a confirmation, and the database has them queued', async () => {
    const { page, context } = await open(server, server.tokens.operator, '/jobs?state=failed');
    const table = page.getByRole('table', { name: 'Jobs' });
    await until(() => table.getByRole('row').count()).toBe(4);
    await page.getByLabel('Select all jobs on this page').check();
    await page
      .getByRole('toolbar', { name: 'Actions on selected jobs' })
      .getByRole('button', { name: 'Retry' })
      .click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toMatch(/Retry 3 selected job/);
    await dialog.getByRole('button', { name: 'Yes, retry' }).click();
    await until(() => page.getByRole('status').filter({ hasText: 'Retried' }).textContent()).toBe(
      'Retried 3 of 3 job(s).',
    );
    for (const job of failed) expect((await server.ns.getJob(job.id))?.state).toBe('queued');
    await until(() => page.getByText('No job matches this filter.').count()).toBe(1);

    // Queued again, the list says their error is their last attempt's, not theirs now.
    await page.goto(`${server.url}/jobs?queue=reports&state=queued`);
    await until(() => table.getByRole('row').count()).toBe(4);
    expect(await table.locator('td.wide').allTextContents()).toEqual(
      Array(3).fill(expect.stringMatching(/^Last attempt error: warehouse \w+ unreachable$/)),
    );

    // Queued again, a job's page shows its failed attempt's start and error as the last attempt's,
    // not as if it were running or had just failed.
    const [again] = failed;
    if (again === undefined) throw new Error('no failed report');
    await page.goto(`${server.url}/jobs/${again.id}`);
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('report.build queued');
    const terms = await page.locator('dl.facts dt').allTextContents();
    expect(terms).toContain('Last attempt started');
    expect(terms).not.toContain('Started');
    expect(await page.getByRole('region', { name: 'Error', exact: true }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Last attempt error' }).textContent()).toMatch(
      /warehouse \w+ unreachable/,
    );
    await context.close();
  });

  it('cancels every job matching a filter in one request, says how many first, and how many changed', async () => {
    const { page, context } = await open(server, server.tokens.operator, '/jobs?queue=mail&state=queued');
    const table = page.getByRole('table', { name: 'Jobs' });
    const toolbar = page.getByRole('toolbar', { name: 'Actions on selected jobs' });
    const dialog = page.getByRole('dialog');
    const askToCancelAll = async () => {
      await until(() => table.getByRole('row').count()).toBe(5);
      await page.getByLabel('Select all jobs on this page').check();
      await page.getByRole('button', { name: 'Select all matching this filter' }).click();
      expect(await toolbar.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
      await toolbar.getByRole('button', { name: 'Cancel' }).click();
      expect(await dialog.getByRole('paragraph').first().textContent()).toBe(
        'Cancel every job matching this filter?',
      );
    };
    // A queue and a state: counted from the queue counts.
    await askToCancelAll();
    await until(() => dialog.getByRole('paragraph').nth(1).textContent()).toBe(
      'This changes 4 job(s) now: 4 queued.',
    );
    await dialog.getByRole('button', { name: 'No, go back' }).click();
    // A task too: counted from the job list, in every state a cancel takes.
    await page.goto(`${server.url}/jobs?queue=mail&task=email.send`);
    await askToCancelAll();
    await until(() => dialog.getByRole('paragraph').nth(1).textContent()).toBe(
      'This changes 4 job(s) now: 4 queued (running ones are asked to stop).',
    );
    await dialog.getByRole('button', { name: 'Yes, cancel' }).click();
    await until(() => page.getByRole('status').filter({ hasText: 'Cancelled' }).textContent()).toBe(
      'Cancelled 4 job(s); asked 0 running job(s) to stop.',
    );
    expect((await server.ns.listJobs({ queue: 'mail', state: 'cancelled' })).jobs).toHaveLength(4);
    await context.close();
  });

  it('pauses and resumes a queue from the overview, and the database has it paused, then not', async () => {
    // Two waiting emails (an earlier test cancelled the seeded ones), cancelled again at the end.
    const waiting: string[] = [];
    for (const to of ['a@example.com', 'b@example.com']) {
      waiting.push((await server.ns.enqueue('email.send', { to }, { queue: 'mail' })).id);
    }
    const { page, context } = await open(server, server.tokens.operator);
    const mail = page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /mail/ });
    await mail.getByRole('button', { name: 'Pause queue mail' }).click();
    const paused = async () => (await server.ns.queues.list()).find((q) => q.name === 'mail')?.paused;
    await until(paused).toBe(true);
    await until(() => mail.locator('.badge.paused').count()).toBe(1);
    // Its queued jobs are held back by the pause ("Throttled jobs").
    await until(() => mail.locator('td.held-back').textContent()).toBe('paused 2');
    expect(await page.getByRole('status').filter({ hasText: 'Queue mail' }).textContent()).toBe(
      'Queue mail paused.',
    );
    await mail.getByRole('button', { name: 'Resume queue mail' }).click();
    await until(paused).toBe(false);
    await until(() => mail.locator('.badge.paused').count()).toBe(0);
    // Resumed, they wait for a worker: none runs in this test.
    await until(() => mail.locator('td.held-back').textContent()).toBe('unserved 2');
    expect(await mail.locator('td.held-back span').getAttribute('title')).toBe(
      '2 ready jobs wait: no running worker claims from this queue',
    );
    expect(await mail.getByRole('button', { name: 'Pause queue mail' }).count()).toBe(1);
    await context.close();
    for (const id of waiting) await server.ns.cancelJob(id);
  });

  it('lists schedules with their next slot, and the running worker with its queues and heartbeat', async () => {
    const { page, context } = await open(server, server.tokens.admin, '/schedules');
    const row = page.getByRole('table', { name: 'Schedules' }).getByRole('row', { name: /nightly-reports/ });
    await until(() => row.textContent()).toMatch(/0 3 \* \* \*.*in .*active/);
    expect(await row.getByRole('button', { name: 'Edit schedule nightly-reports' }).count()).toBe(1);
    await row.getByRole('button', { name: 'Trigger schedule nightly-reports now' }).click();
    const triggered = page.getByRole('status').filter({ hasText: 'triggered' });
    await until(() => triggered.textContent()).toMatch(/triggered: enqueued \(job /);
    // The job it made is a link away, as the Enqueue job form's is.
    const jobLink = triggered.getByRole('link');
    await until(() => jobLink.count()).toBe(1);
    const jobId = (await jobLink.textContent()) ?? '';
    expect(await jobLink.getAttribute('href')).toBe(`/jobs/${jobId}`);
    expect(await triggered.textContent()).toBe(
      `Schedule nightly-reports triggered: enqueued (job ${jobId}).`,
    );
    expect((await server.ns.getJob(jobId))?.task).toBe(
      (await server.ns.schedules.get('nightly-reports'))?.schedule.task,
    );
    await row.getByRole('button', { name: 'History of schedule nightly-reports' }).click();
    await until(() =>
      page.getByRole('table', { name: 'Recent slots of nightly-reports' }).getByRole('row').count(),
    ).toBe(2);
    const history = page.getByRole('table', { name: 'Recent slots of nightly-reports' });
    for (const column of ['Start lag', 'Duration', 'Reason'])
      expect(await history.getByRole('columnheader', { name: column }).count()).toBe(1);
    await row.getByRole('button', { name: 'Pause schedule nightly-reports' }).click();
    await until(async () => (await server.ns.schedules.get('nightly-reports'))?.schedule.paused).toBe(true);
    await screenshot(page, `schedules-${backend}`);

    // A worker on a queue nobody enqueues to: it runs nothing, so the other tests' counts hold.
    const worker = server.ns.startWorker({ queues: ['idle'], concurrency: 3, pollIntervalMs: 200 });
    try {
      await until(async () => (await server.ns.workers()).length).toBe(1);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).click();
      const rows = page.getByRole('table', { name: 'Workers' }).getByRole('row');
      await until(() => rows.count()).toBe(2);
      const [registered] = await server.ns.workers();
      const cells = await rows.nth(1).locator('th, td').allTextContents();
      expect(cells).toEqual([
        registered?.id,
        `${registered?.host} / ${registered?.pid}`,
        'idle',
        '–',
        // The count of the tasks it implements; the names, folded under it, are text of the cell too.
        `${registered?.tasks.length} tasks${registered?.tasks.join('')}`,
        '0 / 3',
        expect.stringMatching(/ ago$/),
        expect.stringMatching(/^\d+(\.\d)? (ms|s) ago$/),
      ]);
      await screenshot(page, `workers-${backend}`);
    } finally {
      await worker.stop();
    }
    await context.close();
  });

  it('shows a viewer no action, and the server refuses the viewer’s forged change', async () => {
    const { page, context } = await open(server, server.tokens.viewer, '/jobs');
    await until(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBeGreaterThan(1);
    expect(await page.getByRole('button', { name: /^(Retry|Cancel|Delete)$/ }).count()).toBe(0);
    expect(await page.getByRole('checkbox').count()).toBe(0);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
    await until(() => page.getByRole('table', { name: 'Schedules' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: /Pause|Resume|Trigger|Edit/ }).count()).toBe(0);
    // The request a viewer could craft by hand in the page's console, with the token the page holds.
    const forged = await page.evaluate(async (token) => {
      const response = await fetch('/api/v1/jobs', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ task: 'email.send', payload: { to: 'x@example.com' } }),
      });
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    }, server.tokens.viewer);
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    await context.close();
  });

  it('on a read-only server shows an admin no action and refuses a forged change with read_only', async () => {
    await readOnly.ns.enqueue('email.send', { to: 'ro@example.com' }, { queue: 'mail' });
    const { page, context } = await open(readOnly, readOnly.tokens.admin, '/jobs');
    await until(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBe(2);
    expect(await page.getByLabel('Signed in role').textContent()).toBe('admin · read-only');
    expect(await page.getByRole('toolbar').count()).toBe(0);
    const forged = await page.evaluate(async (token) => {
      const response = await fetch('/api/v1/jobs/bulk-cancel', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    }, readOnly.tokens.admin);
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'read_only' } } });
    expect((await readOnly.ns.listJobs({ state: 'queued' })).jobs).toHaveLength(1);
    await context.close();
  });

  it('says in one line that there is no job with an unknown id', async () => {
    for (const id of ['01a24bbc-3402-74e9-b54d-c5d0a884f39f', 'no-such-job']) {
      const { page, context } = await open(server, server.tokens.viewer, `/jobs/${id}`);
      await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Job not found');
      expect(await page.getByRole('alert').allTextContents()).toEqual([
        `No job with id ${id}: it was never created, or it was deleted or pruned since.`,
      ]);
      expect(await page.getByRole('heading', { name: /^(Runs|Log)$/ }).count()).toBe(0);
      await context.close();
    }
  });

  it('says nothing ran, rather than drawing empty charts, on a server where nothing ran', async () => {
    const { page, context } = await open(readOnly, readOnly.tokens.viewer);
    const card = page.getByRole('region', { name: 'Throughput and latency' });
    // Auto looked back as far as any range does, a day.
    await until(() => card.getByRole('status').textContent()).toBe(
      'No job attempt ended in the last 24 h. The charts fill in as jobs complete, fail or retry.',
    );
    expect(await card.getByRole('img').count()).toBe(0);
    await context.close();
  });

  it('shows a job enqueued after the page loaded, without a reload', async () => {
    const { page, context } = await open(server, server.tokens.viewer, '/jobs?queue=late');
    await until(() => page.getByText('No job matches this filter.').count()).toBe(1);
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await server.ns.enqueue('email.send', { to: 'late@example.com' }, { queue: 'late' });
    await until(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBe(2);
    expect(navigations).toEqual([]);
    await context.close();
  });

  it('says a creation time in the address is not a date, and the page goes on working', async () => {
    const { page, context } = await open(server, server.tokens.viewer, '/jobs?createdAfter=yesterday');
    const crashes: string[] = [];
    page.on('pageerror', (error) => crashes.push(error.message));
    await until(() => page.getByRole('alert').allTextContents()).toEqual([
      'Could not load the job list: Created after: "yesterday" is not a date and time',
    ]);
    await page.getByRole('button', { name: 'Clear' }).click();
    await until(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBeGreaterThan(1);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(crashes).toEqual([]);
    await context.close();
  });

  it('reloads what failed while the server was away once it is back, on a quiet cluster', async () => {
    const quiet = await startTestServer(backend, { tasks: TASKS });
    const port = Number(new URL(quiet.url).port);
    let restarted: Awaited<ReturnType<typeof startApiServer>> | undefined;
    try {
      await quiet.ns.enqueue('email.send', { to: 'quiet@example.com' }, { queue: 'quiet' });
      const { page, context } = await open(quiet, quiet.tokens.viewer);
      const badge = page.getByRole('banner').getByRole('status');
      await until(() => badge.textContent()).toBe('live');
      await until(() => page.getByRole('table', { name: 'Queues' }).count()).toBe(1);
      await quiet.app.close();
      await until(() => badge.textContent()).toBe('reconnecting…');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
      await until(() => page.getByRole('alert').textContent()).toMatch(/^Could not load the job list/);
      // The same database, served again on the same address; nothing happens in the cluster meanwhile.
      const logger = createLogger({ level: 'silent' });
      restarted = await startApiServer({ ns: quiet.ns, logger, host: '127.0.0.1', port });
      // The reconnection waits 1 s, then 2, 4 and 8 s between attempts.
      await expect.poll(() => badge.textContent(), { timeout: 20_000, interval: 200 }).toBe('live');
      await until(() => page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBe(2);
      expect(await page.getByRole('alert').count()).toBe(0);
      await context.close();
    } finally {
      await restarted?.app.close();
      await quiet.close();
    }
  });

  it('tries again while the server is away and loads once it answers; asks for a token once it is revoked', async () => {
    const away = await startTestServer(backend, { tasks: TASKS });
    const port = Number(new URL(away.url).port);
    const logger = createLogger({ level: 'silent' });
    const serve = () => startApiServer({ ns: away.ns, logger, host: '127.0.0.1', port });
    let restarted: Awaited<ReturnType<typeof startApiServer>> | undefined;
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(away.url);
      await page.getByLabel('API token').fill(away.tokens.viewer);
      await away.app.close();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await until(() => page.getByRole('alert').textContent()).toMatch(/^Cannot reach the server: /);
      expect(await page.getByText(/^Trying again in \d+ s/).count()).toBe(1);
      restarted = await serve();
      // 1 s, then 2, 4 and 8 s between attempts.
      const overview = page.getByRole('heading', { name: 'Overview', level: 1 });
      await expect.poll(() => overview.count(), { timeout: 20_000, interval: 200 }).toBe(1);
      expect(await page.getByRole('alert').count()).toBe(0);
      const badge = page.getByRole('banner').getByRole('status');
      await until(() => badge.textContent()).toBe('live');

      // The viewer's token is revoked; the stream drops (a restart) and comes back refused.
      const viewer = (await away.store.tokenList()).find((t) => t.name === 'test-viewer');
      expect(await away.store.tokenRevoke({ id: viewer?.id ?? '' })).toBe(true);
      await restarted.app.close();
      restarted = await serve();
      await expect
        .poll(() => page.getByRole('heading', { name: 'Sign in' }).count(), {
          timeout: 20_000,
          interval: 200,
        })
        .toBe(1);
      expect(await page.getByText('The token was refused (unknown, revoked or expired).').count()).toBe(1);
      await context.close();
    } finally {
      await restarted?.app.close();
      await away.close();
    }
  });

  it('counts down the seconds until it tries the server again, and Try now tries at once', async () => {
    const away = await startTestServer(backend, { tasks: TASKS });
    const port = Number(new URL(away.url).port);
    let restarted: Awaited<ReturnType<typeof startApiServer>> | undefined;
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      // The page's clock runs as the real one until the test stops it.
      await page.clock.install();
      await page.goto(away.url);
      await page.getByLabel('API token').fill(away.tokens.viewer);
      await away.app.close();
      await page.getByRole('button', { name: 'Sign in' }).click();
      const retry = page.getByText(/^Trying again in \d+ s/);
      const seconds = async () => Number(/in (\d+) s/.exec((await retry.textContent()) ?? '')?.[1]);
      // 1 s, then 2 s, then 4 s between attempts: the third wait is long enough to watch.
      await expect.poll(seconds, { timeout: 15_000, interval: 100 }).toBe(4);
      // Stopped a moment ahead (a time already past is refused): 4 or 3 seconds are left then.
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 500);
      const shown = await seconds();
      for (const left of [shown - 1, shown - 2]) {
        await page.clock.runFor(1_000);
        await until(seconds).toBe(left);
      }
      // The clock stands still, so the page asks again only because the button says so.
      restarted = await startApiServer({
        ns: away.ns,
        logger: createLogger({ level: 'silent' }),
        host: '127.0.0.1',
        port,
      });
      await page.getByRole('button', { name: 'Try now' }).click();
      await page.clock.runFor(100);
      await until(() => page.getByRole('heading', { name: 'Overview', level: 1 }).count()).toBe(1);
      expect(await page.getByRole('alert').count()).toBe(0);
      await context.close();
    } finally {
      await restarted?.app.close();
      await away.close();
    }
  });

  it('keeps every column in view when a queue or task name is as long as the API takes', async () => {
    const { job } = await server.ns.enqueue(LONG_TASK, { region: 'emea' }, { queue: LONG_QUEUE });
    const { page, context } = await open(server, server.tokens.operator);
    /** How far the table at `name` sticks out of its card, sideways (0 when it fits). */
    const overflow = (name: string) =>
      page
        .getByRole('table', { name })
        .evaluate(
          (table: { scrollWidth: number; parentElement: { clientWidth: number } | null }) =>
            table.scrollWidth - (table.parentElement?.clientWidth ?? 0),
        );
    const queues = page.getByRole('table', { name: 'Queues' });
    await until(() => queues.getByRole('row', { name: /emeaemea/ }).count()).toBe(1);
    expect(await overflow('Queues')).toBeLessThanOrEqual(0);

    await page.goto(`${server.url}/jobs?queue=${LONG_QUEUE}`);
    const jobs = page.getByRole('table', { name: 'Jobs' });
    await until(() => jobs.getByRole('row').count()).toBe(2);
    expect(await overflow('Jobs')).toBeLessThanOrEqual(0);

    await jobs.getByRole('link', { name: LONG_TASK }).click();
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toContain(LONG_TASK);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    await screenshot(page, `job-detail-long-names-${backend}`);
    await context.close();
    await server.ns.cancelJob(job.id);
  });

  it('shows a job’s concurrency key, group, required labels and idempotency key', async () => {
    const { job } = await server.ns.enqueue(
      'email.send',
      { to: 'keys@example.com' },
      {
        queue: 'keyed',
        concurrencyKey: 'tenant:emea',
        group: 'emea',
        requires: ['region:eu', 'smtp'],
        idempotencyKey: 'welcome-emea',
      },
    );
    const { page, context } = await open(server, server.tokens.viewer, `/jobs/${job.id}`);
    const facts = page.locator('dl.facts').first();
    await until(() => facts.textContent()).toContain('Concurrency key');
    const [terms, values] = await Promise.all([
      facts.locator('dt').allTextContents(),
      facts.locator('dd').allTextContents(),
    ]);
    const pairs = terms.map((term, i) => `${term}: ${values[i] ?? ''}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        'Concurrency key: tenant:emea',
        'Group: emea',
        'Requires: region:eu, smtp',
        'Idempotency key: welcome-emea',
      ]),
    );
    await context.close();
    await server.ns.cancelJob(job.id);
  });

  it('shows a schedule’s last finished run apart from its next run written ahead, and no next run while suspended', async () => {
    const { ns } = server;
    const hour = 3_600_000;
    await ns.schedules.create({ id: 'hourly-mail', task: 'email.send', everyMs: hour, queue: 'hourly' });
    await ns.schedules.create({
      id: 'broken-reports',
      task: 'report.broken',
      everyMs: hour,
      queue: 'hourly',
      maxConsecutiveFailures: 1,
    });
    // One run of each, now: the mail completes, the report fails and suspends its schedule.
    const runs = await Promise.all(['hourly-mail', 'broken-reports'].map((id) => ns.schedules.trigger(id)));
    const worker = ns.startWorker({ queues: ['hourly'], pollIntervalMs: 50 });
    // An hour of lookahead: the mail's next slot is written at once, due at its slot, as the default
    // lookahead writes it in the seconds before it.
    const scheduler = ns.startScheduler({ lookaheadMs: hour });
    try {
      for (const run of runs)
        if (run.status === 'enqueued') await ns.waitFor(run.jobId, { timeoutMs: 15_000 });
      await until(async () => {
        const { schedule } = (await ns.schedules.get('hourly-mail')) ?? {};
        return schedule?.lastOutcome === 'completed' && (schedule.lastSlotAt?.getTime() ?? 0) > Date.now();
      }).toBe(true);
      await until(async () => (await ns.schedules.get('broken-reports'))?.schedule.suspendedAt != null).toBe(
        true,
      );
    } finally {
      await scheduler.stop();
      await worker.stop();
    }
    const written = (await ns.schedules.get('hourly-mail'))?.schedule;
    expect((await ns.getJob(written?.lastJobId ?? ''))?.state).toBe('scheduled');
    // The API's next slots start with the slot written ahead: it is the next run.
    const details = (
      await server.request('GET', '/api/v1/schedules/hourly-mail', { token: server.tokens.viewer })
    ).body as { nextSlots: string[]; schedule: { lastOutcome: string; lastFinishedAt: string | null } };
    expect(details.nextSlots[0]).toBe(written?.lastSlotAt?.toISOString());
    expect(details.schedule.lastOutcome).toBe('completed');
    expect(details.schedule.lastFinishedAt).toBe(written?.lastFinishedAt?.toISOString());

    const { page, context } = await open(server, server.tokens.operator, '/schedules');
    const table = page.getByRole('table', { name: 'Schedules' });
    const mail = table.getByRole('row', { name: /hourly-mail/ });
    await until(() => mail.locator('td').nth(2).textContent()).toMatch(/^completed ended .+ ago, took /);
    expect(await mail.locator('td').nth(1).textContent()).toMatch(/^in \d+(\.\d)? min(utes?)?job written$/);
    const broken = table.getByRole('row', { name: /broken-reports/ });
    expect(await broken.locator('td').nth(1).textContent()).toBe('none until resumed');
    expect(await broken.locator('td').nth(2).textContent()).toMatch(/^failed ended .+ ago/);
    expect(await broken.getByRole('button', { name: 'Resume schedule broken-reports' }).count()).toBe(1);
    await broken.getByRole('button', { name: 'History of schedule broken-reports' }).click();
    await until(() => page.getByText(/^Next: none until resumed \(resumed now: /).count()).toBe(1);
    await screenshot(page, `schedules-runs-${backend}`);
    // The overview's alert about the suspension links to that schedule.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    const suspended = page
      .getByRole('region', { name: 'Alerts' })
      .getByRole('link', { name: /schedule suspended/ });
    await until(() => suspended.getAttribute('href')).toBe('/schedules?schedule=broken-reports');
    await context.close();
  });

  it('links a job a schedule made to that schedule, shown with its history open', async () => {
    const { ns } = server;
    await ns.schedules.create({
      id: 'weekly-digest',
      task: 'email.send',
      cron: '0 8 * * 1',
      queue: 'digest',
    });
    const run = await ns.schedules.trigger('weekly-digest');
    if (run.status !== 'enqueued') throw new Error(`trigger answered ${run.status}`);
    const { page, context } = await open(server, server.tokens.viewer, `/jobs/${run.jobId}`);
    const link = page.locator('dl.facts').first().getByRole('link', { name: 'weekly-digest' });
    await until(() => link.count()).toBe(1);
    expect(await link.getAttribute('href')).toBe('/schedules?schedule=weekly-digest');
    await link.click();
    await until(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Schedules');
    expect(new URL(page.url()).search).toBe('?schedule=weekly-digest');
    const table = page.getByRole('table', { name: 'Schedules' });
    const row = table.locator('tr[aria-current="location"]');
    await until(() => row.locator('th').first().textContent()).toMatch(/^weekly-digest/);
    expect(
      await row
        .getByRole('button', { name: 'History of schedule weekly-digest' })
        .getAttribute('aria-expanded'),
    ).toBe('true');
    // The triggered run is in its history, linking back to the job.
    const history = page.getByRole('table', { name: 'Recent slots of weekly-digest' });
    await until(() => history.getByRole('link').getAttribute('href')).toBe(`/jobs/${run.jobId}`);
    expect(await table.getByRole('row', { name: /nightly-reports/ }).getAttribute('aria-current')).toBeNull();
    await screenshot(page, `schedule-from-job-${backend}`);

    // A schedule deleted since (its jobs keep its id): the page says so.
    await ns.schedules.delete('weekly-digest');
    await page.goto(`${server.url}/jobs/${run.jobId}`);
    await link.click();
    await until(() => page.getByRole('alert').textContent()).toBe(
      'No schedule with id weekly-digest: it was never created, or it was deleted since.',
    );
    await context.close();
    await ns.cancelJob(run.jobId);
  });

  it('fits a phone screen in dark mode', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${server.url}/#token=${encodeURIComponent(server.tokens.operator)}`);
    await until(() => page.getByRole('table', { name: 'Queues' }).count()).toBe(1);
    const width = await page.evaluate('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(390);
    expect(await page.getByRole('button', { name: 'Dark mode' }).getAttribute('aria-pressed')).toBe('true');
    // Every range of the charts' picker reads on one line ("1 min", never "1" over "min") and whole,
    // inside the picker: on a phone the seven squeezed into the card's width and broke.
    const picker = page.getByRole('radiogroup', { name: 'Range' });
    const ranges = await picker.evaluate((group) => {
      const box = group.getBoundingClientRect();
      return Array.from(group.querySelectorAll('label')).map((label) => {
        const text = document.createRange();
        text.selectNodeContents(label.lastChild as Node);
        const lines = new Set(Array.from(text.getClientRects()).map((rect) => Math.round(rect.top))).size;
        const { left, right } = label.getBoundingClientRect();
        return {
          range: label.textContent,
          lines,
          inside: left >= box.left - 0.5 && right <= box.right + 0.5,
        };
      });
    });
    expect(ranges).toEqual(
      ['Auto', '1 min', '5 min', '15 min', '1 h', '6 h', '24 h'].map((range) => ({
        range,
        lines: 1,
        inside: true,
      })),
    );
    await screenshot(page, `overview-phone-dark-${backend}`);
    await context.close();
  });
});
