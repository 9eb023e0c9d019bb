/** The schedule endpoints over real HTTP, on SQLite and PostgreSQL. */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('schedule endpoints on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('creates, reads, lists, changes and deletes a schedule', async () => {
    const created = await s.request('POST', '/api/v1/schedules', {
      body: {
        id: 'nightly',
        task: 'email.send',
        cron: '0 6 * * *',
        timezone: 'Europe/London',
        payload: { to: 'a@example.com' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.schedule).toMatchObject({
      id: 'nightly',
      source: 'api',
      paused: false,
      overlap: 'skip',
    });
    expect(
      (
        await s.request('POST', '/api/v1/schedules', {
          body: { id: 'nightly', task: 'noop', everyMs: 60_000 },
        })
      ).status,
    ).toBe(409);

    const details = await s.request('GET', '/api/v1/schedules/nightly', { token: s.tokens.viewer });
    expect(details.body.nextSlots).toHaveLength(5);
    expect(details.body.recentSlots).toEqual([]);

    await s.request('POST', '/api/v1/schedules', {
      body: { id: 'every-minute', task: 'noop', everyMs: 60_000 },
    });
    const page = await s.request('GET', '/api/v1/schedules?limit=1', { token: s.tokens.viewer });
    expect(page.body.schedules.map((x: { id: string }) => x.id)).toEqual(['every-minute']);
    const rest = await s.request('GET', `/api/v1/schedules?limit=1&cursor=${page.body.nextCursor}`, {
      token: s.tokens.viewer,
    });
    expect(rest.body).toMatchObject({ schedules: [{ id: 'nightly' }], nextCursor: null });

    const patched = await s.request('PATCH', '/api/v1/schedules/nightly', {
      body: { everyMs: 120_000, overlap: 'queue' },
    });
    expect(patched.body.schedule).toMatchObject({
      cron: null,
      everyMs: 120_000,
      overlap: 'queue',
      timezone: 'UTC',
    });

    expect((await s.request('DELETE', '/api/v1/schedules/every-minute')).status).toBe(204);
    expect((await s.request('GET', '/api/v1/schedules/every-minute')).status).toBe(404);
  });

  it('empties a queue, priority and failure bound given null, as a merge patch; other fields keep refusing null', async () => {
    await s.request('POST', '/api/v1/schedules', {
      body: {
        id: 'bounded',
        task: 'noop',
        everyMs: 60_000,
        queue: 'slow',
        priority: 3,
        maxConsecutiveFailures: 2,
      },
    });
    const cleared = { queue: null, priority: null, maxConsecutiveFailures: null };
    const patched = await s.request('PATCH', '/api/v1/schedules/bounded', { body: cleared });
    expect(patched.status).toBe(200);
    expect(patched.body.schedule).toMatchObject({ ...cleared, everyMs: 60_000 });
    // A field left out keeps its value.
    await s.request('PATCH', '/api/v1/schedules/bounded', { body: { queue: 'slow' } });
    const kept = await s.request('PATCH', '/api/v1/schedules/bounded', { body: { jitterMs: 10 } });
    expect(kept.body.schedule).toMatchObject({ queue: 'slow', priority: null, jitterMs: 10 });
    // Fields with no empty value refuse null, and the schedule is as it was.
    for (const field of ['jitterMs', 'overlap', 'task', 'catchUpLimit']) {
      const refused = await s.request('PATCH', '/api/v1/schedules/bounded', { body: { [field]: null } });
      expect({ field, status: refused.status }).toEqual({ field, status: 400 });
    }
    expect((await s.ns.schedules.get('bounded'))?.schedule).toMatchObject({ queue: 'slow', jitterMs: 10 });

    // The document the server publishes says so.
    type Document = {
      paths: Record<
        string,
        Record<string, { requestBody: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const document = (await s.request('GET', '/api/v1/openapi.json', { token: s.tokens.viewer }))
      .body as Document;
    const patchBody = document.paths['/api/v1/schedules/{id}']?.['patch']?.requestBody.content[
      'application/json'
    ]?.schema as { properties: Record<string, { anyOf: Array<{ type: string }> }> };
    for (const field of Object.keys(cleared)) {
      expect(patchBody.properties[field]?.anyOf.map((schema) => schema.type)).toContain('null');
    }
  });

  it('triggers (202 with the job id), pauses and resumes', async () => {
    await s.request('POST', '/api/v1/schedules', { body: { id: 'ping', task: 'noop', everyMs: 3_600_000 } });
    const op = { token: s.tokens.operator };
    const triggered = await s.request('POST', '/api/v1/schedules/ping/trigger', op);
    expect(triggered.status).toBe(202);
    expect(triggered.body).toMatchObject({ status: 'enqueued', reason: null });
    expect((await s.ns.getJob(triggered.body.jobId))?.scheduleId).toBe('ping');
    // Overlap skip: the first run is still queued, so a second trigger is refused.
    const skipped = await s.request('POST', '/api/v1/schedules/ping/trigger', op);
    expect(skipped.status).toBe(409);
    expect(skipped.body.error.code).toBe('conflict');

    expect((await s.request('POST', '/api/v1/schedules/ping/pause', op)).body.schedule.paused).toBe(true);
    expect((await s.request('POST', '/api/v1/schedules/ping/resume', op)).body.schedule.paused).toBe(false);
    // Every route says an unknown id in one wording, the jobs' one (`job ID not found`).
    const missing = [
      await s.request('GET', '/api/v1/schedules/missing'),
      ...(await Promise.all(
        ['trigger', 'pause', 'resume'].map((action) =>
          s.request('POST', `/api/v1/schedules/missing/${action}`, op),
        ),
      )),
      await s.request('PATCH', '/api/v1/schedules/missing', { body: { everyMs: 5_000 } }),
      await s.request('DELETE', '/api/v1/schedules/missing'),
    ];
    for (const response of missing) {
      expect({ status: response.status, body: response.body as unknown }).toEqual({
        status: 404,
        body: { error: { code: 'not_found', message: 'schedule missing not found' } },
      });
    }
  });

  it('refuses to trigger a schedule whose task this server does not declare, and writes no job', async () => {
    // Another deployment's instance on the same database declares the task and makes the schedule.
    const other = await Nightshift.connect({
      db: s.store,
      migrate: false,
      logger: createLogger({ level: 'silent' }),
      tasks: { 'thumbnails.make': defineTask({ queue: 'media', handler: () => null }) },
    });
    try {
      await other.schedules.create({ id: 'thumbs', task: 'thumbnails.make', everyMs: 3_600_000 });
      const refused = await s.request('POST', '/api/v1/schedules/thumbs/trigger', {
        token: s.tokens.operator,
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('unknown_task');
      expect(refused.body.error.message).toMatch(
        /^unknown task "thumbnails\.make": this process does not declare the task of schedule thumbs/,
      );
      expect((await s.ns.listJobs({ task: 'thumbnails.make' })).jobs).toEqual([]);
      // The instance that declares it triggers it into the task's own queue.
      const outcome = await other.schedules.trigger('thumbs');
      expect(outcome.status).toBe('enqueued');
      expect((await s.ns.listJobs({ task: 'thumbnails.make' })).jobs.map((job) => job.queue)).toEqual([
        'media',
      ]);
    } finally {
      await other.close();
    }
  });

  it('refuses bad schedules with a clear 4xx and stores nothing', async () => {
    const cases: Array<[unknown, number]> = [
      [{ id: 'bad-cron', task: 'noop', cron: 'every day' }, 400],
      [{ id: 'bad-zone', task: 'noop', cron: '0 6 * * *', timezone: 'Mars/Olympus' }, 400],
      [{ id: 'both', task: 'noop', cron: '0 6 * * *', everyMs: 60_000 }, 400],
      [{ id: 'neither', task: 'noop' }, 400],
      [{ id: 'unknown-task', task: 'nope', everyMs: 60_000 }, 400],
      [{ id: 'bad-payload', task: 'email.send', everyMs: 60_000, payload: { to: 'x' } }, 422],
      [{ id: 'bad id!', task: 'noop', everyMs: 60_000 }, 400],
      [{ id: 'too-fast', task: 'noop', everyMs: 10 }, 400],
      [{ id: 'extra', task: 'noop', everyMs: 60_000, color: 'red' }, 400],
    ];
    for (const [body, status] of cases) {
      const response = await s.request('POST', '/api/v1/schedules', { body });
      expect({ body, status: response.status }).toEqual({ body, status });
    }
    expect((await s.request('PATCH', '/api/v1/schedules/nightly', { body: {} })).status).toBe(400);
    expect((await s.request('PATCH', '/api/v1/schedules/nightly', { body: { cron: 'nope' } })).status).toBe(
      400,
    );
    const ids = (await s.ns.schedules.list({ limit: 1000 })).schedules.map((x) => x.id);
    expect(ids.filter((id) => cases.some(([body]) => (body as { id: string }).id === id))).toEqual([]);
  });
});
