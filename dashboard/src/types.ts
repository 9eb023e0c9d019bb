/** The API's shapes the dashboard reads (the server's OpenAPI document at /api/v1/openapi.json). */

export const JOB_STATES = ['scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  role: Role | null;
  readOnly: boolean;
}

export interface JobError {
  message: string;
  name?: string;
  stack?: string;
  reason: string;
}

export interface Job {
  id: string;
  task: string;
  queue: string;
  state: JobState;
  priority: number;
  attempt: number;
  maxAttempts: number;
  payload: unknown;
  result: unknown;
  error: JobError | null;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  /** The group it is claimed fairly within (docs/TENANCY.md), or null. */
  group: string | null;
  /** Labels a worker must offer to claim it; empty for none. */
  requires: string[];
  scheduleId: string | null;
  parentId: string | null;
  cancelRequested: boolean;
  /** Newer servers add fields (checkpoint, steps, lease…): the detail page shows whatever comes. */
  [more: string]: unknown;
}

/** GET /jobs: a page of jobs. */
export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
  /**
   * With state=queued: how long until the soonest scheduled job matching the other filters comes due
   * and joins the list (the store's clock); null when none waits, and for any other state.
   */
  nextDueInMs: number | null;
}

export interface JobRun {
  attempt: number;
  workerId: string;
  outcome: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  runLagMs: number;
  error: JobError | null;
}

export interface LogLine {
  attempt: number;
  at: string;
  level: string;
  message: string;
  data: unknown;
}

export interface Queue {
  name: string;
  counts: Record<JobState, number>;
  /** null when nothing in the queue is ready to run. */
  oldestReadyAgeMs: number | null;
  /** How long until its soonest scheduled job comes due (the store's clock); null when none waits. */
  nextDueInMs: number | null;
  paused: boolean;
  /** Ready jobs that cannot start now, per reason (docs/TENANCY.md, "Throttled jobs"). */
  throttled: Record<string, number>;
  /** How old the completed, failed and cancelled counts were when read (0: read for the answer). */
  finishedCountsAgeMs: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface StatsBucket {
  at: string;
  completed: number;
  failed: number;
  retried: number;
  waitMs: Percentiles;
  runMs: Percentiles;
}

export interface Alert {
  kind: string;
  subject: string;
  message: string;
  since: string;
  jobId?: string;
  scheduleId?: string;
  queue?: string;
}

/** GET /alerts. */
export interface AlertReading {
  alerts: Alert[];
  /** How long until an alert begins, ends or changes with nothing written (the store's clock); null when none would. */
  nextChangeInMs: number | null;
}

export interface Worker {
  id: string;
  host: string;
  pid: number;
  queues: string[] | null;
  /** Labels it offers (docs/TENANCY.md, "Worker labels"); empty for none. */
  labels: string[];
  /** Tasks it has a handler for, sorted; empty for none. */
  tasks: string[];
  concurrency: number;
  running: number;
  startedAt: string;
  heartbeatAt: string;
}

/** GET /tasks: one task the server declares or a live worker implements. */
export interface TaskCatalogEntry {
  name: string;
  /** The server knows it: POST /jobs accepts it. */
  declared: boolean;
  /** The task's defaults as the server knows them; null for a task only a worker knows. */
  queue: string | null;
  priority: number | null;
  maxAttempts: number | null;
  /** Null also when the task sets none (the worker's applies). */
  timeoutMs: number | null;
  /** The payload's JSON Schema, or null when there is none the server can give. */
  payloadSchema: Record<string, unknown> | null;
  /** Ids of the live workers implementing it. */
  workers: string[];
}

export type OverlapPolicy = 'skip' | 'queue' | 'allow';
export type CatchUpPolicy = 'skip' | 'latest' | 'all';

export interface Schedule {
  id: string;
  task: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string;
  payload: unknown;
  /** Null: the task's queue and priority. */
  queue: string | null;
  priority: number | null;
  jitterMs: number;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  /** Null: never suspended for failures. */
  maxConsecutiveFailures: number | null;
  maxDrainRuns: number;
  paused: boolean;
  nextSlotAt: string | null;
  lastSlotAt: string | null;
  lastJobId: string | null;
  lastOutcome: string | null;
  lastFinishedAt: string | null;
  lastDurationMs: number | null;
  consecutiveFailures: number;
  lastError: JobError | null;
  suspendedAt: string | null;
  suspendedReason: string | null;
  source: 'config' | 'api';
}

export interface Slot {
  slotKey: string;
  slotAt: string;
  /** `slot`, `catch_up` (a missed slot run late), `drain` (asked for by `{ again: true }`) or `trigger`. */
  kind: string;
  status: string;
  /** Why a slot was skipped or missed (overlap, catch-up policy, pause...). */
  reason: string | null;
  outcome: string | null;
  jobId: string | null;
  durationMs: number | null;
  /** How late the slot's job started after the slot's time. */
  runLagMs: number | null;
}

/** One message of GET /events. */
export interface ClusterEvent {
  id: string;
  type: string;
  at: string;
  jobId?: string;
  task?: string;
  queue?: string;
  state?: JobState;
}

/** A cluster-wide rate of starts: at most `limit` per `periodMs`. */
export interface StartRate {
  limit: number;
  periodMs: number;
}

/** GET /limits/queues: a queue with a cluster-wide limit. */
export interface QueueLimit {
  queue: string;
  limit: number | null;
  running: number;
  rate: StartRate | null;
}

/** GET /limits/keys: a concurrency key with its running count and the limit in force. */
export interface ConcurrencyKey {
  key: string;
  running: number;
  /** Null: no operator's limit, and no claim has taken a job of the key yet. */
  limit: number | null;
  operatorLimit: number | null;
  rate: StartRate | null;
}

/** GET /limits/groups: a group of fairly claimed jobs. */
export interface JobGroup {
  group: string;
  weight: number;
  queued: number;
  running: number;
}
