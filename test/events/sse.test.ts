/**
 * GET /api/v1/events over real HTTP on both backends: the stream delivers every event with its cursor
 * as id, resumes after Last-Event-ID (or ?after=) with no gap and no repeat, filters by queue, task and
 * job id, pings, refuses a bad cursor before streaming, and ends on client disconnect and server close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from '../api/api-server.js';
import { openSse, type SseMessage, type SseStream } from './sse-client.js';

const dataOf = (messages: SseMessage[]) =>
  messages
    .filter((m) => m.data !== undefined)
    .map((m) => m.data as { id: string; type: string; jobId?: string });

describe.each(BACKENDS)('event stream on %s', (backend) => {
  let s: TestServer;
  const open: SseStream[] = [];
  beforeAll(async () => {
    s = await startTestServer(backend, { eventsPingMs: 200 });
  });
  afterAll(async () => {
    for (const stream of open) stream.close();
    await s.close();
  });

  const stream = async (query = '', headers: Record<string, string> = {}): Promise<SseStream> => {
    const opened = await openSse(`${s.url}/api/v1/events${query}`, {
      authorization: `Bearer ${s.tokens.viewer}`,
      ...headers,
    });
    open.push(opened);
    return opened;
  };
  const enqueue = (queue: string, n: number) =>
    s.ns.enqueueMany(
      Array.from({ length: n }, (_, i) => ({ task: 'noop', payload: { i }, options: { queue } })),
    );

  it('resumes after Last-Event-ID without gaps or repeats', async () => {
    const first = await stream('?queue=resume');
    expect(first.status).toBe(200);
    await first.until((m) => m.some((x) => x.comment === 'connected'));
    const before = await enqueue('resume', 30);
    await first.until((m) => dataOf(m).length >= 10);
    first.close();
    await first.ended;
    const seen = dataOf(first.messages);
    const last = first.messages.filter((m) => m.id !== undefined).at(-1);
    expect(seen.every((e, i) => first.messages.filter((m) => m.id !== undefined)[i]?.id === e.id)).toBe(true);
    const after = await enqueue('resume', 20);
    const resumed = await stream('?queue=resume', { 'last-event-id': last?.id ?? '' });
    const all = [...before, ...after].map((r) => r.id);
    await resumed.until((m) => seen.length + dataOf(m).length >= all.length);
    const ids = [...seen, ...dataOf(resumed.messages)].map((e) => e.jobId);
    expect(ids).toEqual(all);
    const viaQuery = await stream(`?queue=resume&after=${encodeURIComponent(last?.id ?? '')}`);
    await viaQuery.until((m) => dataOf(m).length >= all.length - seen.length);
    expect(dataOf(viaQuery.messages).map((e) => e.id)).toEqual(dataOf(resumed.messages).map((e) => e.id));
  });

  it('filters by queue, task and job id, and names each message by its type', async () => {
    const byQueue = await stream('?queue=filter-a');
    const byJob = await stream('?task=noop&jobId=');
    expect(byJob.status).toBe(400);
    await byQueue.until((m) => m.some((x) => x.comment === 'connected'));
    const [a] = await enqueue('filter-a', 1);
    await enqueue('filter-b', 3);
    const one = await stream(
      `?jobId=${a?.id ?? ''}&after=${encodeURIComponent((await s.store.eventRead({ after: null, limit: 1 })).events[0]?.id ?? '')}`,
    );
    await byQueue.until((m) => dataOf(m).length >= 1);
    await one.until((m) => dataOf(m).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(dataOf(byQueue.messages).map((e) => e.jobId)).toEqual([a?.id]);
    expect(dataOf(one.messages).map((e) => e.jobId)).toEqual([a?.id]);
    const message = byQueue.messages.find((m) => m.data !== undefined);
    expect(message?.event).toBe('job:enqueued');
    expect(message?.data).toMatchObject({
      type: 'job:enqueued',
      queue: 'filter-a',
      task: 'noop',
      state: 'queued',
    });
  });

  it('pings a quiet stream, refuses a bad cursor with a JSON error, and ends when the client leaves', async () => {
    const quiet = await stream('?queue=nobody');
    await quiet.until((m) => m.some((x) => x.comment === 'ping'));
    const bad = await s.request('GET', '/api/v1/events?after=nope', { token: s.tokens.viewer });
    const body = bad.body as { error: { code: string } };
    expect({ status: bad.status, code: body.error.code }).toEqual({
      status: 400,
      code: 'invalid_argument',
    });
    quiet.close();
    await quiet.ended;
  });
});

describe('event stream and server close', () => {
  it('ends open streams when the server closes', async () => {
    const s = await startTestServer('sqlite');
    const opened = await openSse(`${s.url}/api/v1/events`, { authorization: `Bearer ${s.tokens.viewer}` });
    await opened.until((m) => m.some((x) => x.comment === 'connected'));
    await s.close();
    await opened.ended;
  });
});
