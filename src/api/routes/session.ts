/**
 * /api/v1/session: who the caller is to this server (the token's role) and whether the server is
 * read-only, so the dashboard shows only the actions that would succeed. Answers without a token while
 * no token exists at all, with `role: null`, so the dashboard can say how to create the first one.
 */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Role, responses } from '../schemas.js';

const SessionReply = Type.Object(
  {
    role: Type.Union([Role, Type.Null()], {
      description: 'the token’s role; null when no token exists on this server yet',
    }),
    readOnly: Type.Boolean({ description: 'true when the server refuses every change (403 read_only)' }),
  },
  { title: 'Session' },
);

/** Registers the session route. */
export const sessionRoutes: FastifyPluginCallbackTypebox<{ readOnly: boolean }> = (
  app,
  { readOnly },
  done,
) => {
  app.get(
    '/session',
    {
      config: { role: 'viewer', openWhileNoTokens: true },
      schema: {
        summary: 'The caller’s role and whether the server is read-only',
        description: 'Needs no token while no token exists (role is then null).',
        tags: ['meta'],
        response: responses({ 200: SessionReply }),
      },
    },
    (request) => ({ role: request.apiToken?.role ?? null, readOnly }),
  );
  done();
};
