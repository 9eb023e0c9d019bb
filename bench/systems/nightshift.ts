/**
 * nightshift itself, through its public library API only (`Nightshift.connect`, `enqueueMany`,
 * `enqueue`, `startWorker`, `events`), on each of its two backends: PostgreSQL in a fresh database per
 * session, SQLite in a fresh file per session. It runs from its build (dist/, made by `npm run bench`),
 * as an installed package does and as the peers run from theirs: from the TypeScript sources, every
 * worker's lease-keeper thread would first transpile the store's modules.
 *
 * Recommended settings are nightshift's defaults with `concurrency` set: its documentation asks for
 * no other tuning, so the benchmark gives it none.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Nightshift, createLogger } from '../../dist/index.js';
import type { Worker } from '../../dist/index.js';
import { startPgbouncer } from '../../test/support/pgbouncer.js';
import { ADMIN_URL, createDatabase } from '../postgres-database.js';
import type { BenchPayload, BenchSession, BenchSystem, OnJobStart, WorkerProfile } from '../system.js';

const TASK = 'noop';
const PRODUCER =
  'Nightshift.connect({ db }) with its default pool; enqueueMany() per batch, enqueue() per job';

function settings(profile: WorkerProfile): string {
  return profile.mode === 'defaults'
    ? 'startWorker() (as installed: concurrency 10, every option default)'
    : `startWorker({ concurrency: ${profile.concurrency} }), every other option default`;
}

async function connect(
  db: string,
  database: string | undefined,
  cleanup: () => Promise<void>,
): Promise<BenchSession> {
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

  return {
    ref: db,
    ...(database !== undefined && { database }),
    async enqueueBulk(items) {
      await ns.enqueueMany(items.map((payload) => ({ task: TASK, payload })));
    },
    async enqueueOne(payload) {
      await ns.enqueue(TASK, payload);
    },
    startWorker(profile, handler) {
      onStart = handler;
      // Subscribed here, not at connect: an event subscription may hold a connection of its own, which
      // a producer that never runs a worker (the idle scenario's) must not add to the worker's cost.
      // 'job:completed' fires only once the completion is persisted.
      ns.events.on('job:completed', () => {
        completed += 1;
      });
      worker = ns.startWorker(profile.mode === 'defaults' ? {} : { concurrency: profile.concurrency });
      return Promise.resolve();
    },
    completed: () => Promise.resolve(completed),
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

function databaseOf(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** nightshift on PostgreSQL at 127.0.0.1:5432. */
export const nightshiftPostgresSystem: BenchSystem = {
  name: 'nightshift-postgres',
  isNightshift: true,
  store: 'postgres',
  settings,
  producerSettings: PRODUCER,
  async open() {
    const database = await createDatabase('nightshift');
    return connect(database.url, databaseOf(database.url), database.drop);
  },
  attach: (ref) => connect(ref, databaseOf(ref), () => Promise.resolve()),
};

/**
 * nightshift on the same PostgreSQL through a PgBouncer in transaction mode started for the session
 * (default_pool_size 20), with `pooler=transaction` and LISTEN direct through `listen_url`, and the
 * planner settings the store cannot set through a pooler as the database's own (docs/SCALING.md).
 */
export const nightshiftPgbouncerSystem: BenchSystem = {
  name: 'nightshift-pgbouncer',
  isNightshift: true,
  store: 'postgres',
  settings: (profile) =>
    `${settings(profile)}; via PgBouncer pool_mode=transaction default_pool_size=20, URL ?pooler=transaction&listen_url=<direct>; database SET enable_seqscan = off, jit = off`,
  producerSettings: `${PRODUCER}; via PgBouncer`,
  async open() {
    const database = await createDatabase('nightshift', { settings: { enable_seqscan: 'off', jit: 'off' } });
    const server = new URL(ADMIN_URL);
    const bouncer = await startPgbouncer({ host: server.hostname, port: Number(server.port || 5432) });
    const url = bouncer.url(databaseOf(database.url), database.url);
    return connect(url, databaseOf(database.url), async () => {
      await bouncer.stop();
      await database.drop();
    });
  },
  attach: (ref) => connect(ref, databaseOf(ref), () => Promise.resolve()),
};

/** nightshift on a SQLite file in the system temp directory. */
export const nightshiftSqliteSystem: BenchSystem = {
  name: 'nightshift-sqlite',
  isNightshift: true,
  store: 'sqlite',
  settings,
  producerSettings: PRODUCER,
  async open() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-'));
    return connect(`sqlite:${path.join(dir, 'bench.db')}`, undefined, () =>
      rm(dir, { recursive: true, force: true }),
    );
  },
  attach: (ref) => connect(ref, undefined, () => Promise.resolve()),
};
