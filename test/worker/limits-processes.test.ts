/**
 * Concurrency keys and queue limits under 4 worker processes (8 slots each, 800 ms leases) on the
 * engine tests' backend (engine-harness.ts), with one process killed (SIGKILL) and one paused past its leases (SIGSTOP, then SIGCONT:
 * a zombie whose late finishes are fenced). The running jobs per key and per limited queue are sampled
 * from the database every few ms all along: none may ever exceed its limit. After the run every job is
 * completed and every slot count is back to zero (no slot leaked, none returned twice).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { startChild, type Child } from '../support/child-process.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKEND } from './engine-harness.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const FIXTURE = new URL('./fixtures/limits-child.ts', import.meta.url);
const KEYS = 5;
const KEY_LIMIT = 2;
const QUEUE_LIMIT = 3;
const JOBS_PER_KEY = 24;
const QUEUE_JOBS = 60;

/** Running jobs per key and per queue, as the database has them now. */
const RUNNING = `SELECT coalesce(concurrency_key, '') AS key, queue, count(*) AS n FROM %s
  WHERE state = 'running' GROUP BY concurrency_key, queue`;
const SLOTS = `SELECT (SELECT coalesce(sum(in_use), 0) FROM %k) + (SELECT coalesce(sum(in_use), 0) FROM %q) AS n`;

interface Backend {
  store: Store;
  childArgs: string[];
  query: (sql: string) => Promise<Array<{ key: string; queue: string; n: number }>>;
  close: () => Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const file = join(mkdtempSync(join(tmpdir(), 'ns-limits-')), 'jobs.db');
  const store = await SqliteStore.open({ filename: file });
  await store.migrate();
  const reader = new Database(file, { readonly: true });
  return {
    store,
    childArgs: [file, '-'],
    query: (sql) =>
      Promise.resolve(
        reader
          .prepare(sql.replace('%s', 'jobs').replace('%k', 'concurrency_keys').replace('%q', 'queue_limits'))
          .all() as Array<{
          key: string;
          queue: string;
          n: number;
        }>,
      ),
    close: async () => {
      reader.close();
      await store.close();
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const schema = uniqueSchema('limits');
  const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
  await store.migrate();
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  const q = (table: string): string => `"${schema}".${table}`;
  return {
    store,
    childArgs: [TEST_PG_URL, schema],
    query: async (sql) =>
      (
        await client.query<{ key: string; queue: string; n: string }>(
          sql.replace('%s', q('jobs')).replace('%k', q('concurrency_keys')).replace('%q', q('queue_limits')),
        )
      ).rows.map((row) => ({ key: row.key, queue: row.queue, n: Number(row.n) })),
    close: async () => {
      await client.end();
      await store.close();
      await dropSchema(schema);
    },
  };
}

const children: Child[] = [];
afterAll(() => {
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  }
});

// The backend of the run (engine-harness.ts): the engine-on-postgres project runs this file again
// on PostgreSQL, so each backend runs once.
describe.each([
  BACKEND === 'postgres' ? (['postgres', postgresBackend] as const) : (['sqlite', sqliteBackend] as const),
])('limits under 4 worker processes on %s, with kill -9 and lapsed leases', (_name, open) => {
  it('never runs more than a limit, and gives every slot back', async () => {
    const backend = await open();
    const ns = await Nightshift.connect({
      db: backend.store,
      migrate: false,
      logger: createLogger({ level: 'silent' }),
      tasks: { hold: () => null },
      queues: { narrow: { concurrency: QUEUE_LIMIT } },
    });
    const keyed = Array.from({ length: KEYS * JOBS_PER_KEY }, (_, i) => ({
      task: 'hold' as const,
      payload: { ms: 20 + (i % 7) * 15 },
      options: { concurrencyKey: `tenant-${i % KEYS}`, concurrencyLimit: KEY_LIMIT },
    }));
    const narrow = Array.from({ length: QUEUE_JOBS }, (_, i) => ({
      task: 'hold' as const,
      payload: { ms: 20 + (i % 5) * 20 },
      options: { queue: 'narrow' },
    }));
    await ns.enqueueMany([...keyed, ...narrow]);
    const total = keyed.length + narrow.length;

    const workers = ['w0', 'w1', 'w2', 'w3'].map((name) => {
      const child = startChild(FIXTURE, [...backend.childArgs, name], { stdin: true });
      child.done.catch(() => undefined);
      children.push(child);
      return child;
    });
    await waitUntil(() => workers.every((w) => w.lines.includes('ready')), { timeoutMs: 60_000 });

    let mostPerKey = 0;
    let mostInQueue = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const row of await backend.query(RUNNING)) {
          if (row.key !== '') mostPerKey = Math.max(mostPerKey, row.n);
          if (row.queue === 'narrow') mostInQueue = Math.max(mostInQueue, row.n);
        }
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    for (const w of workers) w.process.stdin?.write('go\n');
    await new Promise((resolve) => setTimeout(resolve, 700));
    workers[0]?.process.kill('SIGKILL');
    workers[1]?.process.kill('SIGSTOP');
    // Past its 800 ms leases: the others rescue its jobs; its late finishes are then refused.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    workers[1]?.process.kill('SIGCONT');

    await waitUntil(
      async () => (await ns.listJobs({ state: 'completed', limit: 1_000 })).jobs.length === total,
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    sampling = false;
    await sampler;

    expect(samples).toBeGreaterThan(50);
    expect(mostPerKey).toBeLessThanOrEqual(KEY_LIMIT);
    expect(mostInQueue).toBeLessThanOrEqual(QUEUE_LIMIT);
    // The limits were reached, so the bound was tested, not idle.
    expect(mostPerKey).toBe(KEY_LIMIT);
    expect(mostInQueue).toBe(QUEUE_LIMIT);
    expect((await backend.query(SLOTS))[0]?.n).toBe(0);
    expect(await ns.concurrencyKeys({ running: true })).toEqual([]);
    expect(await ns.queueLimits()).toEqual([{ queue: 'narrow', limit: QUEUE_LIMIT, running: 0, rate: null }]);

    for (const w of workers)
      if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGKILL');
    await ns.close();
    await backend.close();
  });
});
