/**
 * The SQLite side of the cluster event log. The hot writers (enqueue, claim, completion) write a row of
 * many job events per statement (`appendJobEvents`, migration 018), the trigger of migration 018 every
 * other transition; this module reads, appends and prunes. One writer at a time makes the
 * AUTOINCREMENT id commit order, so a cursor is the row read last, as decimal text, and for a row of
 * many events the element within it: `<id>.<element>`. A cursor of the row alone is past all of it.
 */
import type Database from 'better-sqlite3';
import type { ClusterEventFilter, NewClusterEvent } from '../../cluster-events.js';
import {
  checkEventLimit,
  checkNewEvents,
  cursorAhead,
  filterValues,
  invalidCursor,
  toClusterEvent,
  type EventFields,
} from '../cluster-event-row.js';
import type { EventPage } from '../store.js';
import type { SqliteConnection } from './connection.js';
import * as sql from './sql/events.js';

interface EventRow extends Omit<EventFields, 'at' | 'error' | 'data'> {
  id: number;
  /** The event's place in its row's `jobs`; -1 for a row of one event. */
  element: number;
  at: number;
  error: string | null;
  data: string | null;
}

const CURSOR = /^(\d{1,16})(?:\.(\d{1,9}))?$/;
/** A cursor's element when it names its row alone: past every element of it. */
const ROW_END = 2 ** 31;

/** A page after `after` (null: from the oldest kept), up to the newest event when the read began. */
export async function eventRead(
  conn: SqliteConnection,
  params: ClusterEventFilter & { after: string | null; limit: number },
): Promise<EventPage> {
  const limit = checkEventLimit(params.limit);
  const after = params.after === null ? { id: 0, element: ROW_END } : parseCursor(params.after);
  const [queue, task, jobId] = filterValues(params);
  // Both reads in one read transaction: the page is bounded by the head of the same snapshot.
  const { head, rows } = await conn.read(() =>
    conn.db.transaction(() => {
      const top = (conn.stmt(sql.eventHead).get() as { head: number }).head;
      if (params.after !== null && after.id > (conn.stmt(sql.eventHighWater).get() as { seq: number }).seq) {
        throw cursorAhead(params.after);
      }
      const page = conn
        .stmt(sql.eventRead)
        .all({ after: after.id, element: after.element, head: top, queue, task, jobId, limit }) as EventRow[];
      return { head: top, rows: page };
    })(),
  );
  const events = rows.map((row) =>
    toClusterEvent(row.element < 0 ? String(row.id) : `${row.id}.${row.element}`, {
      ...row,
      at: new Date(row.at),
      error: row.error === null ? null : (JSON.parse(row.error) as unknown),
      data: row.data === null ? null : (JSON.parse(row.data) as unknown),
    }),
  );
  // A full page ends at its last event; a short one read every event up to the head's row, all of it
  // (a cursor past the head, at an id retention emptied the log of, stays as it is). The read scans to
  // the head whatever the filters, so only a full page may have more after it.
  const last = events[events.length - 1];
  if (rows.length === limit && last) return { events, next: last.id, more: true };
  return { events, next: head >= after.id ? String(head) : (params.after ?? String(head)), more: false };
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
  appendEventsOn(conn, conn.callerTransaction(params.tx), params.events, conn.clock());
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

function parseCursor(cursor: string): { id: number; element: number } {
  const match = CURSOR.exec(cursor);
  if (!match) throw invalidCursor(cursor);
  return { id: Number(match[1]), element: match[2] === undefined ? ROW_END : Number(match[2]) };
}

/** A job's event in a row of many (migration 018). */
export interface JobEvent {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  state: string;
  scheduleId: string | null;
}

/**
 * Writes `events` of `type` as one log row on `handle`, inside whatever transaction is open there (none
 * when there are no events): the jobs' ids alone when they share every other field, kept in the row's
 * columns, as is usual for a batch; else each event whole.
 */
export function appendJobEvents(
  conn: SqliteConnection,
  handle: Database.Database,
  type: string,
  events: readonly JobEvent[],
  at: number,
): void {
  const [first] = events;
  if (first === undefined) return;
  const shared = events.every(
    (e) =>
      e.task === first.task &&
      e.queue === first.queue &&
      e.attempt === first.attempt &&
      e.state === first.state &&
      e.scheduleId === first.scheduleId,
  );
  conn.stmt(sql.jobEventsAppend, handle).run({
    at,
    type,
    task: shared ? first.task : null,
    queue: shared ? first.queue : null,
    attempt: shared ? first.attempt : null,
    state: shared ? first.state : null,
    scheduleId: shared ? first.scheduleId : null,
    jobs: JSON.stringify(
      shared
        ? events.map((e) => e.id)
        : events.map((e) => [e.id, e.task, e.queue, e.attempt, e.state, e.scheduleId]),
    ),
  });
}
