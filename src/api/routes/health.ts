/**
 * /healthz (the process is alive and serving) and /readyz (the database answers and its schema is the
 * one this code needs), for load balancers and orchestrators; neither needs a token.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NightshiftError } from '../../errors.js';
import type { Nightshift } from '../../nightshift.js';
import { responses } from '../schemas.js';

/** Registers the health routes. */
export const healthRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/healthz',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Alive',
        tags: ['health'],
        response: responses({ 200: Type.Object({ status: Type.Literal('ok') }) }),
      },
    },
    (_request, reply) => {
      void reply.send({ status: 'ok' as const });
    },
  );

  app.get(
    '/readyz',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Ready: the database answers and its schema is current',
        description: '503 with database_unavailable or schema_too_new otherwise.',
        tags: ['health'],
        response: responses({
          200: Type.Object({
            status: Type.Literal('ready'),
            schema: Type.Object({ current: Type.Integer(), latest: Type.Integer() }),
          }),
        }),
      },
    },
    async () => {
      const schema = await ns.store.schemaVersion();
      if (schema.current > schema.latest) await ns.store.schemaCheck();
      if (schema.current < schema.latest) {
        throw new NightshiftError(
          'database_unavailable',
          `database schema is at version ${schema.current}, this nightshift needs ${schema.latest}: run nightshift migrate`,
        );
      }
      return { status: 'ready' as const, schema };
    },
  );
  done();
};
