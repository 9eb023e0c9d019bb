/**
 * `ns.schedules`: schedules as data, created, changed and inspected at run time (and synced from config
 * when a scheduler starts). Every input is validated in full before anything is written.
 */
import { buildNewJob } from '../enqueue.js';
import { NightshiftError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import { planPause, planResume, planTrigger, triggerOutcome, type TriggerOutcome } from './operator.js';
import type { PlanOptions } from './runs.js';
import {
  initialScheduleState,
  type Schedule,
  type ScheduleDefinition,
  type ScheduleInput,
  type ScheduleState,
  type SlotRecord,
} from './schedule.js';
import { slotJobFactory } from './slot-job.js';
import { slotSeries, upcomingSlots } from './slots.js';
import { validateSchedule } from './validate.js';

/** A schedule with what an operator wants to see next to it. */
export interface ScheduleDetails {
  schedule: Schedule;
  /** The next slots from now (paused or suspended schedules still show where they would fall). */
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
  async validate(input: ScheduleInput, source: ScheduleDefinition['source']): Promise<ScheduleDefinition> {
    const definition = validateSchedule(input, source, (task) => this.registry.get(task) !== undefined);
    // The payload is checked once here, against the task's schema, exactly as an enqueue would check it.
    await buildNewJob(this.registry, definition.task, definition.payload, {
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
   * Changes a schedule: `changes` are merged over its current definition and the result validated
   * whole. A new cron, interval or time zone restarts it at the next slot from now.
   */
  async update(id: string, changes: Partial<Omit<ScheduleInput, 'id' | 'paused'>>): Promise<Schedule> {
    const current = await this.require(id);
    const merged = { ...inputOf(current), ...changes, id };
    if (changes.cron !== undefined) delete merged.everyMs;
    if (changes.everyMs !== undefined) {
      delete merged.cron;
      delete merged.timezone;
    }
    const definition = await this.validate(merged, current.source);
    const timingChanged =
      definition.cron !== current.cron ||
      definition.everyMs !== current.everyMs ||
      definition.timezone !== current.timezone;
    const nextSlotAt = timingChanged ? slotSeries(definition).atOrAfter(await this.clock()) : undefined;
    const updated = await this.store.scheduleUpdate({
      definition,
      ...(nextSlotAt !== undefined && { nextSlotAt }),
    });
    if (updated === undefined) throw notFound(id);
    return updated;
  }

  /** Deletes a schedule and its ledger (its jobs stay); false when there was none. */
  delete(id: string): Promise<boolean> {
    return this.store.scheduleDelete({ id });
  }

  /** A schedule with its next slots and recent ledger, or undefined. */
  async get(
    id: string,
    options: { nextSlots?: number; recentSlots?: number } = {},
  ): Promise<ScheduleDetails | undefined> {
    const schedule = await this.store.scheduleGet({ id });
    if (schedule === undefined) return undefined;
    const now = await this.clock();
    const from =
      schedule.nextSlotAt !== null && schedule.nextSlotAt > now
        ? new Date(schedule.nextSlotAt.getTime() - 1)
        : now;
    return {
      schedule,
      nextSlots: upcomingSlots(schedule, from, options.nextSlots ?? 5),
      recentSlots: await this.store.scheduleSlotList({ scheduleId: id, limit: options.recentSlots ?? 20 }),
    };
  }

  /** Every schedule, by id. */
  async list(): Promise<Schedule[]> {
    const all: Schedule[] = [];
    for (;;) {
      const last = all[all.length - 1];
      const page = await this.store.scheduleList({
        limit: 500,
        ...(last !== undefined && { afterId: last.id }),
      });
      all.push(...page);
      if (page.length < 500) return all;
    }
  }

  private async require(id: string): Promise<Schedule> {
    const schedule = await this.store.scheduleGet({ id });
    if (schedule === undefined) throw notFound(id);
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
    const options = await this.planOptions();
    const out = await this.store.scheduleApply({ id, plan: (due) => planTrigger(due, options) });
    if (out === undefined) throw notFound(id);
    return triggerOutcome(out.writes);
  }

  /** Pauses a schedule: no slot runs until it is resumed. */
  async pause(id: string): Promise<Schedule> {
    const out = await this.store.scheduleApply({ id, plan: planPause });
    if (out === undefined) throw notFound(id);
    return out.schedule;
  }

  /**
   * Resumes a paused or suspended schedule from its next slot from now; the slots it skipped are
   * recorded as one `skipped` ledger row.
   */
  async resume(id: string): Promise<Schedule> {
    const options = await this.planOptions();
    const out = await this.store.scheduleApply({ id, plan: (due) => planResume(due, options) });
    if (out === undefined) throw notFound(id);
    return out.schedule;
  }

  /**
   * Makes the `config` schedules match `inputs`: creates the missing, updates the rest, deletes those
   * no longer listed; `api` schedules are kept. Validates every input before writing any.
   */
  async sync(
    inputs: ScheduleInput[],
  ): Promise<{ created: string[]; updated: string[]; deleted: string[]; conflicts: string[] }> {
    const seen = new Set<string>();
    const schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }> = [];
    // One clock reading for the whole config: on PostgreSQL each reading is a round trip.
    const now = await this.clock();
    for (const input of inputs) {
      const definition = await this.validate(input, 'config');
      if (seen.has(definition.id)) {
        throw new NightshiftError(
          'invalid_argument',
          `schedule ${JSON.stringify(definition.id)} is declared twice`,
        );
      }
      seen.add(definition.id);
      schedules.push({ definition, state: this.initialState(definition, input.paused ?? false, now) });
    }
    return this.store.scheduleSync({ schedules });
  }
}

function notFound(id: string): NightshiftError {
  return new NightshiftError('not_found', `no schedule ${JSON.stringify(id)}`);
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
