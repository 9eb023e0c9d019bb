/**
 * nightshift itself, through its public library API only (`Nightshift.connect`, `enqueueMany`,
 * `enqueue`, `startWorker`, `events`), on each of its two backends: PostgreSQL in a fresh database per
 * session, SQLite in a fresh file per session. It runs from its build (dist/, made by `npm run bench`),
 * as an installed package does and as the peers run from theirs: from the TypeScript sources, every
 * worker's lease-keeper thread would first transpile the store's modules.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Nightshift, createLogger } from '../../dist/index.js';
import type { Worker, WorkerOptions } from '../../dist/index.js';
import { startPgbouncer } from '../../test/support/pgbouncer.js';
import { ADMIN_URL, createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, OnJobStart } from '../system.js';
import { waitUntil } from '../wait.js';

const TASK = 'noop';
/** Worker tuning for many tiny jobs: see docs/BENCHMARKS.md for the trials behind these numbers. */
const WORKER: WorkerOptions = { concurrency: 500, claimBatchMax: 500 };

function describe(worker: WorkerOptions): string {
  return `startWorker({ concurrency: ${worker.concurrency}, claimBatchMax: ${worker.claimBatchMax} }), other options default; enqueueMany() per batch; silent logger`;
}

async function openSession(db: string, cleanup: () => Promise<void>): Promise<BenchSession> {
  let onStart: OnJobStart = () => undefined;
  const ns = await Nightshift.connect({
    db,
    logger: createLogger({ level: 'silent' }),
    tasks: {
      [TASK]: (payload: BenchPayload) => {
        onStart(payload);
      },
    },
  });
  let worker: Worker | undefined;
  let completed = 0;
  // 'job:completed' fires only once the completion is persisted.
  ns.events.on('job:completed', () => {
    completed += 1;
  });

  return {
    async enqueueBulk(count, batchSize) {
      for (let start = 0; start < count; start += batchSize) {
        const size = Math.min(batchSize, count - start);
        await ns.enqueueMany(
          Array.from({ length: size }, (_, i) => ({ task: TASK, payload: { seq: start + i } })),
        );
      }
    },
    async enqueueOne(payload) {
      await ns.enqueue(TASK, payload);
    },
    startWorker(handler) {
      onStart = handler;
      worker = ns.startWorker(WORKER);
      return Promise.resolve();
    },
    async waitCompleted(count) {
      await waitUntil(`${count} nightshift jobs completed`, () => completed >= count);
    },
    async stopWorker() {
      await worker?.stop();
      worker = undefined;
    },
    async destroy() {
      await ns.close();
      await cleanup();
    },
  };
}

/** nightshift on PostgreSQL at 127.0.0.1:5432. */
export const nightshiftPostgresSystem: BenchSystem = {
  name: 'nightshift-postgres',
  isNightshift: true,
  settings: describe(WORKER),
  async open() {
    const database = await createDatabase('nightshift');
    return openSession(database.url, database.drop);
  },
};

/**
 * nightshift on the same PostgreSQL through a PgBouncer in transaction mode started for the session
 * (default_pool_size 20), with `pooler=transaction` and LISTEN direct through `listen_url`.
 */
export const nightshiftPgbouncerSystem: BenchSystem = {
  name: 'nightshift-pgbouncer',
  isNightshift: true,
  settings: `${describe(WORKER)}; via PgBouncer 1.18 pool_mode=transaction default_pool_size=20, URL ?pooler=transaction&listen_url=<direct>`,
  async open() {
    const database = await createDatabase('nightshift');
    const server = new URL(ADMIN_URL);
    const bouncer = await startPgbouncer({ host: server.hostname, port: Number(server.port || 5432) });
    const url = bouncer.url(new URL(database.url).pathname.slice(1), database.url);
    return openSession(url, async () => {
      await bouncer.stop();
      await database.drop();
    });
  },
};

/** nightshift on a SQLite file in the system temp directory. */
export const nightshiftSqliteSystem: BenchSystem = {
  name: 'nightshift-sqlite',
  isNightshift: true,
  settings: describe(WORKER),
  async open() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-'));
    return openSession(`sqlite:${path.join(dir, 'bench.db')}`, () =>
      rm(dir, { recursive: true, force: true }),
    );
  },
};
