/** The job endpoints over real HTTP, on SQLite and PostgreSQL: every success, validation error and unknown id. */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRunJson } from '../../src/cli/output.js';
import { newJob } from '../support/jobs.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('job endpoints on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend, { bodyLimit: 64 * 1024 });
  });
  afterAll(() => s.close());

  const enqueue = (body: unknown) => s.request('POST', '/api/v1/jobs', { token: s.tokens.operator, body });

  it('enqueues: 201 with the stored job, then 200 with the same job for a repeated idempotency key', async () => {
    const key = `key-${uuidv7()}`;
    const first = await enqueue({
      task: 'email.send',
      payload: { to: 'a@example.com' },
      idempotencyKey: key,
      priority: 3,
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      created: true,
      job: { task: 'email.send', state: 'queued', priority: 3 },
    });
    expect(first.body.id).toBe(first.body.job.id);
    expect((await s.ns.getJob(first.body.id))?.payload).toEqual({ to: 'a@example.com' });

    const again = await enqueue({
      task: 'email.send',
      payload: { to: 'b@example.com' },
      idempotencyKey: key,
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      id: first.body.id,
      created: false,
      job: { payload: { to: 'a@example.com' } },
    });
  });

  it('takes the enqueue options: queue, delay, run-at, attempts', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const later = await enqueue({ task: 'noop', queue: 'mail', runAt, maxAttempts: 2 });
    expect(later.status).toBe(201);
    expect(later.body.job).toMatchObject({ queue: 'mail', state: 'scheduled', maxAttempts: 2, runAt });
    const delayed = await enqueue({ task: 'noop', delayMs: 60_000 });
    expect(delayed.body.job.state).toBe('scheduled');
    expect(delayed.body.job.requires).toEqual([]);
    const labelled = await enqueue({ task: 'noop', requires: ['region:eu', 'gpu'] });
    expect(labelled.status).toBe(201);
    expect(labelled.body.job.requires).toEqual(['gpu', 'region:eu']);
    const read = await s.request('GET', `/api/v1/jobs/${String(labelled.body.id)}`, {
      token: s.tokens.viewer,
    });
    expect(read.body.job.requires).toEqual(['gpu', 'region:eu']);
  });

  it('refuses bad input with the stable codes and stores nothing', async () => {
    const before = (await s.ns.listJobs({ limit: 1000 })).jobs.length;
    const cases: Array<[unknown, number, string]> = [
      [{ task: 'no.such.task' }, 422, 'unknown_task'],
      [{ task: 'email.send', payload: { to: 'not-an-email' } }, 422, 'invalid_payload'],
      [{ task: 'email.send', payload: { to: 'a@example.com' }, extra: 1 }, 400, 'invalid_argument'],
      [{ task: 'noop', priority: 1.5 }, 400, 'invalid_argument'],
      [{ task: 'noop', priority: 2 ** 40 }, 400, 'invalid_argument'],
      [{ task: 'noop', runAt: 'tomorrow' }, 400, 'invalid_argument'],
      [{ task: 'noop', concurrencyLimit: 2 }, 400, 'invalid_argument'],
      [{ task: 'noop', concurrencyKey: 'tenant-1', concurrencyLimit: 0 }, 400, 'invalid_argument'],
      [{ task: 'noop', queue: 'a\u0000b' }, 400, 'invalid_argument'],
      [{ task: 'noop', requires: 'gpu' }, 400, 'invalid_argument'],
      [{ task: 'noop', requires: [''] }, 400, 'invalid_argument'],
      [{ task: 'noop', requires: ['region eu'] }, 400, 'invalid_argument'],
      [{ task: 'noop', requires: Array.from({ length: 17 }, (_, i) => `l${i}`) }, 400, 'invalid_argument'],
      [{ payload: {} }, 400, 'invalid_argument'],
      [[], 400, 'invalid_argument'],
      ['{"task": "noop",', 400, 'invalid_argument'],
    ];
    for (const [body, status, code] of cases) {
      const response = await enqueue(body);
      expect({ body, status: response.status, code: response.body?.error?.code }).toEqual({
        body,
        status,
        code,
      });
      expect(response.text).not.toMatch(/\bat .+:\d+:\d+/);
    }
    const tooBig = await enqueue({ task: 'noop', payload: 'x'.repeat(100 * 1024) });
    expect(tooBig.status).toBe(413);
    // This server's limit is 64 KiB, not a whole number of MiB.
    expect(tooBig.body.error).toEqual({
      code: 'payload_too_large',
      message:
        'the body is larger than this server accepts: at most 65536 bytes: send a smaller one (a bulk enqueue: fewer jobs per request)',
    });
    const wrongType = await s.request('POST', '/api/v1/jobs', {
      token: s.tokens.operator,
      body: 'task=noop',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error).toEqual({
      code: 'unsupported_media_type',
      message:
        'the body must be JSON sent with Content-Type: application/json; got Content-Type: application/x-www-form-urlencoded',
    });
    const plainText = await s.request('POST', '/api/v1/jobs', {
      token: s.tokens.operator,
      body: JSON.stringify({ task: 'noop' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(plainText.status).toBe(415);
    expect(plainText.body.error.code).toBe('unsupported_media_type');
    expect((await s.ns.listJobs({ limit: 1000 })).jobs.length).toBe(before);
  });

  it('enqueues in bulk in one transaction: all or, on one bad item, none', async () => {
    const queue = `bulk-${uuidv7()}`;
    const ok = await s.request('POST', '/api/v1/jobs/bulk', {
      token: s.tokens.operator,
      body: {
        jobs: [
          { task: 'noop', queue },
          { task: 'email.send', queue, payload: { to: 'x@example.com' } },
        ],
      },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.jobs).toHaveLength(2);
    const bad = await s.request('POST', '/api/v1/jobs/bulk', {
      token: s.tokens.operator,
      body: {
        jobs: [
          { task: 'noop', queue },
          { task: 'email.send', queue, payload: { to: 'nope' } },
        ],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.message).toMatch(/^item 1:/);
    expect((await s.ns.listJobs({ queue, limit: 10 })).jobs).toHaveLength(2);
    const empty = await s.request('POST', '/api/v1/jobs/bulk', {
      token: s.tokens.operator,
      body: { jobs: [] },
    });
    expect(empty.status).toBe(400);
  });

  it('reads a job, lists with filters and cursors, and answers 404 for unknown ids', async () => {
    const queue = `list-${uuidv7()}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await enqueue({ task: 'noop', queue })).body.id);
    const one = await s.request('GET', `/api/v1/jobs/${ids[0]}`, { token: s.tokens.viewer });
    expect(one.status).toBe(200);
    expect(one.body.job.id).toBe(ids[0]);

    const first = await s.request('GET', `/api/v1/jobs?queue=${queue}&limit=2`, { token: s.tokens.viewer });
    expect(first.body.jobs.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    const second = await s.request(
      'GET',
      `/api/v1/jobs?queue=${queue}&limit=2&cursor=${first.body.nextCursor}`,
      {
        token: s.tokens.viewer,
      },
    );
    expect(second.body).toEqual({
      jobs: [expect.objectContaining({ id: ids[0] })],
      nextCursor: null,
      nextDueInMs: null,
    });
    const filtered = await s.request('GET', `/api/v1/jobs?queue=${queue}&state=completed`, {
      token: s.tokens.viewer,
    });
    expect(filtered.body.jobs).toEqual([]);

    for (const bad of ['state=done', 'limit=0', 'limit=1001', 'cursor=%21%21']) {
      const response = await s.request('GET', `/api/v1/jobs?${bad}`, { token: s.tokens.viewer });
      expect({ bad, status: response.status, code: response.body.error.code }).toEqual({
        bad,
        status: 400,
        code: 'invalid_argument',
      });
    }
    for (const id of [uuidv7(), 'not-a-job-id']) {
      for (const [method, path] of [
        ['GET', `/api/v1/jobs/${id}`],
        ['GET', `/api/v1/jobs/${id}/runs`],
        ['POST', `/api/v1/jobs/${id}/retry`],
        ['POST', `/api/v1/jobs/${id}/cancel`],
        ['DELETE', `/api/v1/jobs/${id}`],
      ] as const) {
        const response = await s.request(method, path, { token: s.tokens.operator });
        expect({ path, status: response.status, code: response.body.error.code }).toEqual({
          path,
          status: 404,
          code: 'not_found',
        });
      }
    }
  });

  it('refuses a query parameter it does not know on every route that takes some, rather than ignore it', async () => {
    const { body } = await enqueue({ task: 'noop' });
    for (const path of [
      '/api/v1/jobs?stat=failed',
      `/api/v1/jobs/${body.id}?wiat=1`,
      '/api/v1/events?queu=mail',
      '/api/v1/limits/keys?runing=true',
      '/api/v1/limits/groups?runing=true',
      '/api/v1/schedules?limt=5',
      '/api/v1/stats?minute=5',
    ]) {
      const response = await s.request('GET', path, { token: s.tokens.viewer });
      const name = /\?(\w+)=/.exec(path)?.[1] ?? '';
      expect({ path, status: response.status, code: response.body.error?.code }).toEqual({
        path,
        status: 400,
        code: 'invalid_argument',
      });
      expect(response.body.error.message).toContain(name);
    }
  });

  it('long-polls with ?wait until the job finishes, and returns it as it is when the wait ends', async () => {
    const waiting = await enqueue({ task: 'noop', queue: `wait-${uuidv7()}` });
    const started = Date.now();
    const timedOut = await s.request('GET', `/api/v1/jobs/${waiting.body.id}?wait=1`, {
      token: s.tokens.viewer,
    });
    expect(timedOut.status).toBe(200);
    expect(timedOut.body.job.state).toBe('queued');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const queue = `run-${uuidv7()}`;
    // A fractional delay makes a fractional run lag on SQLite: the run must come back as stored.
    const job = await enqueue({ task: 'noop', queue, delayMs: 0.5 });
    const held = s.request('GET', `/api/v1/jobs/${job.body.id}?wait=30`, { token: s.tokens.viewer });
    const worker = s.ns.startWorker({ queues: [queue], pollIntervalMs: 50 });
    try {
      const done = await held;
      expect(done.body.job).toMatchObject({ id: job.body.id, state: 'completed', result: 'done' });
      const runs = await s.request('GET', `/api/v1/jobs/${job.body.id}/runs`, { token: s.tokens.viewer });
      expect(runs.body.runs).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);
      // The shape of the CLI's --json run, every field as stored (maxDurationExceeded included).
      expect(runs.body.runs).toEqual((await s.ns.getJobRuns(job.body.id)).map(jobRunJson));
    } finally {
      await worker.stop();
    }
    expect(
      (await s.request('GET', `/api/v1/jobs/${job.body.id}?wait=61`, { token: s.tokens.viewer })).status,
    ).toBe(400);
  });

  it('cancels, retries and deletes one job, with 409 for the wrong state', async () => {
    const job = (await enqueue({ task: 'noop', queue: `ctl-${uuidv7()}` })).body.id as string;
    const op = { token: s.tokens.operator };
    expect((await s.request('POST', `/api/v1/jobs/${job}/retry`, op)).status).toBe(409);
    expect((await s.request('DELETE', `/api/v1/jobs/${job}`, op)).body.error.code).toBe('conflict');
    const cancelled = await s.request('POST', `/api/v1/jobs/${job}/cancel`, op);
    expect(cancelled.body).toMatchObject({ outcome: 'cancelled', job: { state: 'cancelled' } });
    expect((await s.request('POST', `/api/v1/jobs/${job}/cancel`, op)).status).toBe(409);
    const retried = await s.request('POST', `/api/v1/jobs/${job}/retry`, op);
    expect(retried.body).toMatchObject({ outcome: 'retried', job: { state: 'queued' } });
    await s.request('POST', `/api/v1/jobs/${job}/cancel`, op);
    const deleted = await s.request('DELETE', `/api/v1/jobs/${job}`, op);
    expect(deleted.status).toBe(204);
    expect(await s.ns.getJob(job)).toBeUndefined();
  });

  it('cancels and retries every job matching a filter and says how many', async () => {
    const queue = `many-${uuidv7()}`;
    await s.request('POST', '/api/v1/jobs/bulk', {
      token: s.tokens.operator,
      body: {
        jobs: [
          { task: 'noop', queue },
          { task: 'noop', queue },
          { task: 'noop', queue, delayMs: 60_000 },
        ],
      },
    });
    const other = (await enqueue({ task: 'noop', queue: `${queue}-other` })).body.id as string;
    const cancel = await s.request('POST', '/api/v1/jobs/bulk-cancel', {
      token: s.tokens.operator,
      body: { queue, state: 'queued' },
    });
    expect(cancel.body).toEqual({ cancelled: 2, cancelRequested: 0 });
    const retry = await s.request('POST', '/api/v1/jobs/bulk-retry', {
      token: s.tokens.operator,
      body: { queue, state: 'cancelled', limit: 1 },
    });
    expect(retry.body).toEqual({ retried: 1 });
    const counts = (await s.store.jobCountByQueue()).filter((c) => c.queue === queue);
    expect(Object.fromEntries(counts.map((c) => [c.state, c.count]))).toEqual({
      cancelled: 1,
      queued: 1,
      scheduled: 1,
    });
    expect((await s.ns.getJob(other))?.state).toBe('queued');
    const bad = await s.request('POST', '/api/v1/jobs/bulk-cancel', {
      token: s.tokens.operator,
      body: { state: 'failed' },
    });
    expect(bad.status).toBe(400);
  });

  it('bulk-retries failed jobs when no state is given, and bulk-cancels every waiting and running one', async () => {
    const queue = `defaults-${uuidv7()}`;
    const claim = async () => {
      const [job] = await s.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 60_000 });
      if (job === undefined) throw new Error('nothing to claim');
      return job;
    };
    await s.store.jobInsertMany({ jobs: [newJob({ task: 'noop', queue })] });
    const failed = await claim();
    await s.store.jobFinishMany({
      finishes: [
        {
          id: failed.id,
          leaseToken: failed.leaseToken,
          outcome: 'failed',
          error: { message: 'no', name: 'Error', reason: 'failed' },
          retryDelayMs: null,
        },
      ],
    });
    const cancelled = (await enqueue({ task: 'noop', queue })).body.id as string;
    await s.ns.cancelJob(cancelled);
    const op = { token: s.tokens.operator };
    const retry = await s.request('POST', '/api/v1/jobs/bulk-retry', { ...op, body: { queue } });
    expect(retry.body).toEqual({ retried: 1 });
    expect((await s.ns.getJob(failed.id))?.state).toBe('queued');
    expect((await s.ns.getJob(cancelled))?.state).toBe('cancelled');

    expect((await claim()).id).toBe(failed.id);
    await enqueue({ task: 'noop', queue });
    await enqueue({ task: 'noop', queue, delayMs: 60_000 });
    const cancel = await s.request('POST', '/api/v1/jobs/bulk-cancel', { ...op, body: { queue } });
    expect(cancel.body).toEqual({ cancelled: 2, cancelRequested: 1 });
  });

  it('lists queues with their counts per state, and answers health checks without a token', async () => {
    const queue = `counted-${uuidv7()}`;
    await enqueue({ task: 'noop', queue });
    const queues = await s.request('GET', '/api/v1/queues', { token: s.tokens.viewer });
    expect(queues.body.queues).toContainEqual({
      name: queue,
      counts: { scheduled: 0, queued: 1, running: 0, completed: 0, failed: 0, cancelled: 0 },
      oldestReadyAgeMs: expect.any(Number),
      nextDueInMs: null,
      paused: false,
      // No worker runs in this test: its ready job waits for one that claims from the queue.
      throttled: {
        paused: 0,
        unserved: 1,
        queue_limit: 0,
        queue_rate: 0,
        labels: 0,
        key_limit: 0,
        key_rate: 0,
      },
      // Counted for this answer unless an earlier count of this file's history took over 20 ms.
      finishedCountsAgeMs: expect.any(Number),
    });
    expect((await s.request('GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
    const ready = await s.request('GET', '/readyz', { token: null });
    expect(ready.body).toMatchObject({ status: 'ready' });
    expect(ready.body.schema.current).toBe(ready.body.schema.latest);
  });
});
