/**
 * The `nightshift top` snapshot read from a real store (SQLite, or PostgreSQL with
 * NIGHTSHIFT_TEST_BACKEND=postgres): counts per queue, rates since the previous snapshot, running jobs,
 * stuck ones (lease expired, past max duration) and schedules needing attention.
 */
import { describe, expect, it } from 'vitest';
import { readTopSnapshot } from '../../src/cli/top/snapshot.js';
import { initialScheduleState } from '../../src/scheduler/schedule.js';
import { validateSchedule } from '../../src/scheduler/validate.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER, gate } from '../worker/engine-harness.js';

const env = engineEnv();

describe('the top snapshot', () => {
  it('counts, rates, running and stuck jobs, and schedules needing attention', async () => {
    const release = gate();
    const ns = await env.connect({
      tasks: { quick: () => 'ok', waits: () => release.promise },
    });
    const store = ns.store;
    const first = await readTopSnapshot(store, { maxDurationMs: new Map() });
    expect(first).toMatchObject({ queues: [], running: [], stuck: [], schedules: [] });

    for (let i = 0; i < 4; i += 1) await ns.enqueue('quick', i, { queue: 'fast' });
    const lapsed = await ns.enqueue('waits', null, { queue: 'slow' });
    const long = await ns.enqueue('waits', null, { queue: 'slow' });
    ns.startWorker({ ...FAST_WORKER, queues: ['fast', 'slow'] });
    await waitUntil(async () =>
      (await store.jobCountByQueue()).some(
        (row) => row.queue === 'slow' && row.state === 'running' && row.count === 2,
      ),
    );
    await waitUntil(async () =>
      (await store.jobCountByQueue()).some(
        (row) => row.queue === 'fast' && row.state === 'completed' && row.count === 4,
      ),
    );
    // One attempt's lease in the past (its worker would be gone); the other runs past a 1 ms max.
    const now = await store.now();
    await env.harness().setJobFields(store, lapsed.id, { leaseExpiresAt: new Date(now.getTime() - 60_000) });
    for (const id of ['broken', 'fine']) {
      await store.scheduleCreate({
        definition: validateSchedule({ id, task: 'quick', everyMs: 60_000 }, 'api', () => true),
        state: initialScheduleState(null, false),
      });
    }
    // Failures and a suspension are written by a planner, as the scheduler does after failed runs.
    await store.scheduleApply({
      id: 'broken',
      plan: (due) => ({
        states: [
          {
            id: 'broken',
            expectVersion: due.schedule.version,
            state: {
              ...due.schedule,
              consecutiveFailures: 3,
              suspendedAt: now,
              suspendedReason: '3 failures in a row',
            },
          },
        ],
        slots: [],
        slotUpdates: [],
        jobs: [],
      }),
    });

    const previous = { ...first, at: new Date(now.getTime() - 2_000).toISOString() };
    const snapshot = await readTopSnapshot(store, { maxDurationMs: new Map([['waits', 1]]), previous });
    const fast = snapshot.queues.find((queue) => queue.name === 'fast');
    expect(fast?.counts).toMatchObject({ completed: 4, queued: 0, running: 0 });
    // 4 completions since a snapshot about two seconds before, with none then.
    expect(fast?.completedPerSec).toBeGreaterThan(1);
    expect(fast?.completedPerSec).toBeLessThanOrEqual(2);
    expect(fast?.failedPerSec).toBe(0);
    expect(snapshot.runningTotal).toBe(2);
    expect(snapshot.running.map((job) => job.id).sort()).toEqual([lapsed.id, long.id].sort());
    expect(snapshot.stuck.map((job) => [job.id, job.reason]).sort()).toEqual(
      [
        [lapsed.id, 'lease_expired'],
        [long.id, 'max_duration'],
      ].sort(),
    );
    expect(snapshot.schedules).toEqual([
      {
        id: 'broken',
        task: 'quick',
        condition: 'suspended',
        consecutiveFailures: 3,
        lastError: null,
        suspendedReason: '3 failures in a row',
      },
    ]);
    release.open();
  });
});
