/**
 * The REST API's request and response schemas (TypeBox, which is JSON Schema). Fastify validates
 * requests and serialises responses with them, and @fastify/swagger turns them into the OpenAPI
 * document, so the document describes exactly what the server checks and sends.
 *
 * Responses mirror the CLI's `--json` shapes (src/cli/output.ts): one job, run and schedule view for
 * scripts and HTTP clients alike.
 */
import { Type, type TSchema } from 'typebox';
import { JOB_STATES } from '../job.js';
import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from '../schedule-types.js';
import {
  MAX_CRON_LENGTH,
  MAX_SCHEDULE_ID_LENGTH,
  MAX_TIMEZONE_LENGTH,
  SCHEDULE_RANGES,
} from '../scheduler/validate.js';
import { API_ROLES } from '../store/store.js';
import { JOB_RANGES, MAX_KEY_BYTES, MAX_NAME_BYTES, MAX_PAGE, type Range } from '../validation/bounds.js';
import { MAX_SEARCH_BYTES } from '../validation/job-filter.js';
import { MAX_JOB_LABELS, MAX_LABEL_BYTES } from '../validation/labels.js';

// Numbers take the library's own ranges (validation/bounds.ts, scheduler/validate.ts), so REST takes
// the values `ns.enqueue` and `ns.schedules` take, and one out of range is a 400, never a 500.
/** An integer within one of the library's ranges. */
export const integerIn = ([minimum, maximum]: Range, description?: string) =>
  Type.Integer({ minimum, maximum, ...(description !== undefined && { description }) });
const numberIn = ([minimum, maximum]: Range) => Type.Number({ minimum, maximum });

const literals = <const T extends string[]>(values: readonly [...T]) => Type.Enum(values);
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const dateTime = Type.String({ format: 'date-time' });
const dateTimeOf = (description: string) => Type.String({ format: 'date-time', description });
// Bounds in UTF-8 bytes, which the library checks; a character is at least one byte, so a length of
// at most that many characters refuses nothing the library takes.
/** A task or queue name. */
const name = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_NAME_BYTES,
    description: `${description}; at most ${MAX_NAME_BYTES} bytes of UTF-8`,
  });
/** An idempotency or concurrency key, or a group. */
const key = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_KEY_BYTES,
    description: `${description}; at most ${MAX_KEY_BYTES} bytes of UTF-8`,
  });

/** Every error response: `{ error: { code, message } }`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable error code, e.g. invalid_argument, not_found, unauthorized' }),
      message: Type.String({ description: 'one line for people; never a stack trace' }),
    }),
  },
  { title: 'Error' },
);

/** The role names of tokens. */
export const Role = literals(API_ROLES);
export const JobStateSchema = literals(JOB_STATES);

export const JobErrorSchema = Type.Object({
  message: Type.String(),
  name: Type.Optional(Type.String()),
  stack: Type.Optional(Type.String()),
  reason: Type.String(),
});

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    task: Type.String(),
    queue: Type.String(),
    state: JobStateSchema,
    priority: Type.Integer(),
    attempt: Type.Integer(),
    maxAttempts: Type.Integer(),
    payload: Type.Unknown(),
    result: Type.Unknown(),
    error: nullable(JobErrorSchema),
    runAt: dateTime,
    createdAt: dateTime,
    updatedAt: dateTime,
    startedAt: nullable(dateTime),
    finishedAt: nullable(dateTime),
    idempotencyKey: nullable(Type.String()),
    concurrencyKey: nullable(Type.String()),
    requires: Type.Array(Type.String(), {
      description: 'labels a worker must offer to claim the job, sorted; empty for none',
    }),
    group: nullable(Type.String()),
    scheduleId: nullable(Type.String()),
    parentId: nullable(Type.String()),
    cancelRequested: Type.Boolean(),
  },
  { title: 'Job' },
);

export const JobRunSchema = Type.Object(
  {
    attempt: Type.Integer(),
    workerId: Type.String(),
    outcome: Type.String(),
    startedAt: dateTime,
    finishedAt: dateTime,
    durationMs: Type.Integer(),
    // Not an integer on SQLite when the job's due time was (a fractional delayMs): served as stored.
    runLagMs: Type.Number(),
    maxDurationExceeded: Type.Boolean({ description: "whether the run went past its task's maxDurationMs" }),
    error: nullable(JobErrorSchema),
  },
  { title: 'JobRun' },
);

export const JobLogLineSchema = Type.Object(
  {
    attempt: Type.Integer(),
    at: dateTime,
    level: literals(['info', 'warn'] as const),
    message: Type.String(),
    data: Type.Unknown({ description: 'the data logged with the line, or null' }),
  },
  { title: 'JobLogLine' },
);

/** Options of one enqueue, as the library's `EnqueueOptions` (no transaction over HTTP). */
const enqueueOptions = {
  queue: Type.Optional(name('queue; default the task’s')),
  priority: Type.Optional(integerIn(JOB_RANGES.priority)),
  runAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'due time (give runAt or delayMs, not both)' }),
  ),
  delayMs: Type.Optional(numberIn(JOB_RANGES.delayMs)),
  idempotencyKey: Type.Optional(key('a second enqueue with this key returns the first job')),
  maxAttempts: Type.Optional(integerIn(JOB_RANGES.maxAttempts)),
  timeoutMs: Type.Optional(integerIn(JOB_RANGES.timeoutMs)),
  leaseMs: Type.Optional(integerIn(JOB_RANGES.leaseMs)),
  concurrencyKey: Type.Optional(key('at most concurrencyLimit running jobs with this key, cluster-wide')),
  concurrencyLimit: Type.Optional(
    integerIn(
      JOB_RANGES.concurrencyLimit,
      'needs concurrencyKey (given, or derived by the task or queue); default the task’s, else the queue’s, else 1',
    ),
  ),
  requires: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: MAX_LABEL_BYTES }), {
      maxItems: MAX_JOB_LABELS,
      description:
        'labels a worker must offer (all of them) to claim the job, e.g. ["region:eu", "gpu"]; each 1 to 100 bytes without whitespace, commas or control characters; default the task’s, [] for none',
    }),
  ),
  group: Type.Optional(key('the group (tenant) whose jobs are claimed in weighted turns with other groups')),
};

export const EnqueueBody = Type.Object(
  { task: name('a task the server knows'), payload: Type.Optional(Type.Unknown()), ...enqueueOptions },
  { additionalProperties: false, title: 'EnqueueRequest' },
);

export const EnqueueReply = Type.Object(
  { id: Type.String(), created: Type.Boolean(), job: JobSchema },
  { title: 'EnqueueResult' },
);

/** Most jobs one bulk enqueue takes: one transaction, and a body well under the size limit. */
export const MAX_BULK_JOBS = 1_000;

export const BulkEnqueueBody = Type.Object(
  { jobs: Type.Array(EnqueueBody, { minItems: 1, maxItems: MAX_BULK_JOBS }) },
  { additionalProperties: false },
);

/** Most jobs one bulk retry or cancel changes; call again for more. */
export const MAX_BULK_CHANGES = 100_000;

/**
 * The dashboard's filters, on the job list and both bulk actions; checked again (ISO form, length)
 * by validation/job-filter.ts.
 */
export const JobFilterFields = {
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_SEARCH_BYTES,
      description:
        'Case-insensitive text in the payload or result (their JSON text) or the error message. Not indexed: it is tested on the rows the other filters select, read in list order (newest first) until limit rows match, so a rare term on a big table reads every row the state, queue and task filters let through; narrow with them.',
    }),
  ),
  createdAfter: Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'ISO 8601 (2026-03-07T06:00:00Z, or a date): created at or after',
    }),
  ),
  createdBefore: Type.Optional(
    Type.String({ maxLength: 40, description: 'ISO 8601 (2026-03-07T06:00:00Z, or a date): created before' }),
  ),
};

const bulkFilters = {
  queue: Type.Optional(name('only this queue')),
  task: Type.Optional(name('only this task')),
  ...JobFilterFields,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_BULK_CHANGES, default: MAX_BULK_CHANGES })),
};

export const BulkRetryBody = Type.Object(
  {
    state: Type.Optional(
      Type.Enum(['failed', 'cancelled'], { default: 'failed', description: 'the jobs to retry' }),
    ),
    ...bulkFilters,
  },
  { additionalProperties: false },
);

export const BulkCancelBody = Type.Object(
  {
    state: Type.Optional(
      Type.Enum(['scheduled', 'queued', 'running'], { description: 'the jobs to cancel; default all three' }),
    ),
    ...bulkFilters,
  },
  { additionalProperties: false },
);

export const ScheduleSchema = Type.Object(
  {
    id: Type.String(),
    task: Type.String(),
    cron: nullable(Type.String()),
    everyMs: nullable(Type.Integer()),
    timezone: Type.String(),
    payload: Type.Unknown(),
    queue: nullable(Type.String()),
    priority: nullable(Type.Integer()),
    jitterMs: Type.Integer(),
    overlap: literals(OVERLAP_POLICIES),
    catchUp: literals(CATCH_UP_POLICIES),
    catchUpLimit: Type.Integer(),
    maxConsecutiveFailures: nullable(Type.Integer()),
    maxDrainRuns: Type.Integer(),
    source: literals(['config', 'api'] as const),
    paused: Type.Boolean(),
    nextSlotAt: nullable(
      dateTimeOf(
        'the next slot no job is written for yet; where it would fall while paused or suspended (see lastSlotAt)',
      ),
    ),
    lastSlotAt: nullable(
      dateTimeOf(
        'the latest slot a job was written for: the run in progress, or, when it is in the future, the next run, written ahead of its slot (lookahead)',
      ),
    ),
    lastJobId: nullable(
      Type.String({
        description:
          'the latest job written: of lastSlotAt, or of a later trigger or drain run; maybe not run yet',
      }),
    ),
    lastOutcome: nullable(
      Type.String({
        description: 'how the last finished run ended: completed, failed, cancelled, unknown (job deleted)',
      }),
    ),
    lastStartedAt: nullable(dateTimeOf('when the last finished run started')),
    lastFinishedAt: nullable(dateTimeOf('when the last finished run ended')),
    lastDurationMs: nullable(Type.Integer({ description: 'the last finished run’s duration' })),
    lastRunLagMs: nullable(Type.Integer({ description: 'the last finished run’s start minus its slot' })),
    consecutiveFailures: Type.Integer(),
    lastError: nullable(JobErrorSchema),
    suspendedAt: nullable(dateTime),
    suspendedReason: nullable(Type.String()),
  },
  { title: 'Schedule' },
);

export const SlotSchema = Type.Object(
  {
    slotKey: Type.String(),
    slotAt: dateTime,
    kind: Type.String(),
    status: Type.String(),
    reason: nullable(Type.String()),
    jobId: nullable(Type.String()),
    slotCount: nullable(Type.Integer()),
    slotUntil: nullable(dateTime),
    outcome: nullable(Type.String()),
    durationMs: nullable(Type.Integer()),
    runLagMs: nullable(Type.Integer()),
  },
  { title: 'ScheduleSlot' },
);

// The fields a schedule may keep empty (the task's queue and priority, never suspend).
const scheduleQueue = name('default: the task’s queue');
const schedulePriority = integerIn(SCHEDULE_RANGES.priority);
const scheduleMaxFailures = integerIn(SCHEDULE_RANGES.maxConsecutiveFailures);

/** The fields of a schedule that callers write; validated again, whole, by the schedule service. */
const scheduleFields = {
  task: name('a task the server knows'),
  cron: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_CRON_LENGTH,
      description: '5 fields, or 6 with seconds first',
    }),
  ),
  everyMs: Type.Optional(integerIn(SCHEDULE_RANGES.everyMs)),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TIMEZONE_LENGTH })),
  payload: Type.Optional(Type.Unknown()),
  queue: Type.Optional(scheduleQueue),
  priority: Type.Optional(schedulePriority),
  jitterMs: Type.Optional(integerIn(SCHEDULE_RANGES.jitterMs)),
  overlap: Type.Optional(literals(OVERLAP_POLICIES)),
  catchUp: Type.Optional(literals(CATCH_UP_POLICIES)),
  catchUpLimit: Type.Optional(integerIn(SCHEDULE_RANGES.catchUpLimit)),
  maxConsecutiveFailures: Type.Optional(scheduleMaxFailures),
  maxDrainRuns: Type.Optional(integerIn(SCHEDULE_RANGES.maxDrainRuns)),
};

export const ScheduleCreateBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: MAX_SCHEDULE_ID_LENGTH }),
    ...scheduleFields,
    paused: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, title: 'ScheduleCreateRequest' },
);

// As a JSON merge patch: a field left out keeps its value, and null empties one that may be empty.
export const SchedulePatchBody = Type.Object(
  {
    ...scheduleFields,
    task: Type.Optional(scheduleFields.task),
    queue: Type.Optional(Type.Union([scheduleQueue, Type.Null({ description: 'back to the task’s queue' })])),
    priority: Type.Optional(
      Type.Union([schedulePriority, Type.Null({ description: 'back to the task’s priority' })]),
    ),
    maxConsecutiveFailures: Type.Optional(
      Type.Union([scheduleMaxFailures, Type.Null({ description: 'never suspend' })]),
    ),
  },
  { additionalProperties: false, minProperties: 1, title: 'SchedulePatchRequest' },
);

export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    role: Role,
    createdAt: dateTime,
    expiresAt: nullable(dateTime),
    lastUsedAt: nullable(dateTime),
    revokedAt: nullable(dateTime),
  },
  { title: 'Token' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 50 })),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 500, description: 'nextCursor of the page before' }),
  ),
};

/**
 * A route's responses: its successes, and the error body for every 4xx and 5xx (401/403 from the role
 * check, 400 from validation, 404/409/413/422 from the action, 500/503 when the server or database fails).
 */
export function responses<R extends Record<number, TSchema>>(success: R) {
  return { ...success, '4xx': ErrorBody, '5xx': ErrorBody };
}
