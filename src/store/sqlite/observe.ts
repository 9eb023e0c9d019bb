/** The observe part of SqliteStore (see ObserveStore in ../store.ts). */
import { nearestRankPercentiles } from '../percentiles.js';
import { queueBacklog, queuedLoad } from '../queue-backlog.js';
import type {
  ObserveStore,
  QueueBacklog,
  QueueLoad,
  RunningJob,
  RunStatsBucket,
  SlotLapse,
} from '../store.js';
import { backlogRead, backlogWalk, type BacklogWalk } from './backlog-read.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/observe.js';

/** Observe reads on one SQLite connection. */
export class SqliteObserve implements ObserveStore {
  constructor(private readonly conn: SqliteConnection) {}

  async queueLoadList(): Promise<QueueLoad[]> {
    // The backlog read's walk (backlog-read.ts, in slices), without what holds the ready jobs back.
    const { now, ready, later } = await backlogWalk(this.conn);
    return [
      ...queuedLoad(ready.map((total) => ({ ...total, oldestReadyAt: total.oldest ?? now }))),
      ...laterLoad(later),
    ];
  }

  async queueBacklog(params: { workerStaleMs: number }): Promise<QueueBacklog> {
    const { ready, later } = await backlogRead(this.conn, params.workerStaleMs);
    return queueBacklog(ready, laterLoad(later));
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

/** The backlog walk's scheduled and running rows as QueueLoad rows. */
function laterLoad(later: BacklogWalk['later']): QueueLoad[] {
  return later.map(({ nextDueAt, ...row }) => ({
    ...row,
    oldestReadyAt: null,
    nextDueAt: nextDueAt === null ? null : new Date(nextDueAt),
  }));
}
