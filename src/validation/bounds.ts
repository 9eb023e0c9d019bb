/**
 * Every bound on a number, date or string that nightshift stores or turns into a timer, in one place,
 * so both backends accept exactly the same values and a value neither could hold is refused with a
 * message naming the option and its range, before anything is written.
 *
 * Where the bounds come from:
 * - integers stored in PostgreSQL `integer` columns (priority, attempts, per-job lease and timeout,
 *   schedule counts) must fit 32 bits, or the insert fails with 22003;
 * - durations that become Node timers (timeouts, leases, poll and grace periods) must stay at or below
 *   2^31-1 ms: past it Node's timers overflow and fire at once (every attempt "timed out");
 * - dates (and delays, which become dates) stay within years 1970..9999: ISO 8601 with four-digit
 *   years, epoch milliseconds on SQLite, `timestamptz` on PostgreSQL; beyond it JavaScript has an
 *   Invalid Date and PostgreSQL refuses with 22008;
 * - strings that PostgreSQL indexes with a btree (idempotency and concurrency keys, queue names) must
 *   fit an index row: at most 2,704 bytes on 8 kB pages (54000 past it). Keys are held to 1,024 bytes
 *   of UTF-8 and task and queue names to 255, well inside it. No string may hold NUL (PostgreSQL `text`
 *   refuses it) or a lone surrogate (UTF-8 cannot encode it; it would come back as U+FFFD).
 *
 * Boolean options are checked here too (`booleanIn`), with one message wherever one is given.
 */
import { NightshiftError, type ErrorCode } from '../errors.js';

/** PostgreSQL `integer`. */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
/** The longest delay a Node timer keeps (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;
/** The longest delay until a job is due (and the longest retry backoff or schedule interval): 100 years. */
export const MAX_DELAY_MS = 3_155_760_000_000;
/** The earliest and latest dates stored: years 1970 to 9999, UTC. */
export const EARLIEST_DATE = new Date('1970-01-01T00:00:00.000Z');
export const LATEST_DATE = new Date('9999-12-31T23:59:59.999Z');
/** Task and queue names, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Idempotency and concurrency keys (and worker ids), in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1_024;
/** An API token's name, in characters: the library, `nightshift tokens create` and REST alike. */
export const MAX_TOKEN_NAME_LENGTH = 200;
/**
 * Most rows in one page of a list (jobs, schedules, cluster events), in the library, the CLI and the
 * REST API alike.
 */
export const MAX_PAGE = 1_000;
/** Most rows in one page of concurrency keys or groups: small rows, read by an operator all at once. */
export const MAX_KEYS_PAGE = 10_000;

/** Who is asking: the code to refuse with, and a prefix naming the thing checked (a schedule, a task). */
export interface BoundContext {
  code?: ErrorCode;
  prefix?: string;
}

/** The smallest and the largest value allowed, both included. */
export type Range = readonly [min: number, max: number];

/** An integer within `range`, or a refusal naming `option` and the range. */
export function intIn(option: string, value: unknown, range: Range, at: BoundContext = {}): number {
  return inRange(option, value, range, at, 'an integer');
}

/** A number within `range` (NaN and infinities are never within one). */
export function numberIn(option: string, value: unknown, range: Range, at: BoundContext = {}): number {
  return inRange(option, value, range, at, 'a number');
}

function inRange(
  option: string,
  value: unknown,
  [min, max]: Range,
  at: BoundContext,
  kind: 'an integer' | 'a number',
): number {
  const ok = typeof value === 'number' && value >= min && value <= max;
  if (ok && (kind === 'a number' || Number.isInteger(value))) return value;
  throw refuse(at, `${option} must be ${kind} from ${min} to ${max}, got ${shown(value)}`);
}

/**
 * ISO 8601 text (RFC 3339's too): a date, or a date and a time with or without a zone (without one,
 * `Date` reads the local time). `new Date` alone also took "12/25/2027", "Jan 1 2027" or "2027",
 * forms the documents never offered and that read differently to different people.
 */
const ISO_8601_TEXT =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** A Date (or an ISO 8601 string) within years 1970..9999, as a Date of its own. */
export function dateIn(option: string, value: unknown, at: BoundContext = {}): Date {
  const date =
    value instanceof Date
      ? new Date(value.getTime())
      : typeof value === 'string' && ISO_8601_TEXT.test(value) && !namesMissingDay(value)
        ? new Date(value)
        : null;
  const ms = date?.getTime() ?? Number.NaN;
  if (date && ms >= EARLIEST_DATE.getTime() && ms <= LATEST_DATE.getTime()) return date;
  throw refuse(
    at,
    `${option} must be a valid Date or ISO 8601 string from ${EARLIEST_DATE.toISOString()} to ` +
      `${LATEST_DATE.toISOString()}, got ${shown(value)}`,
  );
}

/**
 * True for text starting `YYYY-MM-DD` with a day its month lacks (`2026-02-30`): `Date` would roll it
 * into the next month (2 March) instead of refusing it.
 */
function namesMissingDay(text: string): boolean {
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return day > new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes, without NUL or lone surrogates. */
export function textIn(option: string, value: unknown, maxBytes: number, at: BoundContext = {}): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw refuse(at, `${option} must be a non-empty string, got ${shown(value)}`);
  }
  // A UTF-16 unit takes at most 3 bytes: most strings need no byte count.
  if (value.length * 3 > maxBytes && Buffer.byteLength(value) > maxBytes) {
    throw refuse(at, `${option} must be at most ${maxBytes} bytes of UTF-8, got ${Buffer.byteLength(value)}`);
  }
  if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
    throw refuse(at, `${option} must not contain NUL or unpaired surrogate characters`);
  }
  return value;
}

/**
 * A queue name where one is written (an enqueue, a task's or a schedule's queue, a queue's settings, a
 * pause, a worker's queues): as `textIn` takes it, and neither blank nor starting or ending with
 * whitespace. The CLI trims the names a worker serves (`--queues " mail"` serves "mail"), so a job in
 * " mail" would wait for a worker no command line could start, and a blank name names nothing anyone
 * can tell apart. Reads take any name: a filter that matches nothing finds nothing.
 */
export function queueNameIn(option: string, value: unknown, at: BoundContext = {}): string {
  const name = textIn(option, value, MAX_NAME_BYTES, at);
  if (name.trim() === name) return name;
  throw refuse(at, `${option} must not be blank or start or end with whitespace, got ${shown(name)}`);
}

/**
 * An id to look up, as given: any string (one no row has is simply not found). Anything else is
 * refused, where the drivers would bind it differently (SQLite failing, PostgreSQL finding nothing).
 */
export function idIn(option: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw refuse({}, `${option} must be a string, got ${shown(value)}`);
}

/**
 * `true` or `false`, nothing else: a truthy string (`'no'`, `'false'`) or number would otherwise turn
 * the option on, and a falsy one off, without a word.
 */
export function booleanIn(option: string, value: unknown, at: BoundContext = {}): boolean {
  if (typeof value === 'boolean') return value;
  throw refuse(at, `${option} must be true or false, got ${shown(value)}`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `value` for a message: short, and never the whole of a huge string. */
export function shown(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return typeof value === 'bigint' ? `${value}n` : String(value);
  }
  return value === null ? 'null' : typeof value;
}

function refuse(at: BoundContext, message: string): NightshiftError {
  return new NightshiftError(at.code ?? 'invalid_argument', `${at.prefix ?? ''}${message}`);
}

/**
 * The range of each number of a rate of starts (a queue's or a concurrency key's), in the library, a
 * config's `queues` and the REST API alike: a whole number of starts per a whole number of ms, the
 * period at most a day.
 */
export const RATE_RANGES = {
  limit: [1, INT32_MAX],
  periodMs: [1, 86_400_000],
} as const satisfies Record<string, Range>;

/**
 * The range of each job option, wherever it is given (enqueue, task defaults, schedules, the CLI);
 * the README's option list repeats them.
 */
export const JOB_RANGES = {
  priority: [INT32_MIN, INT32_MAX],
  maxAttempts: [1, INT32_MAX],
  concurrencyLimit: [1, INT32_MAX],
  groupWeight: [1, 10_000],
  timeoutMs: [1, MAX_TIMER_MS],
  leaseMs: [1, MAX_TIMER_MS],
  maxDurationMs: [1, MAX_TIMER_MS],
  delayMs: [0, MAX_DELAY_MS],
} as const satisfies Record<string, Range>;
