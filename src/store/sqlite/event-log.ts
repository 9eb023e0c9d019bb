/**
 * The SQLite side of the cluster event log. The triggers of migrations/007_events.sql write job events
 * in the statement of each transition; this module reads, appends and prunes. One writer at a time
 * makes the AUTOINCREMENT id commit order, so a cursor is the last id read, as decimal text.
 */
import Database from 'better-sqlite3';
import type { ClusterEvent, ClusterEventFilter, NewClusterEvent } from '../../cluster-events.js';
import { NightshiftError } from '../../errors.js';
import {
  checkEventLimit,
  checkNewEvents,
  filterValues,
  invalidCursor,
  toClusterEvent,
  type EventFields,
} from '../cluster-event-row.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/events.js';

interface EventRow extends Omit<EventFields, 'at' | 'error' | 'data'> {
  id: number;
  at: number;
  error: string | null;
  data: string | null;
}

const CURSOR = /^\d{1,16}$/;

/** A page after `after` (null: from the oldest kept), up to the newest event when the read began. */
export async function eventRead(
  conn: SqliteConnection,
  params: ClusterEventFilter & { after: string | null; limit: number },
): Promise<{ events: ClusterEvent[]; next: string }> {
  const limit = checkEventLimit(params.limit);
  const after = params.after === null ? 0 : parseCursor(params.after);
  const [queue, task, jobId] = filterValues(params);
  // Both reads in one read transaction: the page is bounded by the head of the same snapshot.
  const { head, rows } = await conn.read(() =>
    conn.db.transaction(() => {
      const top = (conn.stmt(sql.eventHead).get() as { head: number }).head;
      const page = conn
        .stmt(sql.eventRead)
        .all({ after, head: top, queue, task, jobId, limit }) as EventRow[];
      return { head: top, rows: page };
    })(),
  );
  const events = rows.map((row) =>
    toClusterEvent(String(row.id), {
      ...row,
      at: new Date(row.at),
      error: row.error === null ? null : (JSON.parse(row.error) as unknown),
      data: row.data === null ? null : (JSON.parse(row.data) as unknown),
    }),
  );
  const last = rows[rows.length - 1];
  const next = rows.length === limit && last ? last.id : Math.max(head, after);
  return { events, next: String(next) };
}

/** The cursor after the newest event. */
export async function eventHead(conn: SqliteConnection): Promise<string> {
  return String(await conn.read(() => (conn.stmt(sql.eventHead).get() as { head: number }).head));
}

/**
 * Appends events: on `tx` (the store's own handle inside an open transaction) without a transaction
 * of its own, else in one write transaction.
 */
export async function eventAppend(
  conn: SqliteConnection,
  params: { events: NewClusterEvent[]; tx?: unknown },
): Promise<void> {
  checkNewEvents(params.events);
  if (params.events.length === 0) return;
  if (params.tx === undefined) {
    await conn.write((now) => appendEventsOn(conn, conn.db, params.events, now));
    return;
  }
  const handle = params.tx;
  if (!(handle instanceof Database) || !handle.inTransaction) {
    throw new NightshiftError(
      'invalid_argument',
      'tx must be a better-sqlite3 Database inside an open transaction',
    );
  }
  appendEventsOn(conn, handle, params.events, conn.clock());
}

/** Inserts events with plain statements on `handle`, inside whatever transaction is open there. */
export function appendEventsOn(
  conn: SqliteConnection,
  handle: Database.Database,
  events: NewClusterEvent[],
  now: number,
): void {
  for (const event of events) {
    conn.stmt(sql.eventAppend, handle).run({
      at: now,
      type: event.type,
      jobId: event.jobId ?? null,
      task: event.task ?? null,
      queue: event.queue ?? null,
      attempt: event.attempt ?? null,
      state: event.state ?? null,
      error: event.error === undefined ? null : JSON.stringify(event.error),
      scheduleId: event.scheduleId ?? null,
      data: event.data === undefined ? null : JSON.stringify(event.data),
    });
  }
}

/** Deletes up to `limit` events written more than `olderThanMs` ago. */
export async function eventPrune(
  conn: SqliteConnection,
  params: { olderThanMs: number; limit: number },
): Promise<{ deleted: number }> {
  const limit = Math.floor(params.limit);
  if (limit <= 0) return { deleted: 0 };
  const deleted = await conn.write(
    (now) => conn.stmt(sql.eventPrune).run({ before: now - params.olderThanMs, limit }).changes,
  );
  return { deleted };
}

function parseCursor(cursor: string): number {
  if (!CURSOR.test(cursor)) throw invalidCursor(cursor);
  return Number(cursor);
}
