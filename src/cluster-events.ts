/**
 * Cluster events: the job and schedule transitions every process can hear, read from the event log
 * the stores write in the same transaction as each transition (docs/EVENTS.md). The shape is the one
 * the REST API streams (`GET /api/v1/events`) and `ns.followEvents` yields.
 */
import type { JobError, JobState } from './job.js';

/** The types of cluster events. */
export const CLUSTER_EVENT_TYPES = [
  'job:enqueued',
  'job:started',
  'job:completed',
  'job:failed',
  'job:retrying',
  'job:cancelled',
  'schedule:fired',
  'schedule:skipped',
  'schedule:paused',
  'schedule:resumed',
  'schedule:suspended',
  'queue:paused',
  'queue:resumed',
] as const;

/** A cluster event's type. */
export type ClusterEventType = (typeof CLUSTER_EVENT_TYPES)[number];

/** What an event records; `Store.eventAppend` takes these (queue and schedule events, by their owners). */
export interface NewClusterEvent {
  type: ClusterEventType;
  jobId?: string;
  task?: string;
  queue?: string;
  /** For job events: the attempt that started or ended (0 for `job:enqueued`). */
  attempt?: number;
  scheduleId?: string;
  /** The job's state after the transition. */
  state?: JobState;
  /** For `job:failed` and `job:retrying` (and a failed attempt's `job:cancelled`): why the attempt failed. */
  error?: JobError;
  /** Anything else the writer recorded (schedule and queue events). */
  data?: Record<string, unknown>;
}

/** One event of the cluster event log. */
export interface ClusterEvent extends NewClusterEvent {
  /** The event's cursor: opaque; pass it as `after` (or `Last-Event-ID`) to resume after this event. */
  id: string;
  /** When it was written (database clock), ISO 8601. */
  at: string;
}

/** Which events a reader wants; absent fields match every event. */
export interface ClusterEventFilter {
  queue?: string | undefined;
  task?: string | undefined;
  jobId?: string | undefined;
}

/** True for a known cluster event type. */
export function isClusterEventType(value: string): value is ClusterEventType {
  return (CLUSTER_EVENT_TYPES as readonly string[]).includes(value);
}
