/**
 * Who may call what, over real HTTP on both backends: every route of the published document against
 * the role it must need (no token 401, a lower role 403, revoked and expired tokens 401), routes that
 * declare no role refused at start-up, and the listening rules without tokens.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import Fastify from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installRoleCheck, TokenAuthenticator } from '../../src/api/auth.js';
import { createApiServer, isLoopback, startApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/api/tokens.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ApiRole } from '../../src/store/store.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

/** The role each route needs; a route missing here fails the test, so a new route gets a line. */
const REQUIRED: Record<string, ApiRole> = {
  'GET /api/v1/jobs': 'viewer',
  'POST /api/v1/jobs': 'operator',
  'POST /api/v1/jobs/bulk': 'operator',
  'GET /api/v1/jobs/{id}': 'viewer',
  'DELETE /api/v1/jobs/{id}': 'operator',
  'GET /api/v1/jobs/{id}/runs': 'viewer',
  'GET /api/v1/jobs/{id}/logs': 'viewer',
  'POST /api/v1/jobs/{id}/retry': 'operator',
  'POST /api/v1/jobs/{id}/cancel': 'operator',
  'POST /api/v1/jobs/bulk-retry': 'operator',
  'POST /api/v1/jobs/bulk-cancel': 'operator',
  'GET /api/v1/schedules': 'viewer',
  'POST /api/v1/schedules': 'admin',
  'GET /api/v1/schedules/{id}': 'viewer',
  'PATCH /api/v1/schedules/{id}': 'admin',
  'DELETE /api/v1/schedules/{id}': 'admin',
  'POST /api/v1/schedules/{id}/trigger': 'operator',
  'POST /api/v1/schedules/{id}/pause': 'operator',
  'POST /api/v1/schedules/{id}/resume': 'operator',
  'GET /api/v1/queues': 'viewer',
  'POST /api/v1/queues/{name}/pause': 'operator',
  'POST /api/v1/queues/{name}/resume': 'operator',
  'GET /api/v1/workers': 'viewer',
  'GET /api/v1/tasks': 'viewer',
  'GET /api/v1/limits/keys': 'viewer',
  'PUT /api/v1/limits/keys/{key}': 'operator',
  'PUT /api/v1/limits/keys/{key}/rate': 'operator',
  'GET /api/v1/limits/groups': 'viewer',
  'PUT /api/v1/limits/groups/{group}': 'operator',
  'GET /api/v1/limits/queues': 'viewer',
  'PUT /api/v1/limits/queues/{name}': 'operator',
  'PUT /api/v1/limits/queues/{name}/rate': 'operator',
  'GET /api/v1/openapi.json': 'viewer',
  'GET /api/v1/events': 'viewer',
  'GET /api/v1/session': 'viewer',
  'GET /api/v1/tokens': 'admin',
  'POST /api/v1/tokens': 'admin',
  'DELETE /api/v1/tokens/{id}': 'admin',
  'GET /api/v1/alerts': 'viewer',
  'GET /api/v1/stats': 'viewer',
};
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics'];
/**
 * Routes that answer with an endless stream: the allowed-role request asks with a malformed cursor, so
 * a 400 proves it passed the role check without opening a stream the test would wait on forever.
 */
const STREAM_QUERY: Record<string, string> = { 'GET /api/v1/events': '?after=not-a-cursor' };
const LOWER: Record<ApiRole, ApiRole[]> = { viewer: [], operator: ['viewer'], admin: ['viewer', 'operator'] };

describe.each(BACKENDS)('roles on %s', (backend) => {
  let s: TestServer;
  let routes: Array<{ method: string; template: string; path: string }>;
  beforeAll(async () => {
    s = await startTestServer(backend);
    const document = (await s.request('GET', '/api/v1/openapi.json', { token: s.tokens.viewer })).body;
    routes = Object.entries(document.paths as Record<string, object>).flatMap(([template, methods]) =>
      Object.keys(methods).map((method) => ({
        method: method.toUpperCase(),
        template,
        path: template.replace(/\{[^}]+\}/g, uuidv7()),
      })),
    );
  });
  afterAll(() => s.close());

  it('lists every route in the role table', () => {
    const seen = routes.map((r) => `${r.method} ${r.template}`).sort();
    expect(seen).toEqual([...Object.keys(REQUIRED), ...PUBLIC].sort());
  });

  it('answers 401 without a token and 403 with a lower role, before doing anything', async () => {
    const before = await s.store.jobCountByQueue();
    for (const route of routes) {
      const key = `${route.method} ${route.template}`;
      if (PUBLIC.includes(key)) {
        expect((await s.request(route.method, route.path, { token: null })).status).toBe(200);
        continue;
      }
      const need = REQUIRED[key];
      if (need === undefined) throw new Error(`no role for ${key}`);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      const none = await s.request(route.method, route.path, { token: null, body });
      expect({ key, status: none.status, code: none.body.error.code }).toEqual({
        key,
        status: 401,
        code: 'unauthorized',
      });
      const garbage = await s.request(route.method, route.path, { token: 'ns_not-a-real-token', body });
      expect({ key, status: garbage.status }).toEqual({ key, status: 401 });
      for (const lower of LOWER[need]) {
        const response = await s.request(route.method, route.path, { token: s.tokens[lower], body });
        expect({ key, lower, status: response.status, code: response.body.error.code }).toEqual({
          key,
          lower,
          status: 403,
          code: 'forbidden',
        });
      }
      // The right role gets past the check: whatever the answer, it is not about the token.
      const allowed = await s.request(route.method, route.path + (STREAM_QUERY[key] ?? ''), {
        token: s.tokens[need],
        body,
      });
      expect({ key, status: allowed.status }).not.toEqual({
        key,
        status: expect.toSatisfy((n: number) => n === 401 || n === 403),
      });
    }
    expect(await s.store.jobCountByQueue()).toEqual(before);
    // Fastify answers HEAD for every GET route; the role check covers those too.
    expect((await fetch(`${s.url}/api/v1/jobs`, { method: 'HEAD' })).status).toBe(401);
  });

  it('refuses revoked and expired tokens, and records a token’s last use', async () => {
    const { token, secret } = await issueToken(s.store, { name: 'short', role: 'admin', expiresInMs: 400 });
    expect((await s.request('GET', '/api/v1/queues', { token: secret })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const expired = await s.request('GET', '/api/v1/queues', { token: secret });
    expect(expired.status).toBe(401);
    const listed = (await s.store.tokenList()).find((t) => t.id === token.id);
    expect(listed?.lastUsedAt).toBeInstanceOf(Date);

    const created = await s.request('POST', '/api/v1/tokens', { body: { name: 'via-api', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^ns_[A-Za-z0-9_-]{43}$/);
    expect((await s.request('GET', '/api/v1/queues', { token: created.body.token })).status).toBe(200);
    expect((await s.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
    expect((await s.request('GET', '/api/v1/queues', { token: created.body.token })).status).toBe(401);
    expect((await s.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(404);
    const all = await s.request('GET', '/api/v1/tokens');
    expect(JSON.stringify(all.body)).not.toContain(created.body.token);
  });
});

describe('route roles are mandatory', () => {
  it('refuses a route that declares no role', async () => {
    const app = Fastify();
    installRoleCheck(app, new TokenAuthenticator({} as never, createLogger({ level: 'silent' })));
    expect(() => app.get('/open', () => 'x')).toThrow(/declares no role/);
    expect(() => app.get('/typo', { config: { role: 'superuser' as never } }, () => 'x')).toThrow(
      /declares no role/,
    );
    await app.close();
  });
});

describe('listening without tokens', () => {
  let ns: Nightshift;
  const file = tempSqliteFile();
  const warnings: string[] = [];
  beforeAll(async () => {
    const logger = createLogger({ level: 'silent' });
    logger.warn = ((_: unknown, message: string) => void warnings.push(message)) as typeof logger.warn;
    ns = await Nightshift.connect({ db: await SqliteStore.open({ filename: file.path }), logger });
  });
  afterAll(async () => {
    await ns.close();
    await ns.store.close();
    file.remove();
  });

  it('refuses an address beyond loopback, and on loopback warns and lets nothing through', async () => {
    await expect(startApiServer({ ns, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'config_error',
    });
    const { app, url } = await startApiServer({ ns, host: '127.0.0.1', port: 0 });
    try {
      expect(warnings.join('\n')).toMatch(/no API token exists/);
      expect((await fetch(`${url}/api/v1/queues`)).status).toBe(401);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('refuses a misspelt option before it builds or listens: a `readonly` would serve a writable API', async () => {
    const options = { ns, host: '127.0.0.1', port: 0, readonly: true } as Parameters<
      typeof startApiServer
    >[0];
    await expect(startApiServer(options)).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(
        /^unknown API server option "readonly"; the options are .*readOnly/,
      ) as string,
    });
    await expect(
      createApiServer({ ns, bodyLimt: 10 } as Parameters<typeof createApiServer>[0]),
    ).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(/unknown API server option "bodyLimt"/) as string,
    });
  });

  it('refuses a readOnly that is not true or false, serving nothing', async () => {
    // A truthy 'no' would have served a read-only API, a falsy 0 a writable one.
    for (const [readOnly, shown] of [
      ['no', '"no"'],
      [0, '0'],
    ] as const) {
      for (const started of [
        startApiServer({ ns, host: '127.0.0.1', port: 0, readOnly: readOnly as never }),
        createApiServer({ ns, readOnly: readOnly as never }),
      ]) {
        await expect(started).rejects.toMatchObject({
          code: 'config_error',
          message: `http.readOnly must be true or false, got ${shown}`,
        });
      }
    }
  });

  it('refuses a bodyLimit that is not an integer from 1 KiB to 1 GiB, serving nothing', async () => {
    for (const [bodyLimit, shown] of [
      [100, '100'],
      [1500.5, '1500.5'],
      ['2mb', '"2mb"'],
    ] as const) {
      await expect(createApiServer({ ns, bodyLimit: bodyLimit as never })).rejects.toMatchObject({
        code: 'config_error',
        message: `http.bodyLimit must be an integer from 1024 to 1073741824, got ${shown}`,
      });
    }
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
