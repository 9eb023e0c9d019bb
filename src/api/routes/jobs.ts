/**
 * /api/v1/jobs: enqueue (one, or many in one transaction), read, list, wait for, retry, cancel and
 * delete jobs, and retry or cancel every job matching a filter. Payloads are validated by the task
 * registry exactly as `ns.enqueue` validates them, so nothing invalid is stored.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { jobJson, jobLogLineJson, jobRunJson } from '../../cli/output.js';
import type { EnqueueOptions } from '../../enqueue.js';
import { NightshiftError } from '../../errors.js';
import { isFinalState, type Job } from '../../job.js';
import type { Nightshift } from '../../nightshift.js';
import { jobFilter, jobListParams } from '../../validation/job-filter.js';
import { ApiError } from '../errors.js';
import {
  BulkCancelBody,
  BulkEnqueueBody,
  BulkRetryBody,
  EnqueueBody,
  EnqueueReply,
  IdParams,
  JobLogLineSchema,
  JobRunSchema,
  JobSchema,
  JobFilterFields,
  JobStateSchema,
  MAX_BULK_CHANGES,
  PageQuery,
  responses,
} from '../schemas.js';

/** The longest `?wait=` a request may hold the connection, in seconds. */
export const MAX_WAIT_SECONDS = 60;

const JobReply = Type.Object({ job: JobSchema });
const OutcomeReply = Type.Object({ outcome: Type.String(), job: JobSchema });

type EnqueueRequest = Static<typeof EnqueueBody>;

function enqueueOptions(body: EnqueueRequest): EnqueueOptions {
  const { task: _task, payload: _payload, ...options } = body;
  return options;
}

function notFound(id: string): NightshiftError {
  return new NightshiftError('not_found', `job ${id} not found`);
}

/** Registers the job routes. */
export const jobRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.post(
    '/jobs',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Enqueue a job',
        description:
          'Answers once the job is durably stored: 201 with the new job, or 200 with the existing one when the idempotency key was used before.',
        tags: ['jobs'],
        body: EnqueueBody,
        response: responses({ 200: EnqueueReply, 201: EnqueueReply }),
      },
    },
    async (request, reply) => {
      const { task, payload } = request.body;
      const result = await ns.enqueue(task, payload, enqueueOptions(request.body));
      return reply
        .status(result.created ? 201 : 200)
        .send({ id: result.id, created: result.created, job: jobJson(result.job) });
    },
  );

  app.post(
    '/jobs/bulk',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Enqueue many jobs in one transaction',
        description:
          'All of them or, when any item is invalid, none (the error names the item). 201 when any job was new.',
        tags: ['jobs'],
        body: BulkEnqueueBody,
        response: responses({
          200: Type.Object({ jobs: Type.Array(EnqueueReply) }),
          201: Type.Object({ jobs: Type.Array(EnqueueReply) }),
        }),
      },
    },
    async (request, reply) => {
      const results = await ns.enqueueMany(
        request.body.jobs.map((item) => ({
          task: item.task,
          payload: item.payload,
          options: enqueueOptions(item),
        })),
      );
      const jobs = results.map((r) => ({ id: r.id, created: r.created, job: jobJson(r.job) }));
      return reply.status(results.some((r) => r.created) ? 201 : 200).send({ jobs });
    },
  );

  app.get(
    '/jobs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List jobs, newest first',
        description:
          'Filters combine. search, createdAfter and createdBefore are tested on the rows state, queue and task select, newest first, until limit match: their cost is bounded by those filters and limit, not by an index of their own. A page walks at most 50,000 jobs past its cursor: when the walk ends first, the page holds the matches it found (perhaps none) and nextCursor searches on from there. Only a null nextCursor ends the list.',
        tags: ['jobs'],
        querystring: Type.Object(
          {
            state: Type.Optional(JobStateSchema),
            queue: Type.Optional(Type.String({ minLength: 1 })),
            task: Type.Optional(Type.String({ minLength: 1 })),
            ...JobFilterFields,
            ...PageQuery,
          },
          // A misspelt filter (?stat=failed) must be refused, not list every job.
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({
            jobs: Type.Array(JobSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            nextDueInMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
              description:
                'With state=queued: how long until the soonest scheduled job matching the other filters comes due and joins the list, database clock; null when none waits for its time, and for any other state (those lists show their scheduled jobs, whose runAt says when). No event marks that moment: a reader showing the list reads it again after this long.',
            }),
          }),
        }),
      },
    },
    async (request) => {
      const { limit = 50, ...filters } = request.query;
      const params = jobListParams({ limit, ...filters });
      // Read before the page: a job coming due between the two reads is then on the page or still
      // waiting here, never missed by both.
      const nextDueInMs = params.state === 'queued' ? await ns.store.jobNextDue(params) : null;
      const page = await ns.store.jobList(params);
      return { jobs: page.jobs.map(jobJson), nextCursor: page.nextCursor, nextDueInMs };
    },
  );

  app.get(
    '/jobs/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Get a job, optionally waiting for it to finish',
        description: `With ?wait=SECONDS (at most ${MAX_WAIT_SECONDS}) the request is held until the job is completed, failed or cancelled, or the wait ends; either way the job is returned as it is then.`,
        tags: ['jobs'],
        params: IdParams,
        querystring: Type.Object(
          { wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS })) },
          { additionalProperties: false },
        ),
        response: responses({ 200: JobReply }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const job = await ns.getJob(id);
      if (job === undefined) throw notFound(id);
      const wait = request.query.wait ?? 0;
      return { job: jobJson(wait > 0 && !isFinalState(job.state) ? await waitOrCurrent(ns, id, wait) : job) };
    },
  );

  app.get(
    '/jobs/:id/runs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A job’s run history, oldest attempt first',
        tags: ['jobs'],
        params: IdParams,
        response: responses({ 200: Type.Object({ runs: Type.Array(JobRunSchema) }) }),
      },
    },
    async (request) => {
      const { id } = request.params;
      if ((await ns.getJob(id)) === undefined) throw notFound(id);
      return { runs: (await ns.getJobRuns(id)).map(jobRunJson) };
    },
  );

  app.get(
    '/jobs/:id/logs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The lines a job’s handler wrote with ctx.log, oldest attempt first',
        description:
          'At most 200 lines per attempt are kept, then one warn line says how many were dropped. A running attempt’s lines appear within about half a second.',
        tags: ['jobs'],
        params: IdParams,
        response: responses({ 200: Type.Object({ logs: Type.Array(JobLogLineSchema) }) }),
      },
    },
    async (request) => {
      const { id } = request.params;
      if ((await ns.getJob(id)) === undefined) throw notFound(id);
      return { logs: (await ns.getJobLogs(id)).map(jobLogLineJson) };
    },
  );

  app.post(
    '/jobs/:id/retry',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Queue a failed or cancelled job again, with one more attempt',
        tags: ['jobs'],
        params: IdParams,
        response: responses({ 200: OutcomeReply }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const { outcome, job } = await ns.retryJob(id);
      if (outcome === 'not_found' || job === undefined) throw notFound(id);
      if (outcome === 'not_retryable') {
        throw new NightshiftError(
          'conflict',
          `job ${id} is ${job.state}; only failed or cancelled jobs can be retried`,
        );
      }
      return { outcome, job: jobJson(job) };
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Cancel a job',
        description:
          'A waiting job is cancelled at once (outcome cancelled); a running one is asked to stop through its AbortSignal (outcome cancel_requested).',
        tags: ['jobs'],
        params: IdParams,
        response: responses({ 200: OutcomeReply }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const { outcome, job } = await ns.cancelJob(id);
      if (outcome === 'not_found' || job === undefined) throw notFound(id);
      if (outcome === 'already_final')
        throw new NightshiftError('conflict', `job ${id} is already ${job.state}`);
      return { outcome, job: jobJson(job) };
    },
  );

  app.delete(
    '/jobs/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Delete a finished job with its run history',
        description: 'Only completed, failed or cancelled jobs; 409 otherwise (cancel it first).',
        tags: ['jobs'],
        params: IdParams,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { outcome } = await ns.store.jobDelete({ id });
      if (outcome === 'not_found') throw notFound(id);
      if (outcome === 'not_final') {
        throw new NightshiftError('conflict', `job ${id} is not finished; cancel it before deleting it`);
      }
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/jobs/bulk-retry',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Retry every failed (or cancelled) job matching a filter',
        description: `Works in short batches; changes at most limit jobs (default and maximum ${MAX_BULK_CHANGES}) and says how many.`,
        tags: ['jobs'],
        body: BulkRetryBody,
        response: responses({ 200: Type.Object({ retried: Type.Integer() }) }),
      },
    },
    async (request) => {
      const { limit = MAX_BULK_CHANGES, search, createdAfter, createdBefore, ...match } = request.body;
      const filter = jobFilter({ search, createdAfter, createdBefore });
      return ns.store.jobRetryMatching({ match: { ...match, ...filter }, limit });
    },
  );

  app.post(
    '/jobs/bulk-cancel',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Cancel every waiting or running job matching a filter',
        description: `Waiting jobs are cancelled, running ones asked to stop; works in short batches, at most limit jobs (default and maximum ${MAX_BULK_CHANGES}).`,
        tags: ['jobs'],
        body: BulkCancelBody,
        response: responses({
          200: Type.Object({ cancelled: Type.Integer(), cancelRequested: Type.Integer() }),
        }),
      },
    },
    async (request) => {
      const { limit = MAX_BULK_CHANGES, search, createdAfter, createdBefore, ...match } = request.body;
      const filter = jobFilter({ search, createdAfter, createdBefore });
      return ns.store.jobCancelMatching({ match: { ...match, ...filter }, limit });
    },
  );
  done();
};

/** The finished job, or the job as it is once `seconds` have passed. */
async function waitOrCurrent(ns: Nightshift, id: string, seconds: number): Promise<Job> {
  try {
    return await ns.waitFor(id, { timeoutMs: seconds * 1_000 });
  } catch (error) {
    if (!(error instanceof NightshiftError) || error.code !== 'timeout') throw error;
    const job = await ns.getJob(id);
    if (job === undefined) throw new ApiError(404, 'not_found', `job ${id} not found`);
    return job;
  }
}
