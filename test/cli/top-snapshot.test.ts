/**
 * The `nightshift top` snapshot read from a real store (SQLite, or PostgreSQL with
 * NIGHTSHIFT_TEST_BACKEND=postgres): counts, oldest ready age and pause per queue, rates since the
 * previous snapshot, live workers, the alerts, running jobs, stuck ones (lease expired, past max
 * duration) and schedules needing attention.
 */
import { describe, expect, it } from 'vitest';
import {
  addRates,
  alertCounts,
  readTopSnapshot,
  type TopQueue,
  type TopSnapshot,
} from '../../src/cli/top/snapshot.js';
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

  it('dates each finished count when it was read: a reused count keeps the rates, the next spans its whole interval', () => {
    const queue = (completed: number, finishedCountsAgeMs: number): TopQueue => ({
      name: 'q',
      counts: { scheduled: 0, queued: 0, running: 0, completed, failed: 0, cancelled: 0 },
      oldestReadyAgeMs: null,
      nextDueInMs: null,
      paused: false,
      throttled: {
        paused: 0,
        unserved: 0,
        queue_limit: 0,
        queue_rate: 0,
        labels: 0,
        key_limit: 0,
        key_rate: 0,
      },
      finishedCountsAgeMs,
      completedPerSec: null,
      failedPerSec: null,
    });
    const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 20, 0, s)).toISOString();
    const snap = (s: number, q: TopQueue): TopSnapshot =>
      ({ at: at(s), queues: [q] }) as unknown as TopSnapshot;
    // Counted fresh at 0 s (1,000) and at 1 s (1,100): 100/s.
    const s0 = snap(0, queue(1_000, 0));
    const s1 = snap(1, queue(1_100, 0));
    addRates(s1, s0);
    expect(s1.queues[0]?.completedPerSec).toBe(100);
    // At 2 s and 3 s the count of 1 s is reused (1 s, then 2 s old): the rate stays, not 0.
    const s2 = snap(2, queue(1_100, 1_000));
    addRates(s2, s1);
    expect(s2.queues[0]?.completedPerSec).toBe(100);
    const s3 = snap(3, queue(1_100, 2_000));
    addRates(s3, s2);
    expect(s3.queues[0]?.completedPerSec).toBe(100);
    // Counted fresh at 4 s (1,400): 300 more since the count of 1 s, over 3 s, not over the last 1 s.
    const s4 = snap(4, queue(1_400, 0));
    addRates(s4, s3);
    expect(s4.queues[0]?.completedPerSec).toBe(100);
  });
});
