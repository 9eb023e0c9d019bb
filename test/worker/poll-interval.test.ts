/**
 * How long a drained worker waits between claims when nothing wakes it (src/worker/options.ts,
 * `pollIntervalMs`): 2 s by default where the store hears no other process (SQLite, or PostgreSQL
 * without its LISTEN connection), 30 s while it does, and a claim at once when those events stop or
 * resume, since what was sent meanwhile is lost.
 */
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { resolveWorkerOptions } from '../../src/worker/options.js';
import { withAdmin } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKEND, countClaims, engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

/** FAST_WORKER with the poll interval left to its default. */
const { pollIntervalMs: _fastPoll, ...DEFAULT_POLL } = FAST_WORKER;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the poll interval', () => {
  it("defaults to 2 s without other processes' events and 30 s with them; a value set applies to both", () => {
    expect(resolveWorkerOptions({})).toMatchObject({ pollIntervalMs: 2_000, livePollIntervalMs: 30_000 });
    expect(resolveWorkerOptions({ pollIntervalMs: 500 })).toMatchObject({
      pollIntervalMs: 500,
      livePollIntervalMs: 500,
    });
  });

  it("polls every 2 s by default without other processes' events, and far less often with them", async () => {
    const ns = await env.connect({ tasks: { tick: () => undefined } });
    const counts = countClaims(ns.store);
    ns.startWorker(DEFAULT_POLL);
    if (ns.store.crossProcessEvents) {
      await waitUntil(() => ns.store.crossProcessEventsLive, { message: 'the LISTEN connection is up' });
    }
    await sleep(200); // the claims of the start and of the events becoming live
    const before = counts.calls;
    await sleep(4_500);
    const claims = counts.calls - before;
    if (ns.store.crossProcessEventsLive) expect(claims).toBe(0);
    else expect(claims).toBeGreaterThanOrEqual(2);
    // The longer poll costs new work nothing: its announcement wakes the worker.
    const job = await ns.enqueue('tick', null);
    const enqueuedAt = Date.now();
    expect((await ns.waitFor(job.id, { timeoutMs: 5_000 })).state).toBe('completed');
    expect(Date.now() - enqueuedAt).toBeLessThan(1_500);
  });

  it.runIf(BACKEND === 'postgres')(
    'claims at once when the LISTEN connection is lost and when it is back',
    async () => {
      const ns = await env.connect({ tasks: { tick: () => undefined } });
      if (!(ns.store instanceof PostgresStore)) throw new Error('expected a PostgreSQL store');
      const schema = ns.store.schema;
      const counts = countClaims(ns.store);
      ns.startWorker(DEFAULT_POLL);
      await waitUntil(() => ns.store.crossProcessEventsLive, { message: 'the LISTEN connection is up' });
      await sleep(300);
      const before = counts.calls;
      const killed = await withAdmin(async (admin) => {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'`,
          [schema],
        );
        return rows[0]?.n ?? 0;
      });
      expect(killed).toBe(1);
      // Without the wakes the drained lane would sleep out the 30 s it started waiting before the loss.
      await waitUntil(() => counts.calls >= before + 2, {
        timeoutMs: 1_500,
        message: () => `${counts.calls - before} claims after the loss`,
      });
      await waitUntil(() => ns.store.crossProcessEventsLive, { message: 'the LISTEN connection is back' });
    },
  );
});
