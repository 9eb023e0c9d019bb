/**
 * The dashboard's job filters over real HTTP on both backends: search in payload, result and error
 * message (case-insensitive), created-at bounds, the same filter on bulk retry and bulk cancel, and
 * bad values refused with nothing changed.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(BACKENDS)('job filters on %s', (backend) => {
  let s: TestServer;
  let between: string;
  const ids: Record<string, string> = {};

  async function listIds(query: string): Promise<string[]> {
    const response = await s.request('GET', `/api/v1/jobs?${query}`, { token: s.tokens.viewer });
    expect(response.status).toBe(200);
    return (response.body.jobs as Array<{ id: string }>).map((j) => j.id).sort();
  }

  beforeAll(async () => {
    s = await startTestServer(backend);
    // Early: one failed job (error "Printer On Fire") and one completed (result with "Zebra").
    const [failing, finishing] = await s.store.jobInsertMany({
      jobs: [newJob({ task: 'noop', queue: 'filters' }), newJob({ task: 'noop', queue: 'filters' })],
    });
    const claimed = await s.store.jobClaim({ workerId: 'w', queues: ['filters'], limit: 2, leaseMs: 60_000 });
    const token = (id: string | undefined) => claimed.find((j) => j.id === id)?.leaseToken ?? '';
    await s.store.jobFinishMany({
      finishes: [
        {
          id: failing?.job.id ?? '',
          leaseToken: token(failing?.job.id),
          outcome: 'failed',
          error: { message: 'Printer On Fire', name: 'Error', reason: 'failed' },
          retryDelayMs: null,
        },
        {
          id: finishing?.job.id ?? '',
          leaseToken: token(finishing?.job.id),
          outcome: 'completed',
          result: { animal: 'Zebra' },
        },
      ],
    });
    ids['failed'] = failing?.job.id ?? '';
    ids['completed'] = finishing?.job.id ?? '';
    await pause(60);
    between = new Date().toISOString();
    await pause(60);
    // Late: two waiting jobs, one with "Invoice" in its payload.
    for (const [key, subject] of [
      ['invoice', 'Your INVOICE 42'],
      ['hello', 'Hello'],
    ] as const) {
      const { body } = await s.request('POST', '/api/v1/jobs', {
        token: s.tokens.operator,
        body: { task: 'email.send', queue: 'filters-late', payload: { to: 'a@example.com', subject } },
      });
      ids[key] = body.id;
    }
  });

  afterAll(async () => {
    await s.close();
  });

  it('searches payload, result and error message, case-insensitively', async () => {
    expect(await listIds('search=invoice')).toEqual([ids['invoice']]);
    expect(await listIds('search=zEBRA')).toEqual([ids['completed']]);
    expect(await listIds('search=printer%20on%20fire')).toEqual([ids['failed']]);
    expect(await listIds('search=printer&state=completed')).toEqual([]);
    expect(await listIds('search=nothing-like-this')).toEqual([]);
    expect(await s.ns.listJobs({ search: 'INVOICE 42', queue: 'filters-late' })).toMatchObject({
      jobs: [{ id: ids['invoice'] }],
    });
  });

  it('bounds by creation time, and pages through search results', async () => {
    expect(await listIds(`createdBefore=${between}`)).toEqual([ids['completed'], ids['failed']].sort());
    expect(await listIds(`createdAfter=${between}`)).toEqual([ids['hello'], ids['invoice']].sort());
    expect(await listIds(`createdAfter=${between}&search=hello`)).toEqual([ids['hello']]);
    const first = await s.request('GET', '/api/v1/jobs?search=example.com&limit=1', {
      token: s.tokens.viewer,
    });
    expect(first.body.jobs).toHaveLength(1);
    const second = await s.request(
      'GET',
      `/api/v1/jobs?search=example.com&limit=1&cursor=${first.body.nextCursor}`,
      { token: s.tokens.viewer },
    );
    expect([first.body.jobs[0].id, second.body.jobs[0].id].sort()).toEqual(
      [ids['hello'], ids['invoice']].sort(),
    );
  });

  it('refuses bad filter values with 400 and changes nothing', async () => {
    const before = await s.store.jobCountByQueue();
    const bad: Array<[string, string, unknown]> = [
      ['GET', '/api/v1/jobs?createdAfter=yesterday', undefined],
      ['GET', '/api/v1/jobs?createdBefore=2026-13-45T00:00:00Z', undefined],
      ['GET', '/api/v1/jobs?createdBefore=March%207%202026', undefined],
      ['GET', `/api/v1/jobs?search=${'x'.repeat(201)}`, undefined],
      ['GET', '/api/v1/jobs?search=', undefined],
      ['POST', '/api/v1/jobs/bulk-cancel', { search: 'invoice', createdAfter: 'soon' }],
      ['POST', '/api/v1/jobs/bulk-retry', { search: 'x'.repeat(201) }],
      ['POST', '/api/v1/jobs/bulk-cancel', { search: 'a\u0000b' }],
    ];
    for (const [method, path, body] of bad) {
      const response = await s.request(method, path, { token: s.tokens.operator, body });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(typeof response.body.error.code).toBe('string');
    }
    expect(await s.store.jobCountByQueue()).toEqual(before);
  });

  it('applies the same filter to bulk retry and bulk cancel', async () => {
    const cancel = await s.request('POST', '/api/v1/jobs/bulk-cancel', {
      token: s.tokens.operator,
      body: { search: 'invoice', createdAfter: between },
    });
    expect(cancel.body).toEqual({ cancelled: 1, cancelRequested: 0 });
    expect((await s.ns.getJob(ids['invoice'] ?? ''))?.state).toBe('cancelled');
    expect((await s.ns.getJob(ids['hello'] ?? ''))?.state).toBe('queued');

    const none = await s.request('POST', '/api/v1/jobs/bulk-retry', {
      token: s.tokens.operator,
      body: { search: 'printer', createdAfter: between },
    });
    expect(none.body).toEqual({ retried: 0 });
    const retry = await s.request('POST', '/api/v1/jobs/bulk-retry', {
      token: s.tokens.operator,
      body: { search: 'PRINTER', createdBefore: between },
    });
    expect(retry.body).toEqual({ retried: 1 });
    expect((await s.ns.getJob(ids['failed'] ?? ''))?.state).toBe('queued');
  });

  it('finds text with capitals beyond ASCII as it is written, and folds the ASCII ones', async () => {
    // The search text must be folded as the database folds the rows, or text copied from a payload
    // does not find it: SQLite's lower() folds ASCII letters only ("Éclair"), and PostgreSQL's lower()
    // makes "İ" one "i" where JavaScript's toLowerCase makes it two code points.
    const { id } = await s.ns.enqueue(
      'email.send',
      { to: 'b@test.invalid', subject: 'Éclair für Øl in İstanbul' },
      { queue: 'filters-accents' },
    );
    for (const search of ['Éclair für Øl', 'ÉCLAIR FüR Øl', 'clair f', 'İstanbul']) {
      expect(await s.ns.listJobs({ search, queue: 'filters-accents' }), search).toMatchObject({
        jobs: [{ id }],
      });
    }
  });
});
