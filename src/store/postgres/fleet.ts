/** The fleet part of PostgresStore (see FleetStore in ../store.ts): registered workers, paused queues. */
import type pg from 'pg';
import { queueSummary, type QueueLoadCount } from '../queue-summary.js';
import type { FleetStore, QueueInfo, QueueListParams, WorkerInfo } from '../store.js';
import { toStoreError } from './pool.js';
import type { Queryable } from './sql/statements.js';
import type { PostgresConnection } from './connection.js';
import * as sql from './sql/fleet.js';
import { throttleParams, toThrottleGroups, type ThrottleRow } from './observe.js';

interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  queues: string[] | null;
  labels: string[] | null;
  tasks: string[] | null;
  concurrency: number;
  running: number;
  started_at: Date;
  heartbeat_at: Date;
  stale_ms: number;
}

function toWorker(row: WorkerRow): WorkerInfo {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    queues: row.queues,
    labels: row.labels ?? [],
    tasks: row.tasks ?? [],
    concurrency: row.concurrency,
    running: row.running,
    startedAt: row.started_at,
    staleMs: row.stale_ms,
    heartbeatAt: row.heartbeat_at,
  };
}

/** The one row of sql/fleet.ts `queueList`: each of its reads as a JSON array. */
interface QueueListRow {
  later: QueueLoadCount[];
  paused: string[];
  ready: ThrottleRow[];
}

/** Workers and paused queues in one schema. */
export class PostgresFleet implements FleetStore {
  private readonly sql: { [K in keyof typeof sql]: string };

  constructor(private readonly conn: PostgresConnection) {
    const { quotedSchema } = conn;
    this.sql = Object.fromEntries(
      Object.entries(sql).map(([name, render]) => [name, render(quotedSchema)]),
    ) as {
      [K in keyof typeof sql]: string;
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
      params.labels.length === 0 ? null : params.labels,
      params.tasks.length === 0 ? null : params.tasks,
      params.staleMs,
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

  /** Pauses a queue and records `queue:paused` in one transaction; false when already paused. */
  async queuePause(params: { queue: string }): Promise<boolean> {
    const paused = await this.conn.withTransaction(async (client) => {
      const changed = (await this.result(this.sql.queuePause, [params.queue], client)).rowCount === 1;
      if (changed) await this.conn.eventLog.append(client, [{ type: 'queue:paused', queue: params.queue }]);
      return changed;
    });
    if (paused) this.conn.eventsWritten();
    return paused;
  }

  /** Resumes a queue and records `queue:resumed` in one transaction; false when it was not paused. */
  async queueResume(params: { queue: string }): Promise<boolean> {
    const { channel, origin } = this.conn.notify;
    const resumed = await this.conn.withTransaction(async (client) => {
      const { rows } = await this.result(this.sql.queueResume, [params.queue, channel, origin], client);
      if (rows.length > 0) {
        await this.conn.eventLog.append(client, [{ type: 'queue:resumed', queue: params.queue }]);
      }
      return rows.length > 0;
    });
    if (resumed) {
      this.conn.eventsWritten();
      // pg_notify skips this process's own origin: wake its workers once the resume is visible.
      this.conn.emit('job:ready', { queue: params.queue });
    }
    return resumed;
  }

  async queuePausedList(): Promise<string[]> {
    const { rows } = await this.result<{ queue: string }>(this.sql.queuePausedList, []);
    return rows.map((row) => row.queue);
  }

  async queueList(params: QueueListParams): Promise<QueueInfo[]> {
    const rows = await this.conn.groupedRows<QueueListRow>(
      { text: this.sql.queueList },
      throttleParams(params),
    );
    const row = rows[0] as QueueListRow;
    return queueSummary(toThrottleGroups(row.ready), row.later, row.paused, params);
  }

  private async result<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    db: Queryable = this.conn.pool,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await db.query<R>({ text, values });
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
