/**
 * The schedule part of SqliteStore. Every pass (fire, settle, apply) is one BEGIN IMMEDIATE transaction:
 * it reads the rows, runs the planner, and writes the planner's result while holding the write lock,
 * so schedulers in other processes on the same file take turns, and each batch costs one commit
 * however many schedules are due.
 */
import { NightshiftError } from '../../errors.js';
import type {
  Schedule,
  ScheduleDefinition,
  ScheduleSource,
  ScheduleState,
  SlotRecord,
} from '../../schedule-types.js';
import type {
  DueSchedule,
  FinishedSlotRun,
  SchedulePlanner,
  ScheduleListParams,
  ScheduleStore,
  ScheduleUpsertResult,
  ScheduleWrites,
} from '../store.js';
import type { SqliteConnection } from './connection.js';
import { slotEvents } from '../schedule-events.js';
import { appendEventsOn } from './event-log.js';
import { prefixRangeEnd } from './prefix-range.js';
import { configConflict } from '../schedule-conflict.js';
import { ledgerWinners, type InsertedSlotKey } from '../ledger-winners.js';
import {
  scheduleSyncAction,
  scheduleSyncDeletes,
  scheduleSyncResult,
  type ScheduleSyncResult,
} from '../schedule-sync.js';
import { insertJobRows } from './job-insert.js';
import { decodeSettledJob, type SettledJobColumns } from '../job-record.js';
import { SQLITE_JOB_COLUMNS, type SqliteJobColumns } from './job-row.js';
import {
  definitionParams,
  settlePending,
  slotParams,
  stateParams,
  toSchedule,
  toSlot,
  type ScheduleRow,
  type SlotRow,
} from './schedules-row.js';
import * as sql from './sql/schedules.js';

/** A ledger row and the columns of its job a settle reads. */
type FinishedRow = SlotRow & SettledJobColumns<SqliteJobColumns>;

/** Schedules and the slot ledger on one SQLite connection. */
export class SqliteSchedules implements ScheduleStore {
  constructor(private readonly conn: SqliteConnection) {}

  private due(row: ScheduleRow): DueSchedule {
    const schedule = toSchedule(row);
    const waiting =
      row.waiting_slot_key === null
        ? undefined
        : (this.conn.stmt(sql.scheduleFireSlotGet).get(schedule.id, row.waiting_slot_key) as
            SlotRow | undefined);
    return {
      schedule,
      activeJobId: row.active_job_id,
      settlePending: settlePending(row),
      waitingSlot: waiting === undefined ? null : toSlot(waiting),
    };
  }

  /**
   * Writes a plan inside the caller's transaction, one statement per kind of row. State goes first: a
   * compare-and-set that misses throws `conflict`, rolling everything back. A ledger row that already
   * exists keeps its job out.
   */
  private apply(writes: ScheduleWrites, now: number): ScheduleWrites {
    if (writes.states.length > 0) {
      const states = writes.states.map(({ id, expectVersion, state }) => ({
        ...stateParams(state),
        id,
        expectVersion,
      }));
      const updated = this.conn.stmt(sql.scheduleWritesState).all({ states: JSON.stringify(states), now });
      if (updated.length !== writes.states.length) {
        throw new NightshiftError('conflict', 'a schedule changed while it was being planned; try again');
      }
    }
    let slots: SlotRecord[] = [];
    let jobs = writes.jobs;
    if (writes.slots.length > 0) {
      const inserted = this.conn
        .stmt(sql.scheduleWritesSlotInsert)
        .all({ slots: JSON.stringify(writes.slots.map(slotParams)) }) as InsertedSlotKey[];
      const winners = ledgerWinners(writes, inserted);
      slots = winners.slots;
      jobs = winners.jobs;
      appendEventsOn(this.conn, this.conn.db, slotEvents(slots), now);
    }
    if (writes.slotUpdates.length > 0) {
      this.conn
        .stmt(sql.scheduleWritesSlotUpdate)
        .run({ slots: JSON.stringify(writes.slotUpdates.map(slotParams)) });
    }
    insertJobRows(this.conn, this.conn.db, jobs, now);
    return { states: writes.states, slots, slotUpdates: writes.slotUpdates, jobs };
  }

  private announce(writes: ScheduleWrites): ScheduleWrites {
    for (const queue of new Set(writes.jobs.map((job) => job.queue))) this.conn.emit('job:ready', { queue });
    return writes;
  }

  /** Inserts a schedule; `conflict` when the id is taken. */
  async scheduleCreate(params: { definition: ScheduleDefinition; state: ScheduleState }): Promise<Schedule> {
    const row = await this.conn.write((now) => {
      if (this.conn.stmt(sql.scheduleGet).get(params.definition.id) !== undefined) {
        throw new NightshiftError(
          'conflict',
          `schedule ${JSON.stringify(params.definition.id)} already exists`,
        );
      }
      this.insert(params.definition, params.state, now);
      return this.conn.stmt(sql.scheduleGet).get(params.definition.id) as ScheduleRow;
    });
    return toSchedule(row);
  }

  private insert(definition: ScheduleDefinition, state: ScheduleState, now: number): void {
    this.conn.stmt(sql.scheduleCreate).run({
      ...definitionParams(definition),
      paused: state.paused ? 1 : 0,
      nextSlotAt: state.nextSlotAt?.getTime() ?? null,
      now,
    });
  }

  private updateDefinition(
    definition: ScheduleDefinition,
    nextSlotAt: Date | null,
    given: boolean,
    now: number,
    statement = sql.scheduleUpdate,
  ) {
    return this.conn.stmt(statement).run({
      ...definitionParams(definition),
      nextSlotAt: nextSlotAt?.getTime() ?? null,
      nextSlotGiven: given ? 1 : 0,
      now,
    }).changes;
  }

  /** Replaces a definition; undefined when absent. */
  async scheduleUpdate(params: {
    definition: ScheduleDefinition;
    nextSlotAt?: Date | null;
  }): Promise<Schedule | undefined> {
    const row = await this.conn.write((now) => {
      const given = params.nextSlotAt !== undefined;
      if (this.updateDefinition(params.definition, params.nextSlotAt ?? null, given, now) === 0)
        return undefined;
      return this.conn.stmt(sql.scheduleGet).get(params.definition.id) as ScheduleRow;
    });
    return row === undefined ? undefined : toSchedule(row);
  }

  /** Deletes a schedule and its ledger. */
  scheduleDelete(params: { id: string }): Promise<boolean> {
    return this.conn.write(() => this.conn.stmt(sql.scheduleDelete).run(params.id).changes === 1);
  }

  /** One schedule, or undefined. */
  async scheduleGet(params: { id: string }): Promise<Schedule | undefined> {
    const row = await this.conn.read(
      () => this.conn.stmt(sql.scheduleGet).get(params.id) as ScheduleRow | undefined,
    );
    return row === undefined ? undefined : toSchedule(row);
  }

  /** Schedules by id, filtered. */
  async scheduleList(params: ScheduleListParams): Promise<Schedule[]> {
    const rows = await this.conn.read(
      () =>
        this.conn.stmt(sql.scheduleList).all({
          afterId: params.afterId ?? '',
          task: params.task ?? null,
          condition: params.condition ?? null,
          idPrefix: params.idPrefix ?? null,
          idPrefixEnd: params.idPrefix === undefined ? null : prefixRangeEnd(params.idPrefix),
          limit: params.limit,
        }) as ScheduleRow[],
    );
    return rows.map(toSchedule);
  }

  /** Creates or updates api schedules in one transaction; a config schedule's id is a conflict. */
  scheduleUpsertMany(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<ScheduleUpsertResult> {
    return this.conn.write((now) => {
      const result: ScheduleUpsertResult = { created: [], updated: [], unchanged: [] };
      const conflicts: string[] = [];
      for (const { definition, state } of params.schedules) {
        const existing = this.conn.stmt(sql.scheduleUpsertManySource).get(definition.id) as
          { source: string } | undefined;
        if (existing === undefined) {
          this.insert(definition, state, now);
          result.created.push(definition.id);
        } else if (existing.source !== 'api') {
          conflicts.push(definition.id);
        } else if (
          this.updateDefinition(definition, state.nextSlotAt, false, now, sql.scheduleUpdateIfChanged) === 1
        ) {
          result.updated.push(definition.id);
        } else {
          result.unchanged.push(definition.id);
        }
      }
      // Thrown inside the transaction: it rolls back, so a refused batch writes nothing.
      if (conflicts.length > 0) throw configConflict(conflicts);
      return result;
    });
  }

  /** Syncs config schedules in one transaction. */
  scheduleSync(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<ScheduleSyncResult> {
    return this.conn.write((now) => {
      const existing = new Map(
        (this.conn.stmt(sql.scheduleSyncSources).all() as Array<{ id: string; source: ScheduleSource }>).map(
          (r) => [r.id, r.source],
        ),
      );
      const listed = params.schedules.map(({ definition }) => definition.id);
      const written: Array<{ id: string; inserted: boolean }> = [];
      const unchanged: string[] = [];
      for (const { definition, state } of params.schedules) {
        const action = scheduleSyncAction(existing.get(definition.id));
        if (action === 'create') {
          this.insert(definition, state, now);
          written.push({ id: definition.id, inserted: true });
        } else if (action === 'update') {
          const changed = this.updateDefinition(
            definition,
            state.nextSlotAt,
            false,
            now,
            sql.scheduleUpdateIfChanged,
          );
          if (changed === 1) written.push({ id: definition.id, inserted: false });
          else unchanged.push(definition.id);
        }
      }
      const wanted = new Set(listed);
      const deleted: string[] = [];
      for (const [id, source] of existing) {
        if (scheduleSyncDeletes(source, wanted.has(id))) {
          this.conn.stmt(sql.scheduleDelete).run(id);
          deleted.push(id);
        }
      }
      return scheduleSyncResult(listed, written, unchanged, deleted);
    });
  }

  /** One fire pass: due schedules read, planned and written under the write lock. */
  async scheduleFire(params: {
    dueBy: Date;
    limit: number;
    plan: SchedulePlanner<DueSchedule[]>;
  }): Promise<ScheduleWrites> {
    const writes = await this.conn.write((now) => {
      const rows = this.conn
        .stmt(sql.scheduleFireDue)
        .all({ now: params.dueBy.getTime(), limit: params.limit }) as ScheduleRow[];
      if (rows.length === 0) return { states: [], slots: [], slotUpdates: [], jobs: [] };
      return this.apply(params.plan(rows.map((row) => this.due(row))), now);
    });
    return this.announce(writes);
  }

  /** One settle pass over runs whose job is final. */
  async scheduleSettle(params: {
    limit: number;
    plan: SchedulePlanner<{ runs: FinishedSlotRun[]; schedules: DueSchedule[] }>;
  }): Promise<ScheduleWrites> {
    const writes = await this.conn.write((now) => {
      const rows = this.conn.stmt(sql.scheduleSettleFinished).all({ limit: params.limit }) as FinishedRow[];
      if (rows.length === 0) return { states: [], slots: [], slotUpdates: [], jobs: [] };
      const runs: FinishedSlotRun[] = rows.map((row) => ({
        slot: toSlot(row),
        job: decodeSettledJob(row, SQLITE_JOB_COLUMNS),
      }));
      const ids = [...new Set(rows.map((row) => row.schedule_id))];
      const schedules = (
        this.conn.stmt(sql.scheduleSettleGetMany).all(JSON.stringify(ids)) as ScheduleRow[]
      ).map((row) => this.due(row));
      return this.apply(params.plan({ runs, schedules }), now);
    });
    return this.announce(writes);
  }

  /** Plans and writes one operator action on one schedule. */
  async scheduleApply(params: {
    id: string;
    plan: SchedulePlanner<DueSchedule>;
  }): Promise<{ writes: ScheduleWrites; schedule: Schedule } | undefined> {
    const out = await this.conn.write((now) => {
      const row = this.conn.stmt(sql.scheduleGet).get(params.id) as ScheduleRow | undefined;
      if (row === undefined) return undefined;
      const writes = this.apply(params.plan(this.due(row)), now);
      return { writes, schedule: toSchedule(this.conn.stmt(sql.scheduleGet).get(params.id) as ScheduleRow) };
    });
    if (out !== undefined) this.announce(out.writes);
    return out;
  }

  /** A schedule's ledger, newest first. */
  async scheduleSlotList(params: { scheduleId: string; limit: number }): Promise<SlotRecord[]> {
    const rows = await this.conn.read(() => this.conn.stmt(sql.scheduleSlotList).all(params) as SlotRow[]);
    return rows.map(toSlot);
  }

  /** Deletes old ledger rows in one short transaction. */
  async scheduleSlotPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    const deleted = await this.conn.write(
      (now) =>
        this.conn.stmt(sql.scheduleSlotPrune).run({ before: now - params.olderThanMs, limit: params.limit })
          .changes,
    );
    return { deleted };
  }
}
