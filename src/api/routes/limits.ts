/**
 * /api/v1/limits: concurrency keys, queue limits and rates, and groups (docs/TENANCY.md): the running
 * count and the limit or weight in force of each, and an operator's settings.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Nightshift } from '../../nightshift.js';
import {
  JOB_RANGES,
  MAX_KEY_BYTES,
  MAX_KEYS_PAGE,
  MAX_NAME_BYTES,
  RATE_RANGES,
} from '../../validation/bounds.js';
import { integerIn, responses } from '../schemas.js';

const Limit = Type.Union([integerIn(JOB_RANGES.concurrencyLimit), Type.Null()]);

const Rate = Type.Object(
  {
    limit: integerIn(RATE_RANGES.limit, 'starts at most per period'),
    periodMs: integerIn(RATE_RANGES.periodMs),
  },
  { additionalProperties: false, title: 'StartRate' },
);

export const ConcurrencyKeySchema = Type.Object(
  {
    key: Type.String(),
    running: Type.Integer({
      description: 'jobs of the key running now (a lapsed lease counts until rescued)',
    }),
    limit: Type.Union([Type.Integer(), Type.Null()], {
      description:
        "the operator's limit, else the smallest own limit among the jobs the latest claim took; null: neither (a key an operator's limit or rate made before any claim took one of its jobs)",
    }),
    operatorLimit: Type.Union([Type.Integer(), Type.Null()]),
    rate: Type.Union([Rate, Type.Null()], { description: "the operator's rate of starts; null: none" }),
  },
  { title: 'ConcurrencyKey' },
);

export const QueueLimitSchema = Type.Object(
  {
    queue: Type.String(),
    limit: Type.Union([Type.Integer(), Type.Null()], { description: 'null: removed' }),
    running: Type.Integer({ description: 'running jobs claimed while the queue had a limit' }),
    rate: Type.Union([Rate, Type.Null()], { description: 'cluster-wide rate of starts; null: none' }),
  },
  { title: 'QueueLimit' },
);

const SetRate = Type.Object(
  { rate: Type.Union([Rate, Type.Null()]) },
  { additionalProperties: false, description: 'a rate sets it, null removes it' },
);

const RATE_DESCRIPTION =
  'At most `limit` starts per `periodMs` on the database clock: a burst of `limit`, then one start every periodMs / limit. A new rate allows its full burst at once.';

export const JobGroupSchema = Type.Object(
  {
    group: Type.String(),
    weight: Type.Integer({ description: 'turns per visit of its jobs in a queue (1 unless set)' }),
    queued: Type.Integer({ description: 'its jobs ready to run now' }),
    running: Type.Integer({ description: 'its jobs running now (a lapsed lease counts until rescued)' }),
  },
  { title: 'JobGroup' },
);

const SetWeight = Type.Object(
  { weight: Type.Union([integerIn(JOB_RANGES.groupWeight), Type.Null()]) },
  { additionalProperties: false, description: 'a number sets the weight, null resets it to 1' },
);

const SetLimit = Type.Object(
  { limit: Limit },
  { additionalProperties: false, description: 'a number sets the limit, null removes it' },
);

/** Registers the limits routes. */
/** The paging of the keys' and the groups' lists (`ns.concurrencyKeys`, `ns.groups`). */
const RunningPageQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ maxLength: MAX_KEY_BYTES })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_KEYS_PAGE })),
    running: Type.Optional(Type.Boolean()),
  },
  // A misspelt parameter (?runing=true) must be refused, not list every key or group.
  { additionalProperties: false },
);

export const limitRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/limits/keys',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Concurrency keys with their running counts and limits',
        description:
          'Keys ever claimed, by key, after `after`; `running=true` keeps those with running jobs.',
        tags: ['limits'],
        querystring: RunningPageQuery,
        response: responses({ 200: Type.Object({ keys: Type.Array(ConcurrencyKeySchema) }) }),
      },
    },
    async (request) => ({ keys: await ns.concurrencyKeys(request.query) }),
  );

  app.put(
    '/limits/keys/:key',
    {
      config: { role: 'operator' },
      schema: {
        summary: "Set or clear an operator's limit for a concurrency key",
        description:
          "Wins over the limit the key's jobs were enqueued with. Running jobs are never interrupted: a lower limit stops new claims until fewer run.",
        tags: ['limits'],
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES }) }),
        body: SetLimit,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await ns.setConcurrencyLimit(request.params.key, request.body.limit);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/limits/keys/:key/rate',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Set or remove the rate of starts of a concurrency key',
        description: RATE_DESCRIPTION,
        tags: ['limits'],
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES }) }),
        body: SetRate,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await ns.setConcurrencyRate(request.params.key, request.body.rate);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/limits/groups',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Groups of fairly claimed jobs with their weights, ready and running counts',
        description:
          'Groups with ready or running jobs or a weight, by name, after `after`; `running=true` keeps those with running jobs. Counted when read.',
        tags: ['limits'],
        querystring: RunningPageQuery,
        response: responses({ 200: Type.Object({ groups: Type.Array(JobGroupSchema) }) }),
      },
    },
    async (request) => ({ groups: await ns.groups(request.query) }),
  );

  app.put(
    '/limits/groups/:group',
    {
      config: { role: 'operator' },
      schema: {
        summary: "Set or reset a group's weight",
        description:
          'The turns the group gets each time the claims reach its jobs in a queue (1 without a weight), from the next claim.',
        tags: ['limits'],
        params: Type.Object({ group: Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES }) }),
        body: SetWeight,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await ns.setGroupWeight(request.params.group, request.body.weight);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/limits/queues',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Queues with a cluster-wide limit, with their running counts',
        tags: ['limits'],
        response: responses({ 200: Type.Object({ queues: Type.Array(QueueLimitSchema) }) }),
      },
    },
    async () => ({ queues: await ns.queueLimits() }),
  );

  app.put(
    '/limits/queues/:name',
    {
      config: { role: 'operator' },
      schema: {
        summary: "Set or remove a queue's cluster-wide limit of running jobs",
        description: 'A new limit counts the jobs claimed from then on. Running jobs are never interrupted.',
        tags: ['limits'],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_NAME_BYTES }) }),
        body: SetLimit,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await ns.setQueueLimit(request.params.name, request.body.limit);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/limits/queues/:name/rate',
    {
      config: { role: 'operator' },
      schema: {
        summary: "Set or remove a queue's cluster-wide rate of starts",
        description: RATE_DESCRIPTION,
        tags: ['limits'],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_NAME_BYTES }) }),
        body: SetRate,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await ns.setQueueRate(request.params.name, request.body.rate);
      return reply.status(204).send(null);
    },
  );
  done();
};
