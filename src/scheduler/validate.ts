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
import { parseCron } from './slots.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
import { INT32_MAX, intIn, JOB_RANGES, MAX_DELAY_MS, MAX_NAME_BYTES, textIn } from '../validation/bounds.js';

/** Default bound on missed slots run by `catchUp: 'all'`. */
export const DEFAULT_CATCH_UP_LIMIT = 10;
/** Default bound on `{ again: true }` runs per slot. */
export const DEFAULT_MAX_DRAIN_RUNS = 10;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
// Ten slots a second at most: the scheduler wakes for each slot, and a finer interval would be a busy
// loop of passes rather than a schedule.
export const MIN_EVERY_MS = 100;

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
  return new NightshiftError('invalid_argument', `schedule ${JSON.stringify(id)}: ${message}`);
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

// Bounds shared with jobs and both stores (validation/bounds.ts); counts stored as PostgreSQL integer.
function optionalInt(
  id: string,
  name: string,
  value: unknown,
  min: number,
  max = INT32_MAX,
): number | undefined {
  if (value === undefined) return undefined;
  return intIn(name, value, [min, max], { prefix: `schedule ${JSON.stringify(id)}: ` });
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

/**
 * Checks a schedule and fills in its defaults. `knownTask` says whether a task name is registered;
 * throws `invalid_argument` with a message naming the schedule and the problem.
 */
export function validateSchedule(
  input: ScheduleInput,
  source: ScheduleSource,
  knownTask: (task: string) => boolean,
): ScheduleDefinition {
  const raw = input as unknown as Record<string, unknown>;
  const id = typeof raw.id === 'string' ? raw.id : '';
  if (!ID_PATTERN.test(id)) {
    throw new NightshiftError(
      'invalid_argument',
      `schedule id ${JSON.stringify(raw.id)} must be 1-200 letters, digits, '.', '_', ':' or '-'`,
    );
  }
  refuseUnknownKeys(raw, SCHEDULE_FIELDS, 'schedule field', { prefix: `schedule ${JSON.stringify(id)}: ` });
  if (typeof raw.task !== 'string' || raw.task === '') throw invalid(id, 'task is required');
  if (!knownTask(raw.task)) throw invalid(id, `unknown task ${JSON.stringify(raw.task)}`);

  const hasCron = raw.cron !== undefined;
  const hasEvery = raw.everyMs !== undefined;
  if (hasCron === hasEvery) throw invalid(id, 'give exactly one of cron and everyMs');
  const timezone = raw.timezone === undefined ? 'UTC' : raw.timezone;
  if (typeof timezone !== 'string' || timezone === '')
    throw invalid(id, 'timezone must be a non-empty IANA time zone name such as Europe/London');
  checkTimezone(id, timezone);
  let cron: string | null = null;
  if (hasCron) {
    if (typeof raw.cron !== 'string') throw invalid(id, 'cron must be a string');
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
  } else if (raw.timezone !== undefined) {
    throw invalid(id, 'timezone applies to cron only; everyMs counts real time');
  }
  const everyMs = hasEvery
    ? (optionalInt(id, 'everyMs', raw.everyMs, MIN_EVERY_MS, MAX_DELAY_MS) ?? null)
    : null;

  const queue =
    raw.queue === undefined
      ? null
      : textIn('queue', raw.queue, MAX_NAME_BYTES, { prefix: `schedule ${JSON.stringify(id)}: ` });
  const priority = optionalInt(id, 'priority', raw.priority, ...JOB_RANGES.priority);
  if (raw.paused !== undefined && typeof raw.paused !== 'boolean')
    throw invalid(id, 'paused must be a boolean');
  return {
    id,
    task: raw.task,
    cron,
    everyMs,
    timezone,
    payload: raw.payload ?? null,
    queue,
    priority: priority ?? null,
    jitterMs: optionalInt(id, 'jitterMs', raw.jitterMs, 0) ?? 0,
    overlap: oneOf(id, 'overlap', raw.overlap, OVERLAP_POLICIES, 'skip'),
    catchUp: oneOf(id, 'catchUp', raw.catchUp, CATCH_UP_POLICIES, 'latest'),
    catchUpLimit: optionalInt(id, 'catchUpLimit', raw.catchUpLimit, 1) ?? DEFAULT_CATCH_UP_LIMIT,
    maxConsecutiveFailures: optionalInt(id, 'maxConsecutiveFailures', raw.maxConsecutiveFailures, 1) ?? null,
    maxDrainRuns: optionalInt(id, 'maxDrainRuns', raw.maxDrainRuns, 0) ?? DEFAULT_MAX_DRAIN_RUNS,
    source,
  };
}
