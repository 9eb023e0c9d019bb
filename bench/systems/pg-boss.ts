/**
 * pg-boss 10 on PostgreSQL, in a fresh database per session. pg-boss has no LISTEN wake-up: each
 * `work()` call adds a polling loop that fetches `batchSize` jobs, runs the batch handler, and sleeps
 * out the rest of its polling interval (0.5 s is the minimum it accepts) even after a full batch, so a
 * loop moves at most batchSize / 0.5 s jobs. Trials on the 2-core machine with 20,000 jobs (time until
 * the database showed all completed): 8x250 4.9 s, 2x1000 5.3 s, 4x500 6.5 s, 16x100 8.1 s, 1x1000
 * 9.8 s. 8x250 is kept. Batches of thousands go faster still but hand one handler call thousands of jobs
 * that succeed or fail together, which no other system here is asked to do.
 */
import PgBoss from 'pg-boss';
import { createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, OnJobStart } from '../system.js';
import { waitUntil } from '../wait.js';

const QUEUE = 'bench';
const WORKERS = 8;
const BATCH_SIZE = 250;
const POLLING_INTERVAL_SECONDS = 0.5;
const POOL_SIZE = 10;

/** pg-boss 10 on 127.0.0.1:5432. */
export const pgBossSystem: BenchSystem = {
  name: 'pg-boss',
  isNightshift: false,
  settings:
    `${WORKERS} work() loops x batchSize ${BATCH_SIZE}, pollingIntervalSeconds ${POLLING_INTERVAL_SECONDS} (minimum), ` +
    `pool ${POOL_SIZE}; supervise/schedule off; insert() per batch`,
  async open(): Promise<BenchSession> {
    const database = await createDatabase('pgboss');
    // Maintenance and cron timers are switched off: the scenarios measure the job path, and the other
    // systems run no scheduler during the benchmark either.
    const boss = new PgBoss({
      connectionString: database.url,
      max: POOL_SIZE,
      supervise: false,
      schedule: false,
    });
    let destroying = false;
    // Dropping the database ends connections pg-boss closes lazily; only earlier errors matter.
    boss.on('error', (error) => {
      if (!destroying) console.error('pg-boss error:', error.message);
    });
    await boss.start();
    await boss.createQueue(QUEUE);
    let handled = 0;

    return {
      async enqueueBulk(count, batchSize) {
        for (let start = 0; start < count; start += batchSize) {
          const size = Math.min(batchSize, count - start);
          await boss.insert(
            Array.from({ length: size }, (_, i) => ({ name: QUEUE, data: { seq: start + i } })),
          );
        }
      },
      async enqueueOne(payload) {
        await boss.send(QUEUE, payload);
      },
      async startWorker(onStart: OnJobStart) {
        for (let i = 0; i < WORKERS; i += 1) {
          await boss.work<BenchPayload>(
            QUEUE,
            { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
            (jobs) => {
              for (const job of jobs) onStart(job.data);
              handled += jobs.length;
              return Promise.resolve();
            },
          );
        }
      },
      async waitCompleted(count) {
        await waitUntil(`${count} pg-boss jobs handled`, () => handled >= count);
        // pg-boss completes a batch after its handler resolves without awaiting it: ask the database.
        await waitUntil(
          `${count} pg-boss jobs completed`,
          async () => (await boss.getQueueSize(QUEUE, { before: 'completed' })) === 0,
        );
      },
      async stopWorker() {
        await boss.offWork(QUEUE);
      },
      async destroy() {
        destroying = true;
        await boss.stop({ graceful: false, wait: true });
        await database.drop();
      },
    };
  },
};
