/**
 * The dashboard's Server-Sent Events reader (dashboard/src/events.ts) against a scripted fetch: messages
 * split across chunks at awkward places, keep-alive comments, a dropped connection resumed with
 * Last-Event-ID and fresh credentials, a server without the route reported as unavailable, and a
 * refused token ending the loop.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followEvents, type LiveState } from '../../dashboard/src/events.js';
import type { ClusterEvent } from '../../dashboard/src/types.js';

function stream(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

const event = (id: string, type: string) => JSON.stringify({ id, type, at: '2026-01-01T00:00:00.000Z' });

afterEach(() => vi.unstubAllGlobals());

describe('following events', () => {
  it('parses split messages, skips pings, resumes after the last id and stops where there is no route', async () => {
    const requests: Array<Record<string, string>> = [];
    const answers = [
      () =>
        new Response(
          stream([
            ': ping\n\n',
            `id: c1\nevent: job:enqueued\nda`,
            `ta: ${event('c1', 'job:enqueued')}\n\nid: c2\r\n`,
            `event: job:completed\r\ndata: ${event('c2', 'job:completed')}\r\n\r\n`,
          ]),
          { status: 200, headers: { 'content-type': 'text/event-stream' } },
        ),
      () =>
        new Response(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }), { status: 404 }),
    ];
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => {
      requests.push(init.headers as Record<string, string>);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('one request too many');
      return Promise.resolve(answer());
    });
    let token = 'first';
    const events: ClusterEvent[] = [];
    const states: LiveState[] = [];
    await followEvents(
      () => ({ authorization: `Bearer ${token}` }),
      (e) => {
        events.push(e);
        token = 'second';
      },
      (s) => states.push(s),
      new AbortController().signal,
    );
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ['c1', 'job:enqueued'],
      ['c2', 'job:completed'],
    ]);
    expect(states).toEqual(['live', 'reconnecting', 'unavailable']);
    expect(requests[0]).toEqual({ authorization: 'Bearer first', accept: 'text/event-stream' });
    expect(requests[1]).toEqual({
      authorization: 'Bearer second',
      accept: 'text/event-stream',
      'last-event-id': 'c2',
    });
  });

  it('stops at a refused token instead of asking again with it', async () => {
    let requests = 0;
    vi.stubGlobal('fetch', () => {
      requests += 1;
      if (requests > 1) throw new Error('asked again with a refused token');
      return Promise.resolve(
        new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'token revoked' } }), {
          status: 401,
        }),
      );
    });
    const states: LiveState[] = [];
    await followEvents(
      () => ({ authorization: 'Bearer revoked' }),
      () => undefined,
      (s) => states.push(s),
      new AbortController().signal,
    );
    expect(states).toEqual(['unauthorized']);
    expect(requests).toBe(1);
  });

  it('stops waiting to reconnect once aborted', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('connection refused')));
    const stop = new AbortController();
    const states: LiveState[] = [];
    const following = followEvents(
      () => ({}),
      () => undefined,
      (s) => states.push(s),
      stop.signal,
    );
    await vi.waitFor(() => expect(states).toContain('reconnecting'));
    stop.abort();
    await following;
    expect(states).toEqual(['reconnecting']);
  });
});
