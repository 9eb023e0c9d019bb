/**
 * Cluster events across processes, on both backends: a second OS process that runs no worker hears
 * every completion of a 10,000-job run exactly once through `ns.events` ('cluster:event'); on
 * PostgreSQL also across a restart of the server (a private one this file starts), after which it
 * catches up from its cursor.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { startChild } from '../support/child-process.js';
import { ownPostgresUnavailable, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 60_000 });

const JOBS = 10_000;
const FIXTURE = new URL('./fixtures/count-completions.ts', import.meta.url);
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Starts the counting child, enqueues JOBS jobs, drains them with a worker here, calling `during` once
 * `atCompleted` of them completed; returns the child's report and the ids.
 */
async function run(
  url: string,
  schema: string | undefined,
  during?: { atCompleted: number; action: () => Promise<void> },
): Promise<{ report: { distinct: number; repeats: number; digest: string }; digest: string }> {
  const store: Store = await openStore(url, schema === undefined ? {} : { schema });
  const ns = await Nightshift.connect({
    db: store,
    logger: createLogger({ level: 'silent' }),
    tasks: { noop: () => undefined },
  });
  cleanups.push(async () => {
    await ns.close();
    await store.close();
  });
  const queue = 'bulk';
  const child = startChild(FIXTURE, [url, schema ?? '-', queue, String(JOBS)]);
  cleanups.push(() => {
    child.process.kill();
  });
  await waitUntil(() => child.lines.includes('ready'), { timeoutMs: 30_000 });
  const ids: string[] = [];
  for (let start = 0; start < JOBS; start += 1_000) {
    const batch = await ns.enqueueMany(
      Array.from({ length: 1_000 }, (_, i) => ({
        task: 'noop',
        payload: { i: start + i },
        options: { queue },
      })),
    );
    ids.push(...batch.map((r) => r.id));
  }
  let completed = 0;
  let acted: Promise<void> | undefined;
  ns.events.on('job:completed', () => {
    completed += 1;
    if (during && completed === during.atCompleted) acted = during.action();
  });
  ns.startWorker({ concurrency: 100 });
  const lines = await child.done;
  await acted;
  const report = JSON.parse(lines.at(-1) ?? '{}') as { distinct: number; repeats: number; digest: string };
  return { report, digest: createHash('sha256').update(ids.sort().join(',')).digest('hex') };
}

describe('a second process hears every completion exactly once', () => {
  it('on SQLite', async () => {
    const file = tempSqliteFile();
    cleanups.push(() => file.remove());
    const { report, digest } = await run(`sqlite:${file.path}`, undefined);
    expect(report).toEqual({ distinct: JOBS, repeats: 0, digest });
  });

  it('on PostgreSQL', async () => {
    const schema = uniqueSchema('events_xp');
    cleanups.push(() => dropSchema(schema));
    const { report, digest } = await run(TEST_PG_URL, schema);
    expect(report).toEqual({ distinct: JOBS, repeats: 0, digest });
  });

  const unavailable = ownPostgresUnavailable();
  it.skipIf(unavailable !== null)('on PostgreSQL across a server restart, catching up after it', async () => {
    const server: OwnPostgres = await startOwnPostgres();
    cleanups.push(() => server.remove());
    let restarted = false;
    const { report, digest } = await run(server.url, 'restart', {
      atCompleted: 3_000,
      action: async () => {
        await server.restart('fast');
        restarted = true;
      },
    });
    expect(restarted).toBe(true);
    expect(report).toEqual({ distinct: JOBS, repeats: 0, digest });
  });
});
