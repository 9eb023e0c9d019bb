/**
 * The rule of a config sync, the same on both backends: a listed schedule is created when its id is
 * free, rewritten when the config owns it, and refused as a conflict when the API owns it; a config
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
  updated: string[];
  deleted: string[];
  conflicts: string[];
}

/**
 * The answer of a sync from what it wrote: listed ids in the order given, each created, updated or
 * (not written) a conflict; deleted ids sorted.
 */
export function scheduleSyncResult(
  listed: string[],
  written: Array<{ id: string; inserted: boolean }>,
  deleted: string[],
): ScheduleSyncResult {
  const inserted = new Map(written.map((row) => [row.id, row.inserted]));
  return {
    created: listed.filter((id) => inserted.get(id) === true),
    updated: listed.filter((id) => inserted.get(id) === false),
    deleted: [...deleted].sort(),
    conflicts: listed.filter((id) => !inserted.has(id)),
  };
}
