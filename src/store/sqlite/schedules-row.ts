/** SQLite's schedule columns (INTEGER ms, TEXT JSON, INTEGER 0/1) for the shared records of ../schedule-record.ts. */
import type { JobError } from '../../job.js';
import type { Schedule, ScheduleDefinition, ScheduleState, SlotRecord } from '../../schedule-types.js';
import {
  decodeSchedule,
  decodeSlot,
  definitionColumns,
  slotColumns,
  stateColumns,
  type ScheduleColumnAdapter,
  type ScheduleColumns,
  type SlotColumns,
} from '../schedule-record.js';

/** The driver types of SQLite's schedule columns. */
interface SqliteScheduleColumns {
  time: number;
  json: string;
  error: string;
  flag: number;
  count: number;
}

/** A `schedules` row, plus the active job the select computes. */
export type ScheduleRow = ScheduleColumns<SqliteScheduleColumns>;

/** A `schedule_slots` row. */
export type SlotRow = SlotColumns<SqliteScheduleColumns>;

/** Converts SQLite's schedule columns (see schedule-record.ts). */
const SQLITE_SCHEDULE_COLUMNS: ScheduleColumnAdapter<SqliteScheduleColumns> = {
  time: (ms) => new Date(ms),
  json: (text) => JSON.parse(text) as unknown,
  error: (text) => JSON.parse(text) as JobError,
  flag: (value) => value !== 0,
  count: (value) => value,
  timeParam: (date) => date.getTime(),
  flagParam: (value) => (value ? 1 : 0),
};

/** The schedule a row holds. */
export function toSchedule(row: ScheduleRow): Schedule {
  return decodeSchedule(row, SQLITE_SCHEDULE_COLUMNS);
}

/** True when the row's schedule has a finished run waiting to be settled. */
export function settlePending(row: ScheduleRow): boolean {
  return SQLITE_SCHEDULE_COLUMNS.flag(row.settle_pending);
}

/** Named parameters of a definition. */
export function definitionParams(d: ScheduleDefinition): Record<string, unknown> {
  return definitionColumns(d);
}

/** Named parameters of scheduler state. */
export function stateParams(s: ScheduleState): Record<string, unknown> {
  return stateColumns(s, SQLITE_SCHEDULE_COLUMNS);
}

/** The ledger record a row holds. */
export function toSlot(row: SlotRow): SlotRecord {
  return decodeSlot(row, SQLITE_SCHEDULE_COLUMNS);
}

/** Named parameters of a ledger record. */
export function slotParams(s: SlotRecord): Record<string, unknown> {
  return slotColumns(s, SQLITE_SCHEDULE_COLUMNS);
}
