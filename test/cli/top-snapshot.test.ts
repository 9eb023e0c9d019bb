/**
 * The `nightshift top` snapshot read from a real store (SQLite, or PostgreSQL with
 * NIGHTSHIFT_TEST_BACKEND=postgres): counts, oldest ready age and pause per queue, rates since the
 * previous snapshot, live workers, the alerts, running jobs, stuck ones (lease expired, past max
 * duration) and schedules needing attention.
 */
import { describe, expect, it } from 'vitest';
import { alertCounts, readTopSnapshot } from '../../src/cli/top/snapshot.js';
import { defineTask } from '../../src/task.js';
import { initialScheduleState } from '../../src/scheduler/schedule.js';
import { validateSchedule } from '../../src/scheduler/validate.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER, gate } from '../worker/engine-harness.js';

const env = engineEnv();

describe('the top snapshot', () => {
  it('counts, pauses, rates, workers, alerts, running and stuck jobs, schedules needing attention', async () => {
    const release = gate();
    const ns = await env.connect({
      // Every `waits` job runs past its max duration at once; a lease lapsed at all is stuck.
      tasks: { quick: () => 'ok', waits: defineTask({ handler: () => release.promise, maxDurationMs: 1 }) },
      alerts: { stuckJobGraceMs: 0 },
    });
    const store = ns.store;
    const first = await readTopSnapshot(ns);
    expect(first).toMatchObject({
      queues: [],
      workers: [],
      alerts: [],
      running: [],
      stuck: [],
      schedules: [],
    });

    // A paused queue keeps its ready job waiting: its age grows on the database clock.
    await ns.queues.pause('held');
    await ns.enqueue('quick', 'waiting', { queue: 'held' });

    for (let i = 0; i < 4; i += 1) await ns.enqueue('quick', i, { queue: 'fast' });
    const lapsed = await ns.enqueue('waits', null, { queue: 'slow' });
    const long = await ns.enqueue('waits', null, { queue: 'slow' });
    const worker = ns.startWorker({ ...FAST_WORKER, queues: ['fast', 'slow', 'held'], concurrency: 4 });
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
    // One attempt's lease in the past (its worker would be gone); both run past their 1 ms max.
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
    const snapshot = await readTopSnapshot(ns, { previous });
    const held = snapshot.queues.find((queue) => queue.name === 'held');
    expect(held).toMatchObject({ paused: true, counts: { queued: 1 } });
    expect(held?.oldestReadyAgeMs).toBeGreaterThan(0);
    expect(snapshot.queues.find((queue) => queue.name === 'slow')?.paused).toBe(false);
    expect(snapshot.workers).toMatchObject([
      { id: worker.id, pid: process.pid, queues: ['fast', 'slow', 'held'], concurrency: 4 },
    ]);
    expect(snapshot.workers[0]?.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(snapshot.workers[0]?.heartbeatAt ?? '')).not.toBeNaN();
    expect(alertCounts(snapshot.alerts)).toEqual([
      { kind: 'max_duration', count: 2 },
      { kind: 'stuck_job', count: 1 },
      { kind: 'schedule_suspended', count: 1 },
    ]);
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
