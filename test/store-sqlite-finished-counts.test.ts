/**
 * The queue list's finished counts on SQLite (job-read.ts `jobFinishedCountByQueue`): read in slices of
 * the table by rowid with the event loop free between two, so counting a long history never stalls the
 * process; every finished job counted once, across slices and past a pruned range.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const harness = sqliteHarness();
afterEach(() => harness.close());

describe('jobFinishedCountByQueue on SQLite', () => {
  it('counts 80,000 jobs in slices, past a pruned range, letting the event loop run between them', async () => {
    const store = (await harness.open()) as SqliteStore;
    // 80,000 finished jobs over three queues and states (rowids 1..80,000), then rowids 20,001..50,000
    // deleted as retention would; a few waiting and running jobs are not counted.
    store.database
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80000)
         INSERT INTO jobs (id, task, queue, payload, state, max_attempts, run_at, created_at, updated_at, finished_at)
         SELECT 'job-' || i, 't', 'q' || (i % 3), 'null',
                CASE i % 4 WHEN 0 THEN 'failed' WHEN 1 THEN 'cancelled' ELSE 'completed' END,
                1, 0, 0, 0, CASE i % 5 WHEN 0 THEN 1 ELSE 0 END
         FROM n`,
      )
      .run();
    store.database.prepare(`DELETE FROM jobs WHERE rowid BETWEEN 20001 AND 50000`).run();
    store.database
      .prepare(
        `INSERT INTO jobs (id, task, queue, payload, state, max_attempts, run_at, created_at, updated_at)
         VALUES ('waiting', 't', 'q0', 'null', 'queued', 1, 0, 0, 0), ('busy', 't', 'q1', 'null', 'running', 1, 0, 0, 0)`,
      )
      .run();
    const expected = (await store.jobCountByQueue()).filter((c) =>
      ['completed', 'failed', 'cancelled'].includes(c.state),
    );
    expect(expected.reduce((n, c) => n + c.count, 0)).toBe(50_000);

    // A timer due at once fires while the count runs: the count yields to the event loop between slices.
    let ticks = 0;
    let counting = true;
    const tick = (): void => {
      ticks += 1;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const counted = await store.jobFinishedCountByQueue();
    counting = false;
    expect(counted).toEqual(expected);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });
});
