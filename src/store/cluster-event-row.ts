/**
 * Turning an event-log row into a `ClusterEvent`, and checking what callers hand the log, the same on
 * both backends (only the cursor differs: see each store's event-log module).
 */
import type { ClusterEvent, ClusterEventFilter, NewClusterEvent } from '../cluster-events.js';
import { isClusterEventType } from '../cluster-events.js';
import { NightshiftError } from '../errors.js';
import { isJobState, type JobError } from '../job.js';

/** An event-log row as either backend returns it (JSON columns already parsed). */
export interface EventFields {
  at: Date;
  type: string;
  job_id: string | null;
  task: string | null;
  queue: string | null;
  attempt: number | null;
  state: string | null;
  error: unknown;
  schedule_id: string | null;
  data: unknown;
}

/** The event `id` names; only set fields are present. */
export function toClusterEvent(id: string, row: EventFields): ClusterEvent {
  const event: ClusterEvent = {
    id,
    type: isClusterEventType(row.type) ? row.type : 'job:enqueued',
    at: row.at.toISOString(),
  };
  if (row.job_id !== null) event.jobId = row.job_id;
  if (row.task !== null) event.task = row.task;
  if (row.queue !== null) event.queue = row.queue;
  if (row.attempt !== null) event.attempt = row.attempt;
  if (row.schedule_id !== null) event.scheduleId = row.schedule_id;
  if (row.state !== null && isJobState(row.state)) event.state = row.state;
  if (row.error !== null && typeof row.error === 'object') event.error = row.error as JobError;
  if (row.data !== null && typeof row.data === 'object') event.data = row.data as Record<string, unknown>;
  return event;
}

/** Refuses a page size that is not a positive integer. */
export function checkEventLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new NightshiftError('invalid_argument', `limit must be an integer >= 1, got ${String(limit)}`);
  }
  return limit;
}

/** Refuses events of unknown types; nothing is written when one is bad. */
export function checkNewEvents(events: NewClusterEvent[]): void {
  for (const event of events) {
    if (!isClusterEventType(event.type)) {
      throw new NightshiftError('invalid_argument', `unknown cluster event type: ${String(event.type)}`);
    }
  }
}

/** The filter values as SQL parameters (null: any). */
export function filterValues(filter: ClusterEventFilter): [string | null, string | null, string | null] {
  return [filter.queue ?? null, filter.task ?? null, filter.jobId ?? null];
}

/** The error for a cursor this store did not make. */
export function invalidCursor(cursor: string): NightshiftError {
  return new NightshiftError('invalid_argument', `invalid event cursor: ${cursor}`);
}

/**
 * A cursor past every event this database ever wrote: it came from another database, or from this one
 * before it was restored from a backup. Followed, it would wait silently until the log caught up and
 * then skip what came between.
 */
export function cursorAhead(cursor: string): NightshiftError {
  return new NightshiftError(
    'invalid_argument',
    `event cursor ${cursor} is ahead of this database's event log (was the database replaced or restored?); read from now on without a cursor`,
  );
}
