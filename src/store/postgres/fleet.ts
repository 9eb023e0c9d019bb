/** The fleet part of PostgresStore (see FleetStore in ../store.ts): registered workers, paused queues. */
import type pg from 'pg';
import type { JobState } from '../../job.js';
import { queueSummary } from '../queue-summary.js';
import type { FleetStore, QueueInfo, WorkerInfo } from '../store.js';
import { toStoreError } from './connection.js';
import type { Queryable } from './statements.js';
import type { NotifyTarget } from './job-inserter.js';
import * as sql from './sql/fleet.js';
import { countByQueue } from './sql/job-read.js';

interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  queues: string[] | null;
  concurrency: number;
  running: number;
  started_at: Date;
  heartbeat_at: Date;
}

function toWorker(row: WorkerRow): WorkerInfo {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    queues: row.queues,
    concurrency: row.concurrency,
    running: row.running,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
  };
}

/** Workers and paused queues in one schema. */
// Pause and resume take the store front's transaction, which records the queue event with them.
export class PostgresFleet implements Omit<FleetStore, 'queuePause' | 'queueResume'> {
  private readonly sql: { [K in keyof typeof sql]: string } & { countByQueue: string };

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
    private readonly notify: NotifyTarget,
  ) {
    this.sql = {
      ...(Object.fromEntries(Object.entries(sql).map(([name, render]) => [name, render(quotedSchema)])) as {
        [K in keyof typeof sql]: string;
      }),
      countByQueue: countByQueue(quotedSchema),
    };
  }

  async workerRegister(params: Omit<WorkerInfo, 'startedAt' | 'heartbeatAt'>): Promise<void> {
    await this.result(this.sql.workerRegister, [
      params.id,
      params.host,
      params.pid,
      params.queues,
      params.concurrency,
      params.running,
    ]);
  }

  async workerHeartbeat(params: { id: string; running: number }): Promise<boolean> {
    return (await this.result(this.sql.workerHeartbeat, [params.id, params.running])).rowCount === 1;
  }

  async workerDelete(params: { id: string }): Promise<void> {
    await this.result(this.sql.workerDelete, [params.id]);
  }

  async workerList(params: { staleMs: number }): Promise<WorkerInfo[]> {
    return (await this.result<WorkerRow>(this.sql.workerList, [params.staleMs])).rows.map(toWorker);
  }

  async workerSweep(params: { staleMs: number }): Promise<{ deleted: string[] }> {
    const { rows } = await this.result<{ id: string }>(this.sql.workerSweep, [params.staleMs]);
    return { deleted: rows.map((row) => row.id) };
  }

  /** Pauses on `db` (the store front's transaction, which records the event); false when already paused. */
  async queuePause(params: { queue: string }, db: Queryable): Promise<boolean> {
    return (await this.result(this.sql.queuePause, [params.queue], db)).rowCount === 1;
  }

  /**
   * Resumes on `db` (the store front's transaction, which records the event and, after its commit,
   * wakes this process's workers); false when the queue was not paused.
   */
  async queueResume(params: { queue: string }, db: Queryable): Promise<boolean> {
    const { rows } = await this.result(
      this.sql.queueResume,
      [params.queue, this.notify.channel, this.notify.origin],
      db,
    );
    return rows.length > 0;
  }

  async queueList(): Promise<QueueInfo[]> {
    const [counts, oldest, paused] = await Promise.all([
      this.result<{ queue: string; state: JobState; count: number }>(this.sql.countByQueue, []),
      this.result<{ queue: string; ageMs: number }>(this.sql.queueOldestReady, []),
      this.result<{ queue: string }>(this.sql.queuePausedList, []),
    ]);
    return queueSummary(
      counts.rows,
      oldest.rows,
      paused.rows.map((row) => row.queue),
    );
  }

  private async result<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    db: Queryable = this.pool,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await db.query<R>({ text, values });
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
