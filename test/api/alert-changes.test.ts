/**
 * GET /api/v1/alerts says when the alerts would change with nothing written (`nextChangeInMs`): a
 * running job passing its maxDurationMs and its lease's grace, a queue's next job coming due (depth)
 * and then waiting past the age threshold, a skipped slot leaving the window, a queue's job waiting
 * past the grace with no live worker claiming from the queue, or that queue's last worker falling
 * silent. No event marks those moments, so the dashboard reads the alerts again then. The store's clock
 * is moved by hand, on both backends; no worker, scheduler or rescuer runs (workers are rows written by
 * hand), so nothing else changes the alerts.
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
        // No worker runs here: every waiting queue would be unserved (the last describe).
        unservedGraceMs: null,
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

describe.each(BACKENDS)('when a queue is left without a worker, on %s', (backend) => {
  let s: TestServer;
  const WORKER = { host: 'h', pid: 1, labels: [], tasks: [], concurrency: 1, running: 0, staleMs: 30_000 };

  beforeAll(async () => {
    s = await startTestServer(backend, { tasks: TASKS, alerts: { unservedGraceMs: MINUTE } });
  });
  afterAll(() => s?.close());

  const read = async (): Promise<{ alerts: Alert[]; nextChangeInMs: number | null }> => {
    const { status, body } = await s.request('GET', '/api/v1/alerts', { token: s.tokens.viewer });
    expect(status).toBe(200);
    return { alerts: body.alerts, nextChangeInMs: body.nextChangeInMs };
  };
  const kinds = async () => {
    const { alerts, nextChangeInMs } = await read();
    return { kinds: alerts.map((a) => `${a.kind} ${a.subject}`), nextChangeInMs };
  };

  it('raises unserved_queue once a ready job waited past the grace, until a live worker claims from it', async () => {
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await s.clock.freeze(start);
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: null });
    const { id } = await s.ns.untyped.enqueue(
      'noop',
      {},
      { queue: 'orphan', runAt: new Date(start + MINUTE) },
    );
    // Due in a minute, then a minute's grace.
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: 2 * MINUTE + 1 });
    await s.clock.advance(MINUTE + 1);
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: MINUTE });
    await s.clock.advance(MINUTE);
    const [alert] = (await read()).alerts;
    expect(alert).toMatchObject({
      kind: 'unserved_queue',
      subject: 'queue:orphan',
      queue: 'orphan',
      since: new Date(start + 2 * MINUTE).toISOString(),
    });
    expect(alert?.message).toBe(
      'queue orphan: a job due 60.0 s ago waits and no live worker claims from this queue (no worker is running)',
    );

    // A worker of other queues does not serve it, and is named.
    await s.store.workerRegister({ id: 'w-mail', ...WORKER, queues: ['mail', 'sms'] });
    expect((await read()).alerts.map((a) => a.message)).toEqual([
      'queue orphan: a job due 60.0 s ago waits and no live worker claims from this queue (the live workers claim from mail, sms only)',
    ]);
    // One that claims from it does, until its heartbeat is older than a live worker's (30 s).
    await s.store.workerRegister({ id: 'w-orphan', ...WORKER, queues: ['orphan'] });
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: 30_001 });
    await s.clock.advance(30_000);
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: 1 });
    await s.clock.advance(1);
    expect((await kinds()).kinds).toEqual(['unserved_queue queue:orphan']);
    // A worker of every queue serves it; so does a pause, which holds the job on purpose.
    await s.store.workerRegister({ id: 'w-all', ...WORKER, queues: null });
    expect((await kinds()).kinds).toEqual([]);
    await s.store.workerDelete({ id: 'w-all' });
    await s.ns.queues.pause('orphan');
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: null });
    await s.ns.queues.resume('orphan');
    expect((await kinds()).kinds).toEqual(['unserved_queue queue:orphan']);
    await s.ns.cancelJob(id);
    expect(await kinds()).toEqual({ kinds: [], nextChangeInMs: null });
    for (const worker of ['w-mail', 'w-orphan']) await s.store.workerDelete({ id: worker });
  });
});
