/**
 * One torture run: a real database (a SQLite file, or a private PostgreSQL started with initdb so it
 * can be restarted and crashed), three worker and two scheduler processes, a seeded client workload
 * and a seeded fault timeline for `minutes`; then the drain (faults stop, schedules are paused, the
 * workers finish what is left and rescue what lapsed), a graceful stop, and the checker.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import { startBlackholeProxy } from '../postgres/blackhole-proxy.js';
import { startOwnPostgres } from '../support/own-postgres.js';
import { checkRun, historyStats, violationExcerpt, type HistoryStats, type Violation } from './checker.js';
import { Cluster } from './cluster.js';
import {
  postgresTortureDatabase,
  sqliteTortureDatabase,
  type FinalState,
  type TortureDatabase,
} from './database.js';
import { faultKinds, injectFaults, type FaultTargets } from './faults.js';
import { HistoryWriter, readHistory, type HistoryEvent } from './history.js';
import { Random } from './prng.js';
import { tortureTasks } from './tasks.js';
import { Workload } from './workload.js';

/** What a run is asked to do. */
export interface TortureOptions {
  backend: 'sqlite' | 'postgres';
  minutes: number;
  seed: number;
  /** Keep the run's directory (database, history) instead of deleting it after a passing run. */
  keep?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What a run found. */
export interface TortureReport {
  options: TortureOptions;
  stats: HistoryStats & { jobs: number; tornLines: number; drainMs: number };
  violations: Violation[];
  /** One block per violation: its message and its history excerpt. */
  excerpts: string[][];
  /** The command that replays this run's workload and fault timeline. */
  replay: string;
  dir: string;
  /** What the checker judged, for tests that doctor it. */
  events: HistoryEvent[];
  final: FinalState;
}

const SCHEMA = 'nightshift';
/** How long the drain may take: retries back off up to 2 s, a lapsed lease takes 2 s plus a sweep. */
const DRAIN_TIMEOUT_MS = 120_000;
/**
 * How long the drained cluster's processes get to stop on SIGTERM before SIGKILL. Nothing runs or is
 * due by then, so the stop writes nothing the checker reads; but a member whose connection went
 * through the black-holed proxy still waits for calls sent into the hole (its stop's bound is grace +
 * flushTimeoutMs + 5 s, 16 s here), and waiting that out cost every PostgreSQL run 15 s.
 */
const STOP_GRACE_MS = 5_000;
/** The worker clock skew injected on PostgreSQL, where the database clock rules. */
const SKEW_MS = 10 * 60_000;

/** Runs the torture and checks it; never throws for a violation (see `violations`). */
export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), `nightshift-torture-${options.backend}-`));
  const historyDir = join(dir, 'history');
  mkdirSync(historyDir);
  const history = new HistoryWriter(historyDir, 'driver');
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // The database, migrated once before anyone else connects, with the recording triggers.
    let url: string;
    let viaProxy: string;
    let database: TortureDatabase;
    const targets: Omit<FaultTargets, 'cluster'> = { history };
    if (options.backend === 'sqlite') {
      const file = join(dir, 'torture.db');
      url = `sqlite:${file}`;
      viaProxy = url;
      targets.sqliteFile = file;
      database = sqliteTortureDatabase(file);
    } else {
      const server = await startOwnPostgres();
      cleanups.push(() => server.remove());
      // Five processes, each with a pool, a LISTEN connection and a lease keeper's store.
      await server.query('ALTER SYSTEM SET max_connections = 300');
      // The helper's cluster commits asynchronously; a crash would then lose acknowledged commits,
      // which no client can survive. fsync stays off: a server crash keeps the OS page cache.
      await server.query('ALTER SYSTEM SET synchronous_commit = on');
      await server.restart('fast');
      const proxy = await startBlackholeProxy({ host: '127.0.0.1', port: server.port });
      cleanups.push(() => proxy.close());
      url = server.url;
      viaProxy = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
      targets.postgres = { server, proxy };
      database = postgresTortureDatabase(url, SCHEMA);
    }
    const migrator = await openStore(url);
    await migrator.migrate();
    await migrator.close();
    await database.install();
    log(`database ready (${options.backend}) in ${dir}`);

    const cluster = new Cluster(historyDir, options.backend, history);
    cleanups.push(() => cluster.stop(5_000));
    const postgres = options.backend === 'postgres';
    cluster.add('worker-1', 'worker', url);
    cluster.add('worker-2', 'worker', viaProxy, postgres ? { TORTURE_SKEW_MS: String(SKEW_MS) } : {});
    cluster.add('worker-3', 'worker', viaProxy, postgres ? { TORTURE_SKEW_MS: String(-SKEW_MS) } : {});
    cluster.add('scheduler-1', 'scheduler', viaProxy);
    cluster.add('scheduler-2', 'scheduler', url);

    const ns = await Nightshift.connect({
      db: url,
      tasks: tortureTasks(history, options.backend),
      logger: createLogger({ level: 'silent' }),
    });
    cleanups.push(() => ns.close());
    const workload = new Workload(ns.untyped, history, Random.derive(options.seed, 'workload'));
    const opRandom = Random.derive(options.seed, 'pace');

    // The run: the client and the faults until the time is up.
    const stop = new AbortController();
    const faults = injectFaults(
      { ...targets, cluster },
      faultKinds(options.backend),
      Random.derive(options.seed, 'faults'),
      stop.signal,
    );
    const client = (async () => {
      while (!stop.signal.aborted) {
        await workload.step();
        await sleep(opRandom.int(20, 150));
      }
    })();
    await sleep(options.minutes * 60_000);
    stop.abort();
    await Promise.all([faults, client]);
    log('workload and faults stopped; draining');

    // The drain: nothing frozen, schedules paused, then wait until nothing is due, running or waiting.
    const drainStart = Date.now();
    cluster.thaw();
    await workload.pauseAll();
    let drained = false;
    while (Date.now() - drainStart < DRAIN_TIMEOUT_MS) {
      const progress = await database.progress().catch(() => undefined);
      if (progress && progress.due === 0 && progress.running === 0 && progress.waiting === 0) {
        drained = true;
        break;
      }
      await sleep(500);
    }
    const drainMs = Date.now() - drainStart;
    log(drained ? `drained in ${drainMs} ms` : `not drained after ${drainMs} ms`);
    await cluster.stop(STOP_GRACE_MS);
    await ns.close();

    const { events, tornLines } = readHistory(historyDir);
    const final = await database.read();
    await database.close();
    const violations = checkRun(events, final);
    const replay = `npm run torture -- --backend ${options.backend} --minutes ${options.minutes} --seed ${options.seed}`;
    return {
      options,
      stats: { ...historyStats(events), jobs: final.jobs.length, tornLines, drainMs },
      violations,
      excerpts: violations.map((violation) => violationExcerpt(violation, events, final)),
      replay,
      dir,
      events,
      final,
    };
  } finally {
    history.close();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** Deletes a run's directory (after a passing run, unless asked to keep it). */
export function removeRunDirectory(report: TortureReport): void {
  rmSync(report.dir, { recursive: true, force: true });
}
