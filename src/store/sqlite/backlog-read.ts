/**
 * The backlog read of the queue list, the metrics scrape and the alerts (`queueList`, `queueBacklog`,
 * `queueLoadList`) on SQLite: the ready jobs per queue and requirement set with their oldest due time
 * and the reasons their keys hold them back, the scheduled jobs not due yet and the running ones per
 * queue, read in slices of the indexes that hold them with the event loop free between two slices
 * (setImmediate).
 *
 * better-sqlite3 reads synchronously: one pass over a million waiting jobs held this process's event
 * loop, and with it the worker's claims, heartbeats and HTTP answers, for 0.2-0.4 s at each queue list
 * and scrape (docs/BENCHMARKS.md, "Reads on a large installation"). A slice reads at most
 * `BACKLOG_SLICE_ROWS` index entries, each range one seek of an index the jobs already sit in
 * (sql/observe.ts `readyIndexWalk`, `scheduledDueWalk`, `scheduledLaterWalk`): no index was added, as
 * one more index on jobs slows every enqueue and claim.
 *
 * Each slice is its own read, so writes may land between two. Every range starts past the last one
 * read, so a job is counted at most once as long as it keeps its place in its index, and a job that
 * moves on (a due job promoted to queued, a queued one claimed) moves to a range already read or to
 * an index read earlier: the walk reads the running jobs first, then the queued ones, then the due
 * scheduled ones, then the later ones, against the way jobs move. A job moved during the read is
 * then counted in the state its slice found it in, or not at all (the next read counts it). A job
 * put back goes to its old place in its index (released, its lease lapsed: already read if it was
 * counted) or, retried, to a due time after the read began, past the due range; only one retried with
 * no delay within the millisecond the read began could be counted twice.
 */
import { setImmediate } from 'node:timers/promises';
import { byText, labelsMet, type ThrottleGroup } from '../queue-throttle.js';
import type { QueueLoad } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/observe.js';

/**
 * Index entries one slice reads at most: 13-16 ms of this process at most for queued jobs (a covering
 * index and a key probe each; docs/BENCHMARKS.md), about as long for due scheduled ones (a table row
 * each).
 */
const BACKLOG_SLICE_ROWS = 20_000;

/**
 * What a range costs beyond its rows, in rows: a statement's own work. A slice that meets many small
 * runs (fair groups of a few jobs each) counts their statements too.
 */
const RANGE_COST_ROWS = 50;

/** Past any rowid, and any run_at a Date can hold (8.64e15 ms): the open end of a range. */
const INT64_MAX = 2n ** 63n - 1n;
/** Before any rowid or run_at. */
const INT64_MIN = -(2n ** 63n);

/** What the backlog read sums over a range of ready jobs (sql/observe.ts READY_SUMS). */
interface ReadySums {
  ready: number;
  key_limit: number;
  key_rate: number;
  oldest: number | null;
}

/** Ready jobs of one queue and requirement set, summed over the walk. */
export interface ReadyTotal extends ReadySums {
  queue: string;
  requires: string | null;
}

/** The waiting and running jobs at `now` (the store's clock when the read began), as the walk counts them. */
export interface BacklogWalk {
  now: number;
  /** Ready jobs per queue and requirement set, by queue then set (none first). */
  ready: ReadyTotal[];
  /** Scheduled jobs not due yet (with the soonest due time), by queue, then running ones by queue. */
  later: Array<{ queue: string; state: QueueLoad['state']; count: number; nextDueAt: number | null }>;
}

/** The backlog with what holds its ready jobs back (queue-throttle.ts). */
export interface Backlog extends Omit<BacklogWalk, 'ready'> {
  ready: ThrottleGroup[];
}

/** A walk of some index: reads up to `budget` rows' worth synchronously and returns what it used. */
interface Walk {
  done: boolean;
  read(budget: number): number;
}

/**
 * The backlog at the store's clock now, workers judged live within `workerStaleMs` (the throttled
 * counts' `unserved` and `labels`).
 */
export async function backlogRead(conn: SqliteConnection, workerStaleMs: number): Promise<Backlog> {
  const walked = await backlogWalk(conn);
  return {
    ...walked,
    ready: await conn.read(() => throttleGroups(conn, walked.ready, workerStaleMs, walked.now)),
  };
}

/** The waiting and running jobs at the store's clock now, in slices of at most BACKLOG_SLICE_ROWS rows. */
export async function backlogWalk(conn: SqliteConnection): Promise<BacklogWalk> {
  const now = conn.clock();
  const running = await conn.read(
    () => conn.stmt(sql.queueRunningList).all() as Array<{ queue: string; count: number }>,
  );
  const ready = new Map<string, ReadyTotal>();
  const addReady = (queue: string, requires: string | null, sums: ReadySums): void => {
    if (sums.ready === 0) return;
    const key = JSON.stringify([queue, requires]);
    const total = ready.get(key);
    if (total === undefined) ready.set(key, { queue, requires, ...sums });
    else {
      total.ready += sums.ready;
      total.key_limit += sums.key_limit;
      total.key_rate += sums.key_rate;
      total.oldest = Math.min(total.oldest ?? Infinity, sums.oldest ?? Infinity);
    }
  };
  const later = new Map<string, { count: number; nextDueAt: number }>();
  const walks: Walk[] = [
    ...sql.READY_INDEXES.map((index) => new ReadyIndexWalk(conn, index, now, addReady)),
    new ScheduledWalk(conn, sql.scheduledDueWalk, INT64_MIN, BigInt(now) + 1n, now, (rows) => {
      for (const row of rows as Array<ReadySums & { queue: string; requires: string | null }>)
        addReady(row.queue, row.requires, row);
    }),
    new ScheduledWalk(conn, sql.scheduledLaterWalk, BigInt(now), INT64_MAX, now, (rows) => {
      for (const row of rows as Array<{ queue: string; count: number; next_due_at: number }>) {
        const seen = later.get(row.queue);
        if (seen === undefined) later.set(row.queue, { count: row.count, nextDueAt: row.next_due_at });
        else {
          seen.count += row.count;
          seen.nextDueAt = Math.min(seen.nextDueAt, row.next_due_at);
        }
      }
    }),
  ];
  for (let next = 0; next < walks.length;) {
    await setImmediate();
    next = await conn.read(() => {
      let budget = BACKLOG_SLICE_ROWS;
      let walk = next;
      while (walk < walks.length && budget > 0) {
        const current = walks[walk] as Walk;
        // A slice retried after a busy database finds the walks it finished done.
        if (!current.done) budget -= current.read(budget);
        if (current.done) walk += 1;
      }
      return walk;
    });
  }
  return {
    now,
    // SQLite's GROUP BY order: by queue, then requirement set, none first.
    ready: [...ready.values()].sort(
      (a, b) =>
        byText(a.queue, b.queue) ||
        (a.requires === null ? -1 : b.requires === null ? 1 : byText(a.requires, b.requires)),
    ),
    later: [
      ...[...later]
        .sort(([a], [b]) => byText(a, b))
        .map(([queue, row]) => ({ queue, state: 'scheduled' as const, ...row })),
      ...running.map((row) => ({
        queue: row.queue,
        state: 'running' as const,
        count: row.count,
        nextDueAt: null,
      })),
    ],
  };
}

/**
 * The groups of queue-throttle.ts from the ready totals at `now`: each queue's holds (paused, full,
 * out of starts) read once, each queue tested against the queues of the workers live within
 * `workerStaleMs` and each requirement set against their labels.
 */
function throttleGroups(
  conn: SqliteConnection,
  totals: ReadyTotal[],
  workerStaleMs: number,
  now: number,
): ThrottleGroup[] {
  const live = (
    conn.stmt(sql.queueThrottleListLive).all({ now, staleMs: workerStaleMs }) as Array<{
      queues: string | null;
      labels: string | null;
    }>
  ).map((row) => ({
    queues: row.queues === null ? null : new Set(JSON.parse(row.queues) as string[]),
    labels: new Set(row.labels === null ? [] : (JSON.parse(row.labels) as string[])),
  }));
  const offered = live.filter((worker) => worker.labels.size > 0).map((worker) => worker.labels);
  const served = (queue: string): boolean =>
    live.some((worker) => worker.queues === null || worker.queues.has(queue));
  const holds = new Map(
    (
      conn
        .stmt(sql.queueThrottleHolds)
        .all({ now, queues: JSON.stringify([...new Set(totals.map((total) => total.queue))]) }) as Array<{
        queue: string;
        paused: number;
        queue_full: number;
        queue_rate_out: number;
      }>
    ).map((row) => [row.queue, row]),
  );
  return totals.map((g) => {
    const required = g.requires === null ? null : (JSON.parse(g.requires) as string[]);
    const met = required === null || offered.some((labels) => labelsMet(required, labels));
    const hold = holds.get(g.queue);
    const ageMs = now - (g.oldest ?? now);
    return {
      queue: g.queue,
      ready: g.ready,
      // A job waiting for labels counts there, not under its key.
      labels: met ? 0 : g.ready,
      keyLimit: met ? g.key_limit : 0,
      keyRate: met ? g.key_rate : 0,
      paused: hold !== undefined && hold.paused !== 0,
      unserved: !served(g.queue),
      queueFull: hold !== undefined && hold.queue_full !== 0,
      queueRateOut: hold !== undefined && hold.queue_rate_out !== 0,
      ageMs,
      oldestReadyAt: now - ageMs,
    };
  });
}

/** A run of a ready index: the prefix's values (queue, requires, group_key as it holds them) and a priority. */
type Run = Record<string, unknown> & { priority: number | bigint };

/** The cursor of a run not read yet: before every (run_at, id). */
const RUN_START = { afterRunAt: INT64_MIN, afterId: '' };
/** The cursor of a run read to its end: past every (run_at, id). */
const RUN_END = { afterRunAt: INT64_MAX, afterId: '' };

// Each walk moves its cursor past what a statement read before the next statement runs: a read that
// fails midway (conn.read retries one that met a busy database) goes on from there, counting nothing
// twice.

/**
 * A ready index read run by run (readyIndexWalk): within a run, ranges of (run_at, id) up to the
 * budget's worth; past a prefix value, the whole prefix values up to the budget's worth at once.
 */
class ReadyIndexWalk implements Walk {
  done = false;
  /** The run being read (null: none found yet; undefined: the index is read). */
  private run: Run | undefined | null = null;
  private after: { afterRunAt: number | bigint; afterId: string } = RUN_START;
  private readonly statements: ReturnType<typeof sql.readyIndexWalk>;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly index: sql.ReadyIndex,
    private readonly now: number,
    private readonly add: (queue: string, requires: string | null, sums: ReadySums) => void,
  ) {
    this.statements = sql.readyIndexWalk(index);
  }

  read(budget: number): number {
    let used = 0;
    if (this.run === null) {
      this.run = this.conn.stmt(this.statements.first).get() as Run | undefined;
      used += RANGE_COST_ROWS;
    }
    while (this.run !== undefined && used < budget) {
      const run: Run = this.run;
      const rows = Math.max(1, budget - used);
      if (this.after === RUN_END) {
        const next = this.conn.stmt(this.statements.nextPriority).get(run) as Run | undefined;
        used += RANGE_COST_ROWS;
        if (next !== undefined) {
          this.run = next;
          this.after = RUN_START;
        } else used += this.pastPrefix(run, rows);
        continue;
      }
      const end = this.conn.stmt(this.statements.end).get({ ...run, ...this.after, rows }) as
        { run_at: number; id: string } | undefined;
      const upTo =
        end === undefined ? { upToRunAt: INT64_MAX, upToId: '' } : { upToRunAt: end.run_at, upToId: end.id };
      const sums = this.conn
        .stmt(this.statements.sums)
        .get({ ...run, ...this.after, ...upTo, now: this.now }) as ReadySums;
      this.add(run.queue as string, (run.requires as string | undefined) ?? null, sums);
      this.after = end === undefined ? RUN_END : { afterRunAt: end.run_at, afterId: end.id };
      used += sums.ready + RANGE_COST_ROWS;
    }
    this.done = this.run === undefined;
    return used;
  }

  /**
   * Past the prefix value of `run` (read to its end): the whole prefix values before the one that
   * holds the `rows`-th job past it, summed at once, then that one's first run; returns the rows used.
   */
  private pastPrefix(run: Run, rows: number): number {
    const end = this.conn.stmt(this.statements.prefixesEnd).get({ ...run, rows }) as
      Record<string, unknown> | undefined;
    const upTo =
      end === undefined
        ? {}
        : Object.fromEntries(this.index.prefix.map((column) => [`upTo_${column}`, end[column]]));
    const groups = this.conn
      .stmt(end === undefined ? this.statements.prefixSumsRest : this.statements.prefixSums)
      .all({ ...run, ...upTo, now: this.now }) as Array<
      ReadySums & { queue: string; requires: string | null }
    >;
    for (const group of groups) this.add(group.queue, group.requires, group);
    // That prefix value's first run comes next: its highest priority, below any a job can have.
    this.run = end === undefined ? undefined : { ...end, priority: INT64_MAX };
    return countOf(groups) + RANGE_COST_ROWS;
  }
}

/**
 * Scheduled jobs with a due time in (`from`, `before`) read in order of (run_at, rowid): the rest of
 * one due time's jobs, then the jobs of the due times after it, up to the budget's worth a read.
 */
class ScheduledWalk implements Walk {
  done = false;
  /** The last job read: its due time and rowid (INT64_MAX: that due time's jobs are all read). */
  private runAt: number | bigint;
  private row: number | bigint = INT64_MAX;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly statements: typeof sql.scheduledDueWalk,
    from: bigint,
    private readonly before: bigint,
    private readonly now: number,
    private readonly add: (rows: unknown[]) => void,
  ) {
    this.runAt = from;
  }

  read(budget: number): number {
    let used = RANGE_COST_ROWS;
    if (this.row !== INT64_MAX) {
      // The rest of the due time's jobs, up to the budget.
      const rows = Math.max(1, budget - used);
      const tie = { runAt: this.runAt, afterRow: this.row, now: this.now };
      const end = this.conn.stmt(this.statements.tieEnd).get({ ...tie, rows }) as { row: number } | undefined;
      const tieRows = this.conn.stmt(this.statements.tie).all({ ...tie, upToRow: end?.row ?? INT64_MAX });
      this.add(tieRows);
      this.row = end?.row ?? INT64_MAX;
      if (end !== undefined) return budget;
      used += countOf(tieRows) + RANGE_COST_ROWS;
    }
    // On to the later due times, up to the rest of the budget.
    const span = { after: this.runAt, now: this.now };
    const end = this.conn
      .stmt(this.statements.spanEnd)
      .get({ ...span, before: this.before, rows: Math.max(1, budget - used) }) as
      { run_at: number; row: number } | undefined;
    if (end === undefined) {
      this.add(this.conn.stmt(this.statements.span).all({ ...span, before: this.before }));
      this.done = true;
      return budget;
    }
    // Up to the last job found: the due times before its own, then its own up to its rowid.
    this.add(this.conn.stmt(this.statements.span).all({ ...span, before: end.run_at }));
    this.runAt = end.run_at;
    this.row = INT64_MIN;
    this.add(
      this.conn
        .stmt(this.statements.tie)
        .all({ runAt: end.run_at, afterRow: INT64_MIN, upToRow: end.row, now: this.now }),
    );
    this.row = end.row;
    return budget;
  }
}

/** The jobs a range's rows counted (the ready or the later ones). */
function countOf(rows: unknown[]): number {
  return (rows as Array<{ ready?: number; count?: number }>).reduce(
    (sum, row) => sum + (row.ready ?? row.count ?? 0),
    0,
  );
}
