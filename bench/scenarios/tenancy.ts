/**
 * What the tenancy features cost and what fair claiming does (docs/TENANCY.md), on nightshift's two
 * backends only, driving the store directly (`store.jobClaim`, `store.jobFinishMany`):
 * - throughput: `--tenancy-jobs` jobs inserted, then drained by one claimer, claims of 100, each batch
 *   completed in one `jobFinishMany`, once per variant (off, concurrency keys, groups, all on, one
 *   group); the variants run in turns, `--tenancy-rounds` times each, and each row is the median round
 *   with its ratio to off, for the rate and for jobs per CPU second (this process's CPU, plus the bench
 *   database's server processes' on PostgreSQL; steadier than the rate on a shared machine).
 * - the same variants through the library: enqueued with `enqueueMany`, drained by `startWorker()` at
 *   its defaults in this process, rate and CPU per job against off, as a user would see them.
 * - B's wait: group A's backlog of `--tenancy-jobs` jobs, then group B's 100, claimed by claims of 10
 *   until every one of B's started: the claim round each of B's jobs started in and the ms since B's
 *   enqueue, p50 and p99, with groups and with the same jobs ungrouped.
 * Long (minutes per backend at the full size), so it runs only when named: `--scenario tenancy`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { v7 as uuidv7 } from 'uuid';
import { Nightshift, createLogger } from '../../dist/index.js';
import { openStore } from '../../src/store/open.js';
import type { NewJob, Store } from '../../src/store/store.js';
import { createDatabase } from '../postgres-database.js';
import { withCleanup } from '../session.js';
import { failure, formatCount, formatMs, formatRatio, messageRow } from '../scenario.js';
import type { Scenario, Section } from '../scenario.js';
import { processCpuUs, serverCpuUs } from '../server-cpu.js';
import { median, percentile } from '../stats.js';

type Backend = 'sqlite' | 'postgres';

/** The systems this scenario runs, and the backend each one's store is opened on. */
const BACKENDS: Record<string, Backend> = {
  'nightshift-postgres': 'postgres',
  'nightshift-sqlite': 'sqlite',
};

const QUEUE = 'work';
const CLAIM = 100;
const INSERT_BATCH = 1_000;
const LEASE_MS = 600_000;
const KEYS = 1_000;
/** Per key and per queue: at most CLAIM jobs run at once here, so these never block a claim. */
const KEY_LIMIT = 1_000;
const QUEUE_LIMIT = 1_000;
const QUEUE_RATE = { limit: 1_000_000, periodMs: 1_000 };
const FEW_GROUPS = 1_000;
const MANY_GROUPS = 100_000;
const B_JOBS = 100;
const WARM_UP_JOBS = 5_000;
const B_CLAIM = 10;

const DRAIN_SETTINGS = `jobInsertMany of ${formatCount(INSERT_BATCH)} before the clock; jobClaim({ limit: ${CLAIM}, leaseMs: ${formatCount(LEASE_MS)} }), each batch one jobFinishMany`;
const WORKER_SETTINGS = `enqueueMany of ${formatCount(INSERT_BATCH)} before the clock; startWorker() in this process (concurrency 10, every option default), no-op handler`;

/** What a variant's jobs carry, and what it sets on the queue before they are inserted. */
interface Variant {
  name: string;
  /** The row's settings beyond the drain's. */
  settings: string;
  fields(i: number): Pick<NewJob, 'concurrencyKey' | 'concurrencyLimit' | 'group'>;
  prepare?(store: Store): Promise<void>;
}

const keyed = (i: number): Pick<NewJob, 'concurrencyKey' | 'concurrencyLimit'> => ({
  concurrencyKey: `k${i % KEYS}`,
  concurrencyLimit: KEY_LIMIT,
});
const KEYS_SETTINGS = `concurrencyKey over ${formatCount(KEYS)} keys, limit ${formatCount(KEY_LIMIT)}`;

function variants(jobs: number): Variant[] {
  const many = Math.min(MANY_GROUPS, jobs);
  const none = { concurrencyKey: null, concurrencyLimit: null, group: null };
  return [
    { name: 'off', settings: 'no key, no group, no queue limit', fields: () => none },
    { name: 'keys', settings: KEYS_SETTINGS, fields: (i) => ({ ...none, ...keyed(i) }) },
    {
      name: `groups ${formatCount(FEW_GROUPS)}`,
      settings: `group over ${formatCount(FEW_GROUPS)} groups`,
      fields: (i) => ({ ...none, group: `g${i % FEW_GROUPS}` }),
    },
    {
      // At fewer jobs than MANY_GROUPS, one group per job is as many groups as the size allows.
      name: many === MANY_GROUPS ? `groups ${formatCount(many)}` : `groups ${formatCount(many)} (1 job each)`,
      settings: `group over ${formatCount(many)} groups${many === jobs ? ', one job each' : ''}`,
      fields: (i) => ({ ...none, group: `g${i % MANY_GROUPS}` }),
    },
    {
      name: 'all on',
      settings: `${KEYS_SETTINGS}; group over ${formatCount(FEW_GROUPS)} groups; queueSetLimit ${formatCount(QUEUE_LIMIT)}; queueSetRate ${formatCount(QUEUE_RATE.limit)} per ${formatCount(QUEUE_RATE.periodMs)} ms`,
      fields: (i) => ({ ...keyed(i), group: `g${i % FEW_GROUPS}` }),
      async prepare(store) {
        await store.queueSetLimit({ queue: QUEUE, limit: QUEUE_LIMIT });
        await store.queueSetRate({ queue: QUEUE, rate: QUEUE_RATE });
      },
    },
    { name: 'one group', settings: 'every job in one group', fields: () => ({ ...none, group: 'one' }) },
  ];
}

function newJob(fields: Pick<NewJob, 'concurrencyKey' | 'concurrencyLimit' | 'group'>): NewJob {
  return {
    id: uuidv7(),
    task: 'noop',
    queue: QUEUE,
    payload: null,
    priority: 0,
    runAt: null,
    delayMs: null,
    maxAttempts: 3,
    idempotencyKey: null,
    requires: null,
    leaseMs: null,
    timeoutMs: null,
    scheduleId: null,
    scheduleSlot: null,
    parentId: null,
    ...fields,
  };
}

/**
 * Runs `work` on a migrated store in a fresh SQLite file or PostgreSQL database, removed afterwards
 * (also on Ctrl-C).
 */
async function withStore<T>(
  backend: Backend,
  work: (store: Store, cpuUs: () => Promise<number>, url: string) => Promise<T>,
): Promise<T> {
  let url: string;
  let drop: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-tenancy-'));
    url = `sqlite:${path.join(dir, 'bench.db')}`;
    drop = () => rm(dir, { recursive: true, force: true });
  } else {
    ({ url, drop } = await createDatabase('tenancy'));
  }
  return withCleanup(drop, async () => {
    const store = await openStore(url);
    const cpuUs = async (): Promise<number> =>
      processCpuUs() + (backend === 'postgres' ? await serverCpuUs(url) : 0);
    try {
      await store.migrate();
      return await work(store, cpuUs, url);
    } finally {
      await store.close();
    }
  });
}

/** Inserts `count` jobs with `fields(i)`; returns their ids. */
async function insert(store: Store, count: number, fields: Variant['fields']): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += INSERT_BATCH) {
    const jobs = Array.from({ length: Math.min(INSERT_BATCH, count - done) }, (_, i) =>
      newJob(fields(done + i)),
    );
    ids.push(...jobs.map((j) => j.id));
    await store.jobInsertMany({ jobs });
  }
  return ids;
}

interface Drain {
  rate: number;
  cpuUsPerJob: number;
}

async function drain(backend: Backend, variant: Variant, jobs: number): Promise<Drain> {
  return withStore(backend, async (store, cpuUs) => {
    await variant.prepare?.(store);
    await insert(store, jobs, variant.fields);
    const cpuBefore = await cpuUs();
    const started = performance.now();
    for (let done = 0; done < jobs;) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: CLAIM, leaseMs: LEASE_MS });
      if (batch.length === 0) throw new Error(`${variant.name}: claims ran dry at ${done} of ${jobs}`);
      await store.jobFinishMany({
        finishes: batch.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
      });
      done += batch.length;
    }
    const rate = jobs / ((performance.now() - started) / 1_000);
    return { rate, cpuUsPerJob: ((await cpuUs()) - cpuBefore) / jobs };
  });
}

/**
 * The same variant as a user runs it: enqueued through the library (`enqueueMany` of INSERT_BATCH, its
 * options carrying the key and group) and drained by `startWorker()` at its default concurrency in
 * this process, until every job's completion is persisted (`job:completed`).
 */
async function workerDrain(backend: Backend, variant: Variant, jobs: number): Promise<Drain> {
  return withStore(backend, async (store, cpuUs, url) => {
    await variant.prepare?.(store);
    let completed = 0;
    let drained!: () => void;
    const done = new Promise<void>((resolve) => (drained = resolve));
    const ns = await Nightshift.connect({
      db: url,
      logger: createLogger({ level: 'silent' }),
      tasks: { noop: () => undefined },
    });
    try {
      for (let from = 0; from < jobs; from += INSERT_BATCH) {
        await ns.enqueueMany(
          Array.from({ length: Math.min(INSERT_BATCH, jobs - from) }, (_, i) => {
            const { concurrencyKey, concurrencyLimit, group } = variant.fields(from + i);
            return {
              task: 'noop',
              payload: null,
              options: {
                queue: QUEUE,
                ...(concurrencyKey === null ? {} : { concurrencyKey }),
                ...(concurrencyLimit === null ? {} : { concurrencyLimit }),
                ...(group === null ? {} : { group }),
              },
            };
          }),
        );
      }
      ns.events.on('job:completed', () => {
        completed += 1;
        if (completed === jobs) drained();
      });
      const cpuBefore = await cpuUs();
      const started = performance.now();
      const worker = ns.startWorker();
      await done;
      const rate = jobs / ((performance.now() - started) / 1_000);
      const cpuUsPerJob = ((await cpuUs()) - cpuBefore) / jobs;
      await worker.stop();
      return { rate, cpuUsPerJob };
    } finally {
      await ns.close();
    }
  });
}

/** Claims of B_CLAIM until all of B's jobs started: each one's claim round and ms since B's enqueue. */
async function waitOfB(
  backend: Backend,
  backlog: number,
  grouped: boolean,
): Promise<{ rounds: number[]; ms: number[] }> {
  return withStore(backend, async (store) => {
    const of = (group: string) => () => ({
      concurrencyKey: null,
      concurrencyLimit: null,
      group: grouped ? group : null,
    });
    await insert(store, backlog, of('A'));
    const b = new Set(await insert(store, B_JOBS, of('B')));
    const enqueued = performance.now();
    const rounds: number[] = [];
    const ms: number[] = [];
    for (let round = 1; rounds.length < B_JOBS; round += 1) {
      const batch = await store.jobClaim({ workerId: 'bench', limit: B_CLAIM, leaseMs: LEASE_MS });
      if (batch.length === 0) throw new Error(`B's jobs never started: ${rounds.length} of ${B_JOBS}`);
      for (const j of batch) {
        if (!b.has(j.id)) continue;
        rounds.push(round);
        ms.push(performance.now() - enqueued);
      }
    }
    return { rounds, ms };
  });
}

const THROUGHPUT_HEADER = [
  'system',
  'variant',
  'jobs/s',
  'rounds',
  'vs off',
  'CPU µs/job',
  'jobs/CPU s vs off',
  'settings',
];
const WAIT_HEADER = ['system', 'B', 'p50 claims', 'p99 claims', 'p50 ms', 'p99 ms', 'settings'];

async function throughputRows(
  system: string,
  backend: Backend,
  jobs: number,
  rounds: number,
  log: (line: string) => void,
  by: 'store' | 'worker',
): Promise<string[][]> {
  const all = variants(jobs);
  const runs = new Map<Variant, Drain[]>(all.map((v) => [v, []]));
  const run = by === 'store' ? drain : workerDrain;
  // Untimed, so that the first variant (off, whose figures all others are compared with) does not pay
  // for this process's code being compiled.
  await run(backend, all[0] as Variant, Math.min(jobs, WARM_UP_JOBS));
  for (let round = 1; round <= rounds; round += 1) {
    for (const variant of all) {
      const result = await run(backend, variant, jobs);
      runs.get(variant)?.push(result);
      log(`tenancy ${system} ${by} ${variant.name} round ${round}: ${formatCount(result.rate)} jobs/s`);
    }
  }
  const medians = all.map((variant) => {
    const values = runs.get(variant) ?? [];
    return {
      variant,
      rates: values.map((r) => r.rate),
      rate: median(values.map((r) => r.rate)),
      cpu: median(values.map((r) => r.cpuUsPerJob)),
    };
  });
  const off = medians[0];
  if (off === undefined) throw new Error('no variants');
  return medians.map(({ variant, rates, rate, cpu }) => [
    system,
    variant.name,
    formatCount(rate),
    rates.map(formatCount).join(', '),
    formatRatio(rate / off.rate),
    cpu.toFixed(1),
    formatRatio(off.cpu / cpu),
    `${variant.settings}; ${by === 'store' ? DRAIN_SETTINGS : WORKER_SETTINGS}`,
  ]);
}

async function waitRows(system: string, backend: Backend, backlog: number): Promise<string[][]> {
  const rows: string[][] = [];
  for (const grouped of [true, false]) {
    const { rounds, ms } = await waitOfB(backend, backlog, grouped);
    const r = [...rounds].sort((a, b) => a - b);
    const t = [...ms].sort((a, b) => a - b);
    rows.push([
      system,
      grouped ? 'groups A, B' : 'no groups',
      String(percentile(r, 50)),
      String(percentile(r, 99)),
      formatMs(percentile(t, 50)),
      formatMs(percentile(t, 99)),
      `${formatCount(backlog)} of A's jobs, then ${B_JOBS} of B's; jobClaim({ limit: ${B_CLAIM}, leaseMs: ${formatCount(LEASE_MS)} }), nothing finished`,
    ]);
  }
  return rows;
}

export const tenancyScenario: Scenario = {
  name: 'tenancy',
  inDefaultRun: false,
  async run({ systems, options, log }) {
    const jobs = options.tenancyJobs;
    const rounds = options.tenancyRounds;
    const chosen = systems.filter((s) => s.name in BACKENDS);
    const skipped = systems.filter((s) => !(s.name in BACKENDS)).map((s) => s.name);
    const throughput: string[][] = [];
    const byWorker: string[][] = [];
    const wait: string[][] = [];
    for (const system of chosen) {
      const backend = BACKENDS[system.name] as Backend;
      try {
        throughput.push(...(await throughputRows(system.name, backend, jobs, rounds, log, 'store')));
      } catch (error) {
        throughput.push(
          messageRow([system.name, ''], failure(error), THROUGHPUT_HEADER.length, DRAIN_SETTINGS),
        );
      }
      try {
        byWorker.push(...(await throughputRows(system.name, backend, jobs, rounds, log, 'worker')));
      } catch (error) {
        byWorker.push(
          messageRow([system.name, ''], failure(error), THROUGHPUT_HEADER.length, WORKER_SETTINGS),
        );
      }
      try {
        wait.push(...(await waitRows(system.name, backend, jobs)));
        log(`tenancy ${system.name}: B's wait measured`);
      } catch (error) {
        wait.push(messageRow([system.name, ''], failure(error), WAIT_HEADER.length, ''));
      }
    }
    const scope = [
      `nightshift only, its store driven directly (no worker): the peers' open-source versions have no concurrency keys, queue limits or fair claiming by group${skipped.length > 0 ? `; skipped: ${skipped.join(', ')}` : ''}`,
    ];
    const throughputSection: Section = {
      title: `tenancy: drain of ${formatCount(jobs)} jobs with keys, groups and queue limits against off`,
      notes: [
        ...scope,
        `median of ${rounds} round${rounds === 1 ? '' : 's'} (each round's jobs/s in "rounds"), after an untimed drain of ${formatCount(Math.min(jobs, WARM_UP_JOBS))} jobs without keys or groups; variants in turns; "vs off": the median rate over off's; CPU: this process's${chosen.some((s) => BACKENDS[s.name] === 'postgres') ? ", plus the bench database server processes' on PostgreSQL" : ''}; "jobs/CPU s vs off": off's CPU per job over the row's`,
        'limits are set high enough never to block a claim: what is measured is their bookkeeping',
      ],
      header: THROUGHPUT_HEADER,
      rows: throughput,
    };
    const workerSection: Section = {
      title: `tenancy: a worker's drain of ${formatCount(jobs)} jobs with keys, groups and queue limits against off`,
      notes: [
        'nightshift only, through the library as a user runs it: the worker claims, runs and completes the jobs, and keeps its leases',
        ...throughputSection.notes.slice(1),
      ],
      header: THROUGHPUT_HEADER,
      rows: byWorker,
    };
    const waitSection: Section = {
      title: `tenancy: B's wait behind group A's ${formatCount(jobs)} queued jobs, fair claiming against none`,
      notes: [
        ...scope,
        `claim rounds of ${B_CLAIM} until all of B's ${B_JOBS} jobs started, the round and the ms since B's enqueue of each; "no groups": the same jobs without a group`,
      ],
      header: WAIT_HEADER,
      rows: wait,
    };
    return [throughputSection, workerSection, waitSection];
  },
};
