/**
 * Parsing of command-line values. Every malformed value becomes a `NightshiftError('invalid_argument')`,
 * which the CLI reports as one line on stderr with exit code 2 before it touches the database.
 */
import { NightshiftError } from '../errors.js';
import { isJobState, JOB_STATES, type JobState } from '../job.js';
import { MAX_PAGE, type Range } from '../validation/bounds.js';
import { checkLabels } from '../validation/labels.js';

/** A usage error: the command line itself is wrong. */
export function usageError(message: string): NightshiftError {
  return new NightshiftError('invalid_argument', message);
}

/** What keeps a file from being read, by the system's error code, in the words a person uses. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied: this user cannot read it',
  EPERM: 'permission denied: this user cannot read it',
};

/**
 * The usage error for a file named by `flag` that could not be read: `--from data.ndjson: no such
 * file`, where Node's message repeated the path and the system call (`ENOENT: no such file or
 * directory, open 'data.ndjson'`). An error of another kind keeps its own message.
 */
export function unreadableFile(flag: string, path: string, error: unknown): NightshiftError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem =
    (code === undefined ? undefined : FILE_PROBLEMS[code]) ??
    (error instanceof Error ? error.message : String(error));
  return usageError(`${flag} ${path}: ${problem}`);
}

/**
 * Parses a base-10 integer flag within `range`. Every number flag has a maximum: past what its
 * option takes (a timer past 2^31-1 ms fires at once, a PostgreSQL integer holds 32 bits), a value
 * would be refused only after the command connected, or worse, accepted and misused.
 */
export function parseInteger(flag: string, value: string, [min, max]: Range): number {
  if (!/^-?\d+$/.test(value.trim())) throw usageError(`${flag} must be an integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw usageError(`${flag} is out of range: ${value}`);
  if (n < min) throw usageError(`${flag} must be at least ${min}, got ${n}`);
  if (n > max) throw usageError(`${flag} must be at most ${max}, got ${n}`);
  return n;
}

/** The most rows a listing command prints per page (`--limit`), as the REST API's listings. */
export const PAGE_RANGE: Range = [1, MAX_PAGE];

/**
 * A positional id or name, which may not be empty: `jobs show ""` (an unset shell variable) looked
 * the empty id up and said "job  not found", exit 1, where the command line itself is wrong.
 */
export function nonEmpty(what: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw usageError(`${what} is empty`);
    return value;
  };
}

/** Parses a JSON value given on the command line. */
export function parseJson(flag: string, value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw usageError(`${flag} is not valid JSON: ${reason}`);
  }
}

/**
 * Parses an ISO 8601 date-time. Requires at least a full date, and a day that exists in its month,
 * because `Date` quietly turns "1", "March" or February 30 into some real time. Without an offset it
 * is local time, a date alone included (its local midnight): `Date` reads a date alone as UTC but a
 * date-time without offset as local, so `--run-at 2026-01-31` and `--run-at 2026-01-31T00:00` would
 * name different instants east or west of Greenwich.
 */
export function parseIsoDate(flag: string, value: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    value.trim(),
  );
  const [, year, month, day, time] = match ?? [];
  const date = new Date(match !== null && time === undefined ? `${value.trim()}T00:00` : value);
  if (match !== null) {
    // Shaped right, but no such day: saying "must be ISO 8601" of "2026-02-30" would not say why.
    const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    const wrong =
      Number(month) < 1 || Number(month) > 12
        ? 'a year has 12 months'
        : Number(day) < 1 || Number(day) > daysInMonth
          ? `${year}-${month} has ${daysInMonth} days`
          : undefined;
    if (wrong !== undefined) throw usageError(`${flag} "${value}" is not a day: ${wrong}`);
  }
  if (match === null || Number.isNaN(date.getTime())) {
    throw usageError(`${flag} must be an ISO 8601 date-time such as 2026-01-31T06:00:00Z, got "${value}"`);
  }
  return date;
}

/** Parses a job state filter, one of the documented words. */
export function parseState(flag: string, value: string): JobState {
  if (!isJobState(value)) throw usageError(`${flag} must be one of ${JOB_STATES.join(', ')}, got "${value}"`);
  return value;
}

/**
 * The trimmed items of a comma-separated list. A blank item is refused, not dropped: it is most often
 * an unset shell variable (`--queues "$MAIL,$SMS"`), and dropping it would run a worker that serves
 * fewer queues than its command line names, silently.
 */
function commaList(flag: string, value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  const blank = items.indexOf('');
  if (blank !== -1) {
    throw usageError(
      `${flag} "${value}" has an empty item (item ${blank + 1}): separate names with single commas`,
    );
  }
  return items;
}

/** Parses a comma-separated list of names: at least one, none blank. */
export function parseList(flag: string, value: string): string[] {
  if (value.trim() === '') throw usageError(`${flag} needs at least one name`);
  return commaList(flag, value);
}

/**
 * Parses a comma-separated list of labels (validation/labels.ts), checked here so that a bad label is
 * a usage error before any database is opened. An empty value is the empty list (no labels); a blank
 * item in a list is refused.
 */
export function parseLabels(flag: string, value: string, max: number): string[] {
  return checkLabels(flag, value.trim() === '' ? [] : commaList(flag, value), max);
}
