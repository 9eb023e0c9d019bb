/**
 * RELIABILITY scenario 13 on PostgreSQL, with a server of the test's own (test/support/own-postgres.ts)
 * so it can be restarted and crashed:
 * - a worker (8 slots, 2 s leases) on 2,000 jobs lives through a fast restart and, later, a crash
 *   (`pg_ctl stop -m immediate`) with 3 s of downtime, longer than its leases: it recovers in the same
 *   process, every job completes, and the ledger rows its handlers commit together with the completion
 *   (`ctx.transaction` + `ctx.complete`) show no job completed twice;
 * - a server that stays away longer than `maxStoreDownMs` fails the worker with
 *   `database_unavailable`, and makes `nightshift worker` exit 1 with a message that says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { defineTask } from '../../src/task.js';
import { spawnCli, tempDir } from '../cli/cli-process.js';
import { ownPostgresUnavailable, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { waitUntil } from '../support/wait-until.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const JOBS = 2_000;
const LEASE_MS = 2_000;
const logger = createLogger({ level: process.env['NIGHTSHIFT_TEST_LOG'] ?? 'silent' });
const unavailable = ownPostgresUnavailable();

let server: OwnPostgres | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

function own(): OwnPostgres {
  if (!server) throw new Error('the own PostgreSQL server did not start');
  return server;
}

beforeAll(async () => {
  if (unavailable === null) server = await startOwnPostgres();
});

afterAll(async () => {
  try {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  } finally {
    await server?.remove();
  }
});

/** A migrated store in a schema of its own on the own server, closed after the file. */
async function openStore(schema: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ connectionString: own().url, schema, poolSize: 10 });
  cleanups.push(() => store.close());
  await store.migrate();
  return store;
}

async function count(sql: string): Promise<number> {
  const [row] = await own().query<{ n: number }>(`SELECT (${sql})::int AS n`);
  return row?.n ?? -1;
}

describe.skipIf(unavailable !== null)(
  `PostgreSQL restarted under a running worker${unavailable === null ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('recovers from a fast restart and a crash in the same process: all jobs completed, none twice', async () => {
      const schema = 'restart';
      const store = await openStore(schema);
      await own().query(
        `CREATE TABLE ${schema}.ledger (job_id uuid NOT NULL, attempt int NOT NULL, worker text NOT NULL)`,
      );
      const ns = await Nightshift.connect({
        db: store,
        logger,
        tasks: {
          work: defineTask({
            // Attempts that die with the server are retried quickly, and many outages never exhaust a job.
            maxAttempts: 25,
            backoff: { baseMs: 100, maxMs: 1_000 },
            handler: async (payload: { n: number }, ctx) => {
              await ctx.transaction(async (tx: pg.ClientBase) => {
                await tx.query(`INSERT INTO ${schema}.ledger (job_id, attempt, worker) VALUES ($1, $2, $3)`, [
                  ctx.job.id,
                  ctx.job.attempt,
                  ctx.job.workerId,
                ]);
                await ctx.complete(payload.n, { tx });
              });
            },
          }),
        },
      });
      cleanups.push(() => ns.close({ force: true, graceMs: 0 }));
      for (let start = 0; start < JOBS; start += 500) {
        await ns.enqueueMany(
          Array.from({ length: 500 }, (_, i) => ({ task: 'work', payload: { n: start + i } })),
        );
      }

      const errorSources = new Set<string>();
      ns.events.on('store:error', (e) => errorSources.add(e.source));
      let failure: unknown;
      const worker = ns.startWorker({
        concurrency: 8,
        leaseMs: LEASE_MS,
        pollIntervalMs: 50,
        rescueIntervalMs: 250,
        pruneIntervalMs: 0,
        maxStoreDownMs: 60_000,
      });
      worker.failed.catch((error: unknown) => (failure = error));

      const ledgerRows = (): Promise<number> => count(`SELECT count(*) FROM ${schema}.ledger`);
      const completed = (): Promise<number> =>
        count(`SELECT count(*) FROM ${schema}.jobs WHERE state = 'completed'`);

      // 1: a fast restart (sessions terminated, clean shutdown) a fifth of the way in.
      await waitUntil(async () => (await ledgerRows()) >= JOBS / 5, {
        timeoutMs: 60_000,
        intervalMs: 20,
        message: 'the worker to complete a fifth of the jobs',
      });
      await own().restart('fast');
      const afterRestart = await completed();
      expect(afterRestart, 'the restart came in the middle of the run').toBeLessThan(JOBS);

      // 2: a crash halfway, down for longer than a lease, so running jobs' leases lapse meanwhile.
      await waitUntil(async () => (await ledgerRows()) >= afterRestart + JOBS / 4, {
        timeoutMs: 60_000,
        intervalMs: 20,
        message: 'the worker to carry on after the fast restart',
      });
      await own().stop('immediate');
      // The outage itself, not a wait for state: the server stays away this long.
      await sleep(LEASE_MS + 1_000);
      await own().start();
      const afterCrash = await completed();
      expect(afterCrash, 'the crash came in the middle of the run').toBeLessThan(JOBS);
      // The fleet's rows are unlogged, so crash recovery emptied them; the worker's next heartbeat
      // (every 5 s) registers it again.
      await waitUntil(async () => (await ns.workers()).length === 1, {
        timeoutMs: 15_000,
        intervalMs: 100,
        message: 'the worker listed again after the crash',
      });

      await waitUntil(async () => (await completed()) === JOBS, {
        timeoutMs: 90_000,
        intervalMs: 100,
        message: 'every job to complete',
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}\nserver log:\n${own().log().slice(-2_000)}`);
      });
      await worker.stop({ graceMs: 5_000 });
      expect(failure, 'the worker never gave up').toBeUndefined();
      await expect(worker.failed).resolves.toBeUndefined();
      expect(errorSources.size, 'the worker saw the outages').toBeGreaterThan(0);

      // Every job completed, nothing left running or waiting.
      expect(await count(`SELECT count(*) FROM ${schema}.jobs`)).toBe(JOBS);
      expect(await count(`SELECT count(*) FROM ${schema}.jobs WHERE state <> 'completed'`)).toBe(0);
      // One ledger row per job, written by the attempt that completed it: no completion twice, and no
      // effect of an attempt that died with the server survived it.
      expect(await ledgerRows()).toBe(JOBS);
      expect(await count(`SELECT count(DISTINCT job_id) FROM ${schema}.ledger`)).toBe(JOBS);
      expect(
        await count(
          `SELECT count(*) FROM ${schema}.ledger l JOIN ${schema}.jobs j ON j.id = l.job_id
           WHERE l.attempt <> j.attempt OR l.worker IS DISTINCT FROM j.worker_id`,
        ),
      ).toBe(0);
      // Run history: exactly one completed run per job, and one run row per attempt spent.
      const runs = await own().query<{ job_id: string; attempt: number; runs: number; completed: number }>(
        `SELECT j.id AS job_id, j.attempt, count(r.job_id)::int AS runs,
                (count(*) FILTER (WHERE r.outcome = 'completed'))::int AS completed
         FROM ${schema}.jobs j LEFT JOIN ${schema}.job_run_history r ON r.job_id = j.id
         GROUP BY j.id, j.attempt`,
      );
      expect(runs).toHaveLength(JOBS);
      expect(runs.filter((r) => r.completed !== 1)).toEqual([]);
      expect(runs.filter((r) => r.runs !== r.attempt)).toEqual([]);
      // The outages really cut attempts short (killed transactions, lapsed leases), and those re-ran.
      expect(runs.filter((r) => r.attempt > 1).length, 'attempts the outages cut short').toBeGreaterThan(0);
    });

    it('fails the worker with database_unavailable when the server stays away past maxStoreDownMs', async () => {
      const store = await openStore('outage');
      const ns = await Nightshift.connect({ db: store, logger, tasks: { echo: (n: number) => n } });
      cleanups.push(() => ns.close({ force: true, graceMs: 0 }));
      const worker = ns.startWorker({ pollIntervalMs: 50, rescueIntervalMs: 250, maxStoreDownMs: 2_000 });
      const failed = worker.failed.then(
        () => new Error('worker.failed resolved'),
        (error: unknown) => error,
      );
      const { id } = await ns.enqueue('echo', 7);
      expect(await ns.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed', result: 7 });

      await own().stop('fast');
      try {
        const error = await Promise.race([
          failed,
          sleep(30_000).then(() => new Error('worker.failed did not reject within 30 s')),
        ]);
        expect(error).toBeInstanceOf(NightshiftError);
        expect((error as NightshiftError).code).toBe('database_unavailable');
        expect((error as NightshiftError).message).toMatch(/store unavailable for more than 2000 ms/);
      } finally {
        await own().start();
      }
      // The job it finished before the outage is still there, finished once.
      expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['completed']);
    });

    it('makes `nightshift worker` exit 1 with a clear message when the server stays away', async () => {
      const dir = tempDir('nightshift-pg-outage-');
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(
        join(dir, 'nightshift.config.mjs'),
        `export default {
  tasks: { echo: (payload) => payload },
  worker: { pollIntervalMs: 50, rescueIntervalMs: 250, maxStoreDownMs: 2000 },
};
`,
      );
      const child = spawnCli(['worker'], { cwd: dir, env: { NIGHTSHIFT_DB: own().url } });
      let stderr = '';
      child.stdout.resume();
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      await waitUntil(() => stderr.includes('serving tasks'), {
        timeoutMs: 30_000,
        message: () => `the CLI worker to start (stderr: ${stderr})`,
      });

      // It really works on this server before the outage: the CLI uses the default schema.
      const ns = await Nightshift.connect({
        db: await openStore('nightshift'),
        logger,
        tasks: { echo: (p: unknown) => p },
      });
      const { id } = await ns.enqueue('echo', { hello: 'world' });
      expect(await ns.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed' });
      await ns.close();

      await own().stop('fast');
      try {
        const code = await Promise.race([exited, sleep(40_000).then(() => 'still running' as const)]);
        expect(code, stderr).toBe(1);
        expect(stderr).toMatch(/nightshift: store unavailable for more than 2000 ms/);
      } finally {
        await own().start();
      }
    });
  },
);
