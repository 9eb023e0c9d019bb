/**
 * graphile-worker 0.17 on PostgreSQL, in a fresh database per session, with the configuration its
 * performance page quotes for its own figures: 24 concurrent jobs, a pool of 25, a local queue of 500
 * jobs fetched per round trip, and completions/failures batched (delay 0).
 */
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import type { Runner, WorkerUtils } from 'graphile-worker';
import { createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, OnJobStart } from '../system.js';
import { waitUntil } from '../wait.js';

const CONCURRENCY = 24;
const POOL_SIZE = 25;
const LOCAL_QUEUE_SIZE = 500;
const TASK = 'noop';
/** graphile-worker deletes a job when it completes, so "all completed" is "no job rows left". */
const COUNT_JOBS_SQL = 'select count(*)::int as count from graphile_worker.jobs';

// A per-job "Completed task" log line would cost graphile-worker time no other system pays here.
const silentLogger = new Logger(() => () => undefined);

/** graphile-worker 0.17 on 127.0.0.1:5432. */
export const graphileWorkerSystem: BenchSystem = {
  name: 'graphile-worker',
  isNightshift: false,
  settings:
    `concurrentJobs ${CONCURRENCY}, maxPoolSize ${POOL_SIZE}, localQueue.size ${LOCAL_QUEUE_SIZE}, ` +
    'completeJobBatchDelay 0, failJobBatchDelay 0; addJobs() per batch; silent logger',
  async open(): Promise<BenchSession> {
    const database = await createDatabase('graphile');
    // One pool owned here for producer and worker, so destroy() can close it before dropping the database.
    const pool = new pg.Pool({ connectionString: database.url, max: POOL_SIZE });
    let destroying = false;
    const onError = (error: Error): void => {
      // Dropping the database ends connections the runner releases lazily; only earlier errors matter.
      if (!destroying) console.error('graphile-worker connection error:', error.message);
    };
    pool.on('error', onError);
    pool.on('connect', (client) => client.on('error', onError));
    const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool, logger: silentLogger });
    await utils.migrate();
    let runner: Runner | undefined;
    let finished = 0;

    return {
      async enqueueBulk(count, batchSize) {
        for (let start = 0; start < count; start += batchSize) {
          const size = Math.min(batchSize, count - start);
          await utils.addJobs(
            Array.from({ length: size }, (_, i) => ({ identifier: TASK, payload: { seq: start + i } })),
          );
        }
      },
      async enqueueOne(payload) {
        await utils.addJob(TASK, payload);
      },
      async startWorker(onStart: OnJobStart) {
        const events = new EventEmitter();
        events.on('job:complete', () => {
          finished += 1;
        });
        runner = await run({
          pgPool: pool,
          logger: silentLogger,
          events,
          noHandleSignals: true,
          concurrency: CONCURRENCY,
          preset: {
            worker: {
              localQueue: { size: LOCAL_QUEUE_SIZE },
              completeJobBatchDelay: 0,
              failJobBatchDelay: 0,
            },
          },
          taskList: {
            [TASK]: (payload) => {
              onStart(payload as BenchPayload);
            },
          },
        });
      },
      async waitCompleted(count) {
        await waitUntil(`${count} graphile-worker jobs handled`, () => finished >= count);
        // 'job:complete' fires before the batched completion reaches the database: ask the database.
        await waitUntil(`${count} graphile-worker jobs completed`, () =>
          utils.withPgClient(
            async (client) => (await client.query<{ count: number }>(COUNT_JOBS_SQL)).rows[0]?.count === 0,
          ),
        );
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
        await database.drop();
      },
    };
  },
};
