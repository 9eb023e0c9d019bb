/**
 * Reads on a large installation: the queue list, the job list and the metrics scrape over `--jobs`
 * jobs (1,000,000 by default) in `--queues` queues, on SQLite (a file in a temp dir) and on PostgreSQL
 * (a database of its own, no statistics: autovacuum off on the store's tables and never analysed, as
 * on a fresh install).
 *
 *   npm run bench:reads [-- --jobs 1000000] [--queues 7] [--calls 10] [--backend sqlite|postgres|both]
 *
 * The store is filled through its own writes, in batches of 1,000 (`jobInsertMany`), so every row and
 * index entry is one a real enqueue makes. With the whole backlog waiting (due now, spread evenly over
 * the queues) it times the queue list (`ns.queues.list()`), the store's read of the backlog a metrics
 * scrape makes (`queueBacklog`: the load per queue and the throttled counts, in one pass) and
 * `GET /metrics` from the API server.
 * Then every job is claimed and finished, 1,000 per claim (5% failed for good, the rest completed;
 * a rescue pass then drops the claims' lease rows, as a live worker's does) and, over that history, it
 * times the queue list again, the count of finished jobs it reuses (`jobFinishedCountByQueue`,
 * src/queue-finished-counts.ts), the job list's first page (`ns.listJobs`, 50 jobs) filtered by a
 * queue that holds none of the jobs, filtered by one of the queues they are spread over, and
 * unfiltered, and `GET /metrics`. Each read is called `--calls` times after one warm-up;
 * the table gives the median and the slowest, wall-clock in this process, and the longest the event
 * loop went without a turn during any of them (a 1 ms timer watches it: on SQLite, the longest
 * synchronous read; the reads that go in slices leave it free between two). Each phase has an instance of its own, whose first queue list (the warm-up) counts
 * the finished jobs; a count that took over 20 ms is reused for twenty times as long, so the queue
 * list's rows say in how many of the timed calls it counted them again. On PostgreSQL, the claims'
 * deletes stay in `job_queue` as dead rows (printed), which its reads step over until a vacuum: the
 * last rows time the queue list and the scrape again after a VACUUM (no ANALYZE) of `job_queue` and
 * `job_leases`, as autovacuum would do on a live system.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer } from '../src/api/server.js';
import { issueToken } from '../src/api/tokens.js';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import { openStore } from '../src/store/open.js';
import type { JobFinish, Store } from '../src/store/store.js';
import { DEFAULT_WORKER_STALE_MS } from '../src/worker/options.js';
import { newJob } from '../test/support/jobs.js';
import { createDatabase, withClient } from './postgres-database.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    queues: { type: 'string', default: '7' },
    calls: { type: 'string', default: '10' },
    backend: { type: 'string', default: 'both' },
  },
});
const JOBS = positive('jobs', args.jobs);
const QUEUES = positive('queues', args.queues);
const CALLS = positive('calls', args.calls);
const BACKENDS = { sqlite: ['sqlite'], postgres: ['postgres'], both: ['sqlite', 'postgres'] }[args.backend];
if (BACKENDS === undefined)
  throw new Error(`--backend must be sqlite, postgres or both, got ${args.backend}`);
const BATCH = 1_000;
/**
 * A queue none of the jobs is in: its first page walks as far as a page may (`JOB_LIST_WALK_MAX`),
 * or the whole history when that is shorter, and finds nothing.
 */
const RARE_QUEUE = 'rare';

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

const queueOf = (i: number) => `queue-${i % QUEUES}`;

async function fillWaiting(store: Store): Promise<void> {
  for (let done = 0; done < JOBS; done += BATCH) {
    const size = Math.min(BATCH, JOBS - done);
    await store.jobInsertMany({
      jobs: Array.from({ length: size }, (_, i) => newJob({ queue: queueOf(done + i), maxAttempts: 1 })),
    });
  }
}

/**
 * Claims and finishes every waiting job, then runs a rescue pass: on PostgreSQL it drops the lease rows
 * of the claims whose jobs all ended, as the worker that ended them does at its next pass.
 */
async function finishAll(store: Store): Promise<void> {
  for (let n = 0; ; n += 1) {
    const claimed = await store.jobClaim({ workerId: 'bench', limit: BATCH, leaseMs: 600_000 });
    if (claimed.length === 0) break;
    await store.jobFinishMany({
      finishes: claimed.map((job, i): JobFinish => {
        const attempt = { id: job.id, leaseToken: job.leaseToken };
        return (n * BATCH + i) % 20 === 0
          ? { ...attempt, outcome: 'failed', error: { message: 'x', reason: 'failed' } }
          : { ...attempt, outcome: 'completed', result: null };
      }),
    });
  }
  await store.jobRescueLapsed({ limit: BATCH });
}

/** Turns autovacuum (and with it auto-analyze) off on every table of the store's schema. */
async function autovacuumOff(url: string, schema: string): Promise<void> {
  await withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = $1`,
      [schema],
    );
    if (rows.length === 0) throw new Error(`no tables in schema ${schema}`);
    for (const { name } of rows) {
      await client.query(
        `ALTER TABLE ${name} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`,
      );
    }
  });
}

/** VACUUM (without ANALYZE: still no statistics) of some of the store's tables. */
async function vacuum(url: string, schema: string, tables: string[]): Promise<void> {
  const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
  await withClient(url, async (client) => {
    for (const table of tables) await client.query(`VACUUM ${quoted(schema)}.${quoted(table)}`);
  });
}

/**
 * What the store's tables hold beyond their rows before the vacuum: column statistics (none unless
 * something analysed them) and the dead rows, which the reads of `job_queue` step over.
 */
async function tableState(url: string, schema: string): Promise<string> {
  return withClient(url, async (client) => {
    const statistics = await client.query<{ n: number }>(
      'SELECT count(*)::integer AS n FROM pg_stats WHERE schemaname = $1',
      [schema],
    );
    const dead = await client.query<{ relname: string; n: number }>(
      `SELECT relname, n_dead_tup::integer AS n FROM pg_stat_user_tables
        WHERE schemaname = $1 AND n_dead_tup > 0 ORDER BY n_dead_tup DESC`,
      [schema],
    );
    const deadRows = dead.rows.map((row) => `${row.relname} ${row.n.toLocaleString('en-US')}`).join(', ');
    return `${statistics.rows[0]?.n ?? 0} pg_stats rows at the end; dead rows (no vacuum): ${deadRows || 'none'}`;
  });
}

interface Row {
  backend: string;
  jobs: string;
  read: string;
  median: number;
  slowest: number;
  /** The longest the event loop went without a turn during any timed call. */
  held: number;
  answer: string;
}
const rows: Row[] = [];
const notes: string[] = [];

/**
 * Runs `call` with a 1 ms interval timer watching the event loop: the longest gap between two of its
 * ticks is the longest the loop was held by synchronous work (better-sqlite3's reads on SQLite), to
 * about a millisecond.
 */
async function watchLoop<T>(call: () => Promise<T>): Promise<{ result: T; heldMs: number }> {
  let last = performance.now();
  let heldMs = 0;
  const tick = (): void => {
    const at = performance.now();
    heldMs = Math.max(heldMs, at - last);
    last = at;
  };
  const timer = setInterval(tick, 1);
  try {
    const result = await call();
    tick();
    return { result, heldMs };
  } finally {
    clearInterval(timer);
  }
}

/**
 * One warm-up call, then `CALLS` timed ones, the event loop watched (watchLoop); `answer` describes
 * what the timed calls returned.
 */
async function time<T>(
  backend: string,
  jobs: string,
  read: string,
  call: () => Promise<T>,
  answer: (results: T[]) => string,
): Promise<void> {
  await call();
  const ms: number[] = [];
  const results: T[] = [];
  let held = 0;
  for (let i = 0; i < CALLS; i += 1) {
    const started = performance.now();
    const { result, heldMs } = await watchLoop(call);
    ms.push(performance.now() - started);
    results.push(result);
    held = Math.max(held, heldMs);
  }
  ms.sort((a, b) => a - b);
  const row = {
    backend,
    jobs,
    read,
    median: ms[Math.floor(ms.length / 2)] ?? NaN,
    slowest: ms.at(-1) ?? NaN,
    held,
    answer: answer(results),
  };
  rows.push(row);
  console.error(
    `${backend}: ${jobs}, ${read}: median ${row.median.toFixed(1)} ms, loop held ${held.toFixed(1)} ms at most`,
  );
}

type JobPage = Awaited<ReturnType<Nightshift['listJobs']>>;

/**
 * Counts the store's reads of the finished jobs: the queue list's answer cannot tell a count from a
 * reuse of one made within the same millisecond (`finishedCountsAgeMs` is 0 for both).
 */
function countFinishedCountReads(store: Store): () => number {
  let reads = 0;
  const read = store.jobFinishedCountByQueue.bind(store);
  store.jobFinishedCountByQueue = () => {
    reads += 1;
    return read();
  };
  return () => reads;
}

/** How many queues, and in how many calls the list counted the finished jobs rather than reuse them. */
function queuesAnswer(lists: Array<{ queues: number; counted: boolean }>): string {
  const counted = lists.filter((list) => list.counted).length;
  return `${lists[0]?.queues ?? 0} queues; finished counted in ${counted} of ${lists.length} calls`;
}

function pageAnswer(pages: JobPage[]): string {
  const page = pages[0];
  if (page === undefined) return '';
  return `${page.jobs.length} jobs, ${page.nextCursor === null ? 'no next page' : 'a next cursor'}`;
}

const bytesAnswer = (sizes: number[]) => `${(sizes[0] ?? 0).toLocaleString('en-US')} bytes`;

/**
 * Runs `work` with a Nightshift instance on `store` and its API server; a new one per phase, so the
 * first queue list of a phase counts the finished jobs (what an instance started then would do).
 */
async function withInstance(
  store: Store,
  work: (ns: Nightshift, scrape: () => Promise<number>) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ level: 'silent' });
  const ns = await Nightshift.connect({ db: store, logger });
  const { secret } = await issueToken(store, { name: 'bench', role: 'viewer' });
  const { app, url } = await startApiServer({ ns, logger, host: '127.0.0.1', port: 0 });
  const scrape = async () => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
    const bytes = (await response.arrayBuffer()).byteLength;
    if (response.status !== 200) throw new Error(`/metrics: ${response.status}`);
    return bytes;
  };
  try {
    await work(ns, scrape);
  } finally {
    await app.close();
    await ns.close();
  }
}

async function measure(backend: string, url: string): Promise<void> {
  const store = await openStore(url);
  const finishedCountReads = countFinishedCountReads(store);
  const listQueues = async (ns: Nightshift) => {
    const before = finishedCountReads();
    const list = await ns.queues.list();
    return { queues: list.length, counted: finishedCountReads() > before };
  };
  try {
    await store.migrate();
    const schema = store.peerAddress?.()?.schema;
    if (schema !== undefined) await autovacuumOff(url, schema);
    let started = performance.now();
    await fillWaiting(store);
    const inserted = (performance.now() - started) / 1000;
    console.error(`${backend}: ${JOBS} waiting jobs inserted in ${inserted.toFixed(1)} s`);
    const waiting = `${JOBS.toLocaleString('en-US')} waiting`;
    await withInstance(store, async (ns, scrape) => {
      await time(backend, waiting, 'queue list', () => listQueues(ns), queuesAnswer);
      const backlog = () => store.queueBacklog({ workerStaleMs: DEFAULT_WORKER_STALE_MS });
      await time(backend, waiting, 'backlog: load and throttled counts (store)', backlog, (backlogs) => {
        const list = backlogs[0]?.throttled ?? [];
        const reasons = [...new Set(list.map((row) => row.reason))].join(', ') || 'none';
        const held = list.reduce((sum, row) => sum + row.count, 0);
        return `${held.toLocaleString('en-US')} jobs held back (${reasons})`;
      });
      await time(backend, waiting, 'GET /metrics', scrape, bytesAnswer);
    });

    started = performance.now();
    await finishAll(store);
    const finished = (performance.now() - started) / 1000;
    console.error(`${backend}: ${JOBS} jobs claimed and finished in ${finished.toFixed(1)} s`);
    notes.push(
      `${backend}: inserted in ${inserted.toFixed(0)} s, claimed and finished in ${finished.toFixed(0)} s`,
    );
    const history = `${JOBS.toLocaleString('en-US')} finished`;
    await withInstance(store, async (ns, scrape) => {
      await time(backend, history, 'queue list', () => listQueues(ns), queuesAnswer);
      const count = () => store.jobFinishedCountByQueue();
      await time(backend, history, 'finished counts (store)', count, (counts) => {
        const total = (counts[0] ?? []).reduce((sum, row) => sum + row.count, 0);
        return `${total.toLocaleString('en-US')} jobs counted`;
      });
      const rare = () => ns.listJobs({ queue: RARE_QUEUE });
      await time(backend, history, `job list, queue "${RARE_QUEUE}" (no jobs)`, rare, pageAnswer);
      const common = () => ns.listJobs({ queue: queueOf(0) });
      await time(backend, history, `job list, queue "${queueOf(0)}"`, common, pageAnswer);
      await time(backend, history, 'job list, unfiltered', () => ns.listJobs(), pageAnswer);
      await time(backend, history, 'GET /metrics', scrape, bytesAnswer);
      if (schema === undefined) return;
      notes.push(`${backend}: ${await tableState(url, schema)}`);
      // What autovacuum would do first on a live system: the reads of the waiting jobs then skip
      // nothing.
      await vacuum(url, schema, ['job_queue', 'job_leases']);
      const vacuumed = `${history}, job_queue vacuumed`;
      await time(backend, vacuumed, 'queue list', () => listQueues(ns), queuesAnswer);
      await time(backend, vacuumed, 'GET /metrics', scrape, bytesAnswer);
    });
  } finally {
    await store.close();
  }
}

/** The commit whose src/ this run measures, marked when src/ differs from it. */
function build(): string {
  const git = (...argv: string[]) => execFileSync('git', argv, { encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') === '' ? '' : ' with uncommitted changes to src/'}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const loadAtStart = loadavg()[0] ?? NaN;
const startedAt = new Date();
for (const backend of BACKENDS) {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-list-reads-'));
    try {
      await measure('sqlite', `sqlite:${join(dir, 'bench.db')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const database = await createDatabase('list_reads');
    try {
      await measure('postgres', database.url);
    } finally {
      await database.drop();
    }
  }
}
const loadAtEnd = loadavg()[0] ?? NaN;

console.log(
  `${JOBS.toLocaleString('en-US')} jobs in ${QUEUES} queues, ${CALLS} calls per read after one warm-up, ` +
    `backend ${args.backend}`,
);
console.log(
  `build ${build()}; ${startedAt.toISOString()} to ${new Date().toISOString()}; ${availableParallelism()} cores ` +
    `(${cpus()[0]?.model ?? 'unknown'}); load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`,
);
for (const note of notes) console.log(note);
console.log('');
console.log('| backend | jobs | read | median ms | slowest ms | loop held ms | answer |');
console.log('| ------- | ---- | ---- | --------- | ---------- | ------------ | ------ |');
for (const row of rows) {
  console.log(
    `| ${row.backend} | ${row.jobs} | ${row.read} | ${row.median.toFixed(1)} | ${row.slowest.toFixed(1)} | ${row.held.toFixed(1)} | ${row.answer} |`,
  );
}
