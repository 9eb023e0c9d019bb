/**
 * The schedule part of PostgresStore. Each pass (fire, settle, apply) is one transaction on one pooled
 * connection: it locks the rows it works on (due schedules with FOR UPDATE SKIP LOCKED, so concurrent
 * schedulers split the due set instead of queueing behind each other), runs the planner, and writes
 * the result with batch statements. The slot ledger's primary key and the version compare-and-set
 * make a second writer of the same slot a no-op even if locking were bypassed.
 */
import type pg from 'pg';
import { slotEvents } from '../schedule-events.js';
import type { PostgresEventLog } from './event-log.js';
import { NightshiftError } from '../../errors.js';
import type { Schedule, ScheduleDefinition, ScheduleState, SlotRecord } from '../../schedule-types.js';
import type {
  DueSchedule,
  FinishedSlotRun,
  SchedulePlanner,
  ScheduleListParams,
  ScheduleStore,
  ScheduleUpsertResult,
  ScheduleWrites,
} from '../store.js';
import { configConflict } from '../schedule-conflict.js';
import { decodeSettledJob, type SettledJobColumns } from '../job-record.js';
import { ledgerWinners, type InsertedSlotKey } from '../ledger-winners.js';
import { POSTGRES_JOB_COLUMNS, type PostgresJobColumns } from './job-row.js';
import { scheduleSyncResult, type ScheduleSyncResult } from '../schedule-sync.js';
import { toStoreError } from './pool.js';
import { withTransaction } from './transaction.js';
import type { NotifyTarget } from './connection.js';
import { insertJobs } from './job-insert.js';
import {
  definitionValues,
  slotArrays,
  stateArrays,
  toSchedule,
  toSlot,
  type ScheduleRow,
  type SlotRow,
} from './schedules-row.js';
import * as sql from './sql/schedules.js';
import type { Statements } from './sql/statements.js';

/** A ledger row and the columns of its job a settle reads. */
type FinishedRow = SlotRow & SettledJobColumns<PostgresJobColumns>;

function renderScheduleStatements(s: string) {
  return {
    scheduleGet: sql.scheduleGet(s),
    scheduleApplyLock: sql.scheduleApplyLock(s),
    scheduleSettleLock: sql.scheduleSettleLock(s),
    scheduleList: sql.scheduleList(s),
    scheduleFireDue: sql.scheduleFireDue(s),
    scheduleCreate: sql.scheduleCreate(s),
    scheduleUpdate: sql.scheduleUpdate(s),
    scheduleDelete: sql.scheduleDelete(s),
    scheduleSync: sql.scheduleSync(s),
    scheduleUpsertMany: sql.scheduleUpsertMany(s),
    scheduleUpsertManyConfigIds: sql.scheduleUpsertManyConfigIds(s),
    scheduleSyncDelete: sql.scheduleSyncDelete(s),
    scheduleWritesState: sql.scheduleWritesState(s),
    scheduleWritesSlotInsert: sql.scheduleWritesSlotInsert(s),
    scheduleWritesSlotUpdate: sql.scheduleWritesSlotUpdate(s),
    scheduleFireSlotGet: sql.scheduleFireSlotGet(s),
    scheduleSettleFinished: sql.scheduleSettleFinished(s),
    scheduleSlotList: sql.scheduleSlotList(s),
    scheduleSlotPrune: sql.scheduleSlotPrune(s),
  };
}

const NO_WRITES: ScheduleWrites = { states: [], slots: [], slotUpdates: [], jobs: [] };

/** Schedules and the slot ledger in one PostgreSQL schema. */
export class PostgresSchedules implements ScheduleStore {
  private readonly sql: ReturnType<typeof renderScheduleStatements>;

  constructor(
    private readonly pool: pg.Pool,
    quotedSchema: string,
    private readonly jobStatements: Statements,
    /** The statement opening a transaction (PostgresStore's, with its timeout behind a pooler). */
    private readonly begin: string,
    private readonly notify: NotifyTarget,
    /**
     * Emits `job:ready` in this process. The insert's own notification reaches other processes only (a
     * store drops messages of its own origin), so an in-process worker would otherwise wait for its poll.
     */
    private readonly announceReady: (queue: string) => void,
    /** Where a plan's ledger rows are recorded as events, in the plan's transaction. */
    private readonly eventLog: PostgresEventLog,
  ) {
    this.sql = renderScheduleStatements(quotedSchema);
  }

  private transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, this.begin, fn);
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** Rows plus their held ledger slots. */
  private async dueOf(client: pg.PoolClient, rows: ScheduleRow[]): Promise<DueSchedule[]> {
    const waiting = rows.filter((row) => row.waiting_slot_key !== null);
    const held = new Map<string, SlotRecord>();
    if (waiting.length > 0) {
      const found = await client.query<SlotRow>(this.sql.scheduleFireSlotGet, [
        waiting.map((row) => row.id),
        waiting.map((row) => row.waiting_slot_key),
      ]);
      for (const slot of found.rows) held.set(slot.schedule_id, toSlot(slot));
    }
    return rows.map((row) => ({
      schedule: toSchedule(row),
      activeJobId: row.active_job_id,
      settlePending: row.settle_pending,
      waitingSlot: held.get(row.id) ?? null,
    }));
  }

  /** Writes a plan on the transaction's client; a missed compare-and-set throws `conflict`. */
  private async apply(client: pg.PoolClient, writes: ScheduleWrites): Promise<ScheduleWrites> {
    if (writes.states.length > 0) {
      const updated = await client.query(this.sql.scheduleWritesState, stateArrays(writes.states));
      if (updated.rowCount !== writes.states.length) {
        throw new NightshiftError('conflict', 'a schedule changed while it was being planned; try again');
      }
    }
    let slots: SlotRecord[] = [];
    let jobs = writes.jobs;
    if (writes.slots.length > 0) {
      const inserted = await client.query<InsertedSlotKey>(
        this.sql.scheduleWritesSlotInsert,
        slotArrays(writes.slots),
      );
      ({ slots, jobs } = ledgerWinners(writes, inserted.rows));
      await this.eventLog.append(client, slotEvents(slots));
    }
    if (writes.slotUpdates.length > 0)
      await client.query(this.sql.scheduleWritesSlotUpdate, slotArrays(writes.slotUpdates));
    if (jobs.length > 0) await insertJobs(client, this.jobStatements, jobs, this.notify, false);
    return { states: writes.states, slots, slotUpdates: writes.slotUpdates, jobs };
  }

  /** Announces the queues of a committed plan's jobs to this process's workers. */
  private announce(writes: ScheduleWrites): ScheduleWrites {
    for (const queue of new Set(writes.jobs.map((job) => job.queue))) this.announceReady(queue);
    return writes;
  }

  /** Inserts a schedule; `conflict` when the id is taken. */
  async scheduleCreate(params: { definition: ScheduleDefinition; state: ScheduleState }): Promise<Schedule> {
    return this.transaction(async (client) => {
      const inserted = await client.query(this.sql.scheduleCreate, [
        ...definitionValues(params.definition),
        params.state.paused,
        params.state.nextSlotAt,
      ]);
      if (inserted.rowCount !== 1) {
        throw new NightshiftError(
          'conflict',
          `schedule ${JSON.stringify(params.definition.id)} already exists`,
        );
      }
      const row = await client.query<ScheduleRow>(this.sql.scheduleGet, [params.definition.id]);
      return toSchedule(row.rows[0] as ScheduleRow);
    });
  }

  /** Replaces a definition; undefined when absent. */
  async scheduleUpdate(params: {
    definition: ScheduleDefinition;
    nextSlotAt?: Date | null;
  }): Promise<Schedule | undefined> {
    const given = params.nextSlotAt !== undefined;
    const updated = await this.query(this.sql.scheduleUpdate, [
      ...definitionValues(params.definition),
      params.nextSlotAt ?? null,
      given,
    ]);
    if (updated.length === 0) return undefined;
    return this.scheduleGet({ id: params.definition.id });
  }

  /** Deletes a schedule and its ledger. */
  async scheduleDelete(params: { id: string }): Promise<boolean> {
    try {
      return (await this.pool.query(this.sql.scheduleDelete, [params.id])).rowCount === 1;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** One schedule, or undefined. */
  async scheduleGet(params: { id: string }): Promise<Schedule | undefined> {
    const [row] = await this.query<ScheduleRow>(this.sql.scheduleGet, [params.id]);
    return row === undefined ? undefined : toSchedule(row);
  }

  /** Schedules by id, filtered. */
  async scheduleList(params: ScheduleListParams): Promise<Schedule[]> {
    const rows = await this.query<ScheduleRow>(this.sql.scheduleList, [
      params.afterId ?? '',
      params.limit,
      params.task ?? null,
      params.condition ?? null,
      params.idPrefix ?? null,
    ]);
    return rows.map(toSchedule);
  }

  /** Creates or updates api schedules in one transaction of two statements; a config id is a conflict. */
  scheduleUpsertMany(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<ScheduleUpsertResult> {
    // Rows are locked in id order, so two overlapping upserts wait for each other instead of deadlocking.
    const sorted = [...params.schedules].sort((a, b) =>
      a.definition.id < b.definition.id ? -1 : a.definition.id > b.definition.id ? 1 : 0,
    );
    return this.transaction(async (client) => {
      const written = await client.query<{ id: string; inserted: boolean }>(
        this.sql.scheduleUpsertMany,
        upsertColumns(sorted),
      );
      const ids = params.schedules.map((s) => s.definition.id);
      const done = new Map(written.rows.map((row) => [row.id, row.inserted]));
      const untouched = ids.filter((id) => !done.has(id));
      if (untouched.length > 0) {
        const config = await client.query<{ id: string }>(this.sql.scheduleUpsertManyConfigIds, [untouched]);
        if (config.rows.length > 0) throw configConflict(config.rows.map((row) => row.id));
      }
      return {
        created: ids.filter((id) => done.get(id) === true),
        updated: ids.filter((id) => done.get(id) === false),
        unchanged: untouched,
      };
    });
  }

  /** Syncs config schedules in one transaction of two statements, whatever the number of schedules. */
  scheduleSync(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<ScheduleSyncResult> {
    return this.transaction(async (client) => {
      const written = await client.query<{ id: string; inserted: boolean }>(
        this.sql.scheduleSync,
        upsertColumns(params.schedules),
      );
      const ids = params.schedules.map((s) => s.definition.id);
      // A listed id not written is a config schedule left unchanged, or an api schedule's (a conflict).
      const done = new Set(written.rows.map((row) => row.id));
      const untouched = ids.filter((id) => !done.has(id));
      const unchanged =
        untouched.length === 0
          ? []
          : (await client.query<{ id: string }>(this.sql.scheduleUpsertManyConfigIds, [untouched])).rows;
      const deleted = await client.query<{ id: string }>(this.sql.scheduleSyncDelete, [ids]);
      return scheduleSyncResult(
        ids,
        written.rows,
        unchanged.map((row) => row.id),
        deleted.rows.map((row) => row.id),
      );
    });
  }

  /** One fire pass over due schedules, skipping those another scheduler holds. */
  async scheduleFire(params: {
    dueBy: Date;
    limit: number;
    plan: SchedulePlanner<DueSchedule[]>;
  }): Promise<ScheduleWrites> {
    const writes = await this.transaction(async (client) => {
      const rows = await client.query<ScheduleRow>(this.sql.scheduleFireDue, [params.dueBy, params.limit]);
      if (rows.rows.length === 0) return NO_WRITES;
      return this.apply(client, params.plan(await this.dueOf(client, rows.rows)));
    });
    return this.announce(writes);
  }

  /** One settle pass over runs whose job is final. */
  async scheduleSettle(params: {
    limit: number;
    plan: SchedulePlanner<{ runs: FinishedSlotRun[]; schedules: DueSchedule[] }>;
  }): Promise<ScheduleWrites> {
    const writes = await this.transaction(async (client) => {
      const rows = (await client.query<FinishedRow>(this.sql.scheduleSettleFinished, [params.limit])).rows;
      if (rows.length === 0) return NO_WRITES;
      const runs: FinishedSlotRun[] = rows.map((row) => ({
        slot: toSlot(row),
        job: decodeSettledJob(row, POSTGRES_JOB_COLUMNS),
      }));
      const ids = [...new Set(rows.map((row) => row.schedule_id))];
      const locked = await client.query<ScheduleRow>(this.sql.scheduleSettleLock, [ids]);
      const schedules = await this.dueOf(client, locked.rows);
      return this.apply(client, params.plan({ runs, schedules }));
    });
    return this.announce(writes);
  }

  /** Plans and writes one operator action on one locked schedule. */
  async scheduleApply(params: {
    id: string;
    plan: SchedulePlanner<DueSchedule>;
  }): Promise<{ writes: ScheduleWrites; schedule: Schedule } | undefined> {
    const out = await this.transaction(async (client) => {
      const [row] = (await client.query<ScheduleRow>(this.sql.scheduleApplyLock, [params.id])).rows;
      if (row === undefined) return undefined;
      const [due] = await this.dueOf(client, [row]);
      const writes = await this.apply(client, params.plan(due as DueSchedule));
      const after = (await client.query<ScheduleRow>(this.sql.scheduleGet, [params.id]))
        .rows[0] as ScheduleRow;
      return { writes, schedule: toSchedule(after) };
    });
    if (out !== undefined) this.announce(out.writes);
    return out;
  }

  /** A schedule's ledger, newest first. */
  async scheduleSlotList(params: { scheduleId: string; limit: number }): Promise<SlotRecord[]> {
    return (await this.query<SlotRow>(this.sql.scheduleSlotList, [params.scheduleId, params.limit])).map(
      toSlot,
    );
  }

  /** Deletes old ledger rows. */
  async scheduleSlotPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    try {
      const result = await this.pool.query(this.sql.scheduleSlotPrune, [params.olderThanMs, params.limit]);
      return { deleted: result.rowCount ?? 0 };
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/** The column arrays of the upsert statements: the definitions, then paused and the next slots. */
function upsertColumns(
  schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>,
): unknown[][] {
  const rows = schedules.map(({ definition, state }) => [
    ...definitionValues(definition),
    state.paused,
    state.nextSlotAt,
  ]);
  return Array.from({ length: 17 }, (_, i) => rows.map((row) => row[i]));
}
