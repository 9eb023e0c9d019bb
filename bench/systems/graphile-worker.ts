/**
 * graphile-worker 0.17 on PostgreSQL, in a fresh database per session.
 *
 * Recommended: the configuration its performance page quotes for its own figures, with
 * `concurrentJobs` set to the scenario's concurrency: a pool of concurrency + 1 (the page's 24 jobs on a
 * pool of 25), a local queue of 500 jobs fetched per round trip, and completions/failures batched
 * (delay 0). Defaults: `run()` with only a connection and the task list (concurrency 1, pool 10, no
 * local queue, unbatched completions), and its default logger silenced, which logs a line per job.
 */
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import type { Runner, RunnerOptions, WorkerUtils } from 'graphile-worker';
import { createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, WorkerProfile } from '../system.js';

const LOCAL_QUEUE_SIZE = 500;
const PRODUCER_POOL_SIZE = 10;
const TASK = 'noop';
/** graphile-worker deletes a job when it completes, so the finished count is enqueued minus rows left. */
const COUNT_JOBS_SQL = 'select count(*)::int as count from graphile_worker.jobs';

// A per-job "Completed task" log line would cost graphile-worker time no other system pays here.
const silentLogger = new Logger(() => () => undefined);

function workerOptions(profile: WorkerProfile): Partial<RunnerOptions> {
  if (profile.mode === 'defaults') return {};
  return {
    concurrency: profile.concurrency,
    maxPoolSize: profile.concurrency + 1,
    preset: {
      worker: {
        localQueue: { size: LOCAL_QUEUE_SIZE },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  };
}

async function connect(url: string, drop: (() => Promise<void>) | undefined): Promise<BenchSession> {
  // The producer's pool, owned here so destroy() can close it before dropping the database.
  const pool = new pg.Pool({ connectionString: url, max: PRODUCER_POOL_SIZE });
  let destroying = false;
  const onError = (error: Error): void => {
    // Dropping the database ends connections released lazily; only earlier errors matter.
    if (!destroying) console.error('graphile-worker connection error:', error.message);
  };
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool, logger: silentLogger });
  if (drop !== undefined) await utils.migrate();
  let runner: Runner | undefined;
  let enqueued = 0;

  return {
    ref: url,
    database: new URL(url).pathname.slice(1),
    async enqueueBulk(items) {
      await utils.addJobs(items.map((payload) => ({ identifier: TASK, payload })));
      enqueued += items.length;
    },
    async enqueueOne(payload) {
      await utils.addJob(TASK, payload);
      enqueued += 1;
    },
    async startWorker(profile, onStart) {
      runner = await run({
        connectionString: url,
        logger: silentLogger,
        events: new EventEmitter(),
        noHandleSignals: true,
        ...workerOptions(profile),
        taskList: {
          [TASK]: (payload) => {
            onStart(payload as BenchPayload);
          },
        },
      });
    },
    async completed() {
      const left = await utils.withPgClient(
        async (client) => (await client.query<{ count: number }>(COUNT_JOBS_SQL)).rows[0]?.count ?? 0,
      );
      return enqueued - left;
    },
    async stopWorker() {
      await runner?.stop();
      runner = undefined;
    },
    async destroy() {
      destroying = true;
      await runner?.stop();
      await utils.release();
      await pool.end();
      await drop?.();
    },
  };
}

/** graphile-worker 0.17 on 127.0.0.1:5432. */
export const graphileWorkerSystem: BenchSystem = {
  name: 'graphile-worker',
  isNightshift: false,
  store: 'postgres',
  settings: (profile) =>
    profile.mode === 'defaults'
      ? 'run({ connectionString, taskList }) (as installed: concurrency 1, maxPoolSize 10, no local queue); silent logger'
      : `concurrentJobs ${profile.concurrency}, maxPoolSize ${profile.concurrency + 1}, localQueue.size ${LOCAL_QUEUE_SIZE}, ` +
        'completeJobBatchDelay 0, failJobBatchDelay 0 (its performance page); silent logger',
  producerSettings: `makeWorkerUtils on a pg pool of ${PRODUCER_POOL_SIZE}; addJobs() per batch, addJob() per job`,
  async open() {
    const database = await createDatabase('graphile');
    return connect(database.url, database.drop);
  },
  attach: (ref) => connect(ref, undefined),
};
