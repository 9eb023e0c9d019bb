/**
 * /api/v1/tasks: the task catalog (task-catalog.ts): every task this server knows and every task a
 * live worker implements, with the defaults and payload JSON Schema the server knows, and the workers
 * that would run its jobs.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import type { Nightshift } from '../../nightshift.js';
import { responses } from '../schemas.js';

/** A default the server knows, or null. */
const orNull = <T extends TSchema>(schema: T, description: string) =>
  Type.Union([schema, Type.Null()], { description });

export const TaskCatalogEntrySchema = Type.Object(
  {
    name: Type.String(),
    declared: Type.Boolean({
      description:
        'known to this server (its config tasks, contracts, implementations): POST /jobs accepts it',
    }),
    queue: orNull(Type.String(), 'the task’s default queue; null when only a worker knows the task'),
    priority: orNull(Type.Integer(), 'the task’s default priority; null when only a worker knows the task'),
    maxAttempts: orNull(
      Type.Integer(),
      'the task’s default attempts per job; null when only a worker knows the task',
    ),
    timeoutMs: orNull(
      Type.Integer(),
      'the task’s handler time limit in ms; null when it sets none (the worker’s applies) or only a worker knows the task',
    ),
    payloadSchema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description:
        'the JSON Schema (draft 2020-12) of the payload a producer sends; null when the task has no payload schema, its validator cannot convert it to JSON Schema, or only a worker knows the task',
    }),
    workers: Type.Array(Type.String(), {
      description:
        'ids of the live workers implementing it (heartbeat at most 30 s old); empty: its jobs wait until one runs',
    }),
  },
  { title: 'Task' },
);

/** Registers the task catalog route. */
export const taskRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/tasks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Tasks this server knows and tasks running workers implement',
        description:
          'Every task this server declares (its config’s tasks, contracts and implementations) and every task a live worker implements, sorted by name. A declared task no worker implements is accepted by POST /jobs, and its jobs wait until a worker implementing it runs.',
        tags: ['tasks'],
        response: responses({ 200: Type.Object({ tasks: Type.Array(TaskCatalogEntrySchema) }) }),
      },
    },
    async () => ({ tasks: await ns.taskCatalog() }),
  );
  done();
};
