/**
 * The backlog read on SQLite (backlog-read.ts: the queue list's, the metrics scrape's and the alerts'
 * read of the waiting jobs): read in slices of the ready and scheduled indexes with the event loop free between
 * two, its counts, ages and throttled counts equal to one plain count of the same jobs, across slices
 * that end inside a run of one queue and priority, inside thousands of small fair groups, and inside
 * one due time that tens of thousands of scheduled jobs share.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { QueueThrottle } from '../src/store/store.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const harness = sqliteHarness();
afterEach(() => harness.close());

const NOW = 1_800_000_000_000;
const STALE_MS = 30_000;

/**
 * Jobs of every kind the read walks, in queues q0..q2, `paused` and `full`: 30,000 queued without
 * group or labels over three priorities (a tenth under a key at its limit, a tenth under a key out of
 * starts), 8,000 requiring labels (half of them ones no worker offers), 12,000 in 4,500 fair groups,
 * 3,000 grouped and requiring labels, 27,000 scheduled and due (25,000 of them due at one time),
 * 27,000 scheduled for later (25,000 at one time), and 5 running.
 */
function fill(store: SqliteStore): void {
  const queue = (n: string) =>
    `CASE ${n} % 7 WHEN 0 THEN 'paused' WHEN 1 THEN 'full' ELSE 'q' || (${n} % 3) END`;
  const key = `CASE i % 10 WHEN 0 THEN 'held' WHEN 1 THEN 'rated' END`;
  store.database.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
    INSERT INTO jobs (id, task, queue, payload, state, priority, max_attempts, run_at, created_at, updated_at,
                      concurrency_key, concurrency_limit, requires, group_key)
    SELECT 'ready-' || i, 't', ${queue('i')}, 'null', 'queued', i % 3 - 1, 1, ${NOW} - 10000 - i % 500, 0, 0,
           ${key}, CASE WHEN ${key} IS NOT NULL THEN 1 END, NULL, NULL FROM n
    UNION ALL
    SELECT 'labels-' || i, 't', ${queue('i')}, 'null', 'queued', 0, 1, ${NOW} - 20000 - i % 7, 0, 0,
           ${key}, CASE WHEN ${key} IS NOT NULL THEN 1 END, CASE i % 2 WHEN 0 THEN '["a"]' ELSE '["b"]' END, NULL
    FROM n WHERE i <= 8000
    UNION ALL
    SELECT 'group-' || i, 't', ${queue('i')}, 'null', 'queued', i % 2, 1, ${NOW} - 30000 + i % 11, 0, 0,
           ${key}, CASE WHEN ${key} IS NOT NULL THEN 1 END, NULL, 'g' || (i % 1500) FROM n WHERE i <= 12000
    UNION ALL
    SELECT 'group-labels-' || i, 't', ${queue('i')}, 'null', 'queued', 0, 1, ${NOW} - 40000 - i % 13, 0, 0,
           NULL, NULL, CASE i % 3 WHEN 0 THEN '["b"]' ELSE '["a"]' END, 'h' || (i % 40) FROM n WHERE i <= 3000
    UNION ALL
    SELECT 'due-' || i, 't', ${queue('i')}, 'null', 'scheduled', 0, 1,
           CASE WHEN i <= 25000 THEN ${NOW} - 5000 ELSE ${NOW} - i % 900 END, 0, 0,
           ${key}, CASE WHEN ${key} IS NOT NULL THEN 1 END, NULL, NULL FROM n WHERE i <= 27000
    UNION ALL
    SELECT 'later-' || i, 't', ${queue('i')}, 'null', 'scheduled', 0, 1,
           CASE WHEN i <= 25000 THEN ${NOW} + 60000 ELSE ${NOW} + 1 + i % 900 END, 0, 0,
           NULL, NULL, NULL, NULL FROM n WHERE i <= 27000
    UNION ALL
    SELECT 'running-' || i, 't', 'q' || (i % 3), 'null', 'running', 0, 1, 0, 0, 0, NULL, NULL, NULL, NULL
    FROM n WHERE i <= 5;
    INSERT INTO concurrency_keys (key, in_use, max, rate_limit, rate_period_ms, rate_tat)
    VALUES ('held', 1, 1, NULL, NULL, 0), ('rated', 0, NULL, 1, 60000, ${NOW + 1_000_000_000});
    INSERT INTO paused_queues (queue, paused_at) VALUES ('paused', 0);
    INSERT INTO queue_limits (queue, max, in_use) VALUES ('full', 1, 1);
  `);
}

/** The same figures from one plain count of the table, its rules written out. */
function expected(store: SqliteStore): {
  queues: Array<{
    name: string;
    queued: number;
    oldestReadyAgeMs: number;
    scheduled: number;
    nextDueInMs: number | null;
    running: number;
  }>;
  throttled: QueueThrottle[];
} {
  const ready = `(state = 'queued' OR (state = 'scheduled' AND run_at <= ${NOW}))`;
  const queues = store.database
    .prepare(
      `SELECT queue AS name,
              sum(${ready}) AS queued,
              ${NOW} - min(CASE WHEN ${ready} THEN run_at END) AS oldestReadyAgeMs,
              sum(state = 'scheduled' AND run_at > ${NOW}) AS scheduled,
              min(CASE WHEN state = 'scheduled' AND run_at > ${NOW} THEN run_at END) - ${NOW} AS nextDueInMs,
              sum(state = 'running') AS running
       FROM jobs NOT INDEXED GROUP BY queue ORDER BY queue`,
    )
    .all() as ReturnType<typeof expected>['queues'];
  // A job counts under the first reason that holds it: its queue paused or full, labels no live
  // worker offers (only ["a"] is offered), its key at its limit, its key out of starts.
  const throttled = store.database
    .prepare(
      `SELECT queue, reason, count(*) AS count FROM (
         SELECT queue, CASE WHEN queue = 'paused' THEN 'paused' WHEN queue = 'full' THEN 'queue_limit'
                            WHEN requires = '["b"]' THEN 'labels' WHEN concurrency_key = 'held' THEN 'key_limit'
                            WHEN concurrency_key = 'rated' THEN 'key_rate' END AS reason
         FROM jobs NOT INDEXED WHERE ${ready})
       WHERE reason IS NOT NULL GROUP BY queue, reason`,
    )
    .all() as QueueThrottle[];
  const order = ['paused', 'unserved', 'queue_limit', 'queue_rate', 'labels', 'key_limit', 'key_rate'];
  throttled.sort((a, b) =>
    a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : order.indexOf(a.reason) - order.indexOf(b.reason),
  );
  return { queues, throttled };
}

/** Runs `read`, counting the event loop's turns (setImmediate) while it runs. */
async function withTurns<T>(read: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let reading = true;
  const turn = (): void => {
    turns += 1;
    if (reading) setImmediate(turn);
  };
  setImmediate(turn);
  const result = await read();
  reading = false;
  return { result, turns };
}

describe('the backlog read on SQLite', () => {
  it('reads 107,005 waiting jobs in slices, letting the event loop run, to the counts of one plain count', async () => {
    const store = (await harness.open()) as SqliteStore;
    await harness.freezeClock(store, NOW);
    await store.workerRegister({
      id: 'w',
      host: 'h',
      pid: 1,
      queues: null,
      labels: ['a'],
      tasks: [],
      concurrency: 1,
      running: 0,
      staleMs: STALE_MS,
    });
    fill(store);
    const want = expected(store);
    expect(want.queues.reduce((n, q) => n + q.queued, 0)).toBe(80_000);

    const list = await withTurns(() =>
      store.queueList({ workerStaleMs: STALE_MS, finishedCounts: [], finishedCountsAgeMs: 0 }),
    );
    // 80,000 ready jobs and 27,000 later ones in slices of 20,000 rows: the loop ran between them.
    expect(list.turns).toBeGreaterThanOrEqual(5);
    expect(
      list.result.map((q) => ({
        name: q.name,
        queued: q.counts.queued,
        oldestReadyAgeMs: q.oldestReadyAgeMs,
        scheduled: q.counts.scheduled,
        nextDueInMs: q.nextDueInMs,
        running: q.counts.running,
      })),
    ).toEqual(want.queues);
    expect(
      list.result.flatMap((q) =>
        Object.entries(q.throttled)
          .filter(([, count]) => count > 0)
          .map(([reason, count]) => ({ queue: q.name, reason, count })),
      ),
    ).toEqual(want.throttled);
    expect(list.result.find((q) => q.name === 'paused')?.paused).toBe(true);

    const backlog = await withTurns(() => store.queueBacklog({ workerStaleMs: STALE_MS }));
    expect(backlog.turns).toBeGreaterThanOrEqual(5);
    expect(backlog.result.throttled).toEqual(want.throttled);
    expect(
      backlog.result.load
        .filter((row) => row.state === 'queued')
        .map((row) => ({ queue: row.queue, count: row.count, oldestReadyAt: row.oldestReadyAt?.getTime() })),
    ).toEqual(
      want.queues.map((q) => ({ queue: q.name, count: q.queued, oldestReadyAt: NOW - q.oldestReadyAgeMs })),
    );
    expect(
      backlog.result.load
        .filter((row) => row.state !== 'queued')
        .map((row) => ({
          queue: row.queue,
          state: row.state,
          count: row.count,
          nextDueAt: row.nextDueAt?.getTime() ?? null,
        })),
    ).toEqual([
      ...want.queues
        .filter((q) => q.scheduled > 0)
        .map((q) => ({
          queue: q.name,
          state: 'scheduled',
          count: q.scheduled,
          nextDueAt: NOW + (q.nextDueInMs ?? 0),
        })),
      ...want.queues
        .filter((q) => q.running > 0)
        .map((q) => ({ queue: q.name, state: 'running', count: q.running, nextDueAt: null })),
    ]);

    // The alerts' load: the same walk, the same rows.
    const load = await withTurns(() => store.queueLoadList());
    expect(load.turns).toBeGreaterThanOrEqual(5);
    expect(load.result).toEqual(backlog.result.load);
  });
});
