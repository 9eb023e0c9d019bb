/** Conversion between PostgreSQL rows and the store's job records. */
import type { Job, JobError, JobRun, RunOutcome } from '../../job.js';
import { decodeJob, type JobColumnAdapter, type JobColumns } from '../job-record.js';

/** The driver types of PostgreSQL's job columns (timestamptz as Date, json parsed, boxed checkpoint). */
export interface PostgresJobColumns {
  time: Date;
  json: unknown;
  error: JobError;
  checkpoint: unknown;
  flag: boolean;
  /** text[], parsed by node-postgres. */
  labels: string[];
}

/** A `jobs` row as node-postgres returns it (uuid as string). */
export type JobRow = JobColumns<PostgresJobColumns>;

/** Decodes PostgreSQL's job columns (see job-record.ts): node-postgres did the parsing already. */
export const POSTGRES_JOB_COLUMNS: JobColumnAdapter<PostgresJobColumns> = {
  time: (date) => date,
  json: (value) => value,
  error: (error) => error,
  checkpoint: (box) => unbox(box),
  flag: (value) => value,
  labels: (value) => value,
};

/** A `job_runs` row. */
export interface JobRunRow {
  job_id: string;
  attempt: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date;
  due_at: Date;
  outcome: RunOutcome;
  error: JobError | null;
  max_duration_exceeded: boolean;
}

/** The job record of a row. SQL NULL in `checkpoint` means "never saved" and maps to undefined. */
export function toJob(row: JobRow): Job {
  return decodeJob(row, POSTGRES_JOB_COLUMNS);
}

/** The run-history record of a row. */
export function toJobRun(row: JobRunRow): JobRun {
  return {
    jobId: row.job_id,
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.finished_at.getTime() - row.started_at.getTime(),
    runLagMs: Math.max(0, row.started_at.getTime() - row.due_at.getTime()),
    outcome: row.outcome,
    error: row.error,
    maxDurationExceeded: row.max_duration_exceeded,
  };
}

/** JSON text for a json column; undefined becomes SQL NULL. */
export function toJsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * JSON text of `{ v: value }` for columns where "no value" and a saved null must stay apart
 * (checkpoints, step results): node-postgres parses SQL NULL and JSON null alike to null, and a boxed
 * value keeps them distinct whatever type parsers the caller's client uses. undefined boxes to `{}`.
 */
export function toBoxedJson(value: unknown): string {
  return JSON.stringify({ v: value });
}

/** The value inside a boxed column; undefined for SQL NULL or an empty box. */
export function unbox(column: unknown): unknown {
  return typeof column === 'object' && column !== null ? (column as { v?: unknown }).v : undefined;
}

/** 1 for the ASCII codes of hexadecimal digits, either case. */
const HEX_DIGIT = new Uint8Array(128);
for (const digit of '0123456789abcdefABCDEF') HEX_DIGIT[digit.charCodeAt(0)] = 1;

/**
 * True for a string PostgreSQL accepts as uuid in its canonical form (8-4-4-4-12 hexadecimal digits,
 * either case). Ids and lease tokens are uuid columns; anything else can match no row, so callers
 * answer "not found" or "refused" without asking the database.
 *
 * A table lookup per character rather than a regular expression: every finish checks its id and
 * token, and the case-insensitive pattern took twice as long per call.
 */
export function isUuid(value: string): boolean {
  if (typeof value !== 'string' || value.length !== 36) return false;
  if (
    value.charCodeAt(8) !== 45 ||
    value.charCodeAt(13) !== 45 ||
    value.charCodeAt(18) !== 45 ||
    value.charCodeAt(23) !== 45
  ) {
    return false;
  }
  for (let i = 0; i < 36; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 128 && HEX_DIGIT[code] === 1) continue;
    // The four dashes, checked above, are the only other characters allowed.
    if (i !== 8 && i !== 13 && i !== 18 && i !== 23) return false;
  }
  return true;
}

/**
 * The three arrays of a batch of plain completions as PostgreSQL array literals: ids and lease tokens
 * (uuid[]; they passed `isUuid`, so they need neither quotes nor escapes) and results (text[]: JSON
 * text, quoted, backslashes and double quotes escaped, undefined as NULL). node-postgres would build
 * the same text from three JavaScript arrays, running two regular expressions over every element.
 */
export function completionLiterals(
  finishes: ReadonlyArray<{ id: string; leaseToken: string; result?: unknown }>,
): {
  ids: string;
  tokens: string;
  results: string;
} {
  let ids = '{';
  let tokens = '{';
  let results = '{';
  for (let i = 0; i < finishes.length; i += 1) {
    const finish = finishes[i]!;
    const separator = i === 0 ? '' : ',';
    ids += separator + finish.id;
    tokens += separator + finish.leaseToken;
    results += separator + textElement(toJsonText(finish.result));
  }
  return { ids: `${ids}}`, tokens: `${tokens}}`, results: `${results}}` };
}

/** One element of a text[] literal, as node-postgres writes it. */
export function textElement(value: string | null): string {
  if (value === null) return 'NULL';
  if (value.includes('\\') || value.includes('"')) return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  return `"${value}"`;
}
