/** /api/v1/workers: the workers running now, in any process on this database (registration.ts). */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { workerJson } from '../../cli/output.js';
import type { Nightshift } from '../../nightshift.js';
import { responses } from '../schemas.js';

const dateTime = Type.String({ format: 'date-time' });

export const WorkerSchema = Type.Object(
  {
    id: Type.String(),
    host: Type.String(),
    pid: Type.Integer(),
    queues: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: every queue' }),
    labels: Type.Array(Type.String(), {
      description: 'labels it offers, sorted: it claims jobs whose every required label is here',
    }),
    tasks: Type.Array(Type.String(), {
      description:
        'tasks it has a handler for, sorted, written when it registered; empty for a worker registered by a nightshift that did not record them',
    }),
    concurrency: Type.Integer(),
    running: Type.Integer({ description: 'handlers running at its last heartbeat' }),
    staleMs: Type.Integer({
      description:
        'its workerStaleMs: it counts as gone once its last heartbeat is this old (or 30,000 ms, the longer); 30,000 for a worker registered by a nightshift that did not record it',
    }),
    startedAt: dateTime,
    heartbeatAt: dateTime,
  },
  { title: 'Worker' },
);

/** Registers the worker routes. */
export const workerRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/workers',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Workers running now',
        description:
          'Every worker whose heartbeat (every 5 s by default) is at most 30 s old, by id. A worker stopped normally leaves at once; one killed leaves when its heartbeat is 30 s old.',
        tags: ['workers'],
        response: responses({ 200: Type.Object({ workers: Type.Array(WorkerSchema) }) }),
      },
    },
    async () => ({ workers: (await ns.workers()).map(workerJson) }),
  );
  done();
};
