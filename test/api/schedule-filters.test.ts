/**
 * `GET /api/v1/schedules` filters by task, state and id prefix as `ns.schedules.list()` does, with the
 * library's words for a bad value, and a cursor continues the filtered list it came from. On SQLite and
 * PostgreSQL.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('GET /api/v1/schedules filters on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
    // Tenant a: 12 schedules, every third of task email.send, every other one paused; tenant b: 3.
    await s.ns.schedules.upsertMany([
      ...Array.from({ length: 12 }, (_, i) => ({
        id: `tenant-a:${String(i).padStart(2, '0')}`,
        ...(i % 3 === 0 ? { task: 'email.send', payload: { to: 'ops@example.com' } } : { task: 'noop' }),
        everyMs: 60_000,
        paused: i % 2 === 1,
      })),
      ...['x', 'y', 'z'].map((n) => ({
        id: `tenant-b:${n}`,
        task: 'email.send',
        payload: { to: 'b@example.com' },
        everyMs: 60_000,
      })),
    ]);
    // Suspended (after failures) reads suspended even when paused too.
    for (const id of ['tenant-a:01', 'tenant-b:y']) {
      await s.store.scheduleApply({
        id,
        plan: (due) => ({
          states: [
            {
              id,
              expectVersion: due.schedule.version,
              state: { ...due.schedule, suspendedAt: new Date(), suspendedReason: 'test' },
            },
          ],
          slots: [],
          slotUpdates: [],
          jobs: [],
        }),
      });
    }
  });
  afterAll(() => s.close());

  async function ids(query: string): Promise<string[]> {
    const response = await s.request('GET', `/api/v1/schedules?${query}`, { token: s.tokens.viewer });
    expect(response.status).toBe(200);
    return response.body.schedules.map((x: { id: string }) => x.id);
  }

  /** Every page of a filtered list, following nextCursor; the ids of each page. */
  async function pages(query: string): Promise<string[][]> {
    const found: string[][] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/api/v1/schedules?${query}${cursor === null ? '' : `&cursor=${cursor}`}`;
      const response = await s.request('GET', path, { token: s.tokens.viewer });
      expect(response.status).toBe(200);
      found.push(response.body.schedules.map((x: { id: string }) => x.id));
      cursor = response.body.nextCursor;
    } while (cursor !== null);
    return found;
  }

  it('filters by task, by state and by id prefix', async () => {
    expect(await ids('idPrefix=tenant-b:')).toEqual(['tenant-b:x', 'tenant-b:y', 'tenant-b:z']);
    expect(await ids('task=noop&idPrefix=tenant-a:0')).toEqual([
      'tenant-a:01',
      'tenant-a:02',
      'tenant-a:04',
      'tenant-a:05',
      'tenant-a:07',
      'tenant-a:08',
    ]);
    expect(await ids('state=suspended')).toEqual(['tenant-a:01', 'tenant-b:y']);
    expect(await ids('state=paused')).toEqual([
      'tenant-a:03',
      'tenant-a:05',
      'tenant-a:07',
      'tenant-a:09',
      'tenant-a:11',
    ]);
    expect(await ids('state=active&task=email.send')).toEqual([
      'tenant-a:00',
      'tenant-a:06',
      'tenant-b:x',
      'tenant-b:z',
    ]);
    expect(await ids('idPrefix=tenant-c')).toEqual([]);
    // The same lists as the library's.
    for (const [query, options] of [
      ['task=noop', { task: 'noop' }],
      ['state=active', { state: 'active' }],
      ['idPrefix=tenant-a:1', { idPrefix: 'tenant-a:1' }],
    ] as const) {
      const listed = await s.ns.schedules.list({ ...options, limit: 1000 });
      expect(await ids(query)).toEqual(listed.schedules.map((x) => x.id));
    }
  });

  it('pages a filtered list with its cursor: each page holds only matches, none twice', async () => {
    expect(await pages('task=noop&state=active&idPrefix=tenant-a:&limit=2')).toEqual([
      ['tenant-a:02', 'tenant-a:04'],
      ['tenant-a:08', 'tenant-a:10'],
    ]);
    expect(await pages('state=paused&limit=2')).toEqual([
      ['tenant-a:03', 'tenant-a:05'],
      ['tenant-a:07', 'tenant-a:09'],
      ['tenant-a:11'],
    ]);
  });

  it('refuses a bad state, an empty filter or an unknown parameter with a 400 in the library’s words', async () => {
    const refused = async (query: string) => {
      const response = await s.request('GET', `/api/v1/schedules?${query}`, { token: s.tokens.viewer });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_argument');
      return response.body.error.message as string;
    };
    expect(await refused('state=running')).toBe(
      'query parameter state must be one of active, paused, suspended, got "running"',
    );
    expect(await refused('idPrefix=')).toBe('idPrefix must be a non-empty string, got ""');
    expect(await refused('task=')).toBe('task must be a non-empty string, got ""');
    expect(await refused(`idPrefix=${'a'.repeat(201)}`)).toMatch(/^idPrefix must be at most 200 bytes/);
    expect(await refused('prefix=tenant-a:')).toMatch(
      /^unknown query parameter "prefix"; GET \/api\/v1\/schedules takes task, state, idPrefix, limit, cursor$/,
    );
    expect(await refused('cursor=bm9wZQ==')).toBe('invalid schedule list cursor');
  });

  it('documents the filters in the OpenAPI document', async () => {
    const document = (await s.request('GET', '/api/v1/openapi.json', { token: s.tokens.viewer })).body;
    const parameters: Array<{ name: string; in: string; schema: { enum?: string[] } }> =
      document.paths['/api/v1/schedules'].get.parameters;
    const query = Object.fromEntries(
      parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema]),
    );
    expect(Object.keys(query).sort()).toEqual(['cursor', 'idPrefix', 'limit', 'state', 'task']);
    expect(query['state']?.enum).toEqual(['active', 'paused', 'suspended']);
  });
});
