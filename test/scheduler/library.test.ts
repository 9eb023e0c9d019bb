/**
 * The library surface end to end with a real worker, on both backends: `ns.schedules` and
 * `ns.startScheduler()`; a handler returning `{ again: true }` drains through real runs, failures
 * suspend the schedule, and `ns.close()` stops the scheduler.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS } from './fixture.js';

const WORKER = { pollIntervalMs: 20, finishFlushMs: 1, rescueIntervalMs: 0, pruneIntervalMs: 0 } as const;

describe.each(BACKENDS)('schedules through the library on $name', ({ harness }) => {
  const open: Nightshift[] = [];
  afterEach(async () => {
    for (const ns of open.splice(0)) await ns.close({ force: true, graceMs: 0 });
    await harness.close();
  });

  it('drains with real runs and suspends after real failures', async () => {
    const store = await harness.open();
    let backlog = 3;
    const ns = await Nightshift.connect({
      db: store,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        drain: () => {
          backlog -= 1;
          return { again: backlog > 0 };
        },
        broken: {
          maxAttempts: 1,
          handler: () => {
            throw new Error('always broken');
          },
        },
      },
    });
    open.push(ns);
    await ns.schedules.create({ id: 'drain', task: 'drain', cron: '0 0 1 1 *' });
    await ns.schedules.create({ id: 'broken', task: 'broken', cron: '0 0 1 1 *', maxConsecutiveFailures: 2 });
    ns.startScheduler({ pollIntervalMs: 50 });
    ns.startWorker(WORKER);

    const first = await ns.schedules.trigger('drain');
    expect(first.status).toBe('enqueued');
    const drained = await waitUntil(
      async () => {
        const d = await ns.schedules.get('drain', { recentSlots: 10 });
        const rows = d?.recentSlots ?? [];
        return rows.length === 3 && rows.every((r) => r.outcome === 'completed') ? rows : undefined;
      },
      { timeoutMs: 15_000, message: 'three drained runs settled' },
    );
    expect(drained.map((r) => r.kind).sort()).toEqual(['drain', 'drain', 'trigger']);
    expect(backlog).toBe(0);

    for (let i = 0; i < 2; i++) {
      await ns.schedules.trigger('broken');
      await waitUntil(
        async () => (await ns.schedules.get('broken'))?.schedule.consecutiveFailures === i + 1,
        {
          timeoutMs: 15_000,
          message: `failure ${i + 1} counted`,
        },
      );
    }
    const suspended = await ns.schedules.get('broken');
    expect(suspended?.schedule.suspendedReason).toMatch(
      /2 consecutive failed runs; last error: always broken/,
    );
    await ns.close();
    open.splice(0);
  });
});
