/**
 * /api/v1/queues: every queue with its job count per state, the age of its oldest claimable job,
 * whether it is paused and its ready jobs held back per reason; pause and resume a queue cluster-wide
 * (queues.ts).
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JOB_STATES, type JobState } from '../../job.js';
import type { Nightshift } from '../../nightshift.js';
import { THROTTLE_REASONS, type ThrottleReason } from '../../store/store.js';
import { MAX_NAME_BYTES } from '../../validation/bounds.js';
import { responses } from '../schemas.js';

const Counts = Type.Object(
  Object.fromEntries(JOB_STATES.map((state) => [state, Type.Integer()])) as Record<
    JobState,
    ReturnType<typeof Type.Integer>
  >,
);

export const QueueSchema = Type.Object(
  {
    name: Type.String(),
    counts: Counts,
    oldestReadyAgeMs: Type.Union([Type.Integer(), Type.Null()], {
      description: 'How long the oldest queued (or due) job has waited, database clock; null when none',
    }),
    nextDueInMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description:
        'How long until the soonest scheduled job comes due, database clock; null when no job waits for its time. A job reads queued from its due time on and no event is written then, so a reader showing the counts reads them again after this long.',
    }),
    paused: Type.Boolean(),
    finishedCountsAgeMs: Type.Integer({
      minimum: 0,
      description:
        'How old the completed, failed and cancelled counts are, ms: 0 when read for this answer. Counting them reads the whole history kept; a count that took over 20 ms is reused for up to twenty times as long as it took.',
    }),
    throttled: Type.Object(
      Object.fromEntries(THROTTLE_REASONS.map((reason) => [reason, Type.Integer()])) as Record<
        ThrottleReason,
        ReturnType<typeof Type.Integer>
      >,
      {
        description:
          'Ready jobs (queued, or scheduled and due) that cannot start now, each under the first reason that holds it: paused (the queue), unserved (no live worker claims from the queue), queue_limit (its running limit), queue_rate (its start rate), labels (no live worker offers every label the job requires), key_limit (its concurrency key at its limit), key_rate (its key out of starts)',
      },
    ),
  },
  { title: 'Queue' },
);

const QueueParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_NAME_BYTES }) });
const QueueReply = Type.Object({ queue: QueueSchema });

/** Registers the queue routes. */
export const queueRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/queues',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Queues with their job counts per state',
        description:
          'Every queue that has jobs or is paused. The waiting and running counts and the throttled counts are read now (the waiting jobs once); the finished counts read the whole history kept, and may be reused (finishedCountsAgeMs).',
        tags: ['queues'],
        response: responses({ 200: Type.Object({ queues: Type.Array(QueueSchema) }) }),
      },
    },
    async () => ({ queues: await ns.queues.list() }),
  );

  app.post(
    '/queues/:name/pause',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Pause a queue cluster-wide',
        description:
          'No worker claims its jobs from the next claim on (within a poll interval, 1 s by default); running jobs finish normally and enqueueing stays accepted. A queue is only a name: one without jobs may be paused. Idempotent.',
        tags: ['queues'],
        params: QueueParams,
        response: responses({ 200: QueueReply }),
      },
    },
    async (request) => ({ queue: await ns.queues.pause(request.params.name) }),
  );

  app.post(
    '/queues/:name/resume',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Resume a paused queue',
        description:
          'Workers claim its jobs again at once. Idempotent: resuming a queue not paused changes nothing.',
        tags: ['queues'],
        params: QueueParams,
        response: responses({ 200: QueueReply }),
      },
    },
    async (request) => ({ queue: await ns.queues.resume(request.params.name) }),
  );
  done();
};
