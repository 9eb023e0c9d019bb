/**
 * /api/v1/events: the cluster event log as Server-Sent Events (docs/EVENTS.md). Each message is
 * `id: <cursor>`, `event: <type>`, `data: <ClusterEvent JSON>`; a client that reconnects with
 * `Last-Event-ID` (or `?after=`) resumes right after the last event it got, with nothing skipped or
 * repeated. Without either, the stream starts from now. A `: ping` comment every `pingMs` keeps proxies
 * from closing a quiet stream.
 *
 * The cursor and filters are checked before the stream starts, so a bad one gets the usual JSON error.
 * A stream ends when its client goes away or the server closes (preClose: Fastify would otherwise wait
 * for every open stream before it finishes closing).
 */
import { once } from 'node:events';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CLUSTER_EVENT_TYPES } from '../../cluster-events.js';
import type { Logger } from '../../logger.js';
import type { Nightshift } from '../../nightshift.js';
import { responses } from '../schemas.js';

/** The interval of `: ping` comments. */
export const EVENTS_PING_MS = 15_000;

/** Registers the event stream route. */
export const eventRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift; logger: Logger; pingMs: number }> = (
  app,
  { ns, logger, pingMs },
  done,
) => {
  const streams = new Set<AbortController>();
  app.addHook('preClose', (hookDone) => {
    for (const stream of streams) stream.abort();
    hookDone();
  });

  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Cluster events as Server-Sent Events',
        description: `A text/event-stream of every job, schedule and queue event from every process (types: ${CLUSTER_EVENT_TYPES.join(', ')}). Each message carries the event's cursor as its id; reconnect with the Last-Event-ID header (or ?after=) to resume after it without gaps. A ": ping" comment comes every 15 s.`,
        tags: ['events'],
        querystring: Type.Object(
          {
            queue: Type.Optional(Type.String({ minLength: 1 })),
            task: Type.Optional(Type.String({ minLength: 1 })),
            jobId: Type.Optional(Type.String({ minLength: 1 })),
            after: Type.Optional(Type.String({ minLength: 1, description: 'resume after this event id' })),
          },
          { additionalProperties: false },
        ),
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ description: 'resume after this event id' })),
        }),
        response: responses({ 200: Type.String({ description: 'text/event-stream' }) }),
      },
    },
    async (request, reply) => {
      const { queue, task, jobId } = request.query;
      const filter = { queue, task, jobId };
      const lastEventId = request.headers['last-event-id'];
      const requested = lastEventId !== undefined && lastEventId !== '' ? lastEventId : request.query.after;
      // The first read checks the cursor (a bad one throws invalid_argument: a 400 before streaming).
      const after = requested ?? (await ns.store.eventHead());
      await ns.readEvents({ ...filter, after, limit: 1 });

      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        // nginx buffers responses unless told not to.
        'x-accel-buffering': 'no',
      });
      response.write(': connected\n\n');
      const controller = new AbortController();
      streams.add(controller);
      response.on('close', () => controller.abort());
      const ping = setInterval(() => response.write(': ping\n\n'), pingMs);
      try {
        for await (const event of ns.followEvents({ ...filter, after, signal: controller.signal })) {
          const message = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
          // A slow client: wait for its buffer to drain rather than queue the whole log in memory.
          if (!response.write(message)) await once(response, 'drain', { signal: controller.signal });
        }
      } catch (error) {
        if (!controller.signal.aborted) logger.error({ err: error }, 'event stream failed; closing it');
      } finally {
        clearInterval(ping);
        streams.delete(controller);
        response.end();
      }
    },
  );
  done();
};
