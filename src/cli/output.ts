/**
 * What commands print on stdout: aligned tables for people, and with `--json` one JSON document whose
 * shape is documented in the README and kept stable for scripts (explicit field lists below, so an
 * internal field added to `Job` never leaks into it unannounced).
 */
import type { Job, JobLogLevel, JobLogLine, JobRun, JobState } from '../job.js';
import type { Schedule, SlotRecord } from '../schedule-types.js';
import { THROTTLE_REASONS, type QueueInfo, type WorkerInfo } from '../store/store.js';

/** Where a command writes its result. */
export interface Output {
  write(text: string): unknown;
}

/** Prints one JSON document (two-space indented, trailing newline). */
export function printJson(out: Output, value: unknown): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}

/** Rows a list prints per page unless `--limit` says otherwise. */
export const DEFAULT_LIST_LIMIT = 50;

/**
 * The `more:` line under a page of `command` (`jobs list`): its filters as given (flag to value,
 * undefined when not given), its limit, then the cursor. A cursor alone lists the next page of
 * everything, so a bare `--cursor` hint under a filtered list went on with rows the filters had left out.
 */
export function nextPageLine(
  command: string,
  page: { limit: number; cursor: string },
  filters: Readonly<Record<string, string | undefined>>,
): string {
  const options = {
    ...filters,
    '--limit': page.limit === DEFAULT_LIST_LIMIT ? undefined : String(page.limit),
    '--cursor': page.cursor,
  };
  const words = ['nightshift', command];
  for (const [flag, value] of Object.entries(options))
    if (value !== undefined) words.push(flag, shellWord(value));
  return `more: ${words.join(' ')}\n`;
}

/** `value` as one word for a POSIX shell: as it is when nothing in it is special, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Renders rows as left-aligned columns under a header; null and undefined print as `-`. */
export function renderTable(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
): string {
  const cells = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const line = (values: string[]): string =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

function cellText(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value);
}

/** A job as `--json` prints it. */
export interface JobJson {
  id: string;
  task: string;
  queue: string;
  state: JobState;
  priority: number;
  attempt: number;
  maxAttempts: number;
  payload: unknown;
  result: unknown;
  error: Job['error'];
  runAt: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  /** Labels a worker must offer to claim it, sorted; empty for none. */
  requires: string[];
  group: string | null;
  scheduleId: string | null;
  parentId: string | null;
  cancelRequested: boolean;
}

/** A run-history row as `--json` prints it. */
export interface JobRunJson {
  attempt: number;
  workerId: string;
  outcome: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  runLagMs: number;
  /** The attempt ran longer than its task's `maxDurationMs` (it was alerted on, not stopped). */
  maxDurationExceeded: boolean;
  error: JobRun['error'];
}

/** A job log line as `--json` and the API print it. */
export interface JobLogLineJson {
  attempt: number;
  at: string;
  level: JobLogLevel;
  message: string;
  data: unknown;
}

/** The stable JSON view of a job. */
export function jobJson(job: Job): JobJson {
  return {
    id: job.id,
    task: job.task,
    queue: job.queue,
    state: job.state,
    priority: job.priority,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    payload: job.payload,
    result: job.result,
    error: job.error,
    runAt: job.runAt.toISOString(),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    idempotencyKey: job.idempotencyKey,
    concurrencyKey: job.concurrencyKey,
    requires: job.requires,
    group: job.group,
    scheduleId: job.scheduleId,
    parentId: job.parentId,
    cancelRequested: job.cancelRequested,
  };
}

/** A duration as an operator reads it: 850ms, 12s, 3m04s, 2h05m, 3d04h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${two(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${two(Math.floor(seconds / 60) % 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${two(Math.floor(seconds / 3600) % 24)}h`;
}

/** A queue's throttled counts for a table cell: `key_limit 3,labels 2` (reason order), `-` for none. */
export function throttledCell(throttled: QueueInfo['throttled']): string {
  const parts = THROTTLE_REASONS.filter((reason) => throttled[reason] > 0).map(
    (reason) => `${reason} ${throttled[reason]}`,
  );
  return parts.length === 0 ? '-' : parts.join(',');
}

/** A registered worker as JSON (CLI --json and the API). */
export function workerJson(w: WorkerInfo) {
  return { ...w, startedAt: w.startedAt.toISOString(), heartbeatAt: w.heartbeatAt.toISOString() };
}

/** The stable JSON view of one run. */
export function jobRunJson(run: JobRun): JobRunJson {
  return {
    attempt: run.attempt,
    workerId: run.workerId,
    outcome: run.outcome,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    durationMs: run.durationMs,
    runLagMs: run.runLagMs,
    maxDurationExceeded: run.maxDurationExceeded,
    error: run.error,
  };
}

/** The stable JSON view of one job log line. */
export function jobLogLineJson(line: JobLogLine): JobLogLineJson {
  return {
    attempt: line.attempt,
    at: line.at.toISOString(),
    level: line.level,
    message: line.message,
    data: line.data,
  };
}

/** A date as people read it in tables: UTC, to the second. */
export function shortTime(date: Date | null): string | null {
  return date === null ? null : date.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}

/** A payload or result squeezed into one table cell. */
export function shortJson(value: unknown, max = 40): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** A schedule as `--json` prints it: an explicit field list, stable for scripts. */
export function scheduleJson(s: Schedule) {
  return {
    id: s.id,
    task: s.task,
    cron: s.cron,
    everyMs: s.everyMs,
    timezone: s.timezone,
    payload: s.payload,
    queue: s.queue,
    priority: s.priority,
    jitterMs: s.jitterMs,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpLimit: s.catchUpLimit,
    maxConsecutiveFailures: s.maxConsecutiveFailures,
    maxDrainRuns: s.maxDrainRuns,
    source: s.source,
    paused: s.paused,
    nextSlotAt: s.nextSlotAt?.toISOString() ?? null,
    lastSlotAt: s.lastSlotAt?.toISOString() ?? null,
    lastJobId: s.lastJobId,
    lastOutcome: s.lastOutcome,
    lastStartedAt: s.lastStartedAt?.toISOString() ?? null,
    lastFinishedAt: s.lastFinishedAt?.toISOString() ?? null,
    lastDurationMs: s.lastDurationMs,
    lastRunLagMs: s.lastRunLagMs,
    consecutiveFailures: s.consecutiveFailures,
    lastError: s.lastError,
    suspendedAt: s.suspendedAt?.toISOString() ?? null,
    suspendedReason: s.suspendedReason,
  };
}

/** A slot ledger row as `--json` prints it. */
export function slotJson(r: SlotRecord) {
  return {
    slotKey: r.slotKey,
    slotAt: r.slotAt.toISOString(),
    kind: r.kind,
    status: r.status,
    reason: r.reason,
    jobId: r.jobId,
    slotCount: r.slotCount,
    slotUntil: r.slotUntil?.toISOString() ?? null,
    outcome: r.outcome,
    durationMs: r.durationMs,
    runLagMs: r.runLagMs,
  };
}
