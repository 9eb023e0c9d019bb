/**
 * Where a worker's PostgreSQL work goes, per statement and per job: a private server with
 * pg_stat_statements (track = all), `--jobs` ready no-op jobs drained by one worker at `--concurrency`,
 * then every statement's calls, rows, execution time and shared blocks hit divided by the jobs, and the
 * database's commits per job. Counts of calls, rows and commits do not depend on the machine's load;
 * times do. With `--rate`, steady load instead of a drain: the worker starts on an empty queue and a
 * producer in the same process enqueues `--rate` jobs/s for `--seconds` (one enqueueMany every 10 ms
 * with the jobs due, as the benchmark's bulk producer), so the enqueues are counted too.
 *
 *   npm run build && node --import tsx bench/statement-profile.ts [--jobs N] [--concurrency N] [--handler-ms N]
 *   npm run build && node --import tsx bench/statement-profile.ts --rate 2000 [--seconds 10]
 */
import { parseArgs } from 'node:util';
import { processCpuMs } from './server-cost.js';
import { Nightshift, createLogger } from '../dist/index.js';
import { startOwnPostgres } from '../test/support/own-postgres.js';
import { waitUntil } from './wait.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '10' },
    // A handler that waits this long: on an idle machine, a drain at the rates a loaded one gets.
    'handler-ms': { type: 'string', default: '0' },
    rate: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
  },
});
const rate = Number(values.rate);
const jobs = rate > 0 ? Math.round(rate * Number(values.seconds)) : Number(values.jobs);
const concurrency = Number(values.concurrency);
const handlerMs = Number(values['handler-ms']);

const server = await startOwnPostgres({
  settings: [
    "shared_preload_libraries = 'pg_stat_statements'",
    'pg_stat_statements.track = all',
    'pg_stat_statements.track_planning = on',
  ],
});
try {
  await server.query('CREATE EXTENSION pg_stat_statements');
  let completed = 0;
  const ns = await Nightshift.connect({
    db: server.url,
    logger: createLogger({ level: 'silent' }),
    tasks: {
      noop: () =>
        handlerMs > 0 ? new Promise<void>((resolve) => setTimeout(resolve, handlerMs)) : undefined,
    },
  });
  for (let i = 0; rate === 0 && i < jobs; i += 1000) {
    await ns.enqueueMany(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, n) => ({ task: 'noop', payload: { n: i + n } })),
    );
  }
  ns.events.on('job:completed', () => {
    completed += 1;
  });
  await server.query('SELECT pg_stat_statements_reset()');
  await server.query('SELECT pg_stat_reset()');
  const backends = async (): Promise<Map<number, string>> =>
    new Map(
      (
        await server.query<{ pid: number; what: string }>(
          `SELECT pid, backend_type || ' (last: ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 30) || ')' AS what
             FROM pg_stat_activity
            WHERE pid <> pg_backend_pid()`,
        )
      ).map((r) => [r.pid, r.what]),
    );
  const before = new Map([...(await backends()).keys()].map((pid) => [pid, processCpuMs(pid) ?? 0]));
  const startedAt = performance.now();
  const worker = ns.startWorker({ concurrency });
  if (rate > 0) await produceSteadily(ns);
  await waitUntil('the drain', () => completed >= jobs);
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = [...(await backends())].map(([pid, what]) => ({
    pid,
    what,
    ms: (processCpuMs(pid) ?? 0) - (before.get(pid) ?? 0),
    fresh: !before.has(pid),
  }));
  await worker.stop();
  await new Promise((resolve) => setTimeout(resolve, 700)); // let the statistics collector flush
  const [db] = await server.query<{ xact_commit: string; xact_rollback: string }>(
    "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = 'postgres'",
  );
  const rows = await server.query<{
    query: string;
    calls: string;
    plans: string;
    rows: string;
    total_exec_time: number;
    total_plan_time: number;
    shared_blks_hit: string;
    toplevel: boolean;
  }>(
    `SELECT query, calls, plans, rows, total_exec_time, total_plan_time, shared_blks_hit, toplevel FROM pg_stat_statements
      WHERE query NOT LIKE '%pg_stat_%' ORDER BY total_exec_time DESC`,
  );
  await ns.close();
  console.log(
    `${jobs} jobs ${rate > 0 ? `offered at ${rate}/s` : 'drained'} at concurrency ${concurrency}, handler ${handlerMs} ms: ${(jobs / seconds).toFixed(0)} jobs/s, commits/job ${(
      Number(db?.xact_commit) / jobs
    ).toFixed(3)}, rollbacks ${db?.xact_rollback}`,
  );
  console.log(
    `backend CPU over the drain: ${((cpu.reduce((sum, c) => sum + c.ms, 0) * 1000) / jobs).toFixed(1)} µs/job, ` +
      cpu.map((c) => `${c.what}${c.fresh ? ' (new)' : ''} ${c.ms} ms`).join(', '),
  );
  console.log('calls/job  rows/job  exec µs/job  plan µs/job  blks hit/job  top  statement');
  for (const row of rows) {
    const perJob = (v: number): string => (v / jobs).toFixed(3).padStart(9);
    console.log(
      `${perJob(Number(row.calls))} ${perJob(Number(row.rows))} ${((row.total_exec_time * 1000) / jobs)
        .toFixed(1)
        .padStart(
          11,
        )} ${((row.total_plan_time * 1000) / jobs).toFixed(1).padStart(11)} ${perJob(Number(row.shared_blks_hit)).padStart(12)}  ${row.toplevel ? 'y' : 'n'}  calls ${row.calls} plans ${row.plans}  ${row.query
        .replace(/\s+/g, ' ')
        .slice(0, 140)}`,
    );
  }
} finally {
  await server.remove();
}

/** One enqueueMany every 10 ms with the jobs due by then, until `jobs` are enqueued. */
async function produceSteadily(ns: Nightshift): Promise<void> {
  const startedAt = performance.now();
  let enqueued = 0;
  while (enqueued < jobs) {
    const due = Math.min(jobs, Math.floor(((performance.now() - startedAt) / 1000) * rate)) - enqueued;
    if (due > 0) {
      await ns.enqueueMany(
        Array.from({ length: due }, (_, n) => ({ task: 'noop', payload: { n: enqueued + n } })),
      );
      enqueued += due;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
