/**
 * A delayed job whose time has come reads `queued` over HTTP on both backends with no worker running:
 * GET /api/v1/jobs/:id, the list's state filters, GET /api/v1/queues and the metric
 * nightshift_queue_jobs, before any claim has promoted its row. GET /api/v1/queues says how long until
 * a queue's soonest scheduled job comes due (`nextDueInMs`), and GET /api/v1/jobs?state=queued how long
 * until the next job matching its filter joins the list, as no event marks that moment.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(BACKENDS)('due jobs over HTTP on %s', (backend) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  async function listIds(state: string): Promise<string[]> {
    const response = await s.request('GET', `/api/v1/jobs?queue=due&state=${state}`, {
      token: s.tokens.viewer,
    });
    expect(response.status).toBe(200);
    return (response.body.jobs as Array<{ id: string }>).map((j) => j.id);
  }

  it('reads a delayed job queued once its time has passed, with no worker', async () => {
    const enqueue = async (delayMs: number): Promise<string> => {
      const { status, body } = await s.request('POST', '/api/v1/jobs', {
        body: { task: 'noop', queue: 'due', delayMs },
      });
      expect(status).toBe(201);
      return body.id as string;
    };
    const due = await enqueue(100);
    const later = await enqueue(3_600_000);
    await pause(300);

    const { body: read } = await s.request('GET', `/api/v1/jobs/${due}`, { token: s.tokens.viewer });
    expect(read.job.state).toBe('queued');
    expect(await listIds('queued')).toEqual([due]);
    expect(await listIds('scheduled')).toEqual([later]);

    const { body: queues } = await s.request('GET', '/api/v1/queues', { token: s.tokens.viewer });
    const queue = (queues.queues as Array<{ name: string; counts: Record<string, number> }>).find(
      (q) => q.name === 'due',
    );
    expect(queue?.counts).toMatchObject({ queued: 1, scheduled: 1 });

    const metrics = await fetch(`${s.url}/metrics`, {
      headers: { authorization: `Bearer ${s.tokens.viewer}` },
    });
    const text = await metrics.text();
    expect(text).toContain('nightshift_queue_jobs{queue="due",state="queued"} 1');
    expect(text).toContain('nightshift_queue_jobs{queue="due",state="scheduled"} 1');
  });

  it('says how long until each queue’s soonest scheduled job comes due, by the store’s clock', async () => {
    // Last but one in the file: the store's clock stays frozen where the test leaves it.
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await s.clock.freeze(start);
    const enqueue = async (queue: string, runAt: number) => {
      const { status } = await s.request('POST', '/api/v1/jobs', {
        body: { task: 'noop', queue, runAt: new Date(runAt).toISOString() },
      });
      expect(status).toBe(201);
    };
    await enqueue('next-a', start + 90_000);
    await enqueue('next-a', start + 30_000);
    await enqueue('next-b', start + 600_000);
    await enqueue('next-c', start);
    const nextDue = async (): Promise<Record<string, number | null>> => {
      const { body } = await s.request('GET', '/api/v1/queues', { token: s.tokens.viewer });
      const listed = body.queues as Array<{ name: string; nextDueInMs: number | null }>;
      return Object.fromEntries(
        listed.filter((q) => q.name.startsWith('next-')).map((q) => [q.name, q.nextDueInMs]),
      );
    };
    // A job due now is queued already: its queue has none waiting for its time.
    expect(await nextDue()).toEqual({ 'next-a': 30_000, 'next-b': 600_000, 'next-c': null });
    await s.clock.advance(29_999);
    expect(await nextDue()).toEqual({ 'next-a': 1, 'next-b': 570_001, 'next-c': null });
    // Due: the next one of the queue counts now.
    await s.clock.advance(1);
    expect(await nextDue()).toEqual({ 'next-a': 60_000, 'next-b': 570_000, 'next-c': null });
    await s.clock.advance(600_000);
    expect(await nextDue()).toEqual({ 'next-a': null, 'next-b': null, 'next-c': null });
    const { body } = await s.request('GET', '/api/v1/queues', { token: s.tokens.viewer });
    const a = (body.queues as Array<{ name: string; counts: Record<string, number> }>).find(
      (q) => q.name === 'next-a',
    );
    expect(a?.counts).toMatchObject({ queued: 2, scheduled: 0 });
  });

  it('says on the queued list how long until the next scheduled job matching its filter joins it', async () => {
    // Last in the file: the store's clock stays frozen where the test leaves it.
    const start = Math.floor(Date.now() / 1_000) * 1_000;
    await s.clock.freeze(start);
    const enqueue = async (queue: string, runAt: number, to = 'a@example.com') => {
      const { status, body } = await s.request('POST', '/api/v1/jobs', {
        body: { task: 'email.send', queue, payload: { to }, runAt: new Date(runAt).toISOString() },
      });
      expect(status).toBe(201);
      return body.id as string;
    };
    const now = await enqueue('join', start);
    const soon = await enqueue('join', start + 30_000);
    await enqueue('join', start + 90_000, 'needle@example.com');
    await enqueue('join-elsewhere', start + 10_000);
    const list = async (filter: string): Promise<{ ids: string[]; nextDueInMs: number | null }> => {
      const { status, body } = await s.request('GET', `/api/v1/jobs?${filter}`, { token: s.tokens.viewer });
      expect(status).toBe(200);
      return { ids: (body.jobs as Array<{ id: string }>).map((j) => j.id), nextDueInMs: body.nextDueInMs };
    };
    expect(await list('state=queued&queue=join')).toEqual({ ids: [now], nextDueInMs: 30_000 });
    // Every filter counts: the text is in the later job's payload only.
    expect(await list('state=queued&queue=join&search=NEEDLE')).toEqual({ ids: [], nextDueInMs: 90_000 });
    expect((await list('state=queued&queue=join&task=noop')).nextDueInMs).toBeNull();
    // Other lists show their scheduled jobs, whose runAt says when they change.
    expect((await list('state=scheduled&queue=join')).nextDueInMs).toBeNull();
    expect((await list('queue=join')).nextDueInMs).toBeNull();

    await s.clock.advance(30_000);
    expect(await list('state=queued&queue=join')).toEqual({ ids: [soon, now], nextDueInMs: 60_000 });
    await s.clock.advance(60_000);
    expect((await list('state=queued&queue=join')).nextDueInMs).toBeNull();
  });
});
