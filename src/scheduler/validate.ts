/**
 * Validation of schedule input from config and the API. Everything is checked before anything is
 * written, so a bad cron, time zone, task or policy changes nothing and says what was wrong.
 */
import { NightshiftError } from '../errors.js';
import {
  CATCH_UP_POLICIES,
  OVERLAP_POLICIES,
  type ScheduleDefinition,
  type ScheduleInput,
  type ScheduleSource,
} from '../schedule-types.js';
import { parseCron, slotSeries } from './slots.js';
import { keyNames, refuseUnknownKeys, requireObject } from '../validation/known-keys.js';
import {
  booleanIn,
  INT32_MAX,
  intIn,
  JOB_RANGES,
  MAX_DELAY_MS,
  queueNameIn,
  type Range,
} from '../validation/bounds.js';

/** Default bound on missed slots run by `catchUp: 'all'`. */
export const DEFAULT_CATCH_UP_LIMIT = 10;
/** Default bound on `{ again: true }` runs per slot. */
export const DEFAULT_MAX_DRAIN_RUNS = 10;

/** The longest schedule id, in characters (all of them ASCII). */
export const MAX_SCHEDULE_ID_LENGTH = 200;
/**
 * The longest cron expression and time zone name, in characters, wherever a schedule is given (config,
 * library, REST): a cron of six fields with lists and ranges fits well inside; the longest IANA zone
 * name is about 30. Checked before the expression is parsed or the zone looked up.
 */
export const MAX_CRON_LENGTH = 200;
export const MAX_TIMEZONE_LENGTH = 100;
const ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${MAX_SCHEDULE_ID_LENGTH - 1}}$`);
// Ten slots a second at most: the scheduler wakes for each slot, and a finer interval would be a busy
// loop of passes rather than a schedule.
const MIN_EVERY_MS = 100;

/**
 * The range of each number of a schedule (validation/bounds.ts: counts are stored as PostgreSQL
 * integer), wherever a schedule is given: config, library, REST (src/api/schemas.ts).
 */
export const SCHEDULE_RANGES = {
  everyMs: [MIN_EVERY_MS, MAX_DELAY_MS],
  priority: JOB_RANGES.priority,
  jitterMs: [0, INT32_MAX],
  catchUpLimit: [1, INT32_MAX],
  maxConsecutiveFailures: [1, INT32_MAX],
  maxDrainRuns: [0, INT32_MAX],
} as const satisfies Record<string, Range>;

const EPOCH = new Date(0);

/** The fields of a schedule, for refusing a misspelt one (a `tz` would run the schedule in UTC). */
export const SCHEDULE_FIELDS = keyNames<ScheduleInput>({
  id: true,
  task: true,
  cron: true,
  everyMs: true,
  timezone: true,
  payload: true,
  queue: true,
  priority: true,
  jitterMs: true,
  overlap: true,
  catchUp: true,
  catchUpLimit: true,
  maxConsecutiveFailures: true,
  maxDrainRuns: true,
  paused: true,
});

function invalid(id: string, message: string): NightshiftError {
  return new NightshiftError('invalid_argument', `${scheduleAt(id).prefix}${message}`);
}

/** A refusal's context for schedule `id`: its messages start `schedule "<id>": `. */
function scheduleAt(id: string): { prefix: string } {
  return { prefix: `schedule ${JSON.stringify(id)}: ` };
}

// Building an Intl formatter costs ~100 µs; a config sync of 10,000 schedules names a handful of zones.
const knownZones = new Set<string>();

function checkTimezone(id: string, timezone: string): void {
  if (knownZones.has(timezone)) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalid(
      id,
      `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/London)`,
    );
  }
  knownZones.add(timezone);
}

function optionalInt(id: string, name: keyof typeof SCHEDULE_RANGES, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  return intIn(name, value, SCHEDULE_RANGES[name], scheduleAt(id));
}

function oneOf<T extends string>(
  id: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(id, `${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** A schedule id as every schedule has one, or `invalid_argument`: no schedule can have another. */
export function scheduleIdIn(id: unknown): string {
  if (typeof id === 'string' && ID_PATTERN.test(id)) return id;
  throw new NightshiftError(
    'invalid_argument',
    `schedule id ${JSON.stringify(id)} must be 1-${MAX_SCHEDULE_ID_LENGTH} letters, digits, '.', '_', ':' or '-'`,
  );
}

/**
 * Checks a schedule and fills in its defaults. `knownTask` says whether a task name is registered;
 * throws `invalid_argument` with a message naming the schedule and the problem.
 */
export function validateSchedule(
  input: ScheduleInput,
  source: ScheduleSource,
  knownTask: (task: string) => boolean,
): ScheduleDefinition {
  const raw: unknown = input;
  requireObject(raw, 'a schedule');
  const id = scheduleIdIn(raw.id);
  refuseUnknownKeys(raw, SCHEDULE_FIELDS, 'schedule field', scheduleAt(id));
  if (typeof raw.task !== 'string' || raw.task === '') throw invalid(id, 'task is required');
  if (!knownTask(raw.task)) throw invalid(id, `unknown task ${JSON.stringify(raw.task)}`);

  const hasCron = raw.cron !== undefined;
  const hasEvery = raw.everyMs !== undefined;
  if (hasCron === hasEvery) throw invalid(id, 'give exactly one of cron and everyMs');
  const timezone = raw.timezone === undefined ? 'UTC' : raw.timezone;
  if (typeof timezone !== 'string' || timezone === '')
    throw invalid(id, 'timezone must be a non-empty IANA time zone name such as Europe/London');
  if (timezone.length > MAX_TIMEZONE_LENGTH) {
    throw invalid(id, `timezone must be at most ${MAX_TIMEZONE_LENGTH} characters, got ${timezone.length}`);
  }
  checkTimezone(id, timezone);
  let cron: string | null = null;
  if (hasCron) {
    if (typeof raw.cron !== 'string') throw invalid(id, 'cron must be a string');
    if (raw.cron.length > MAX_CRON_LENGTH) {
      throw invalid(id, `cron must be at most ${MAX_CRON_LENGTH} characters, got ${raw.cron.length}`);
    }
    cron = raw.cron.trim();
    const fields = cron.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      throw invalid(id, `cron ${JSON.stringify(cron)} must have 5 fields, or 6 with seconds first`);
    }
    try {
      parseCron(cron, timezone);
    } catch (error) {
      throw invalid(id, `bad cron ${JSON.stringify(cron)}: ${(error as Error).message}`);
    }
    // Without a year field a cron repeats with the calendar, every 400 years; croner looks for the
    // next slot up to the year 3000, so none after 1970 means none ever (30 February): such a schedule
    // would stand active with no next slot. Asked from a fixed instant, the answer is the same at every
    // call, and one croner search serves every schedule of the expression (slots.ts memo).
    if (slotSeries({ cron, everyMs: null, timezone }).after(EPOCH) === null) {
      throw invalid(id, `cron ${JSON.stringify(cron)} never fires (no date matches it)`);
    }
  } else if (raw.timezone !== undefined) {
    throw invalid(id, 'timezone applies to cron only; everyMs counts real time');
  }
  const everyMs = hasEvery ? (optionalInt(id, 'everyMs', raw.everyMs) ?? null) : null;

  const queue = raw.queue === undefined ? null : queueNameIn('queue', raw.queue, scheduleAt(id));
  const priority = optionalInt(id, 'priority', raw.priority);
  if (raw.paused !== undefined) booleanIn('paused', raw.paused, scheduleAt(id));
  return {
    id,
    task: raw.task,
    cron,
    everyMs,
    timezone,
    payload: raw.payload ?? null,
    queue,
    priority: priority ?? null,
    jitterMs: optionalInt(id, 'jitterMs', raw.jitterMs) ?? 0,
    overlap: oneOf(id, 'overlap', raw.overlap, OVERLAP_POLICIES, 'skip'),
    catchUp: oneOf(id, 'catchUp', raw.catchUp, CATCH_UP_POLICIES, 'latest'),
    catchUpLimit: optionalInt(id, 'catchUpLimit', raw.catchUpLimit) ?? DEFAULT_CATCH_UP_LIMIT,
    maxConsecutiveFailures: optionalInt(id, 'maxConsecutiveFailures', raw.maxConsecutiveFailures) ?? null,
    maxDrainRuns: optionalInt(id, 'maxDrainRuns', raw.maxDrainRuns) ?? DEFAULT_MAX_DRAIN_RUNS,
    source,
  };
}
