/**
 * pg-boss 10 on PostgreSQL, in a fresh database per session. pg-boss 10 has no LISTEN wake-up and no
 * per-job concurrency option: a `work()` call is one polling loop that fetches up to `batchSize` jobs,
 * hands them to the handler together, completes them together when it resolves, and sleeps out the rest
 * of its polling interval (at least 0.5 s) even after a full batch.
 *
 * Recommended, at concurrency N: one `work()` loop with `batchSize: N` whose handler starts the batch's
 * jobs concurrently, at the shortest polling interval it accepts (0.5 s); maintenance (`supervise`)
 * and cron (`schedule`) off, since the other systems run no maintenance timers in these scenarios.
 * Defaults: `new PgBoss(url)` and `work(queue, handler)`: one job every 2 s per loop.
 */
import PgBoss from 'pg-boss';
import { createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, WorkerProfile } from '../system.js';

const QUEUE = 'bench';
const POLLING_INTERVAL_SECONDS = 0.5;

async function connect(url: string, drop: (() => Promise<void>) | undefined): Promise<BenchSession> {
  let destroying = false;
  const started = async (boss: PgBoss): Promise<PgBoss> => {
    // Dropping the database ends connections pg-boss closes lazily; only earlier errors matter.
    boss.on('error', (error) => {
      if (!destroying) console.error('pg-boss error:', error.message);
    });
    await boss.start();
    return boss;
  };
  // The producer's instance; the worker gets its own, configured by its profile, as a worker process would.
  const boss = await started(new PgBoss({ connectionString: url, supervise: false, schedule: false }));
  if (drop !== undefined) await boss.createQueue(QUEUE);
  let worker: PgBoss | undefined;
  let enqueued = 0;

  return {
    ref: url,
    database: new URL(url).pathname.slice(1),
    async enqueueBulk(items) {
      await boss.insert(items.map((data) => ({ name: QUEUE, data })));
      enqueued += items.length;
    },
    async enqueueOne(payload) {
      await boss.send(QUEUE, payload);
      enqueued += 1;
    },
    async startWorker(profile: WorkerProfile, onStart) {
      const handler = async (jobs: Array<PgBoss.Job<BenchPayload>>): Promise<void> => {
        await Promise.all(jobs.map((job) => Promise.resolve().then(() => onStart(job.data))));
      };
      if (profile.mode === 'defaults') {
        worker = await started(new PgBoss(url));
        await worker.work<BenchPayload>(QUEUE, handler);
      } else {
        worker = await started(new PgBoss({ connectionString: url, supervise: false, schedule: false }));
        await worker.work<BenchPayload>(
          QUEUE,
          { batchSize: profile.concurrency, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
          handler,
        );
      }
    },
    async completed() {
      // pg-boss completes a batch after its handler resolves without awaiting it: ask the database.
      return enqueued - (await boss.getQueueSize(QUEUE, { before: 'completed' }));
    },
    async stopWorker() {
      await worker?.stop({ graceful: true, wait: true });
      worker = undefined;
    },
    async destroy() {
      destroying = true;
      await worker?.stop({ graceful: false, wait: true });
      await boss.stop({ graceful: false, wait: true });
      await drop?.();
    },
  };
}

/** pg-boss 10 on 127.0.0.1:5432. */
export const pgBossSystem: BenchSystem = {
  name: 'pg-boss',
  isNightshift: false,
  store: 'postgres',
  settings: (profile) =>
    profile.mode === 'defaults'
      ? 'new PgBoss(url), work(queue, handler) (as installed: batchSize 1, polling every 2 s, supervise and schedule on)'
      : `one work() loop, batchSize ${profile.concurrency} run concurrently, pollingIntervalSeconds ${POLLING_INTERVAL_SECONDS} (its minimum); supervise/schedule off`,
  producerSettings: 'PgBoss pool of 10 (default); insert() per batch, send() per job',
  async open() {
    const database = await createDatabase('pgboss');
    return connect(database.url, database.drop);
  },
  attach: (ref) => connect(ref, undefined),
};
