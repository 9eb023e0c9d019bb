/**
 * Workers and queues over real HTTP on both backends, with a second process on the same database:
 * the worker registry (appears with the tasks it implements, heartbeats, leaves on stop, is swept
 * after kill -9) and the cluster-wide queue pause (no claim in either process after it, running jobs
 * finish, resume restarts).
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noThrottle } from '../../src/store/queue-throttle.js';
import { defineTask } from '../../src/task.js';
import { startChild, type Child } from '../support/child-process.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const FIXTURE = new URL('./fixtures/fleet-worker.ts', import.meta.url);

describe.each(BACKENDS)('workers and queues on %s', (backend) => {
  let s: TestServer;
  const children: Child[] = [];

  function startFleetWorker(id: string): Child {
    const address = s.store.peerAddress?.();
    if (!address) throw new Error('the test store has no peer address');
    const child = startChild(FIXTURE, [address.url, address.schema ?? '-', id]);
    children.push(child);
    return child;
  }

  async function workerIds(): Promise<string[]> {
    const response = await s.request('GET', '/api/v1/workers', { token: s.tokens.viewer });
    expect(response.status).toBe(200);
    return (response.body.workers as Array<{ id: string }>).map((w) => w.id);
  }

  async function queue(name: string) {
    const { body } = await s.request('GET', '/api/v1/queues', { token: s.tokens.viewer });
    type Listed = {
      name: string;
      counts: Record<string, number>;
      oldestReadyAgeMs: number | null;
      paused: boolean;
    };
    return (body.queues as Listed[]).find((q) => q.name === name);
  }

  beforeAll(async () => {
    // `noop` takes 500 ms here as in the child (fixtures/fleet-worker.ts): an instant one let this
    // process's worker finish every job before a poll could see one running.
    s = await startTestServer(backend, {
      tasks: {
        noop: defineTask({
          handler: () => new Promise((resolve) => setTimeout(() => resolve('slow done'), 500)),
        }),
      },
    });
    // This process's worker: it sweeps silent workers after 1 s.
    s.ns.startWorker({
      workerId: 'local',
      queues: ['q'],
      pollIntervalMs: 100,
      heartbeatIntervalMs: 200,
      workerStaleMs: 1_000,
      rescueIntervalMs: 200,
      leaseKeeper: 'event-loop',
    });
  });

  afterAll(async () => {
    for (const child of children) {
      // Killed on purpose at teardown: its exit is expected, not a failure.
      child.done.catch(() => undefined);
      child.process.kill('SIGKILL');
    }
    await s.close();
  });

  it('lists a worker with its settings, heartbeats it, and drops it when it stops', async () => {
    const child = startFleetWorker('child-stop');
    await waitUntil(async () => (await workerIds()).includes('child-stop'), {
      timeoutMs: 30_000,
      message: 'registered',
    });
    const { body } = await s.request('GET', '/api/v1/workers', { token: s.tokens.viewer });
    const row = (body.workers as Array<Record<string, unknown>>).find((w) => w['id'] === 'child-stop');
    expect(row).toMatchObject({
      pid: child.process.pid,
      queues: ['q'],
      labels: ['region:eu'],
      tasks: ['noop'],
      concurrency: 2,
      running: 0,
      // Its workerStaleMs, by which (or 30 s, the longer) every reader judges it live.
      staleMs: 1_000,
    });
    expect(typeof row?.['host']).toBe('string');
    const first = Date.parse(String(row?.['heartbeatAt']));
    await waitUntil(
      async () => {
        const again = await s.ns.workers();
        const beat = again.find((w) => w.id === 'child-stop')?.heartbeatAt.getTime() ?? 0;
        return beat > first;
      },
      { message: 'a later heartbeat' },
    );
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(await workerIds()).not.toContain('child-stop');
    expect(await workerIds()).toContain('local');
  });

  it('forgets a worker killed with -9 once its heartbeat is older than the bound', async () => {
    const child = startFleetWorker('child-killed');
    await waitUntil(async () => (await workerIds()).includes('child-killed'), {
      timeoutMs: 30_000,
      message: 'registered',
    });
    child.process.kill('SIGKILL');
    await child.exited;
    // The local worker's rescuer sweeps every 200 ms, and the stale workers' rows once per 1 s bound.
    await waitUntil(async () => !(await workerIds()).includes('child-killed'), {
      timeoutMs: 10_000,
      message: 'swept',
    });
  });

  it('pauses a queue for the workers of both processes, lets running jobs finish, and resumes', async () => {
    startFleetWorker('child-pause');
    await waitUntil(async () => (await workerIds()).includes('child-pause'), {
      timeoutMs: 30_000,
      message: 'registered',
    });
    // A job running when the pause comes finishes normally.
    const busy = await Promise.all(
      Array.from({ length: 6 }, () =>
        s.request('POST', '/api/v1/jobs', { token: s.tokens.operator, body: { task: 'noop', queue: 'q' } }),
      ),
    );
    const running = await waitUntil(
      async () => {
        for (const { body } of busy) {
          const job = await s.ns.getJob(body.id as string);
          if (job?.state === 'running') return job.id;
        }
        return undefined;
        // A child process polling a SQLite file on a loaded machine may take a while to claim.
      },
      { timeoutMs: 30_000, message: 'a job running' },
    );
    const paused = await s.request('POST', '/api/v1/queues/q/pause', { token: s.tokens.operator });
    expect(paused.status).toBe(200);
    expect(paused.body.queue).toMatchObject({ name: 'q', paused: true });
    expect((await s.ns.waitFor(running, { timeoutMs: 10_000 })).state).toBe('completed');
    // Wait out whatever had been claimed before the pause, then enqueue: nothing is claimed any more.
    await waitUntil(async () => (await queue('q'))?.counts['running'] === 0);
    const accepted = await s.request('POST', '/api/v1/jobs', {
      token: s.tokens.operator,
      body: { task: 'noop', queue: 'q' },
    });
    expect(accepted.status).toBe(201);
    const waiting = accepted.body.id as string;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await s.ns.getJob(waiting))?.state).toBe('queued');
    // On a loaded machine some of the six may not have been claimed before the pause: they wait too.
    const stillQueued: string[] = [];
    for (const { body } of busy) {
      if ((await s.ns.getJob(body.id as string))?.state === 'queued') stillQueued.push(body.id as string);
    }
    const listed = await queue('q');
    expect(listed).toMatchObject({ paused: true, counts: { queued: stillQueued.length + 1, running: 0 } });
    expect(listed?.oldestReadyAgeMs).toBeGreaterThanOrEqual(1_000);

    const resumed = await s.request('POST', '/api/v1/queues/q/resume', { token: s.tokens.operator });
    expect(resumed.body.queue).toMatchObject({ name: 'q', paused: false });
    for (const id of [waiting, ...stillQueued]) {
      expect((await s.ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
    }
  });

  it('pauses a queue that has no jobs yet, and refuses bad names', async () => {
    const { status, body } = await s.request('POST', '/api/v1/queues/not-yet/pause', {
      token: s.tokens.operator,
    });
    expect(status).toBe(200);
    expect(body.queue).toEqual({
      name: 'not-yet',
      counts: { scheduled: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
      oldestReadyAgeMs: null,
      nextDueInMs: null,
      paused: true,
      throttled: noThrottle(),
      finishedCountsAgeMs: 0,
    });
    expect((await queue('not-yet'))?.paused).toBe(true);
    await s.request('POST', '/api/v1/queues/not-yet/resume', { token: s.tokens.operator });
    expect(await queue('not-yet')).toBeUndefined();
    const tooLong = await s.request('POST', `/api/v1/queues/${'x'.repeat(256)}/pause`, {
      token: s.tokens.operator,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('invalid_argument');
    expect((await s.ns.queues.list()).filter((q) => q.paused)).toEqual([]);
  });
});
