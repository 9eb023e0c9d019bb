/** The fleet part of SqliteStore (see FleetStore in ../store.ts): registered workers, paused queues. */
import { queueSummary } from '../queue-summary.js';
import type { FleetStore, QueueInfo, QueueListParams, WorkerInfo } from '../store.js';
import { backlogRead } from './backlog-read.js';
import type { SqliteConnection } from './connection.js';
import { appendEventsOn } from './event-log.js';
import * as sql from './sql/fleet.js';

interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  queues: string | null;
  labels: string | null;
  tasks: string | null;
  concurrency: number;
  running: number;
  started_at: number;
  heartbeat_at: number;
  stale_ms: number;
}

function toWorker(row: WorkerRow): WorkerInfo {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    queues: row.queues === null ? null : (JSON.parse(row.queues) as string[]),
    labels: listColumn(row.labels),
    tasks: listColumn(row.tasks),
    concurrency: row.concurrency,
    running: row.running,
    startedAt: new Date(row.started_at),
    staleMs: row.stale_ms,
    heartbeatAt: new Date(row.heartbeat_at),
  };
}

/** A JSON array column that holds NULL for an empty list (labels, tasks; the rows before a column). */
function listColumn(value: string | null): string[] {
  return value === null ? [] : (JSON.parse(value) as string[]);
}

/** The JSON of a list column: NULL for none, as the rows written before the column hold. */
function listValue(list: readonly string[]): string | null {
  return list.length === 0 ? null : JSON.stringify(list);
}

/** Workers and paused queues on one SQLite connection. */
export class SqliteFleet implements FleetStore {
  constructor(private readonly conn: SqliteConnection) {}

  async workerRegister(params: Omit<WorkerInfo, 'startedAt' | 'heartbeatAt'>): Promise<void> {
    await this.conn.write((now) =>
      this.conn.stmt(sql.workerRegister).run({
        ...params,
        queues: params.queues === null ? null : JSON.stringify(params.queues),
        labels: listValue(params.labels),
        tasks: listValue(params.tasks),
        now,
      }),
    );
  }

  workerHeartbeat(params: { id: string; running: number }): Promise<boolean> {
    return this.conn.write(
      (now) => this.conn.stmt(sql.workerHeartbeat).run({ ...params, now }).changes === 1,
    );
  }

  async workerDelete(params: { id: string }): Promise<void> {
    await this.conn.write(() => this.conn.stmt(sql.workerDelete).run(params.id));
  }

  workerList(params: { staleMs: number }): Promise<WorkerInfo[]> {
    const now = this.conn.clock();
    return this.conn.read(() =>
      (this.conn.stmt(sql.workerList).all({ now, staleMs: params.staleMs }) as WorkerRow[]).map(toWorker),
    );
  }

  workerSweep(params: { staleMs: number }): Promise<{ deleted: string[] }> {
    return this.conn.write((now) => ({
      deleted: (
        this.conn.stmt(sql.workerSweep).all({ now, staleMs: params.staleMs }) as Array<{ id: string }>
      ).map((row) => row.id),
    }));
  }

  // A change of pause state is recorded in the event log in its own transaction (queue:paused/resumed).
  queuePause(params: { queue: string }): Promise<boolean> {
    return this.conn.write((now) => {
      const paused = this.conn.stmt(sql.queuePause).get({ queue: params.queue, now }) !== undefined;
      if (paused)
        appendEventsOn(this.conn, this.conn.db, [{ type: 'queue:paused', queue: params.queue }], now);
      return paused;
    });
  }

  async queueResume(params: { queue: string }): Promise<boolean> {
    const resumed = await this.conn.write((now) => {
      const changed = this.conn.stmt(sql.queueResume).run(params.queue).changes === 1;
      if (changed)
        appendEventsOn(this.conn, this.conn.db, [{ type: 'queue:resumed', queue: params.queue }], now);
      return changed;
    });
    // Wakes this process's workers now; other processes' see it at their next poll.
    if (resumed) this.conn.emit('job:ready', { queue: params.queue });
    return resumed;
  }

  queuePausedList(): Promise<string[]> {
    return this.conn.read(() =>
      (this.conn.stmt(sql.queuePausedList).all() as Array<{ queue: string }>).map((row) => row.queue),
    );
  }

  async queueList(params: QueueListParams): Promise<QueueInfo[]> {
    // One read of the ready jobs (the queued counts, their oldest ages and the throttled counts), in
    // slices that leave the event loop free (backlog-read.ts).
    const { now, ready, later } = await backlogRead(this.conn, params.workerStaleMs);
    const paused = await this.conn.read(() =>
      (this.conn.stmt(sql.queueListPaused).all() as Array<{ queue: string }>).map((row) => row.queue),
    );
    return queueSummary(
      ready,
      later.map(({ nextDueAt, ...row }) => ({ ...row, inMs: nextDueAt === null ? null : nextDueAt - now })),
      paused,
      params,
    );
  }
}
