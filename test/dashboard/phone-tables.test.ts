/**
 * The dashboard's lists on a phone, in real headless Chromium against a real API server with real data
 * (SQLite, and PostgreSQL with NIGHTSHIFT_TEST_BACKEND=postgres): at 390 and 360 CSS px wide, each
 * list's table (jobs, queues, workers, schedules, tasks, queue limits, keys, groups) shows the cells
 * that name a row and say its state inside the screen, neither the page nor the table scrolling
 * sideways, with the column a number belongs to named beside it; the same tables at 1280 px still show
 * every column. Screenshots of each page on a phone go to test-artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/task.js';
import type { Worker } from '../../src/worker/worker.js';
import { startTestServer, type TestServer as Server } from '../api/api-server.js';
import { launchChromium, screenshot } from './browser.js';

const until = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

const backend = process.env['NIGHTSHIFT_TEST_BACKEND'] === 'postgres' ? 'postgres' : 'sqlite';

const TASKS = {
  'report.build': defineTask({
    schema: z.object({ region: z.string(), fail: z.boolean().optional() }),
    queue: 'reports',
    maxAttempts: 1,
    handler: (payload) => {
      if (payload.fail === true) throw new Error(`warehouse ${payload.region} unreachable`);
      return { rows: 100 };
    },
  }),
  'email.send': defineTask({ handler: () => ({ sent: true }) }),
  // In a queue the running worker does not claim from: the Tasks page highlights it.
  'invoice.render': defineTask({ queue: 'billing', handler: () => null }),
};

/** One list the test looks at: a table on a page, one of its rows, and what must be seen of it. */
interface List {
  /** The page's address. */
  path: string;
  /** The table's aria-label. */
  table: string;
  /** Text only the row looked at holds. */
  row: string;
  /** The columns (by header text) whose cell in the row a phone shows whole, inside the screen. */
  seen: string[];
  /** The columns whose name a phone shows with the cell: the header, or a label in the cell. */
  named: string[];
  /** Every column's header, as a desktop shows them. */
  columns: string[];
  /** What the reader opens in the row before looking (a schedule's history, with its own table). */
  opens?: string;
}

describe(`dashboard tables on a phone in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: Server;
  let worker: Worker | undefined;
  let failedId = '';

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startTestServer(backend, { tasks: TASKS })]);
    const { ns } = server;
    // A worker that stays running (the Workers page lists it) on the reports queue: one report fails.
    worker = ns.startWorker({ queues: ['reports'], concurrency: 2, pollIntervalMs: 50 });
    const reports = await Promise.all(
      ['north', 'south'].map((region, i) => ns.enqueue('report.build', { region, fail: i === 0 })),
    );
    for (const { job } of reports) await ns.waitFor(job.id, { timeoutMs: 15_000 });
    failedId = reports[0]?.job.id ?? '';
    // Two emails held back by a paused queue, and one scheduled for later.
    await ns.queues.pause('mail');
    for (let i = 0; i < 2; i++)
      await ns.enqueue('email.send', { to: `user${i}@example.com` }, { queue: 'mail' });
    await ns.enqueue('email.send', { to: 'later@example.com' }, { queue: 'mail', delayMs: 3_600_000 });
    await ns.schedules.create({
      id: 'nightly-reports',
      task: 'report.build',
      cron: '0 3 * * *',
      payload: { region: 'all' },
    });
    // A slot run by hand: the schedule's history holds a table of its own.
    const run = await ns.schedules.trigger('nightly-reports');
    if (run.status === 'enqueued') await ns.waitFor(run.jobId, { timeoutMs: 15_000 });
    // Limits: a queue limit, a key's operator limit, a weighted group waiting in a queue nobody serves.
    await ns.setQueueLimit('reports', 2);
    await ns.setConcurrencyLimit('tenant-a', 3);
    await ns.enqueue('invoice.render', {}, { group: 'acme' });
    await ns.setGroupWeight('acme', 4);
  });
  afterAll(async () => {
    await worker?.stop();
    await browser?.close();
    await server?.close();
  });

  const lists = (): List[] => [
    {
      path: '/jobs',
      table: 'Jobs',
      row: failedId.slice(-12),
      seen: ['Job', 'State', 'Queue', 'Created'],
      named: [],
      columns: ['', 'Job', 'State', 'Queue', 'Attempt', 'Created', 'Payload / error'],
    },
    {
      path: '/',
      table: 'Queues',
      row: 'mail',
      seen: ['Queue', 'queued', 'running', 'Held back'],
      named: ['queued', 'running', 'Held back'],
      columns: [
        'Queue',
        'scheduled',
        'queued',
        'running',
        'completed',
        'failed',
        'cancelled',
        'Oldest ready',
        'Held back',
        'Action',
      ],
    },
    {
      path: '/workers',
      table: 'Workers',
      row: worker?.id ?? '',
      seen: ['Worker', 'Running', 'Heartbeat'],
      named: ['Running', 'Heartbeat'],
      columns: ['Worker', 'Host / pid', 'Queues', 'Labels', 'Tasks', 'Running', 'Started', 'Heartbeat'],
    },
    {
      path: '/schedules',
      table: 'Schedules',
      row: 'nightly-reports',
      seen: ['Schedule', 'State', 'Next run'],
      named: ['Next run'],
      columns: ['Schedule', 'Rule', 'Next run', 'Last run', 'State', 'Actions'],
      opens: 'History of schedule nightly-reports',
    },
    {
      path: '/tasks',
      table: 'Tasks',
      row: 'invoice.render',
      seen: ['Task', 'Workers'],
      named: [],
      columns: [
        'Task',
        'Declared',
        'Queue',
        'Priority',
        'Max attempts',
        'Timeout',
        'Workers',
        'Payload schema',
      ],
    },
    {
      path: '/limits',
      table: 'Queue limits',
      row: 'reports',
      seen: ['Queue', 'Running / limit'],
      named: ['Running / limit'],
      columns: ['Queue', 'Running / limit', 'Rate', 'Actions'],
    },
    {
      path: '/limits',
      table: 'Concurrency keys',
      row: 'tenant-a',
      seen: ['Key', 'Running / limit'],
      named: ['Running / limit'],
      columns: ['Key', 'Running / limit', 'Operator limit', 'Rate', 'Actions'],
    },
    {
      path: '/limits',
      table: 'Groups',
      row: 'acme',
      seen: ['Group', 'Ready', 'Running'],
      named: ['Ready', 'Running'],
      columns: ['Group', 'Weight', 'Ready', 'Running', 'Actions'],
    },
  ];

  async function open(path: string, viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${server.url}${path}#token=${encodeURIComponent(server.tokens.operator)}`);
    return page;
  }

  /** Waits for the list's row, then says what the reader cannot see of it (nothing: []). */
  async function unseen(page: Page, list: List, phone: boolean): Promise<string[]> {
    const table = page.getByRole('table', { name: list.table });
    await until(() => table.locator('tbody tr', { hasText: list.row }).count()).toBeGreaterThan(0);
    if (list.opens !== undefined) {
      await page.getByRole('button', { name: list.opens }).click();
      await until(() => table.getByRole('table').count()).toBe(1);
    }
    return table.evaluate(
      (element, { list, phone }) => {
        const problems: string[] = [];
        const width = window.innerWidth;
        /** Whether `box` lies within the screen and every box of an ancestor that clips (a scroller). */
        const inside = (node: Element, box: DOMRect): boolean => {
          if (box.left < -0.5 || box.right > width + 0.5) return false;
          for (let up = node.parentElement; up !== null; up = up.parentElement) {
            if (getComputedStyle(up).overflowX === 'visible') continue;
            const clip = up.getBoundingClientRect();
            if (box.left < clip.left - 0.5 || box.right > clip.right + 0.5) return false;
          }
          return true;
        };
        /** Drawn, bigger than a visually hidden 1 px, and inside the screen with all its text. */
        const seen = (node: Element): boolean => {
          const box = node.getBoundingClientRect();
          if (!node.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
          if (box.width <= 1 || box.height <= 1 || !inside(node, box)) return false;
          const text = document.createRange();
          text.selectNodeContents(node);
          return Array.from(text.getClientRects()).every((rect) => inside(node, rect));
        };
        const table = element as HTMLTableElement;
        const headers = Array.from(table.tHead?.rows[0]?.cells ?? []);
        const header = (name: string) => headers.find((th) => th.textContent?.trim() === name);
        const row = Array.from(table.tBodies[0]?.rows ?? []).find((tr) => tr.textContent?.includes(list.row));
        if (row === undefined) return [`no row holds ${list.row}`];
        if (document.scrollingElement !== null && document.scrollingElement.scrollWidth > width)
          problems.push(`the page scrolls sideways: ${document.scrollingElement.scrollWidth} px wide`);
        const scroller = table.parentElement;
        if (scroller !== null && scroller.scrollWidth > scroller.clientWidth + 0.5)
          problems.push(`the table scrolls sideways: ${scroller.scrollWidth} px in ${scroller.clientWidth}`);
        if (!phone) {
          const names = headers.map((th) => th.textContent?.trim() ?? '');
          if (names.join('|') !== list.columns.join('|')) problems.push(`columns ${names.join('|')}`);
          for (const th of headers)
            if (th.textContent?.trim() !== '' && !seen(th)) problems.push(`header ${th.textContent} unseen`);
          for (const th of headers) {
            const cell = row.cells[th.cellIndex];
            if (cell === undefined || !cell.checkVisibility() || !inside(cell, cell.getBoundingClientRect()))
              problems.push(`cell of ${th.textContent} unseen`);
          }
          return problems;
        }
        for (const name of list.seen) {
          const th = header(name);
          const cell = th === undefined ? undefined : row.cells[th.cellIndex];
          if (cell === undefined) problems.push(`no column ${name}`);
          else if (!seen(cell)) problems.push(`cell of ${name} unseen`);
        }
        for (const name of list.named) {
          const th = header(name);
          const cell = th === undefined ? undefined : row.cells[th.cellIndex];
          if (th === undefined || cell === undefined) continue;
          const label = getComputedStyle(cell, '::before').content.replace(/^"|"$/g, '').trim();
          if (!seen(th) && label.toLowerCase() !== name.toLowerCase())
            problems.push(`column ${name} unnamed (label ${JSON.stringify(label)})`);
        }
        return problems;
      },
      { list, phone },
    );
  }

  for (const viewport of [
    { width: 390, height: 844 },
    { width: 360, height: 740 },
  ]) {
    it(`shows each list's names and states inside a ${viewport.width} px wide phone`, async () => {
      const problems: Record<string, string[]> = {};
      for (const list of lists()) {
        const page = await open(list.path, viewport);
        problems[list.table] = await unseen(page, list, true);
        // A screen reader still reads a table, whatever a phone draws: every column's header, and
        // the row's name and cells.
        const rows = page.getByRole('table', { name: list.table }).getByRole('row');
        expect(await rows.first().getByRole('columnheader').count()).toBe(list.columns.length);
        const row = rows.filter({ hasText: list.row }).first();
        const cells = (await row.getByRole('rowheader').count()) + (await row.getByRole('cell').count());
        expect({ table: list.table, cells }).toEqual({ table: list.table, cells: list.columns.length });
        await screenshot(
          page,
          `phone-${viewport.width}-${list.table.replace(/ /g, '-').toLowerCase()}-${backend}`,
        );
        await page.context().close();
      }
      expect(problems).toEqual(Object.fromEntries(lists().map((list) => [list.table, []])));
    });
  }

  it('shows every column of each list on a desktop', async () => {
    const problems: Record<string, string[]> = {};
    for (const list of lists()) {
      const page = await open(list.path, { width: 1280, height: 900 });
      problems[list.table] = await unseen(page, list, false);
      await page.context().close();
    }
    expect(problems).toEqual(Object.fromEntries(lists().map((list) => [list.table, []])));
  });
});
