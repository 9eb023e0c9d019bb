/**
 * The PostgreSQL side of the cluster event log (migration 010, sql/events.ts): reads below the
 * horizon, appends on a caller's transaction, retention, and the coalesced wake-up NOTIFY.
 *
 * A cursor is `<tx>_<id>_<n>`: the writing transaction's id, the log row's id and the element in it,
 * the log's order. The horizon cursor `<xmin>_0_0` stands before every event of the oldest transaction
 * that may still commit; `<tx>_<id>_<eventReadRowEnd>` after every event of that row.
 *
 * The NOTIFY is sent outside the transactions that wrote events, at most once per NOTIFY_GAP_MS per
 * store: PostgreSQL serialises committing notifiers on one global lock, and a NOTIFY inside every claim
 * and finish made commits queue behind each other (a 20,000-job drain took twice as long). Readers poll
 * as well, so a lost NOTIFY costs latency only.
 */
import type pg from 'pg';
import type { ClusterEvent, ClusterEventFilter, NewClusterEvent } from '../../cluster-events.js';
import {
  checkEventLimit,
  checkNewEvents,
  cursorAhead,
  filterValues,
  invalidCursor,
  toClusterEvent,
  type EventFields,
} from '../cluster-event-row.js';
import { NightshiftError } from '../../errors.js';
import { toStoreError } from './pool.js';
import { isUuid } from './job-row.js';
import * as sql from './sql/events.js';
import type { Queryable } from './sql/statements.js';
import type { EventPage } from '../store.js';

/** Wake-up NOTIFYs of one store are at least this far apart. */
export const NOTIFY_GAP_MS = 25;

const CURSOR = /^(\d{1,20})_(\d{1,19})_(\d{1,19})$/;

interface EventRow extends EventFields {
  horizon: string;
  scanned: number;
  last_row: string | null;
  tx: string | null;
  id: string | null;
  n: string | null;
}

/** The event log of one store's schema. */
export class PostgresEventLog {
  private readonly statements: { eventRead: string; eventAppend: string; eventPrune: string };
  private notifyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
    private readonly notify: { channel: string; origin: string },
  ) {
    this.statements = {
      eventRead: sql.eventRead(quotedSchema),
      eventAppend: sql.eventAppend(quotedSchema),
      eventPrune: sql.eventPrune(quotedSchema),
    };
  }

  /** A page after `after`, below the horizon. */
  async read(params: ClusterEventFilter & { after: string | null; limit: number }): Promise<EventPage> {
    const limit = checkEventLimit(params.limit);
    const after = params.after ?? '0_0_0';
    const [tx, id, n] = parseCursor(after);
    // A job id that is no UUID matches no event; the query would reject it.
    if (params.jobId !== undefined && !isUuid(params.jobId)) return { events: [], next: after, more: false };
    const rows = await this.query<EventRow>(this.statements.eventRead, [
      tx,
      id,
      n,
      ...filterValues(params),
      limit,
    ]);
    const events: ClusterEvent[] = [];
    for (const row of rows) {
      if (row.tx !== null && row.id !== null && row.n !== null) {
        events.push(toClusterEvent(`${row.tx}_${row.id}_${row.n}`, row));
      }
    }
    const [first] = rows;
    // A transaction id past the horizon was never given out below it: no read of this database gave
    // such a cursor (horizons only move on).
    if (first && BigInt(tx) > BigInt(first.horizon)) throw cursorAhead(after);
    const last = events[events.length - 1];
    let next: string;
    // A full page ends at its last event. A short one read every matching event of the rows it scanned:
    // when the scan stopped at its limit, more rows follow, so the page ends after the last one scanned;
    // otherwise everything below the horizon was read. Only that last page has nothing more after it: a
    // filtered page may be short, even empty, with more log entries to scan behind it.
    let more = true;
    if (events.length === limit && last) next = last.id;
    else if (first && first.scanned === limit && first.last_row !== null)
      next = `${first.last_row}_${sql.eventReadRowEnd}`;
    else {
      next = `${first?.horizon ?? tx}_0_0`;
      more = false;
    }
    return { events, next: laterCursor(next, after), more };
  }

  /** The horizon cursor now. */
  async head(): Promise<string> {
    const [row] = await this.query<{ horizon: string }>(sql.eventHead, []);
    return `${row?.horizon ?? '0'}_0_0`;
  }

  /** Appends on `db` (the pool, or a caller's transaction client). */
  async append(db: Queryable, events: NewClusterEvent[]): Promise<void> {
    checkNewEvents(events);
    if (events.length === 0) return;
    for (const event of events) {
      if (event.jobId !== undefined && !isUuid(event.jobId)) throw invalidJobId(event.jobId);
    }
    try {
      await db.query({
        text: this.statements.eventAppend,
        values: [
          events.map((e) => e.type),
          events.map((e) => e.jobId ?? null),
          events.map((e) => e.task ?? null),
          events.map((e) => e.queue ?? null),
          events.map((e) => e.attempt ?? null),
          events.map((e) => e.state ?? null),
          events.map((e) => (e.error === undefined ? null : JSON.stringify(e.error))),
          events.map((e) => e.scheduleId ?? null),
          events.map((e) => (e.data === undefined ? null : JSON.stringify(e.data))),
        ],
      });
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** Deletes up to `limit` old events. */
  async prune(olderThanMs: number, limit: number): Promise<number> {
    if (Math.floor(limit) <= 0) return 0;
    const [row] = await this.query<{ deleted: number }>(this.statements.eventPrune, [
      olderThanMs,
      Math.floor(limit),
    ]);
    return row?.deleted ?? 0;
  }

  /**
   * Events were committed: tells other processes, coalesced to one NOTIFY per NOTIFY_GAP_MS, sent on a
   * pooled connection after the writing transaction ended. A failure is ignored (readers poll).
   */
  written(): void {
    if (this.notifyTimer !== undefined) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.pool
        .query({
          text: 'SELECT pg_notify($1, $2)',
          values: [this.notify.channel, JSON.stringify({ o: this.notify.origin, e: 1 })],
        })
        .catch(() => undefined);
    }, NOTIFY_GAP_MS);
    this.notifyTimer.unref();
  }

  /** Drops a pending NOTIFY (the pool is closing). */
  stop(): void {
    clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ text, values })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

function parseCursor(cursor: string): [string, string, string] {
  const match = CURSOR.exec(cursor);
  if (!match) throw invalidCursor(cursor);
  return [match[1] ?? '0', match[2] ?? '0', match[3] ?? '0'];
}

/** The later of two cursors (a horizon never moves back, but a caller's cursor may be ahead of it). */
function laterCursor(next: string, after: string): string {
  const a = parseCursor(next).map(BigInt);
  const b = parseCursor(after).map(BigInt);
  for (let i = 0; i < 3; i += 1) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x > y ? next : after;
  }
  return next;
}

function invalidJobId(id: string): NightshiftError {
  return new NightshiftError('invalid_argument', `event jobId must be a job id (a UUID): ${id}`);
}
