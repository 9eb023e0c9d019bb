/**
 * The `http.request` task end to end: real workers on both backends calling real HTTP servers on
 * loopback addresses (allowed explicitly, as a deployment would have to).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { HttpJobsOptions, HttpRequestResult } from '../../src/http-jobs/index.js';
import type { Job } from '../../src/job.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { FAST_WORKER } from '../worker/engine-harness.js';
import { BACKENDS, hang, httpJobsEnv, json, runJob, scriptedResolver, sequence } from './support.js';

/** The job failed for good on its first attempt, its destination refused with `message`. */
function expectRefused(job: Job, message: string): void {
  expect(job).toMatchObject({
    state: 'failed',
    attempt: 1,
    error: { name: 'DestinationRefusedError', message },
  });
}

const LOOPBACK_ALLOWED: HttpJobsOptions = { allowHosts: ['127.0.0.1'], allowPrivateNetworks: ['127.0.0.1'] };

describe.each(BACKENDS)('http.request on %s', (backend) => {
  const env = httpJobsEnv(backend);

  it('sends method, headers and JSON body, and stores status, duration and the response excerpt', async () => {
    const server = await env.server({
      '/orders': json(201, { id: 'o-1', accepted: true }),
      '/big': (_request, response) =>
        response.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(10_000)),
    });
    const ns = await env.connect({ httpJobs: { ...LOOPBACK_ALLOWED, maxResponseBytes: 4096 } });

    const { job } = await runJob(ns, {
      url: server.url('/orders?tenant=x'),
      method: 'POST',
      headers: { 'X-Tenant': 'x' },
      json: { order: 42 },
    });
    expect(job.state).toBe('completed');
    expect(job.result).toMatchObject({
      status: 201,
      statusText: 'Created',
      url: server.url('/orders?tenant=x'),
      redirects: 0,
      contentType: 'application/json',
      body: '{"id":"o-1","accepted":true}',
      truncated: false,
      json: { id: 'o-1', accepted: true },
    });
    expect((job.result as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
    const [request] = server.hits('/orders');
    expect(request).toMatchObject({ method: 'POST', body: '{"order":42}' });
    expect(request?.headers).toMatchObject({ 'x-tenant': 'x', 'content-type': 'application/json' });

    const big = await runJob(ns, { url: server.url('/big') });
    expect(big.job.result).toMatchObject({ status: 200, truncated: true, contentType: 'text/plain' });
    expect((big.job.result as { body: string }).body).toBe('x'.repeat(4096));
  });

  it('fails an attempt that times out and retries it', async () => {
    // A timeout generous enough for the second, prompt answer on a loaded machine.
    const server = await env.server({ '/slow': sequence(hang, json(200, { ok: true })) });
    const ns = await env.connect({ httpJobs: LOOPBACK_ALLOWED });
    const { job, runs } = await runJob(ns, { url: server.url('/slow'), timeoutMs: 1500 }, { maxAttempts: 2 });
    expect(job).toMatchObject({ state: 'completed', attempt: 2, result: { status: 200 } });
    expect(runs.map((run) => run.outcome)).toEqual(['failed', 'completed']);
    expect(runs[0]?.error).toMatchObject({
      name: 'HttpRequestError',
      message: `GET ${server.url('/slow')} timed out after 1500 ms`,
    });
  });

  it('retries a 5xx answer through the retry policy until it succeeds', async () => {
    const server = await env.server({
      '/flaky': sequence(json(503, { error: 'overloaded' }), json(200, { ok: true })),
    });
    const ns = await env.connect({ httpJobs: LOOPBACK_ALLOWED });
    const { job, runs } = await runJob(ns, { url: server.url('/flaky') });
    expect(job).toMatchObject({
      state: 'completed',
      attempt: 2,
      result: { status: 200, json: { ok: true } },
    });
    expect(runs[0]?.error?.message).toBe(
      `GET ${server.url('/flaky')} answered 503 Service Unavailable (expected 2xx): {"error":"overloaded"}`,
    );
    expect(server.hits('/flaky')).toHaveLength(2);
  });

  it('fails for good on a 4xx it does not expect, and completes on one it does', async () => {
    const server = await env.server({ '/missing': json(404, { error: 'no such tenant' }) });
    const ns = await env.connect({ httpJobs: LOOPBACK_ALLOWED });
    const { job, runs } = await runJob(ns, { url: server.url('/missing'), method: 'DELETE' });
    expect(job).toMatchObject({ state: 'failed', attempt: 1, maxAttempts: 5 });
    expect(job.error).toMatchObject({
      name: 'HttpStatusError',
      message: `DELETE ${server.url('/missing')} answered 404 Not Found (expected 2xx): {"error":"no such tenant"}`,
    });
    expect(runs).toHaveLength(1);
    expect(server.hits('/missing')).toHaveLength(1);

    const expected = await runJob(ns, { url: server.url('/missing'), expectStatus: ['2xx', 404] });
    expect(expected.job).toMatchObject({ state: 'completed', result: { status: 404 } });
  });

  it('refuses private addresses unless allowed: at enqueue for IP literals, at run time for names', async () => {
    const server = await env.server({ '/admin': json(200, { secret: 'internal' }) });
    const resolver = scriptedResolver({ 'internal.test': [['127.0.0.1']] });
    const ns = await env.connect({
      httpJobs: {
        allowHosts: ['127.0.0.1', 'internal.test', '169.254.169.254'],
        resolveHost: resolver.resolveHost,
      },
    });
    await expect(ns.enqueue('http.request', { url: server.url('/admin') })).rejects.toMatchObject({
      code: 'invalid_payload',
      message: 'invalid payload for task "http.request": url: 127.0.0.1 is a loopback address',
    });
    await expect(
      ns.enqueue('http.request', { url: 'http://[::ffff:169.254.169.254]/latest/meta-data' }),
    ).rejects.toMatchObject({ message: expect.stringContaining('is not in httpJobs.allowHosts') as unknown });
    await expect(ns.enqueue('http.request', { url: 'http://169.254.169.254/latest' })).rejects.toMatchObject({
      message: expect.stringContaining('169.254.169.254 is a cloud metadata address') as unknown,
    });
    expect((await ns.listJobs()).jobs).toEqual([]);

    const { job } = await runJob(ns, { url: `http://internal.test:${server.port}/admin` });
    expectRefused(job, 'refused internal.test: its address 127.0.0.1 is a loopback address');
    expect(server.received).toEqual([]);
  });

  it('refuses a redirect to a refused address, follows an allowed one, and follows none by default', async () => {
    const internal = await env.server({ '/internal': json(200, { secret: 'internal' }) }, '127.0.0.2');
    const server = await env.server({
      '/to-internal': (_q, r) => r.writeHead(302, { location: internal.url('/internal') }).end(),
      '/to-internal-name': (_q, r) =>
        r.writeHead(307, { location: `http://internal.test:${internal.port}/internal` }).end(),
      '/to-ok': (_q, r) => r.writeHead(303, { location: '/ok' }).end(),
      '/ok': json(200, { ok: true }),
    });
    const resolver = scriptedResolver({ 'internal.test': [['127.0.0.2']] });
    const ns = await env.connect({
      httpJobs: {
        allowHosts: ['127.0.0.1', '127.0.0.2', 'internal.test'],
        allowPrivateNetworks: ['127.0.0.1'],
        resolveHost: resolver.resolveHost,
      },
    });

    const literal = await runJob(ns, { url: server.url('/to-internal'), maxRedirects: 3 });
    expectRefused(literal.job, `refused http://127.0.0.2:${internal.port}: 127.0.0.2 is a loopback address`);
    const named = await runJob(ns, { url: server.url('/to-internal-name'), maxRedirects: 3 });
    expectRefused(named.job, 'refused internal.test: its address 127.0.0.2 is a loopback address');
    expect(internal.received).toEqual([]);

    const followed = await runJob(ns, {
      url: server.url('/to-ok'),
      method: 'POST',
      body: 'hi',
      maxRedirects: 3,
    });
    expect(followed.job.result).toMatchObject({ status: 200, redirects: 1, url: server.url('/ok') });
    expect(server.hits('/ok')[0]).toMatchObject({ method: 'GET', body: '' });

    const notFollowed = await runJob(ns, { url: server.url('/to-ok') });
    expect(notFollowed.job).toMatchObject({ state: 'failed', attempt: 1 });
    expect(notFollowed.job.error?.message).toBe(
      `GET ${server.url('/to-ok')} answered 303 See Other (expected 2xx)`,
    );
    expect(server.hits('/ok')).toHaveLength(1);
  });

  it('refuses at connect time a name whose DNS answer turns private after the check (rebinding)', async () => {
    const internal = await env.server({ '/admin': json(200, { secret: 'internal' }) });
    // First answer (the check before the request): a public address. Every later one: loopback.
    const resolver = scriptedResolver({ 'rebind.test': [['93.184.215.14'], ['127.0.0.1']] });
    const ns = await env.connect({
      httpJobs: { allowHosts: ['rebind.test'], resolveHost: resolver.resolveHost },
    });

    const { job } = await runJob(ns, { url: `http://rebind.test:${internal.port}/admin` });
    expect(resolver.calls).toEqual(['rebind.test', 'rebind.test']);
    expectRefused(job, 'refused rebind.test: its address 127.0.0.1 is a loopback address');
    expect(internal.received).toEqual([]);
  });

  it('runs a schedule slot as an HTTP call: "call this URL for tenant x" is data', async () => {
    const server = await env.server({ '/ping': json(200, { pong: true }) });
    const ns = await env.connect({ httpJobs: LOOPBACK_ALLOWED });
    await ns.schedules.create({
      id: 'ping-tenant-x',
      task: 'http.request',
      everyMs: 1000,
      payload: { url: server.url('/ping'), method: 'POST', json: { tenant: 'x' } },
    });
    ns.startScheduler({ pollIntervalMs: 100 });
    ns.startWorker(FAST_WORKER);
    const deadline = Date.now() + 10_000;
    let jobs = (await ns.listJobs({ task: 'http.request' })).jobs;
    while (jobs.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      jobs = (await ns.listJobs({ task: 'http.request' })).jobs;
    }
    const slotJob = jobs.at(-1);
    expect(slotJob?.scheduleId).toBe('ping-tenant-x');
    const done = await ns.waitFor(slotJob!.id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', result: { status: 200, json: { pong: true } } });
    expect(server.hits('/ping')[0]).toMatchObject({ method: 'POST', body: '{"tenant":"x"}' });
  });
});

describe('http.request on an instance typed by its options', () => {
  const env = httpJobsEnv('sqlite');

  it('enqueues and schedules through the typed calls, and the finished job has the result type', async () => {
    const server = await env.server({
      '/orders': json(201, { id: 'o-1' }),
      '/ping': json(200, { pong: true }),
    });
    const file = tempSqliteFile();
    // Connected here, not through env.connect, whose instances are untyped.
    const ns = await Nightshift.connect({
      db: `sqlite:${file.path}`,
      httpJobs: LOOPBACK_ALLOWED,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const { id } = await ns.enqueue('http.request', {
        url: server.url('/orders'),
        method: 'POST',
        json: { order: 42 },
      });
      await ns.schedules.create({
        id: 'ping',
        task: 'http.request',
        everyMs: 3_600_000,
        payload: { url: server.url('/ping'), method: 'PUT' },
      });
      const triggered = await ns.schedules.trigger('ping');
      ns.startWorker(FAST_WORKER);

      const done = await ns.waitFor(id, { timeoutMs: 15_000 });
      expectTypeOf(done.result).toEqualTypeOf<HttpRequestResult | null>();
      expect(done.state).toBe('completed');
      expect(done.result?.status).toBe(201);
      expect(done.result?.json).toEqual({ id: 'o-1' });
      expect(server.hits('/orders')[0]).toMatchObject({ method: 'POST', body: '{"order":42}' });

      expect(triggered.status).toBe('enqueued');
      if (triggered.status !== 'enqueued') return;
      const slot = await ns.waitFor(triggered.jobId, { timeoutMs: 15_000 });
      expect(slot).toMatchObject({ task: 'http.request', state: 'completed', result: { status: 200 } });
      expect(server.hits('/ping')[0]).toMatchObject({ method: 'PUT' });
    } finally {
      await ns.close({ force: true, graceMs: 0 });
      file.remove();
    }
  });
});
