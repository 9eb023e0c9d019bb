/** /api/v1/queues: every queue with its job count per state. */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JOB_STATES, type JobState } from '../../job.js';
import type { Nightshift } from '../../nightshift.js';
import { responses } from '../schemas.js';

const Counts = Type.Object(
  Object.fromEntries(JOB_STATES.map((state) => [state, Type.Integer()])) as Record<
    JobState,
    ReturnType<typeof Type.Integer>
  >,
);

export const QueueSchema = Type.Object({ name: Type.String(), counts: Counts }, { title: 'Queue' });

/** Registers the queue routes. */
export const queueRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/queues',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Queues with their job counts per state',
        tags: ['queues'],
        response: responses({ 200: Type.Object({ queues: Type.Array(QueueSchema) }) }),
      },
    },
    async () => {
      const queues = new Map<string, Record<JobState, number>>();
      for (const { queue, state, count } of await ns.store.jobCountByQueue()) {
        let counts = queues.get(queue);
        if (counts === undefined) {
          counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
          queues.set(queue, counts);
        }
        counts[state] = count;
      }
      return { queues: [...queues].map(([name, counts]) => ({ name, counts })) };
    },
  );
  done();
};
