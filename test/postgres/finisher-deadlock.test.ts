/**
 * A finish aborted by PostgreSQL's deadlock detector (40P01) is sent again by the worker's finisher:
 * the outcome is written, once, and the key's slot comes back. The deadlock is a real one: another
 * session holds the key's row and then asks for the job's row, which the finish holds while it waits
 * for the key's row. That session waits longer before checking (deadlock_timeout), so the finish is
 * the transaction PostgreSQL aborts.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { Finisher } from '../../src/worker/finisher.js';
import { quietHealth } from '../support/quiet-health.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';

describe('finisher on a deadlock', () => {
  const schema = uniqueSchema('finishdeadlock');
  let store: PostgresStore;
  const other = new pg.Client(TEST_PG_URL);

  beforeAll(async () => {
    store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    await store.migrate();
    await other.connect();
  });

  afterAll(async () => {
    await other.end();
    await store.close();
    await dropSchema(schema);
  });

  it('sends the aborted batch again: the outcome is written and the slot given back', async () => {
    const job = newJob({ concurrencyKey: 'k' });
    await store.jobInsertMany({ jobs: [job] });
    const [claimed] = await store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 60_000 });
    const failures: string[] = [];
    // The real store, its finishes' failures noted on the way.
    const watched = new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'jobFinishMany') return Reflect.get(target, name, receiver) as unknown;
        return (params: Parameters<PostgresStore['jobFinishMany']>[0]) =>
          target.jobFinishMany(params).catch((error: unknown) => {
            failures.push(String(error));
            throw error;
          });
      },
    });
    const { logger, health } = quietHealth();
    const accepted: string[] = [];
    const finisher = new Finisher<string>(
      watched,
      health,
      logger,
      { accepted: (item) => accepted.push(item), refused: () => undefined, persisted: () => null },
      { batchSize: 10, flushMs: 1 },
    );

    await other.query('BEGIN');
    await other.query("SET LOCAL deadlock_timeout = '10s'");
    await other.query(`SELECT 1 FROM "${schema}".concurrency_keys WHERE key = 'k' FOR UPDATE`);
    finisher.add({ id: claimed!.id, leaseToken: claimed!.leaseToken, outcome: 'completed' }, 'the job');
    // The finish now holds the job's row and waits for the key's; asking for the job's row closes the
    // cycle, and the finish's own check (deadlock_timeout 1 s) aborts it.
    await sleep(300);
    await other.query(`SELECT 1 FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [claimed!.id]);
    await other.query('COMMIT');

    expect(await finisher.drain(20_000)).toBe(true);
    expect(failures).toEqual([expect.stringContaining('40P01')]);
    expect(accepted).toEqual(['the job']);
    expect((await store.jobGet({ id: job.id }))?.state).toBe('completed');
    expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
      { key: 'k', running: 0, limit: 1, operatorLimit: null, rate: null },
    ]);
  });
});
