/**
 * A queue's job defaults (docs/TENANCY.md) on jobs enqueued through the REST API, on SQLite and
 * PostgreSQL: `POST /api/v1/jobs` and `/bulk` take the key and group the server's queue settings derive,
 * the body's own options first; a failing function is a 400 naming the queue, with nothing stored.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('queue job defaults over REST on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend, {
      queues: {
        tenants: {
          concurrencyKey: (payload, task) => {
            const tenant = (payload as { tenant?: unknown } | null)?.tenant;
            if (typeof tenant !== 'string') throw new Error('the payload names no tenant');
            return `${task}:${tenant}`;
          },
          concurrencyLimit: 2,
          group: (payload) => (payload as { tenant?: string } | null)?.tenant,
        },
      },
    });
  });
  afterAll(() => s.close());

  const post = (path: string, body: unknown) =>
    s.request('POST', `/api/v1/jobs${path}`, { token: s.tokens.operator, body });

  it("derives the key and group of the queue's jobs; the body's own options win", async () => {
    const one = await post('', { task: 'noop', queue: 'tenants', payload: { tenant: 'acme' } });
    expect(one.status).toBe(201);
    expect(one.body.job).toMatchObject({ queue: 'tenants', concurrencyKey: 'noop:acme', group: 'acme' });
    const own = await post('', {
      task: 'noop',
      queue: 'tenants',
      payload: { tenant: 'acme' },
      concurrencyKey: 'mine',
      group: 'g',
    });
    expect(own.body.job).toMatchObject({ concurrencyKey: 'mine', group: 'g' });
    const other = await post('', { task: 'noop', payload: { tenant: 'acme' } });
    expect(other.body.job).toMatchObject({ queue: 'default', concurrencyKey: null, group: null });
    const bulk = await post('/bulk', {
      jobs: [
        { task: 'noop', queue: 'tenants', payload: { tenant: 'a' } },
        { task: 'noop', queue: 'tenants', payload: { tenant: 'b' } },
      ],
    });
    expect(bulk.status).toBe(201);
    expect(bulk.body.jobs.map((r: { job: { concurrencyKey: string } }) => r.job.concurrencyKey)).toEqual([
      'noop:a',
      'noop:b',
    ]);
  });

  it('refuses a payload the queue cannot derive from, naming the queue, and stores nothing', async () => {
    const before = (await s.ns.listJobs({ queue: 'tenants', limit: 1000 })).jobs.length;
    const one = await post('', { task: 'noop', queue: 'tenants', payload: {} });
    expect(one.status).toBe(400);
    expect(one.body.error).toMatchObject({ code: 'invalid_argument' });
    expect(one.body.error.message).toMatch(
      /queue "tenants" \(task "noop"\): its concurrencyKey function threw on this payload: the payload names no tenant/,
    );
    const bulk = await post('/bulk', {
      jobs: [
        { task: 'noop', queue: 'tenants', payload: { tenant: 'a' } },
        { task: 'noop', queue: 'tenants', payload: {} },
      ],
    });
    expect(bulk.status).toBe(400);
    expect(bulk.body.error.message).toMatch(/^item 1: queue "tenants"/);
    expect((await s.ns.listJobs({ queue: 'tenants', limit: 1000 })).jobs).toHaveLength(before);
  });
});
