/**
 * The rule of a config sync, the same on both backends: a listed schedule is created when its id is
 * free, rewritten when the config owns it and its definition changed (else left as it is), and refused
 * as a conflict when the API owns it; a config
 * schedule the sync does not list is deleted. SQLite applies the rule row by row (scheduleSyncAction);
 * PostgreSQL writes it as one upsert and one delete, and both answer through scheduleSyncResult.
 */
import type { ScheduleSource } from '../schedule-types.js';

/** What a sync does with a listed schedule, given the source of the row holding its id (if any). */
export function scheduleSyncAction(existing: ScheduleSource | undefined): 'create' | 'update' | 'conflict' {
  if (existing === undefined) return 'create';
  return existing === 'config' ? 'update' : 'conflict';
}

/** True for a stored schedule a sync deletes: the config owns it and no longer lists it. */
export function scheduleSyncDeletes(source: ScheduleSource, listed: boolean): boolean {
  return source === 'config' && !listed;
}

/** The answer of a sync. */
export interface ScheduleSyncResult {
  created: string[];
  /** Config schedules whose definition the sync changed. */
  updated: string[];
  /** Config schedules listed with the definition they already had: not written, version kept. */
  unchanged: string[];
  deleted: string[];
  conflicts: string[];
}

/**
 * The answer of a sync from what it wrote: listed ids in the order given, each created, updated,
 * unchanged (a config schedule not written) or a conflict (an api schedule's id); deleted ids sorted.
 */
export function scheduleSyncResult(
  listed: string[],
  written: Array<{ id: string; inserted: boolean }>,
  unchanged: string[],
  deleted: string[],
): ScheduleSyncResult {
  const inserted = new Map(written.map((row) => [row.id, row.inserted]));
  const kept = new Set(unchanged);
  return {
    created: listed.filter((id) => inserted.get(id) === true),
    updated: listed.filter((id) => inserted.get(id) === false),
    unchanged: listed.filter((id) => kept.has(id)),
    deleted: [...deleted].sort(),
    conflicts: listed.filter((id) => !inserted.has(id) && !kept.has(id)),
  };
}
