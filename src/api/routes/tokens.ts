/** /api/v1/tokens: API tokens, managed by admins. A new token's secret is in the create reply only. */
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NightshiftError } from '../../errors.js';
import type { Nightshift } from '../../nightshift.js';
import type { ApiToken } from '../../store/store.js';
import { IdParams, Role, TokenSchema, responses } from '../schemas.js';
import { issueToken, TOKEN_EXPIRY_RANGE } from '../tokens.js';
import { MAX_TOKEN_NAME_LENGTH } from '../../validation/bounds.js';

/** A token as the API and `tokens list --json` show it. */
export function tokenJson(token: ApiToken) {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}

/** Registers the token routes. */
export const tokenRoutes: FastifyPluginCallbackTypebox<{ ns: Nightshift }> = (app, { ns }, done) => {
  app.get(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'List API tokens (never their secrets)',
        tags: ['tokens'],
        response: responses({ 200: Type.Object({ tokens: Type.Array(TokenSchema) }) }),
      },
    },
    async () => ({ tokens: (await ns.store.tokenList()).map(tokenJson) }),
  );

  app.post(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create an API token',
        description: 'The reply holds the secret (token); it is stored only as a hash and never shown again.',
        tags: ['tokens'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: MAX_TOKEN_NAME_LENGTH }),
            role: Role,
            expiresInMs: Type.Optional(
              Type.Integer({ minimum: TOKEN_EXPIRY_RANGE[0], maximum: TOKEN_EXPIRY_RANGE[1] }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ ...TokenSchema.properties, token: Type.String() }) }),
      },
    },
    async (request, reply) => {
      const { token, secret } = await issueToken(ns.store, request.body);
      return reply.status(201).send({ ...tokenJson(token), token: secret });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke an API token for good',
        tags: ['tokens'],
        params: IdParams,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      if (!(await ns.store.tokenRevoke({ id: request.params.id }))) {
        throw new NightshiftError('not_found', `no active token ${request.params.id}`);
      }
      return reply.status(204).send(null);
    },
  );
  done();
};
