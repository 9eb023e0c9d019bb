/**
 * GET /api/v1/alerts says when the alerts would change with nothing written (`nextChangeInMs`): a
 * running job passing its maxDurationMs and its lease's grace, a queue's next job coming due (depth)
 * and then waiting past the age threshold, a skipped slot leaving the window. No event marks those
 * moments, so the dashboard reads the alerts again then. The store's clock is moved by hand, on both
 * backends; no worker, scheduler or rescuer runs, so nothing else changes the alerts.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/observe/alert.js';
import { defineTask } from '../../src/task.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const MINUTE = 60_000;
const TASKS = {
  noop: () => 'done',
  long: defineTask({ handler: () => 'done', maxDurationMs: 2 * MINUTE }),
};

describe.each(BACKENDS)('when the alerts change with nothing written, on %s', (backend) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(backend, {
      tasks: TASKS,
      alerts: {
        stuckJobGraceMs: MINUTE,
        missedSlotsWindowMs: 10 * MINUTE,
        queues: { deep: { queueDepth: 1 }, aging: { oldestReadyAgeMs: 5 * MINUTE } },
      },
    });
  });
  afterAll(() => s?.close());

  const read = async (): Promise<{ kinds: string[]; nextChangeInMs: number | null }> => {
    const { status, body } = await s.request('GET', '/api/v1/alerts', { token: s.tokens.viewer });
    expect(status).toBe(200);
    return { kinds: (body.alerts as Alert[]).map((a) => a.kind), nextChangeInMs: body.nextChangeInMs };
  };
  const enqueue = async (task: string, queue: string, runAt: number): Promise<string> =>
    (await s.ns.untyped.enqueue(task, {}, { queue, runAt: new Date(runAt) })).id;
  /** Each test starts from a frozen clock and no alert; what it enqueued is ended at its end. */
  const begin = async (): Promise<number> => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await s.clock.freeze(start);
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: null });
    return start;
  };
  const cancelAll = async (ids: string[]) => {
    for (const id of ids) await s.ns.cancelJob(id);
  };
  /** Ends a job claimed by hand, as its worker would. */
  const complete = async (id: string, leaseToken: string | undefined) => {
    const { accepted } = await s.store.jobFinishMany({
      finishes: [{ id, leaseToken: leaseToken ?? '', outcome: 'completed', result: null }],
    });
    expect(accepted).toEqual([id]);
  };

  it('a running job: past its maxDurationMs, then past its lease’s end and the grace', async () => {
    const start = await begin();
    const id = await enqueue('long', 'running', start);
    // Claimed by a worker that is gone: nobody renews the lease (1 min) or rescues the job.
    const [job] = await s.store.jobClaim({
      workerId: 'gone',
      queues: ['running'],
      limit: 1,
      leaseMs: MINUTE,
    });
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 2 * MINUTE + 1 });
    await s.clock.advance(2 * MINUTE);
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 1 });
    await s.clock.advance(1);
    expect(await read()).toEqual({ kinds: ['max_duration', 'stuck_job'], nextChangeInMs: null });
    await complete(id, job?.leaseToken);
  });

  it('a lease renewed before its grace ran out: the moment read again finds nothing, and the next one', async () => {
    const start = await begin();
    const id = await enqueue('noop', 'renewed', start);
    const [job] = await s.store.jobClaim({ workerId: 'w', queues: ['renewed'], limit: 1, leaseMs: MINUTE });
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 2 * MINUTE + 1 });
    await s.clock.advance(90_000);
    await s.store.jobLeaseRenew({ leases: [{ id, leaseToken: job?.leaseToken ?? '' }], leaseMs: MINUTE });
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 2 * MINUTE + 1 });
    await complete(id, job?.leaseToken);
  });

  it('a queue over its depth once its scheduled jobs come due', async () => {
    const start = await begin();
    const ids = [
      await enqueue('noop', 'deep', start + MINUTE),
      await enqueue('noop', 'deep', start + 3 * MINUTE),
    ];
    // The first coming due leaves the queue at its threshold; the second puts it over.
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: MINUTE + 1 });
    await s.clock.advance(MINUTE + 1);
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 2 * MINUTE });
    await s.clock.advance(2 * MINUTE);
    expect(await read()).toEqual({ kinds: ['queue_depth'], nextChangeInMs: null });
    await cancelAll(ids);
  });

  it('a queue whose job came due and waited past the age threshold', async () => {
    const start = await begin();
    const ids = [await enqueue('noop', 'aging', start + MINUTE)];
    // Due in a minute, then five minutes unclaimed.
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 6 * MINUTE + 1 });
    await s.clock.advance(2 * MINUTE);
    // Ready now: the same moment, from its due time.
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: 4 * MINUTE + 1 });
    await s.clock.advance(4 * MINUTE + 1);
    expect(await read()).toEqual({ kinds: ['oldest_ready_age'], nextChangeInMs: null });
    await cancelAll(ids);
  });

  it('skipped slots leaving the window', async () => {
    await begin();
    // Slots that fall while paused are recorded skipped when it resumes.
    await s.ns.schedules.create({ id: 'paused-a-while', task: 'noop', everyMs: MINUTE, paused: true });
    await s.clock.advance(5 * MINUTE);
    await s.ns.schedules.resume('paused-a-while');
    expect(await read()).toEqual({ kinds: ['missed_slots'], nextChangeInMs: 10 * MINUTE + 1 });
    await s.clock.advance(10 * MINUTE);
    expect(await read()).toEqual({ kinds: ['missed_slots'], nextChangeInMs: 1 });
    await s.clock.advance(1);
    expect(await read()).toEqual({ kinds: [], nextChangeInMs: null });
    await s.ns.schedules.delete('paused-a-while');
  });
});
