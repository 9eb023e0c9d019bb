/**
 * PostgreSQL's schedule columns (timestamptz as Date, parsed json, boolean, bigint as text) for the
 * shared records of ../schedule-record.ts, and the column arrays of its batch statements.
 */
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

/** The driver types of PostgreSQL's schedule columns; node-postgres returns bigint as text. */
interface PostgresScheduleColumns {
  time: Date;
  json: unknown;
  error: JobError;
  flag: boolean;
  count: string | number;
}

/** A `schedules` row, plus the active job the select computes. */
export type ScheduleRow = ScheduleColumns<PostgresScheduleColumns>;

/** A `schedule_slots` row. */
export type SlotRow = SlotColumns<PostgresScheduleColumns>;

/** Converts PostgreSQL's schedule columns (see schedule-record.ts). */
const POSTGRES_SCHEDULE_COLUMNS: ScheduleColumnAdapter<PostgresScheduleColumns> = {
  time: (date) => date,
  json: (value) => value,
  error: (error) => error,
  flag: (value) => value,
  count: (value) => Number(value),
  timeParam: (date) => date,
  flagParam: (value) => value,
};

/** The schedule a row holds. */
export function toSchedule(row: ScheduleRow): Schedule {
  return decodeSchedule(row, POSTGRES_SCHEDULE_COLUMNS);
}

/** The ledger record a row holds. */
export function toSlot(row: SlotRow): SlotRecord {
  return decodeSlot(row, POSTGRES_SCHEDULE_COLUMNS);
}

/** Positional parameters $1..$15 of a definition. */
export function definitionValues(d: ScheduleDefinition): unknown[] {
  return Object.values(definitionColumns(d));
}

/** One array per column of `records`, in column order (batches are never empty: callers skip those). */
function columnArrays(records: Array<Record<string, unknown>>): unknown[][] {
  const width = records[0] === undefined ? 0 : Object.keys(records[0]).length;
  const arrays = Array.from({ length: width }, () => new Array<unknown>(records.length));
  records.forEach((record, row) => {
    Object.values(record).forEach((value, column) => {
      arrays[column]![row] = value;
    });
  });
  return arrays;
}

/** Column arrays for the batch state write: ids, versions, then the state columns in order. */
export function stateArrays(
  states: Array<{ id: string; expectVersion: number; state: ScheduleState }>,
): unknown[] {
  return [
    states.map((entry) => entry.id),
    states.map((entry) => entry.expectVersion),
    ...columnArrays(states.map((entry) => stateColumns(entry.state, POSTGRES_SCHEDULE_COLUMNS))),
  ];
}

/** Column arrays of ledger records, in SLOT_COLUMNS order. */
export function slotArrays(slots: SlotRecord[]): unknown[] {
  return columnArrays(slots.map((slot) => slotColumns(slot, POSTGRES_SCHEDULE_COLUMNS)));
}
