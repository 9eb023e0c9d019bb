/**
 * What a scrape costs: `GET /metrics`, `GET /api/v1/alerts` and `GET /api/v1/stats?minutes=60` against
 * 100,000 jobs in 1,000 queues, on SQLite and on PostgreSQL (a database of its own, never analysed, as
 * on a fresh install; autovacuum as the server runs it, off on the machines these figures come from:
 * bench/list-reads.ts turns it off on the store's tables itself).
 *
 *   node --import tsx bench/observe-scrape.ts [--jobs 100000] [--queues 1000] [--scrapes 20]
 *
 * The jobs: 10% wait (queued, due), 2% are delayed, 0.1% run (claimed, never finished), the rest ran
 * within the last hour: completed, or failed with a recorded run. On PostgreSQL the running jobs are
 * found through the claims' lease rows, which stay until a rescue pass after their lease ended; the
 * fill lets them end and runs that pass, as a live system's rescuer does (see docs/METRICS.md). Each route is requested `--scrapes`
 * times after one warm-up; the table gives the median and the slowest, wall-clock on this machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer } from '../src/api/server.js';
import { issueToken } from '../src/api/tokens.js';
import { createLogger } from '../src/logger.js';
import { Nightshift } from '../src/nightshift.js';
import { openStore } from '../src/store/open.js';
import type { JobFinish, NewJob, Store } from '../src/store/store.js';
import { newJob } from '../test/support/jobs.js';
import { createDatabase } from './postgres-database.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    queues: { type: 'string', default: '1000' },
    scrapes: { type: 'string', default: '20' },
  },
});
const JOBS = Number(args.jobs);
const QUEUES = Number(args.queues);
const SCRAPES = Number(args.scrapes);
const BATCH = 1_000;
const ROUTES = ['/metrics', '/api/v1/alerts', '/api/v1/stats?minutes=60'];

async function fill(store: Store): Promise<void> {
  const queue = (i: number) => `queue-${i % QUEUES}`;
  const finished = Math.floor(JOBS * 0.879);
  for (let done = 0; done < finished; done += BATCH) {
    const size = Math.min(BATCH, finished - done);
    await store.jobInsertMany({
      jobs: Array.from({ length: size }, (_, i) => newJob({ queue: queue(done + i), maxAttempts: 1 })),
    });
    // A lease that has already ended: the claims' lease rows go once the rescue below finds nothing
    // running under them, as a rescuer does within a lease period on a live system.
    const claimed = await store.jobClaim({ workerId: 'bench', limit: size, leaseMs: 1 });
    await store.jobFinishMany({
      finishes: claimed.map((job, i): JobFinish =>
        i % 20 === 0
          ? {
              id: job.id,
              leaseToken: job.leaseToken,
              outcome: 'failed',
              error: { message: 'x', reason: 'failed' },
            }
          : { id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: null },
      ),
    });
  }
  while ((await store.jobRescueLapsed({ limit: 1_000 })).requeued.length > 0);
  const running = Math.floor(JOBS * 0.001);
  await store.jobInsertMany({ jobs: Array.from({ length: running }, (_, i) => newJob({ queue: queue(i) })) });
  await store.jobClaim({ workerId: 'bench', limit: running, leaseMs: 600_000 });
  const waiting: NewJob[] = [];
  for (let i = 0; i < Math.floor(JOBS * 0.12); i += 1) {
    waiting.push(newJob({ queue: queue(i), ...(i % 6 === 0 && { delayMs: 3_600_000 }) }));
  }
  for (let i = 0; i < waiting.length; i += BATCH) {
    await store.jobInsertMany({ jobs: waiting.slice(i, i + BATCH) });
  }
}

async function measure(label: string, url: string): Promise<void> {
  const logger = createLogger({ level: 'silent' });
  const store = await openStore(url);
  await store.migrate();
  const started = Date.now();
  await fill(store);
  const filled = Date.now() - started;
  const ns = await Nightshift.connect({
    db: store,
    logger,
    alerts: { queueDepth: 10, oldestReadyAgeMs: 60_000 },
  });
  const { secret } = await issueToken(store, { name: 'bench', role: 'viewer' });
  const { app, url: base } = await startApiServer({ ns, logger, host: '127.0.0.1', port: 0 });
  try {
    for (const route of ROUTES) {
      const get = async () => {
        const t = performance.now();
        const response = await fetch(base + route, { headers: { authorization: `Bearer ${secret}` } });
        const bytes = (await response.arrayBuffer()).byteLength;
        if (response.status !== 200) throw new Error(`${route}: ${response.status}`);
        return { ms: performance.now() - t, bytes };
      };
      await get();
      const runs = [];
      for (let i = 0; i < SCRAPES; i += 1) runs.push(await get());
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      const median = ms[Math.floor(ms.length / 2)] ?? NaN;
      console.log(
        `| ${label} | ${route} | ${median.toFixed(1)} | ${(ms.at(-1) ?? NaN).toFixed(1)} | ${runs[0]?.bytes ?? 0} |`,
      );
    }
  } finally {
    await app.close();
    await ns.close();
    await store.close();
  }
  console.error(`${label}: filled ${JOBS} jobs in ${(filled / 1000).toFixed(1)} s`);
}

console.log(`${JOBS} jobs, ${QUEUES} queues, ${SCRAPES} requests per route after one warm-up`);
console.log('| backend | route | median ms | slowest ms | bytes |');
console.log('| ------- | ----- | --------- | ---------- | ----- |');
const dir = mkdtempSync(join(tmpdir(), 'nightshift-observe-'));
try {
  await measure('sqlite', `sqlite:${join(dir, 'bench.db')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const database = await createDatabase('observe');
try {
  await measure('postgres', database.url);
} finally {
  await database.drop();
}
