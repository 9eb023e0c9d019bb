/** The observe part of PostgresStore (see ObserveStore in ../store.ts). */
import type pg from 'pg';
import type {
  ObserveStore,
  Percentiles,
  QueueBacklog,
  QueueLoad,
  RunningJob,
  RunStatsBucket,
  SlotLapse,
} from '../store.js';
import { queueBacklog } from '../queue-backlog.js';
import type { ThrottleGroup } from '../queue-throttle.js';
import type { PostgresConnection } from './connection.js';
import * as sql from './sql/observe.js';

/** Observe reads in one schema. */
export class PostgresObserve implements ObserveStore {
  private readonly sql: {
    queueLoadList: string;
    jobRunningList: string;
    scheduleSlotLapseList: string;
    jobRunStats: string;
    queueBacklog: string;
  };

  constructor(private readonly conn: PostgresConnection) {
    const { quotedSchema } = conn;
    this.sql = {
      queueLoadList: sql.queueLoadList(quotedSchema),
      jobRunningList: sql.jobRunningList(quotedSchema),
      scheduleSlotLapseList: sql.scheduleSlotLapseList(quotedSchema),
      jobRunStats: sql.jobRunStats(quotedSchema),
      queueBacklog: sql.queueBacklog(quotedSchema),
    };
  }

  async queueLoadList(): Promise<QueueLoad[]> {
    const rows = await this.rows<{
      queue: string;
      state: QueueLoad['state'];
      count: number;
      oldest_ready_at: Date | null;
      next_due_at: Date | null;
    }>(this.sql.queueLoadList, [], { grouped: true });
    return rows.map((row) => ({
      queue: row.queue,
      state: row.state,
      count: row.count,
      oldestReadyAt: row.oldest_ready_at,
      nextDueAt: row.next_due_at,
    }));
  }

  async queueBacklog(params: { workerStaleMs: number }): Promise<QueueBacklog> {
    const [row] = await this.rows<BacklogRow>(this.sql.queueBacklog, throttleParams(params), {
      grouped: true,
    });
    const { later, ready } = row as BacklogRow;
    return queueBacklog(
      toThrottleGroups(ready),
      later.map((load) => ({
        queue: load.queue,
        state: load.state,
        count: load.count,
        oldestReadyAt: null,
        nextDueAt: load.nextDueAt === null ? null : new Date(load.nextDueAt),
      })),
    );
  }

  async jobRunningList(params: { limit: number }): Promise<RunningJob[]> {
    const rows = await this.rows<{
      id: string;
      task: string;
      queue: string;
      attempt: number;
      started_at: Date | null;
      lease_expires_at: Date;
      worker_id: string | null;
    }>(this.sql.jobRunningList, [Math.max(1, Math.floor(params.limit))]);
    return rows.map((row) => ({
      id: row.id,
      task: row.task,
      queue: row.queue,
      attempt: row.attempt,
      startedAt: row.started_at ?? row.lease_expires_at,
      leaseExpiresAt: row.lease_expires_at,
      workerId: row.worker_id,
    }));
  }

  async scheduleSlotLapseList(params: { windowMs: number }): Promise<SlotLapse[]> {
    const rows = await this.rows<{ schedule_id: string; missed: number; skipped: number; since: Date }>(
      this.sql.scheduleSlotLapseList,
      [params.windowMs],
    );
    return rows.map((row) => ({
      scheduleId: row.schedule_id,
      missed: row.missed,
      skipped: row.skipped,
      since: row.since,
    }));
  }

  async jobRunStats(params: { buckets: number; bucketMs: number }): Promise<RunStatsBucket[]> {
    const rows = await this.rows<{
      bucket_ms: number;
      completed: number;
      failed: number;
      retried: number;
      wait_ms: number[];
      run_ms: number[];
    }>(this.sql.jobRunStats, [params.buckets, params.bucketMs]);
    return rows.map((row) => ({
      at: new Date(row.bucket_ms),
      completed: row.completed,
      failed: row.failed,
      retried: row.retried,
      waitMs: percentiles(row.wait_ms),
      runMs: percentiles(row.run_ms),
    }));
  }

  /** `grouped`: a read of the whole backlog, grouped by hashing (PostgresConnection.groupedRows). */
  private async rows<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    options: { grouped?: boolean } = {},
  ): Promise<R[]> {
    if (options.grouped === true) return this.conn.groupedRows<R>({ text }, values);
    return this.conn.rows<R>({ text }, values);
  }
}

function percentiles([p50, p95, p99]: number[]): Percentiles {
  return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
}

/** The one row of sql/observe.ts `queueBacklog`: each of its reads as a JSON array. */
interface BacklogRow {
  later: Array<{ queue: string; state: QueueLoad['state']; count: number; nextDueAt: number | null }>;
  ready: ThrottleRow[];
}

/** A row of sql/observe.ts `queueThrottleList`: one queue. */
export interface ThrottleRow {
  queue: string;
  ready: number;
  labels: number;
  key_limit: number;
  key_rate: number;
  ageMs: number;
  oldestReadyAt: number;
  paused: boolean;
  unserved: boolean;
  queue_full: boolean;
  queue_rate_out: boolean;
}

/** `queueThrottleList`'s statement parameters. */
export function throttleParams(params: { workerStaleMs: number }): unknown[] {
  return [Math.max(0, Math.round(params.workerStaleMs))];
}

/** The groups of queue-throttle.ts from `queueThrottleList`'s rows. */
export function toThrottleGroups(rows: ThrottleRow[]): ThrottleGroup[] {
  return rows.map((row) => ({
    queue: row.queue,
    ready: row.ready,
    labels: row.labels,
    keyLimit: row.key_limit,
    keyRate: row.key_rate,
    paused: row.paused,
    unserved: row.unserved,
    queueFull: row.queue_full,
    queueRateOut: row.queue_rate_out,
    ageMs: Number(row.ageMs),
    oldestReadyAt: Number(row.oldestReadyAt),
  }));
}
