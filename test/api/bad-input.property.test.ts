/**
 * Property-based bad input on the job and schedule endpoints, on both backends: whatever the body, the
 * answer is never a 5xx, every response matches the OpenAPI document (checked by the request helper),
 * and nothing is stored unless the request was valid.
 */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

const RUNS = 80;

// Strings of every kind, NUL and lone surrogates included (unit 'binary' draws any code unit, but
// rarely those two, so they are also drawn on purpose).
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('nul\u0000inside', 'lone\ud800surrogate'),
);
const anyValue = fc.oneof(
  fc.jsonValue(),
  anyString,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const someNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 53, -1, 0, 1e300),
  anyString,
);

// Mostly valid requests with a few bad fields, so the stored path is exercised as often as the refusals.
const enqueueBody = fc
  .record(
    {
      task: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('noop', 'email.send') },
        fc.constant('nope'),
        anyValue,
      ),
      payload: fc.oneof(fc.record({ to: fc.oneof(fc.constant('a@example.com'), anyString) }), anyValue),
      queue: fc.oneof(anyString, anyValue),
      priority: someNumber,
      runAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        anyString,
      ),
      delayMs: someNumber,
      maxAttempts: someNumber,
      idempotencyKey: anyString,
      timeoutMs: someNumber,
      extra: anyValue,
    },
    { requiredKeys: ['task'] },
  )
  .map((body) => (fc.sample(fc.boolean(), 1)[0] ? body : pickValid(body)));

/** Keeps only the fields that are plainly valid, so many generated requests must succeed. */
function pickValid(body: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = { task: body.task, payload: body.payload };
  if (typeof body.queue === 'string') kept.queue = body.queue;
  if (Number.isInteger(body.priority) && Math.abs(body.priority as number) < 1000)
    kept.priority = body.priority;
  return kept;
}
// Raw bodies too: malformed JSON, JSON that is not an object.
const rawBody = fc.oneof(
  anyString,
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

const scheduleBody = fc.record(
  {
    id: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), anyString),
    task: fc.oneof(fc.constantFrom('noop', 'email.send'), anyString),
    cron: fc.oneof(fc.constantFrom('0 6 * * *', '*/5 * * * * *', '61 * * * *', ''), anyString),
    everyMs: someNumber,
    timezone: fc.oneof(fc.constantFrom('UTC', 'Europe/London', 'Nowhere/Else'), anyString),
    payload: anyValue,
    overlap: fc.oneof(fc.constantFrom('skip', 'queue', 'allow'), anyString),
    catchUp: fc.oneof(fc.constantFrom('skip', 'latest', 'all'), anyString),
    jitterMs: someNumber,
    paused: anyValue,
  },
  { requiredKeys: [] },
);

const EmailPayload = z.object({ to: z.string().email(), subject: z.string().optional() });

async function jobCount(s: TestServer): Promise<number> {
  return (await s.store.jobCountByQueue()).reduce((sum, row) => sum + row.count, 0);
}

describe.each(BACKENDS)('bad input on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('POST /jobs: never a 5xx, and a job is stored only for a valid request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(enqueueBody, enqueueBody.map(pickValid), rawBody), async (body) => {
        const before = await jobCount(s);
        const response = await s.request('POST', '/api/v1/jobs', { token: s.tokens.operator, body });
        expect(response.status).toBeLessThan(500);
        const after = await jobCount(s);
        if (response.status === 201) {
          expect(after).toBe(before + 1);
          const sent = body as Record<string, unknown>;
          expect(['noop', 'email.send']).toContain(sent.task);
          if (sent.task === 'email.send') expect(EmailPayload.safeParse(sent.payload).success).toBe(true);
          expect(response.body.job.task).toBe(sent.task);
        } else {
          expect(after).toBe(before);
          if (response.status !== 200) expect(response.status).toBeGreaterThanOrEqual(400);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /jobs/bulk: all or nothing, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(enqueueBody, { maxLength: 4 }), async (jobs) => {
        const before = await jobCount(s);
        const response = await s.request('POST', '/api/v1/jobs/bulk', {
          token: s.tokens.operator,
          body: { jobs },
        });
        expect(response.status).toBeLessThan(500);
        const after = await jobCount(s);
        if (response.status === 201)
          expect(after - before).toBe(
            response.body.jobs.filter((j: { created: boolean }) => j.created).length,
          );
        else expect(after).toBe(before);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('POST /schedules and PATCH: never a 5xx, and nothing written by a refused request', async () => {
    await s.request('POST', '/api/v1/schedules', { body: { id: 'fixed', task: 'noop', everyMs: 60_000 } });
    await fc.assert(
      fc.asyncProperty(fc.oneof(scheduleBody, rawBody), fc.boolean(), async (body, patch) => {
        const before = (await s.ns.schedules.list({ limit: 1000 })).schedules;
        const response = patch
          ? await s.request('PATCH', '/api/v1/schedules/fixed', { body })
          : await s.request('POST', '/api/v1/schedules', { body });
        expect(response.status).toBeLessThan(500);
        const after = (await s.ns.schedules.list({ limit: 1000 })).schedules;
        if (response.status >= 400) {
          expect(after).toEqual(before);
        } else if (!patch) {
          expect(after.map((x) => x.id)).toContain((body as { id: string }).id);
          await s.request('DELETE', `/api/v1/schedules/${encodeURIComponent((body as { id: string }).id)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
