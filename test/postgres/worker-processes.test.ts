/**
 * RELIABILITY scenario 9 through the real engine on PostgreSQL: 4 worker processes x 8 slots
 * (test/postgres/fixtures/worker-child.ts) start claiming together on 10,000 ready jobs in one schema.
 * Each handler commits a ledger row with its job's completion (`ctx.transaction` + `ctx.complete`).
 * Every job must be claimed and completed exactly once: attempt 1, one ledger row, one run row, and
 * the ledger agrees with each process's own count of the handlers it ran.
 */
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startChild, type Child } from '../support/child-process.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const PROCESSES = 4;
const SLOTS = 8;
const JOBS = 10_000;
const FIXTURE = new URL('./fixtures/worker-child.ts', import.meta.url);

const schema = uniqueSchema('procs');
let store: PostgresStore;
// One connection for every check: the shared server allows 100 clients and other test files run
// beside this one, so polling must not open a connection per look.
let admin: pg.Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
  await store.migrate();
  admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(
    `CREATE TABLE "${schema}".ledger (job_id uuid NOT NULL, attempt int NOT NULL, worker text NOT NULL, pid int NOT NULL)`,
  );
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await admin.end();
  await store.close();
  await dropSchema(schema);
});

/** A worker process of the fixture, named `name`, waiting for its start line on stdin. */
function startWorkerProcess(name: string): Child {
  const child = startChild(FIXTURE, [TEST_PG_URL, schema, name, String(SLOTS)], { stdin: true });
  // Only exit codes and output are checked; a failed exit shows up there, not as a rejection here.
  child.done.catch(() => undefined);
  children.push(child.process);
  return child;
}

async function count(sql: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(`SELECT (${sql})::int AS n`);
  return rows[0]?.n ?? -1;
}

describe('4 worker processes x 8 slots on one PostgreSQL schema (scenario 9)', () => {
  it('claims and completes each of 10,000 ready jobs exactly once', async () => {
    const ns = await Nightshift.connect({
      db: store,
      migrate: false,
      logger: createLogger({ level: 'silent' }),
      tasks: { record: () => null },
    });
    for (let start = 0; start < JOBS; start += 1_000) {
      await ns.enqueueMany(
        Array.from({ length: 1_000 }, (_, i) => ({ task: 'record', payload: { n: start + i } })),
      );
    }
    await ns.close();
    expect(await count(`SELECT count(*) FROM "${schema}".jobs WHERE state = 'queued'`)).toBe(JOBS);

    const workers = Array.from({ length: PROCESSES }, (_, i) => startWorkerProcess(`w${i}`));
    await waitUntil(() => workers.every((w) => w.lines.includes('ready')), {
      timeoutMs: 60_000,
      message: 'every worker process to connect',
    });
    // One start line to all of them, so the four really race for the same ready rows.
    for (const w of workers) w.process.stdin?.write('go\n');

    await waitUntil(
      async () => (await count(`SELECT count(*) FROM "${schema}".jobs WHERE state = 'completed'`)) === JOBS,
      {
        timeoutMs: 150_000,
        intervalMs: 200,
        message: 'every job to complete',
      },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker stderr:\n${workers.map((w) => w.stderr()).join('\n')}`);
    });
    for (const w of workers) w.process.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual(workers.map(() => 0));

    // Each job: completed by its first and only claim.
    expect(await count(`SELECT count(*) FROM "${schema}".jobs`)).toBe(JOBS);
    expect(
      await count(`SELECT count(*) FROM "${schema}".jobs WHERE state <> 'completed' OR attempt <> 1`),
    ).toBe(0);
    // One ledger row per job (ledger and completion commit together), from the worker the job names.
    expect(await count(`SELECT count(*) FROM "${schema}".ledger`)).toBe(JOBS);
    expect(await count(`SELECT count(DISTINCT job_id) FROM "${schema}".ledger`)).toBe(JOBS);
    expect(
      await count(
        `SELECT count(*) FROM "${schema}".ledger l JOIN "${schema}".jobs j ON j.id = l.job_id
         WHERE l.attempt <> 1 OR l.worker <> j.worker_id`,
      ),
    ).toBe(0);
    // One run per job in the history, completed, by the same worker.
    expect(await count(`SELECT count(*) FROM "${schema}".job_run_history`)).toBe(JOBS);
    expect(
      await count(
        `SELECT count(*) FROM "${schema}".job_run_history r JOIN "${schema}".jobs j ON j.id = r.job_id
         WHERE r.outcome = 'completed' AND r.attempt = 1 AND r.worker_id = j.worker_id`,
      ),
    ).toBe(JOBS);

    // Each process's own count of handlers run matches its ledger rows, and all four took part.
    const reported = workers.map(
      (w) => JSON.parse(w.lines.at(-1) ?? '{}') as { worker: string; handled: number },
    );
    const { rows } = await admin.query<{ worker: string; n: number }>(
      `SELECT worker, count(*)::int AS n FROM "${schema}".ledger GROUP BY worker`,
    );
    const perWorker = Object.fromEntries(rows.map((r) => [r.worker, r.n]));
    expect(Object.fromEntries(reported.map((r) => [r.worker, r.handled]))).toEqual(perWorker);
    expect(Object.keys(perWorker).sort()).toEqual(['w0', 'w1', 'w2', 'w3']);
    for (const n of Object.values(perWorker)) expect(n).toBeGreaterThan(0);
  });
});
