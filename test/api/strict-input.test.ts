/**
 * Input a route does not take is refused, never ignored, on every /api/v1 route of the published
 * document and both backends: an unknown query parameter, and a body on a route without one (an
 * ignored `DELETE /jobs/:id?dryRun=true` deleted the job). Each request is one that would change
 * something were the extra input ignored, and nothing changes. A bodyless route still takes no body,
 * an empty one (also with `Content-Type: application/json`) or `{}`.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/api/tokens.js';
import { BACKENDS, startTestServer, type TestResponse, type TestServer } from './api-server.js';

const QUEUE = 'strict';
const PAUSED_QUEUE = 'strict-paused';
const KEY = 'strict-key';
const GROUP = 'strict-group';
const RATE = { rate: { limit: 1, periodMs: 1_000 } };

interface Fixtures {
  /** A cancelled job: retryable and deletable. */
  cancelled: string;
  /** A queued job: cancellable. */
  queued: string;
  /** A token nobody uses, to revoke. */
  spareToken: string;
}

/**
 * Each route of the document, as a request that changes something when it succeeds (a route without
 * a body schema has no body here); a route missing here fails the test, so a new route gets a line.
 */
function requests(f: Fixtures): Record<string, { path: string; body?: unknown }> {
  return {
    'GET /api/v1/jobs': { path: '/api/v1/jobs' },
    'POST /api/v1/jobs': { path: '/api/v1/jobs', body: { task: 'noop', queue: QUEUE } },
    'POST /api/v1/jobs/bulk': { path: '/api/v1/jobs/bulk', body: { jobs: [{ task: 'noop', queue: QUEUE }] } },
    'GET /api/v1/jobs/{id}': { path: `/api/v1/jobs/${f.cancelled}` },
    'DELETE /api/v1/jobs/{id}': { path: `/api/v1/jobs/${f.cancelled}` },
    'GET /api/v1/jobs/{id}/runs': { path: `/api/v1/jobs/${f.cancelled}/runs` },
    'GET /api/v1/jobs/{id}/logs': { path: `/api/v1/jobs/${f.cancelled}/logs` },
    'POST /api/v1/jobs/{id}/retry': { path: `/api/v1/jobs/${f.cancelled}/retry` },
    'POST /api/v1/jobs/{id}/cancel': { path: `/api/v1/jobs/${f.queued}/cancel` },
    'POST /api/v1/jobs/bulk-retry': {
      path: '/api/v1/jobs/bulk-retry',
      body: { queue: QUEUE, state: 'cancelled' },
    },
    'POST /api/v1/jobs/bulk-cancel': { path: '/api/v1/jobs/bulk-cancel', body: { queue: QUEUE } },
    'GET /api/v1/schedules': { path: '/api/v1/schedules' },
    'POST /api/v1/schedules': {
      path: '/api/v1/schedules',
      body: { id: 'strict-new', task: 'noop', everyMs: 60_000 },
    },
    'GET /api/v1/schedules/{id}': { path: '/api/v1/schedules/active' },
    'PATCH /api/v1/schedules/{id}': { path: '/api/v1/schedules/active', body: { everyMs: 120_000 } },
    'DELETE /api/v1/schedules/{id}': { path: '/api/v1/schedules/active' },
    'POST /api/v1/schedules/{id}/trigger': { path: '/api/v1/schedules/active/trigger' },
    'POST /api/v1/schedules/{id}/pause': { path: '/api/v1/schedules/active/pause' },
    'POST /api/v1/schedules/{id}/resume': { path: '/api/v1/schedules/paused/resume' },
    'GET /api/v1/queues': { path: '/api/v1/queues' },
    'POST /api/v1/queues/{name}/pause': { path: `/api/v1/queues/${QUEUE}/pause` },
    'POST /api/v1/queues/{name}/resume': { path: `/api/v1/queues/${PAUSED_QUEUE}/resume` },
    'GET /api/v1/workers': { path: '/api/v1/workers' },
    'GET /api/v1/tasks': { path: '/api/v1/tasks' },
    'GET /api/v1/limits/keys': { path: '/api/v1/limits/keys' },
    'PUT /api/v1/limits/keys/{key}': { path: `/api/v1/limits/keys/${KEY}`, body: { limit: 3 } },
    'PUT /api/v1/limits/keys/{key}/rate': { path: `/api/v1/limits/keys/${KEY}/rate`, body: RATE },
    'GET /api/v1/limits/groups': { path: '/api/v1/limits/groups' },
    'PUT /api/v1/limits/groups/{group}': { path: `/api/v1/limits/groups/${GROUP}`, body: { weight: 2 } },
    'GET /api/v1/limits/queues': { path: '/api/v1/limits/queues' },
    'PUT /api/v1/limits/queues/{name}': { path: `/api/v1/limits/queues/${QUEUE}`, body: { limit: 2 } },
    'PUT /api/v1/limits/queues/{name}/rate': { path: `/api/v1/limits/queues/${QUEUE}/rate`, body: RATE },
    'GET /api/v1/openapi.json': { path: '/api/v1/openapi.json' },
    // A bad cursor: should the check let the request through, it answers 400 naming the cursor
    // instead of opening a stream the test would wait on forever.
    'GET /api/v1/events': { path: '/api/v1/events?after=not-a-cursor' },
    'GET /api/v1/session': { path: '/api/v1/session' },
    'GET /api/v1/tokens': { path: '/api/v1/tokens' },
    'POST /api/v1/tokens': { path: '/api/v1/tokens', body: { name: 'strict-new', role: 'viewer' } },
    'DELETE /api/v1/tokens/{id}': { path: `/api/v1/tokens/${f.spareToken}` },
    'GET /api/v1/alerts': { path: '/api/v1/alerts' },
    'GET /api/v1/stats': { path: '/api/v1/stats' },
  };
}

/** A GET with a body, which fetch() cannot send. */
function getWithBody(
  url: string,
  token: string,
  body: string,
): Promise<Pick<TestResponse, 'status' | 'body'>> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A 400 invalid_argument whose message names `mention`; `what` names the request when it is not. */
function expectRefused(
  what: unknown,
  response: Pick<TestResponse, 'status' | 'body'>,
  mention: string,
): void {
  const { status, body } = response;
  expect({ what, status, code: body.error?.code }).toEqual({ what, status: 400, code: 'invalid_argument' });
  expect(body.error.message).toContain(mention);
}

describe.each(BACKENDS)('input a route does not take, on %s', (backend) => {
  let s: TestServer;
  let fixtures: Fixtures;
  let routes: Array<{ method: string; template: string; hasBody: boolean }>;

  /** Everything the requests above could change. */
  async function state() {
    return {
      jobs: (await s.ns.listJobs({ limit: 1_000 })).jobs,
      schedules: (await s.ns.schedules.list({ limit: 1_000 })).schedules,
      queues: (await s.ns.queues.list()).map((q) => ({ name: q.name, paused: q.paused })),
      queueLimits: await s.ns.queueLimits(),
      keys: await s.ns.concurrencyKeys(),
      groups: await s.ns.groups(),
      tokens: (await s.store.tokenList()).map((t) => ({ id: t.id, revokedAt: t.revokedAt })),
    };
  }

  beforeAll(async () => {
    s = await startTestServer(backend);
    const cancelled = await s.ns.enqueue('noop', undefined, { queue: QUEUE });
    await s.ns.cancelJob(cancelled.id);
    const queued = await s.ns.enqueue('noop', undefined, { queue: QUEUE });
    await s.ns.schedules.create({ id: 'active', task: 'noop', everyMs: 3_600_000 });
    await s.ns.schedules.create({ id: 'paused', task: 'noop', everyMs: 3_600_000, paused: true });
    await s.ns.queues.pause(PAUSED_QUEUE);
    const spare = await issueToken(s.store, { name: 'spare', role: 'viewer' });
    fixtures = { cancelled: cancelled.id, queued: queued.id, spareToken: spare.token.id };
    const document = (await s.request('GET', '/api/v1/openapi.json')).body;
    routes = Object.entries(document.paths as Record<string, Record<string, { requestBody?: unknown }>>)
      .filter(([template]) => template.startsWith('/api/v1/'))
      .flatMap(([template, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({
          method: method.toUpperCase(),
          template,
          hasBody: operation.requestBody !== undefined,
        })),
      );
  });
  afterAll(() => s.close());

  it('has a request for every /api/v1 route of the document', () => {
    const table = requests(fixtures);
    expect(routes.map((r) => `${r.method} ${r.template}`).sort()).toEqual(Object.keys(table).sort());
    // Exactly the routes with a body schema get a body.
    for (const route of routes) {
      const key = `${route.method} ${route.template}`;
      expect({ key, body: table[key]?.body !== undefined }).toEqual({ key, body: route.hasBody });
    }
  });

  it('refuses a query parameter a route does not take, changing nothing', async () => {
    const before = await state();
    const table = requests(fixtures);
    for (const { method, template } of routes) {
      const key = `${method} ${template}`;
      const { path, body } = table[key] ?? { path: '' };
      const response = await s.request(method, `${path}${path.includes('?') ? '&' : '?'}dryRun=true`, {
        body,
      });
      expectRefused(key, response, 'dryRun');
    }
    expect(await state()).toEqual(before);
  });

  it('refuses a number or boolean query parameter that is empty or not of its form, on every route, changing nothing', async () => {
    type Schema = { type?: string; anyOf?: Array<{ type?: string }> };
    type Parameter = { name: string; in: string; schema: Schema };
    // Text the validator would convert into a value the client never gave: 0 or false, a truncated 2,
    // a hexadecimal or exponent number.
    const malformed = (schema: Schema): string[] =>
      [schema, ...(schema.anyOf ?? [])].some((t) => t.type === 'boolean')
        ? ['', 'yes', '1']
        : ['', '2.5', '0x10', '1e1'];
    const document = (await s.request('GET', '/api/v1/openapi.json')).body;
    const table = requests(fixtures);
    const before = await state();
    const refused: string[] = [];
    for (const { method, template } of routes) {
      const parameters: Parameter[] = document.paths[template][method.toLowerCase()].parameters ?? [];
      const typed = parameters.filter((p) =>
        [p.schema, ...(p.schema.anyOf ?? [])].some((t) =>
          ['integer', 'number', 'boolean'].includes(t.type ?? ''),
        ),
      );
      for (const { name, schema } of typed.filter((p) => p.in === 'query')) {
        const { path, body } = table[`${method} ${template}`] ?? { path: '' };
        for (const text of malformed(schema)) {
          const query = `${name}=${encodeURIComponent(text)}`;
          const response = await s.request(method, `${path}${path.includes('?') ? '&' : '?'}${query}`, {
            body,
          });
          expect({
            route: `${method} ${template}?${query}`,
            status: response.status,
            code: response.body.error?.code,
          }).toEqual({
            route: `${method} ${template}?${query}`,
            status: 400,
            code: 'invalid_argument',
          });
          expect(response.body.error.message).toMatch(
            new RegExp(`^query parameter ${name} ${text === '' ? 'is empty: it takes' : 'takes'} `),
          );
        }
        refused.push(`${template}?${name}`);
      }
    }
    expect(refused).toEqual(
      expect.arrayContaining([
        '/api/v1/limits/keys?limit',
        '/api/v1/limits/keys?running',
        '/api/v1/jobs/{id}?wait',
        '/api/v1/jobs?limit',
      ]),
    );
    expect(await state()).toEqual(before);
    const viewer = { token: s.tokens.viewer };
    const keys = await s.request('GET', '/api/v1/limits/keys?limit=', viewer);
    expect(keys.body.error.message).toBe(
      'query parameter limit is empty: it takes an integer from 1 to 10000',
    );
    const running = await s.request('GET', '/api/v1/limits/keys?running=', viewer);
    expect(running.body.error.message).toBe('query parameter running is empty: it takes true or false');
    const truncated = await s.request('GET', '/api/v1/jobs?limit=2.9', viewer);
    expect(truncated.body.error.message).toBe(
      'query parameter limit takes an integer from 1 to 1000, got "2.9"',
    );
    // The forms still taken.
    expect((await s.request('GET', '/api/v1/jobs?limit=2', viewer)).status).toBe(200);
    expect((await s.request('GET', '/api/v1/limits/keys?running=true', viewer)).status).toBe(200);
    expect((await s.request('GET', '/api/v1/limits/keys?running=false', viewer)).status).toBe(200);
  });

  it('names an unknown field or a wrong choice and what the route takes, as the library does', async () => {
    const op = { token: s.tokens.operator };
    const before = await state();
    const delay = await s.request('POST', '/api/v1/jobs', { ...op, body: { task: 'noop', delay: 5 } });
    expectRefused(
      'delay',
      delay,
      'unknown body field "delay"; POST /api/v1/jobs takes task, payload, queue,',
    );
    expect(delay.body.error.message).toContain('delayMs');
    const nested = await s.request('POST', '/api/v1/jobs/bulk', {
      ...op,
      body: { jobs: [{ task: 'noop', delay: 5 }] },
    });
    expectRefused(
      'nested',
      nested,
      'unknown body field "delay" in jobs/0 (POST /api/v1/jobs/bulk); jobs/0 takes',
    );
    const rate = await s.request('PUT', `/api/v1/limits/queues/${QUEUE}/rate`, {
      ...op,
      body: { rate: { limit: 1, period: 5 } },
    });
    expectRefused('rate', rate, 'rate takes limit, periodMs');
    const query = await s.request('GET', '/api/v1/jobs?states=failed', op);
    expectRefused('states', query, 'unknown query parameter "states"; GET /api/v1/jobs takes state, queue,');
    const none = await s.request('POST', `/api/v1/queues/${QUEUE}/pause?force=true`, op);
    expectRefused('force', none, 'POST /api/v1/queues/:name/pause takes no query parameter');
    const choice = await s.request('GET', '/api/v1/jobs?state=done', op);
    expectRefused(
      'state',
      choice,
      'query parameter state must be one of scheduled, queued, running, completed, failed, cancelled, got "done"',
    );
    expect(await state()).toEqual(before);
  });

  it('refuses a body on a route that takes none, changing nothing', async () => {
    const before = await state();
    const table = requests(fixtures);
    for (const { method, template } of routes.filter((r) => !r.hasBody)) {
      const key = `${method} ${template}`;
      const { path } = table[key] ?? { path: '' };
      for (const body of [{ force: true }, [], 'null']) {
        const response =
          method === 'GET'
            ? await getWithBody(s.url + path, s.tokens.admin, JSON.stringify(body))
            : await s.request(method, path, { body });
        expectRefused({ key, body }, response, 'takes no body');
      }
    }
    expect(await state()).toEqual(before);
  });

  it('takes no body, an empty one with a JSON content type, or {} on a route without a body schema', async () => {
    const op = { token: s.tokens.operator };
    const pause = await s.request('POST', '/api/v1/schedules/active/pause', { ...op, body: '' });
    expect(pause.status).toBe(200);
    expect(pause.body.schedule.paused).toBe(true);
    const resume = await s.request('POST', '/api/v1/schedules/active/resume', { ...op, body: {} });
    expect(resume.body.schedule.paused).toBe(false);
    const triggered = await s.request('POST', '/api/v1/schedules/active/trigger', { ...op, body: '' });
    expect(triggered.status).toBe(202);
    expect((await s.ns.getJob(triggered.body.jobId))?.scheduleId).toBe('active');
    const job = (await s.ns.enqueue('noop', undefined, { queue: 'strict-empty' })).id;
    const cancelled = await s.request('POST', `/api/v1/jobs/${job}/cancel`, { ...op, body: '' });
    expect(cancelled.body).toMatchObject({ outcome: 'cancelled', job: { state: 'cancelled' } });
    const retried = await s.request('POST', `/api/v1/jobs/${job}/retry`, { ...op, body: '' });
    expect(retried.body).toMatchObject({ outcome: 'retried', job: { state: 'queued' } });
    await s.ns.cancelJob(job);
    expect((await s.request('DELETE', `/api/v1/jobs/${job}`, { ...op, body: {} })).status).toBe(204);
    expect(await s.ns.getJob(job)).toBeUndefined();
  });

  it('still refuses an empty body on a route that needs one, storing nothing', async () => {
    const before = (await s.ns.listJobs({ limit: 1_000 })).jobs.length;
    const response = await s.request('POST', '/api/v1/jobs', { token: s.tokens.operator, body: '' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'invalid_argument', message: 'body must be object' });
    expect((await s.ns.listJobs({ limit: 1_000 })).jobs.length).toBe(before);
  });
});
