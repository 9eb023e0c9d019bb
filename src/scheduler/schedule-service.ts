/**
 * `ns.schedules`: schedules as data, created, changed and inspected at run time (and synced from config
 * when a scheduler starts). Every input is validated in full before anything is written.
 */
import { buildNewJob } from '../enqueue.js';
import { NightshiftError } from '../errors.js';
import type { ScheduleUpsertResult, Store } from '../store/store.js';
import { configConflict } from '../store/schedule-conflict.js';
import type { TaskRegistry } from '../task-registry.js';
import { planPause, planResume, planTrigger, triggerOutcome, type TriggerOutcome } from './operator.js';
import type { PlanOptions } from './runs.js';
import {
  CLEARABLE_SCHEDULE_FIELDS,
  type Schedule,
  type ScheduleChanges,
  type ScheduleDefinition,
  type ScheduleInput,
  type ScheduleState,
  type SlotRecord,
} from '../schedule-types.js';
import { initialScheduleState, scheduleNotFound } from './schedule.js';
import { encodeCursor, scheduleListParams, type ScheduleListOptions } from './schedule-list.js';
import { slotJobFactory } from './slot-job.js';
import { slotSeries, upcomingSlots } from './slots.js';
import { SCHEDULE_FIELDS, validateSchedule } from './validate.js';
import { idIn, intIn, MAX_PAGE } from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys, requireArray } from '../validation/known-keys.js';

const GET_OPTION_NAMES = keyNames<{ nextSlots?: number; recentSlots?: number }>({
  nextSlots: true,
  recentSlots: true,
});
// `update` changes the definition: the id names the schedule, and pausing is an operator's action.
const UPDATE_FIELDS: ReadonlySet<string> = new Set(
  [...SCHEDULE_FIELDS].filter((field) => field !== 'id' && field !== 'paused'),
);

const CLEARABLE: ReadonlySet<string> = new Set(CLEARABLE_SCHEDULE_FIELDS);

/** What `upsert` did: created the schedule, changed its definition, or found it as asked. */
export type ScheduleUpsertOutcome = 'created' | 'updated' | 'unchanged';

/** A schedule with what an operator wants to see next to it. */
export interface ScheduleDetails {
  schedule: Schedule;
  /**
   * The next slots from now, a slot whose job was written ahead first (paused or suspended schedules
   * still show where they would fall).
   */
  nextSlots: Date[];
  /** The newest ledger rows: enqueued, waiting, skipped and missed slots with their reasons. */
  recentSlots: SlotRecord[];
}

/** Default for how old a slot may be when first seen before it counts as missed. */
export const DEFAULT_MISSED_AFTER_MS = 30_000;

/** The schedule operations of a Nightshift instance. */
export class ScheduleService {
  constructor(
    private readonly store: Store,
    private readonly registry: TaskRegistry,
    /** The clock operator actions plan with; the store's by default. */
    private readonly clock: () => Promise<Date> = () => store.now(),
  ) {}

  /** Validates input (definition and payload) into a definition; throws and writes nothing when bad. */
  validate(input: ScheduleInput, source: ScheduleDefinition['source']): Promise<ScheduleDefinition> {
    return validateScheduleInput(input, source, this.registry);
  }

  private initialState(definition: ScheduleDefinition, paused: boolean, now: Date): ScheduleState {
    return initialScheduleState(slotSeries(definition).atOrAfter(now), paused);
  }

  /** Creates a schedule (source `api`); `conflict` when the id exists. Its first slot is the next one from now. */
  async create(input: ScheduleInput): Promise<Schedule> {
    const definition = await this.validate(input, 'api');
    return this.store.scheduleCreate({
      definition,
      state: this.initialState(definition, input.paused ?? false, await this.clock()),
    });
  }

  /**
   * Changes a schedule: `changes` are merged over its current definition, as a JSON merge patch is,
   * and the result validated whole. A field left out or `undefined` keeps its value; `null` empties
   * `queue`, `priority` or `maxConsecutiveFailures` (the task's queue and priority, never suspend). A
   * new cron, interval or time zone restarts it at the next slot from now. A config schedule is
   * refused (`conflict`).
   */
  async update(id: string, changes: ScheduleChanges): Promise<Schedule> {
    idIn('schedules.update: id', id);
    refuseUnknownKeys(changes, UPDATE_FIELDS, 'schedule update field', {
      prefix: `schedule ${JSON.stringify(id)}: `,
    });
    const current = await this.require(id);
    // The next sync would put the config's definition back: the change belongs in the config.
    if (current.source === 'config') throw configConflict([id]);
    const merged: Record<string, unknown> = { ...inputOf(current), id };
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      if (value === null && CLEARABLE.has(field)) delete merged[field];
      // Any other null goes to validation, which says what the field takes (a payload may be null).
      else merged[field] = value;
    }
    if (changes.cron !== undefined) delete merged.everyMs;
    if (changes.everyMs !== undefined) {
      delete merged.cron;
      delete merged.timezone;
    }
    // Validation reads its input as unknown and checks every field, so the merged record is taken as is.
    const definition = await this.validate(merged as unknown as ScheduleInput, current.source);
    const timingChanged =
      definition.cron !== current.cron ||
      definition.everyMs !== current.everyMs ||
      definition.timezone !== current.timezone;
    const nextSlotAt = timingChanged ? slotSeries(definition).atOrAfter(await this.clock()) : undefined;
    const updated = await this.store.scheduleUpdate({
      definition,
      ...(nextSlotAt !== undefined && { nextSlotAt }),
    });
    if (updated === undefined) throw scheduleNotFound(id);
    return updated;
  }

  /** Deletes a schedule and its ledger (its jobs stay); false when there was none. */
  async delete(id: string): Promise<boolean> {
    return this.store.scheduleDelete({ id: idIn('schedules.delete: id', id) });
  }

  /** A schedule with its next slots and recent ledger, or undefined. */
  async get(
    id: string,
    options: { nextSlots?: number; recentSlots?: number } = {},
  ): Promise<ScheduleDetails | undefined> {
    idIn('schedules.get: id', id);
    refuseUnknownKeys(options, GET_OPTION_NAMES, 'schedule get option');
    // Bounded like a page of a list: every next slot is computed, and a billion of them would hang.
    const nextSlots = intIn('nextSlots', options.nextSlots ?? 5, [0, MAX_PAGE]);
    const recentSlots = intIn('recentSlots', options.recentSlots ?? 20, [0, MAX_PAGE]);
    const schedule = await this.store.scheduleGet({ id });
    if (schedule === undefined) return undefined;
    const now = await this.clock();
    // Slots whose jobs were written ahead (lookahead) lie between now and `nextSlotAt`: they are the
    // next runs. Otherwise a `nextSlotAt` past the next slot from now (a wall clock gone back) skips
    // slots that ran already.
    const writtenAhead = schedule.lastSlotAt !== null && schedule.lastSlotAt > now;
    const from =
      !writtenAhead && schedule.nextSlotAt !== null && schedule.nextSlotAt > now
        ? new Date(schedule.nextSlotAt.getTime() - 1)
        : now;
    return {
      schedule,
      nextSlots: upcomingSlots(schedule, from, nextSlots),
      recentSlots: await this.store.scheduleSlotList({ scheduleId: id, limit: recentSlots }),
    };
  }

  /**
   * A page of schedules by id, filtered by task, condition (`active`, `paused`, `suspended`) and id
   * prefix; `nextCursor` continues after it, null on the last page. Default limit 50.
   */
  async list(
    params: ScheduleListOptions = {},
  ): Promise<{ schedules: Schedule[]; nextCursor: string | null }> {
    const { limit, ...filters } = scheduleListParams(params);
    // One row more than asked tells whether another page follows without a second query.
    const rows = await this.store.scheduleList({ limit: limit + 1, ...filters });
    const schedules = rows.slice(0, limit);
    const last = schedules.at(-1);
    return {
      schedules,
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null,
    };
  }

  /**
   * Creates the schedule, or brings the existing one (made through the API) to this definition while
   * keeping its state and slot ledger; a new cron, interval or time zone restarts it at the next slot
   * from now. Calling it again with the same input changes nothing, so a program may run it at every
   * start. `paused` applies when it creates the schedule; an existing one stays paused or running as it
   * is (`pause` and `resume` change that). An id declared in the config is a `conflict`.
   */
  async upsert(input: ScheduleInput): Promise<{ schedule: Schedule; outcome: ScheduleUpsertOutcome }> {
    const result = await this.upsertMany([input]);
    const schedule = await this.require(input.id);
    const outcome =
      result.created.length > 0 ? 'created' : result.updated.length > 0 ? 'updated' : 'unchanged';
    return { schedule, outcome };
  }

  /**
   * `upsert` for many schedules in one transaction (thousands of per-tenant schedules in one call):
   * every input is validated first, and one invalid input or config id writes none of them.
   */
  async upsertMany(inputs: readonly ScheduleInput[]): Promise<ScheduleUpsertResult> {
    const schedules = await this.validateAll(inputs, 'api');
    if (schedules.length === 0) return { created: [], updated: [], unchanged: [] };
    return this.store.scheduleUpsertMany({ schedules });
  }

  private async require(id: string): Promise<Schedule> {
    const schedule = await this.store.scheduleGet({ id });
    if (schedule === undefined) throw scheduleNotFound(id);
    return schedule;
  }

  private async planOptions(): Promise<PlanOptions> {
    const now = await this.clock();
    return { now, missedAfterMs: DEFAULT_MISSED_AFTER_MS, newJob: slotJobFactory(this.registry, now) };
  }

  /**
   * Runs a schedule now, outside its slots, under its overlap policy: returns the job id, or says why
   * the run waits (`queue`) or was skipped (`skip`). Runs on paused and suspended schedules too: an
   * operator asking for a run gets one.
   */
  async trigger(id: string): Promise<TriggerOutcome> {
    idIn('schedules.trigger: id', id);
    const options = await this.planOptions();
    const out = await this.store.scheduleApply({ id, plan: (due) => planTrigger(due, options) });
    if (out === undefined) throw scheduleNotFound(id);
    return triggerOutcome(out.writes);
  }

  /** Pauses a schedule: no slot runs until it is resumed. */
  async pause(id: string): Promise<Schedule> {
    const out = await this.store.scheduleApply({ id: idIn('schedules.pause: id', id), plan: planPause });
    if (out === undefined) throw scheduleNotFound(id);
    return out.schedule;
  }

  /**
   * Resumes a paused or suspended schedule from its next slot from now; the slots it skipped are
   * recorded as one `skipped` ledger row.
   */
  async resume(id: string): Promise<Schedule> {
    idIn('schedules.resume: id', id);
    const options = await this.planOptions();
    const out = await this.store.scheduleApply({ id, plan: (due) => planResume(due, options) });
    if (out === undefined) throw scheduleNotFound(id);
    return out.schedule;
  }

  /**
   * Validates every input (no id twice) into what the store writes: the definition and, for a new
   * schedule or a new timing, its state from now. One clock reading: on PostgreSQL each is a round trip.
   */
  private async validateAll(
    inputs: readonly ScheduleInput[],
    source: ScheduleDefinition['source'],
  ): Promise<Array<{ definition: ScheduleDefinition; state: ScheduleState }>> {
    const definitions = await validateScheduleInputs(inputs, source, this.registry);
    const now = await this.clock();
    return definitions.map((definition, i) => ({
      definition,
      state: this.initialState(definition, inputs[i]?.paused ?? false, now),
    }));
  }

  /**
   * Makes the `config` schedules match `inputs`: creates the missing, updates the rest, deletes those
   * no longer listed; `api` schedules are kept. Validates every input before writing any.
   */
  async sync(
    inputs: readonly ScheduleInput[],
  ): Promise<{ created: string[]; updated: string[]; deleted: string[]; conflicts: string[] }> {
    const schedules = await this.validateAll(inputs, 'config');
    return this.store.scheduleSync({ schedules });
  }
}

/** Validates one input (definition and payload) against `registry` into a definition; writes nothing. */
async function validateScheduleInput(
  input: ScheduleInput,
  source: ScheduleDefinition['source'],
  registry: TaskRegistry,
): Promise<ScheduleDefinition> {
  const definition = validateSchedule(input, source, (task) => registry.get(task) !== undefined);
  // The payload is checked once here, against the task's schema, exactly as an enqueue would check it.
  await buildNewJob(registry, definition.task, definition.payload, {
    ...(definition.queue !== null && { queue: definition.queue }),
  }).catch((error: unknown) => {
    if (error instanceof NightshiftError) {
      throw new NightshiftError(error.code, `schedule ${JSON.stringify(definition.id)}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  });
  return definition;
}

/**
 * Validates schedule inputs (each definition and payload, no id twice) against `registry` into
 * definitions, in order; writes nothing. A config's schedules are checked so when it loads.
 */
export async function validateScheduleInputs(
  inputs: readonly ScheduleInput[],
  source: ScheduleDefinition['source'],
  registry: TaskRegistry,
): Promise<ScheduleDefinition[]> {
  // Iterated below: anything but an array would fail as a TypeError.
  requireArray(inputs, 'schedules');
  const seen = new Set<string>();
  const definitions: ScheduleDefinition[] = [];
  for (const input of inputs) {
    const definition = await validateScheduleInput(input, source, registry);
    if (seen.has(definition.id)) {
      throw new NightshiftError(
        'invalid_argument',
        `schedule ${JSON.stringify(definition.id)} is declared twice`,
      );
    }
    seen.add(definition.id);
    definitions.push(definition);
  }
  return definitions;
}

/** A stored schedule's definition as input, for merging changes over it. */
function inputOf(schedule: Schedule): ScheduleInput {
  const input: ScheduleInput = {
    id: schedule.id,
    task: schedule.task,
    payload: schedule.payload,
    jitterMs: schedule.jitterMs,
    overlap: schedule.overlap,
    catchUp: schedule.catchUp,
    catchUpLimit: schedule.catchUpLimit,
    maxDrainRuns: schedule.maxDrainRuns,
  };
  if (schedule.cron !== null) {
    input.cron = schedule.cron;
    input.timezone = schedule.timezone;
  }
  if (schedule.everyMs !== null) input.everyMs = schedule.everyMs;
  if (schedule.queue !== null) input.queue = schedule.queue;
  if (schedule.priority !== null) input.priority = schedule.priority;
  if (schedule.maxConsecutiveFailures !== null)
    input.maxConsecutiveFailures = schedule.maxConsecutiveFailures;
  return input;
}
