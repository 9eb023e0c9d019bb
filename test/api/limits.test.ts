/** /api/v1/limits: concurrency keys, queue limits and groups through the REST API, on both backends. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('limits endpoints on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('enqueues keyed jobs, shows running counts per key, and sets limits (operator only)', async () => {
    for (let i = 0; i < 3; i += 1) {
      const created = await s.request('POST', '/api/v1/jobs', {
        token: s.tokens.operator,
        body: { task: 'noop', concurrencyKey: 'tenant-7', concurrencyLimit: 2 },
      });
      expect(created.status).toBe(201);
    }
    const claimed = await s.ns.store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
    expect(claimed.filter((j) => j.concurrencyKey === 'tenant-7')).toHaveLength(2);

    const keys = await s.request('GET', '/api/v1/limits/keys?running=true', { token: s.tokens.viewer });
    expect(keys.status).toBe(200);
    expect(keys.body).toEqual({
      keys: [{ key: 'tenant-7', running: 2, limit: 2, operatorLimit: null, rate: null }],
    });

    const refused = await s.request('PUT', '/api/v1/limits/keys/tenant-7', {
      token: s.tokens.viewer,
      body: { limit: 5 },
    });
    expect(refused.status).toBe(403);
    const set = await s.request('PUT', '/api/v1/limits/keys/tenant-7', {
      token: s.tokens.operator,
      body: { limit: 5 },
    });
    expect(set.status).toBe(204);
    const bad = await s.request('PUT', '/api/v1/limits/queues/mail', {
      token: s.tokens.operator,
      body: { limit: 0 },
    });
    expect(bad.status).toBe(400);
    // A nullable field says what it takes, not each branch of its union in turn.
    expect(bad.body).toEqual({
      error: { code: 'invalid_argument', message: 'body/limit must be >= 1, or null' },
    });
    expect(
      (await s.request('PUT', '/api/v1/limits/queues/mail', { token: s.tokens.operator, body: { limit: 4 } }))
        .status,
    ).toBe(204);
    const badRate = await s.request('PUT', '/api/v1/limits/queues/mail/rate', {
      token: s.tokens.operator,
      body: { rate: { limit: 10, periodMs: 0 } },
    });
    expect(badRate.status).toBe(400);
    expect(badRate.body).toEqual({
      error: {
        code: 'invalid_argument',
        message: 'body/rate/periodMs must be >= 1 (body/rate may also be null)',
      },
    });
    const rate = await s.request('PUT', '/api/v1/limits/queues/mail/rate', {
      token: s.tokens.operator,
      body: { rate: { limit: 10, periodMs: 1_000 } },
    });
    expect(rate.status).toBe(204);
    const queues = await s.request('GET', '/api/v1/limits/queues', { token: s.tokens.viewer });
    expect(queues.body).toEqual({
      queues: [{ queue: 'mail', limit: 4, running: 0, rate: { limit: 10, periodMs: 1_000 } }],
    });
    const after = await s.request('GET', '/api/v1/limits/keys', { token: s.tokens.viewer });
    expect(after.body).toEqual({
      keys: [{ key: 'tenant-7', running: 2, limit: 5, operatorLimit: 5, rate: null }],
    });
    // A key an operator's rate made, none of whose jobs waits or ran: no limit (null) until one comes.
    const keyRate = { limit: 10, periodMs: 60_000 };
    const paced = await s.request('PUT', '/api/v1/limits/keys/tenant-8/rate', {
      token: s.tokens.operator,
      body: { rate: keyRate },
    });
    expect(paced.status).toBe(204);
    const bare = await s.request('GET', '/api/v1/limits/keys?after=tenant-7', { token: s.tokens.viewer });
    expect(bare.body).toEqual({
      keys: [{ key: 'tenant-8', running: 0, limit: null, operatorLimit: null, rate: keyRate }],
    });
  });

  it('enqueues grouped jobs, shows ready and running counts per group, and sets weights (operator only)', async () => {
    const created = await s.request('POST', '/api/v1/jobs', {
      token: s.tokens.operator,
      body: { task: 'noop', queue: 'tenants', group: 'tenant-9' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ job: { group: 'tenant-9' } });
    await s.request('POST', '/api/v1/jobs', {
      token: s.tokens.operator,
      body: { task: 'noop', queue: 'tenants', group: 'tenant-9' },
    });
    const claimed = await s.ns.store.jobClaim({
      workerId: 'w',
      queues: ['tenants'],
      limit: 1,
      leaseMs: 30_000,
    });
    expect(claimed.map((j) => j.group)).toEqual(['tenant-9']);

    const refused = await s.request('PUT', '/api/v1/limits/groups/tenant-9', {
      token: s.tokens.viewer,
      body: { weight: 3 },
    });
    expect(refused.status).toBe(403);
    const weight = await s.request('PUT', '/api/v1/limits/groups/tenant-9', {
      token: s.tokens.operator,
      body: { weight: 3 },
    });
    expect(weight.status).toBe(204);
    const groups = await s.request('GET', '/api/v1/limits/groups?running=true', { token: s.tokens.viewer });
    expect(groups.body).toEqual({ groups: [{ group: 'tenant-9', weight: 3, queued: 1, running: 1 }] });
    const tooHeavy = await s.request('PUT', '/api/v1/limits/groups/tenant-9', {
      token: s.tokens.operator,
      body: { weight: 10_001 },
    });
    expect(tooHeavy.status).toBe(400);
    expect(tooHeavy.body).toEqual({
      error: { code: 'invalid_argument', message: 'body/weight must be <= 10000, or null' },
    });
    const reset = await s.request('PUT', '/api/v1/limits/groups/tenant-9', {
      token: s.tokens.operator,
      body: { weight: null },
    });
    expect(reset.status).toBe(204);
    const after = await s.request('GET', '/api/v1/limits/groups?after=tenant-1', { token: s.tokens.viewer });
    expect(after.body).toEqual({ groups: [{ group: 'tenant-9', weight: 1, queued: 1, running: 1 }] });
  });
});
