/**
 * Half-open connections (reliability scenario 14, store side): the server stops answering without
 * closing anything. A query must fail as `database_unavailable` within the statement timeout plus a
 * small margin instead of hanging for the kernel's keepalive minutes, and the store must recover on
 * fresh connections once traffic flows again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { startBlackholeProxy, type BlackholeProxy } from './blackhole-proxy.js';

const schema = uniqueSchema('halfopen');
let proxy: BlackholeProxy;
let store: PostgresStore;

beforeAll(async () => {
  const target = new URL(TEST_PG_URL);
  proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(TEST_PG_URL);
  viaProxy.port = String(proxy.port);
  // A 1 s statement timeout makes the client-side bound 6 s.
  store = await PostgresStore.open({
    connectionString: viaProxy.toString(),
    schema,
    poolSize: 2,
    statementTimeoutMs: 1_000,
  });
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  await proxy.close();
  await dropSchema(schema);
});

describe('PostgreSQL half-open connections', () => {
  it('fails a query on a black-holed connection as database_unavailable, then recovers', async () => {
    const [before] = await store.jobInsertMany({ jobs: [newJob({ queue: 'half-open' })] });
    expect(before?.created).toBe(true);

    proxy.blackhole(true);
    const error = await store.jobGet({ id: before?.job.id ?? '' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as NightshiftError).code).toBe('database_unavailable');

    proxy.blackhole(false);
    // The dead connection was discarded; the next calls run on new ones.
    expect((await store.jobGet({ id: before?.job.id ?? '' }))?.queue).toBe('half-open');
    const [after] = await store.jobInsertMany({ jobs: [newJob({ queue: 'half-open' })] });
    expect(after?.created).toBe(true);
  }, 20_000);

  it('replaces a black-holed LISTEN connection within its heartbeat bound and hears events again', async () => {
    const direct = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 1 });
    const heard: Array<string | null> = [];
    try {
      store.listen('job:ready', (e) => heard.push(e.queue));
      await waitUntil(() => store.crossProcessEventsLive);
      await direct.jobInsertMany({ jobs: [newJob({ queue: 'before-hole' })] });
      await waitUntil(() => heard.includes('before-hole'));

      proxy.blackhole(true);
      // Heartbeat every 15 s, 5 s to answer: the dead connection is dropped within ~20 s.
      await waitUntil(() => !store.crossProcessEventsLive, { timeoutMs: 30_000, intervalMs: 100 });
      proxy.blackhole(false);
      await waitUntil(() => store.crossProcessEventsLive, { timeoutMs: 30_000, intervalMs: 100 });
      await direct.jobInsertMany({ jobs: [newJob({ queue: 'after-hole' })] });
      await waitUntil(() => heard.includes('after-hole'));
    } finally {
      await direct.close();
    }
  }, 70_000);
});
