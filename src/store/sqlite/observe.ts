/** The observe part of SqliteStore (see ObserveStore in ../store.ts). */
import { nearestRankPercentiles } from '../percentiles.js';
import { queueBacklog } from '../queue-backlog.js';
import { labelsMet, type ThrottleGroup } from '../queue-throttle.js';
import type {
  ObserveStore,
  QueueBacklog,
  QueueLoad,
  RunningJob,
  RunStatsBucket,
  SlotLapse,
} from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/observe.js';

/** Observe reads on one SQLite connection. */
export class SqliteObserve implements ObserveStore {
  constructor(private readonly conn: SqliteConnection) {}

  async queueLoadList(): Promise<QueueLoad[]> {
    const rows = await this.conn.read(
      () =>
        this.conn.stmt(sql.queueLoadList).all({ now: this.conn.clock() }) as Array<{
          queue: string;
          state: QueueLoad['state'];
          count: number;
          oldest_ready_at: number | null;
          next_due_at: number | null;
        }>,
    );
    return rows.map((row) => ({
      queue: row.queue,
      state: row.state,
      count: row.count,
      oldestReadyAt: row.oldest_ready_at === null ? null : new Date(row.oldest_ready_at),
      nextDueAt: row.next_due_at === null ? null : new Date(row.next_due_at),
    }));
  }

  queueBacklog(params: { workerStaleMs: number }): Promise<QueueBacklog> {
    const now = this.conn.clock();
    return this.conn.read(() =>
      queueBacklog(
        throttleGroups(this.conn, params.workerStaleMs, now),
        laterAndRunning(this.conn, now).map((row) => ({
          queue: row.queue,
          state: row.state,
          count: row.count,
          oldestReadyAt: null,
          nextDueAt: row.next_due_at === null ? null : new Date(row.next_due_at),
        })),
      ),
    );
  }

  async jobRunningList(params: { limit: number }): Promise<RunningJob[]> {
    const rows = await this.conn.read(
      () =>
        this.conn.stmt(sql.jobRunningList).all({ limit: Math.max(1, Math.floor(params.limit)) }) as Array<{
          id: string;
          task: string;
          queue: string;
          attempt: number;
          started_at: number | null;
          lease_expires_at: number | null;
          worker_id: string | null;
        }>,
    );
    return rows.map((row) => ({
      id: row.id,
      task: row.task,
      queue: row.queue,
      attempt: row.attempt,
      startedAt: new Date(row.started_at ?? 0),
      leaseExpiresAt: new Date(row.lease_expires_at ?? 0),
      workerId: row.worker_id,
    }));
  }

  async scheduleSlotLapseList(params: { windowMs: number }): Promise<SlotLapse[]> {
    const rows = await this.conn.read(
      () =>
        this.conn
          .stmt(sql.scheduleSlotLapseList)
          .all({ since: this.conn.clock() - params.windowMs }) as Array<{
          schedule_id: string;
          missed: number;
          skipped: number;
          since: number;
        }>,
    );
    return rows.map((row) => ({
      scheduleId: row.schedule_id,
      missed: row.missed,
      skipped: row.skipped,
      since: new Date(row.since),
    }));
  }

  async jobRunStats(params: { buckets: number; bucketMs: number }): Promise<RunStatsBucket[]> {
    const { buckets, bucketMs } = params;
    const first = (Math.floor(this.conn.clock() / bucketMs) - (buckets - 1)) * bucketMs;
    const rows = await this.conn.read(
      () =>
        this.conn.stmt(sql.jobRunStats).all({ since: first }) as Array<{
          finished_at: number;
          kind: 'completed' | 'failed' | 'retried';
          wait_ms: number;
          run_ms: number;
        }>,
    );
    const found = new Map<
      number,
      { counts: Record<(typeof rows)[number]['kind'], number>; wait: number[]; run: number[] }
    >();
    for (const row of rows) {
      const at = Math.floor(row.finished_at / bucketMs) * bucketMs;
      let bucket = found.get(at);
      if (bucket === undefined) {
        bucket = { counts: { completed: 0, failed: 0, retried: 0 }, wait: [], run: [] };
        found.set(at, bucket);
      }
      bucket.counts[row.kind] += 1;
      bucket.wait.push(row.wait_ms);
      bucket.run.push(row.run_ms);
    }
    return [...found]
      .sort(([a], [b]) => a - b)
      .map(([at, bucket]) => ({
        at: new Date(at),
        ...bucket.counts,
        waitMs: nearestRankPercentiles(bucket.wait),
        runMs: nearestRankPercentiles(bucket.run),
      }));
  }
}

/**
 * The scheduled jobs not due at `now` and the running ones per queue (inside the caller's read), with
 * the soonest due time of the scheduled ones.
 */
export function laterAndRunning(
  conn: SqliteConnection,
  now: number,
): Array<{ queue: string; state: QueueLoad['state']; count: number; next_due_at: number | null }> {
  return conn.stmt(sql.queueLaterAndRunningList).all({ now }) as ReturnType<typeof laterAndRunning>;
}

/**
 * The groups of queue-throttle.ts on `conn` at `now` (inside the caller's read): ready jobs per queue
 * and requirement set, each queue tested against the queues of the workers live within
 * `workerStaleMs` and each set against their labels.
 */
export function throttleGroups(conn: SqliteConnection, workerStaleMs: number, now: number): ThrottleGroup[] {
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
  const groups = conn.stmt(sql.queueThrottleList).all({ now }) as Array<{
    queue: string;
    requires: string | null;
    ready: number;
    key_limit: number;
    key_rate: number;
    age_ms: number;
    paused: number;
    queue_full: number;
    queue_rate_out: number;
  }>;
  return groups.map((g) => {
    const required = g.requires === null ? null : (JSON.parse(g.requires) as string[]);
    const met = required === null || offered.some((labels) => labelsMet(required, labels));
    return {
      queue: g.queue,
      ready: g.ready,
      // A job waiting for labels counts there, not under its key.
      labels: met ? 0 : g.ready,
      keyLimit: met ? g.key_limit : 0,
      keyRate: met ? g.key_rate : 0,
      paused: g.paused !== 0,
      unserved: !served(g.queue),
      queueFull: g.queue_full !== 0,
      queueRateOut: g.queue_rate_out !== 0,
      ageMs: g.age_ms,
      oldestReadyAt: now - g.age_ms,
    };
  });
}
