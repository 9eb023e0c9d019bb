/**
 * /api/v1/schedules: recurring schedules as data. Reading needs `viewer`; running one now, pausing and
 * resuming are operator actions; creating, changing and deleting schedules need `admin`. Every input is
 * validated whole by the schedule service (cron, time zone, task, payload) before anything is written.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { scheduleJson, slotJson } from '../../cli/output.js';
import { NightshiftError } from '../../errors.js';
import type { Nightshift } from '../../nightshift.js';
import { SCHEDULE_CONDITIONS } from '../../schedule-types.js';
import { scheduleNotFound } from '../../scheduler/schedule.js';
import {
  IdParams,
  PageQuery,
  ScheduleCreateBody,
  SchedulePatchBody,
  ScheduleSchema,
  SlotSchema,
  responses,
} from '../schemas.js';

const ScheduleReply = Type.Object({ schedule: ScheduleSchema });

/** Registers the schedule routes. */
export const scheduleRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/schedules',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List schedules by id',
        description:
          'Filters combine, as in ns.schedules.list() and `nightshift schedules list`. A nextCursor continues the list it came from: send it with the same filters.',
        tags: ['schedules'],
        querystring: Type.Object(
          {
            task: Type.Optional(Type.String({ description: 'Only schedules of this task' })),
            state: Type.Optional(
              Type.Enum([...SCHEDULE_CONDITIONS], {
                description:
                  'active: neither paused nor suspended; paused: paused by an operator; suspended: stopped after maxConsecutiveFailures until resumed',
              }),
            ),
            idPrefix: Type.Optional(
              Type.String({ description: 'Only ids starting with this text (case-sensitive)' }),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            schedules: Type.Array(ScheduleSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => {
      const page = await ns.schedules.list(request.query);
      return { schedules: page.schedules.map(scheduleJson), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/schedules',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a schedule',
        description: 'Kept across config syncs (source api). 409 when the id exists.',
        tags: ['schedules'],
        body: ScheduleCreateBody,
        response: responses({ 201: ScheduleReply }),
      },
    },
    async (request, reply) => {
      const schedule = await ns.schedules.create(request.body);
      return reply.status(201).send({ schedule: scheduleJson(schedule) });
    },
  );

  app.get(
    '/schedules/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A schedule with its next slots and recent slot ledger',
        tags: ['schedules'],
        params: IdParams,
        response: responses({
          200: Type.Object({
            schedule: ScheduleSchema,
            nextSlots: Type.Array(Type.String({ format: 'date-time' })),
            recentSlots: Type.Array(SlotSchema),
          }),
        }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const details = await ns.schedules.get(id);
      if (details === undefined) throw scheduleNotFound(id);
      return {
        schedule: scheduleJson(details.schedule),
        nextSlots: details.nextSlots.map((d) => d.toISOString()),
        recentSlots: details.recentSlots.map(slotJson),
      };
    },
  );

  app.patch(
    '/schedules/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Change a schedule',
        description:
          'As a JSON merge patch: the fields given replace the current ones, a field left out keeps its value, and null empties queue (back to the task’s), priority (the task’s) or maxConsecutiveFailures (never suspend). A new cron, interval or time zone restarts it at the next slot from now.',
        tags: ['schedules'],
        params: IdParams,
        body: SchedulePatchBody,
        response: responses({ 200: ScheduleReply }),
      },
    },
    async (request) => {
      const schedule = await ns.schedules.update(request.params.id, request.body);
      return { schedule: scheduleJson(schedule) };
    },
  );

  app.delete(
    '/schedules/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete a schedule and its slot ledger (its jobs are kept)',
        tags: ['schedules'],
        params: IdParams,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      if (!(await ns.schedules.delete(request.params.id))) throw scheduleNotFound(request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/schedules/:id/trigger',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Run a schedule now, under its overlap policy',
        description:
          '202 once the run is stored: status enqueued with the job id, or waiting (overlap queue: it runs when the active run ends). 409 when the overlap policy skipped it. 422 unknown_task when this server does not declare the schedule’s task (its job would miss the task’s queue and attempts), as POST /jobs.',
        tags: ['schedules'],
        params: IdParams,
        response: responses({
          202: Type.Object({
            status: Type.Enum(['enqueued', 'waiting']),
            jobId: Type.Union([Type.String(), Type.Null()]),
            reason: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request, reply) => {
      // Refused with unknown_task (422, as POST /jobs) when this server does not declare the
      // schedule's task (a schedule another deployment's config made): its job would miss the task's
      // queue and attempts.
      const outcome = await ns.schedules.trigger(request.params.id);
      if (outcome.status === 'skipped')
        throw new NightshiftError('conflict', `trigger skipped: ${outcome.reason}`);
      const body =
        outcome.status === 'enqueued'
          ? { status: outcome.status, jobId: outcome.jobId, reason: null }
          : { status: outcome.status, jobId: null, reason: outcome.reason };
      return reply.status(202).send(body);
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/schedules/:id/${action}`,
      {
        config: { role: 'operator' },
        schema: {
          summary:
            action === 'pause'
              ? 'Pause a schedule'
              : 'Resume a paused or suspended schedule from its next slot',
          tags: ['schedules'],
          params: IdParams,
          response: responses({ 200: ScheduleReply }),
        },
      },
      async (request) => {
        const { id } = request.params;
        const schedule = action === 'pause' ? await ns.schedules.pause(id) : await ns.schedules.resume(id);
        return { schedule: scheduleJson(schedule) };
      },
    );
  }
  done();
};
