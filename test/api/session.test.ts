/**
 * GET /api/v1/session and the read-only switch, over real HTTP on both backends: the session names
 * the token's role and the server's mode; a read-only server refuses every mutating route, whatever
 * the role, with 403 read_only and changes nothing, while reads still work; without any token the
 * session answers (role null) and nothing else does. Also the dashboard's static serving: the page
 * and its assets need no token, a client route answers the page, an API path stays a JSON 404.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIR } from '../../src/api/dashboard.js';
import { startApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('session and read-only on %s', (backend) => {
  let open: TestServer;
  let readOnly: TestServer;
  beforeAll(async () => {
    [open, readOnly] = await Promise.all([
      startTestServer(backend),
      startTestServer(backend, { readOnly: true }),
    ]);
  });
  afterAll(() => Promise.all([open.close(), readOnly.close()]));

  it('names the token’s role and the server’s mode', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const answer = await open.request('GET', '/api/v1/session', { token: open.tokens[role] });
      expect(answer.body).toEqual({ role, readOnly: false });
    }
    expect((await readOnly.request('GET', '/api/v1/session')).body).toEqual({
      role: 'admin',
      readOnly: true,
    });
    // Tokens exist: the session needs one like any viewer route.
    expect((await open.request('GET', '/api/v1/session', { token: null })).status).toBe(401);
  });

  it('refuses every mutating route with 403 read_only and changes nothing; reads still work', async () => {
    const { job } = await readOnly.ns.enqueue('noop', undefined);
    const document = (await readOnly.request('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, object>;
    };
    const mutating = Object.entries(document.paths).flatMap(([template, methods]) =>
      Object.keys(methods)
        .filter((method) => method !== 'get')
        .map((method) => ({ method: method.toUpperCase(), path: template.replace(/\{[^}]+\}/g, job.id) })),
    );
    expect(mutating.length).toBeGreaterThan(10);
    const before = await readOnly.store.jobCountByQueue();
    for (const { method, path } of mutating) {
      const body = method === 'DELETE' ? undefined : { task: 'noop', name: 'x', role: 'viewer' };
      const answer = await readOnly.request(method, path, { body });
      expect({ method, path, status: answer.status, code: answer.body.error.code }).toEqual({
        method,
        path,
        status: 403,
        code: 'read_only',
      });
      // Without a token the answer is still 401: a read-only server tells strangers nothing more.
      expect((await readOnly.request(method, path, { token: null, body })).status).toBe(401);
    }
    expect(await readOnly.store.jobCountByQueue()).toEqual(before);
    expect((await readOnly.ns.getJob(job.id))?.state).toBe('queued');
    expect((await readOnly.request('GET', `/api/v1/jobs/${job.id}`)).status).toBe(200);
    // The same request on a server that is not read-only goes through.
    const { job: other } = await open.ns.enqueue('noop', undefined);
    expect((await open.request('POST', `/api/v1/jobs/${other.id}/cancel`)).status).toBe(200);
  });

  it('serves the dashboard without a token, answers client routes with the page, keeps API 404s JSON', async () => {
    const page = await fetch(`${open.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${open.url}${asset ?? ''}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toMatch(/immutable/);

    const deep = await fetch(`${open.url}/jobs/some-id`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);

    const api = await fetch(`${open.url}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${open.url}/assets/missing.js`)).status).toBe(404);
    // A broken percent-escape, typed into the address bar or sent by a client, is refused in the API's
    // one error shape, on a page route and an API route alike.
    for (const path of ['/jobs/%E0%A4%A', '/api/v1/jobs/%E0%A4']) {
      const broken = await fetch(`${open.url}${path}`, {
        headers: { accept: 'text/html', authorization: `Bearer ${open.tokens.viewer}` },
      });
      expect({ path, status: broken.status, body: await broken.json() }).toEqual({
        path,
        status: 400,
        body: { error: { code: 'invalid_argument', message: `'${path}' is not a valid url component` } },
      });
    }
    // A path that climbs out of the dashboard's folder is refused by the file server (403).
    const climbing = await fetch(`${open.url}/assets/..%2f..%2fpackage.json`);
    expect([403, 404]).toContain(climbing.status);
    expect(await climbing.text()).not.toContain('"dependencies"');
  });
});

describe('session while no token exists', () => {
  it('answers with role null, and every other route stays 401', async () => {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    const ns = await Nightshift.connect({ db: store, logger: createLogger({ level: 'silent' }) });
    const { app, url } = await startApiServer({ ns, host: '127.0.0.1', port: 0 });
    try {
      const session = await fetch(`${url}/api/v1/session`);
      expect(session.status).toBe(200);
      expect(await session.json()).toEqual({ role: null, readOnly: false });
      expect((await fetch(`${url}/api/v1/queues`)).status).toBe(401);
    } finally {
      await app.close();
      await ns.close();
      await store.close();
      file.remove();
    }
  });

  it('the built dashboard is there to serve', () => {
    expect(readdirSync(DASHBOARD_DIR)).toContain('index.html');
  });
});
