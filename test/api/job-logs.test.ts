/** GET /api/v1/jobs/:id/logs over real HTTP, on SQLite and PostgreSQL: lines a real worker stored. */
// Bodies are `any` in tests: the request helper has already validated each against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { BACKENDS, startTestServer, type TestServer } from './api-server.js';

describe.each(BACKENDS)('job logs endpoint on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend);
  });
  afterAll(() => s.close());

  it('returns the lines of each attempt, in order, to a viewer; 404 for an unknown job', async () => {
    // A worker process of its own tasks on the server's database, as a deployment runs one.
    const workerSide = await Nightshift.connect({
      db: s.store,
      logger: createLogger({ level: 'silent' }),
      tasks: {
        'logs.writer': {
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: (_payload: unknown, ctx) => {
            ctx.log(`attempt ${ctx.job.attempt}`, { n: ctx.job.attempt });
            if (ctx.job.attempt === 1) throw new Error('again');
          },
        },
      },
    });
    const queue = `logs-${uuidv7()}`;
    try {
      const { id } = await workerSide.enqueue('logs.writer', null, { queue });
      workerSide.startWorker({ queues: [queue], pollIntervalMs: 20 });
      expect((await workerSide.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');

      const response = await s.request('GET', `/api/v1/jobs/${id}/logs`, { token: s.tokens.viewer });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        logs: [
          {
            attempt: 1,
            at: expect.any(String) as unknown,
            level: 'info',
            message: 'attempt 1',
            data: { n: 1 },
          },
          {
            attempt: 2,
            at: expect.any(String) as unknown,
            level: 'info',
            message: 'attempt 2',
            data: { n: 2 },
          },
        ],
      });
      expect(new Date(response.body.logs[0].at as string).getTime()).not.toBeNaN();
    } finally {
      await workerSide.close();
    }

    for (const unknown of [uuidv7(), 'not-a-job-id']) {
      const missing = await s.request('GET', `/api/v1/jobs/${unknown}/logs`, { token: s.tokens.viewer });
      expect({ status: missing.status, code: missing.body.error.code }).toEqual({
        status: 404,
        code: 'not_found',
      });
    }
  });
});
