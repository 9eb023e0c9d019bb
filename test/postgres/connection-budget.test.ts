/**
 * The connections one idle worker process holds on PostgreSQL with every default (docs/SCALING.md):
 * a start opens a few at once (registration, rescue, prune, two claims), the pool gives them back
 * after its 10 s idle timeout, and then the process holds its LISTEN connection and the one pooled
 * connection it polls on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startChild } from '../support/child-process.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

const WORKER = new URL('../support/postgres-worker-child.ts', import.meta.url);
const schema = uniqueSchema('budget');

/** Connections the server has from clients that gave `application` as their name. */
function connectionsOf(application: string): Promise<number> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [application],
    );
    return rows[0]?.n ?? 0;
  });
}

describe('connection budget of an idle worker process', () => {
  afterAll(() => dropSchema(schema));

  it('holds at most 5 connections at its start and 2 once idle (LISTEN and one pooled)', async () => {
    const application = `${schema}-worker`;
    const url = `${TEST_PG_URL}${TEST_PG_URL.includes('?') ? '&' : '?'}application_name=${application}`;
    const child = startChild(WORKER, [url, schema], { stdin: true });
    try {
      await waitUntil(() => child.lines.includes('ready'), { timeoutMs: 20_000, message: child.stderr() });
      let most = 0;
      await waitUntil(
        async () => {
          const now = await connectionsOf(application);
          most = Math.max(most, now);
          return now === 2;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'the idle worker kept more than 2 connections' },
      );
      expect(most).toBeGreaterThanOrEqual(2);
      expect(most).toBeLessThanOrEqual(5);
    } finally {
      child.process.stdin?.end();
      await child.exited;
    }
    // Stopped, the process closes them all.
    await waitUntil(async () => (await connectionsOf(application)) === 0, {
      message: 'connections left open',
    });
  });
});
